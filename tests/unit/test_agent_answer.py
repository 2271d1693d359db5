"""The answer text: revision summaries say what changed and why; unsupported claims are marked."""

from __future__ import annotations

from agent.answer import format_answer, revision_record, summary_line
from agent.state import Claim, Dispute, Pick


def _pick(item_id: str, title: str, grounded: bool = True) -> Pick:
    return Pick(item_id=item_id, title=title, label="A", logprob=-0.1, reason=f"why {title}", grounded=grounded)


def _dispute(kind: str, item_ids: list[str], attribute: str | None = None, claim: str | None = None) -> Dispute:
    return Dispute(message="I already own that", kind=kind, item_ids=item_ids, attribute=attribute, claim=claim)  # type: ignore[typeddict-item]


def test_revision_of_an_owned_item() -> None:
    before = [_pick("a", "Neiko caliper"), _pick("b", "Fowler caliper")]
    after = [_pick("b", "Fowler caliper"), _pick("c", "Starrett caliper")]
    rev = revision_record(2, _dispute("owned", ["a"]), before, after)
    assert (rev["removed"], rev["added"], rev["kept"]) == (["a"], ["c"], ["b"])
    assert "I removed “Neiko caliper” because you already own it." in rev["summary"]
    assert "New: “Starrett caliper”." in rev["summary"]


def test_revision_of_an_attribute_and_of_a_claim() -> None:
    before = [_pick("a", "Leather belt")]
    rev = revision_record(1, _dispute("attribute", ["a"], attribute="leather"), before, [_pick("b", "Canvas belt")])
    assert "because it has leather, which you ruled out" in rev["summary"]
    assert "From now on I leave out anything with leather." in rev["summary"]
    rev = revision_record(1, _dispute("claim", ["a"], claim="A is for beginners."), before, before)
    assert "The search found nothing better" in rev["summary"]


def test_answer_marks_unsupported_claims_and_ungrounded_reasons() -> None:
    claims = [
        Claim(
            text="A is a caliper like your Neiko.",
            item_ids=["a"],
            supported=True,
            support=1.0,
            missing=[],
            relational=True,
        ),
        # Lexically backed (its words are in the catalog) but tying A to nobody: not counted as grounded.
        Claim(text="A is a caliper.", item_ids=["a"], supported=True, support=1.0, missing=[], relational=False),
        Claim(text="A is leather.", item_ids=["a"], supported=False, support=0.0, missing=["leather"]),
    ]
    text = format_answer([_pick("a", "Neiko caliper", grounded=False)], claims, 1 / 3, None, ["a note"])
    assert "1. **Neiko caliper** [a]: why Neiko caliper (from its links, not from my reasoning)" in text
    assert "Grounding: 1 of 3 claims in my reasoning tie an item to your history or request" in text
    assert "(33%)" in text
    assert "Not backed, so ignore: A is a caliper. | A is leather." in text
    assert "Notes: a note" in text


def test_nothing_found_and_summary_line() -> None:
    assert "I found no catalog items" in format_answer([], [], None, None, [])
    assert summary_line([]) == "I found nothing matching."
    assert summary_line([_pick("a", "Neiko caliper")]) == "I recommended: Neiko caliper."
