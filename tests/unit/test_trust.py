"""Trust metrics (agent/trust.py) on hand-written good and bad rationales, and the evidence writer
(agent/evidence_writer.py) that must pass them, on real users of the bundled scientific catalog."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from agent.evidence import links_for
from agent.evidence_writer import write_rationale
from agent.prompts import RecRequest
from agent.ranking import show
from agent.records import Pick, Shown
from agent.trust import relational_claims, repeats, trust
from tools.cooccur import CoOccurrence


def _cases(dataset: Any, smollm2_tokenizer: Any, n: int) -> Iterator[tuple[Shown, str]]:
    """(what the model was shown, the user's next item) for the first `n` users with a history: the target among
    19 unseen items, as the SFT builder draws them."""
    cooccur = CoOccurrence.of(dataset)
    rng = random.Random(7)
    ids = sorted(dataset.items)
    found = 0
    for user in dataset.users:
        if not user.history or user.valid is None:
            continue
        history = [dataset.items[i] for i in user.history[-10:]]
        candidate_ids = [user.valid, *rng.sample([i for i in ids if i not in set(user.all_items)], 19)]
        rng.shuffle(candidate_ids)
        candidates = [dataset.items[i] for i in candidate_ids]
        links = links_for(candidates, history, request_text="", catalog=dataset.items, cooccur=cooccur)
        request = RecRequest(history=history, candidates=candidates, domain=dataset.domain, links=links)
        yield show(smollm2_tokenizer, request, context_tokens=2048, rationale_tokens=96), user.valid
        found += 1
        if found == n:
            return


@pytest.fixture(scope="module")
def cases(scientific_catalog: Any, smollm2_tokenizer: Any) -> list[tuple[Shown, str]]:
    return list(_cases(scientific_catalog, smollm2_tokenizer, 120))


def _linked(cases: list[tuple[Shown, str]]) -> tuple[Shown, str]:
    """A case whose target has a `words` link to a history item."""
    for shown, target in cases:
        links = shown["links"][shown["candidate_ids"].index(target)]
        if any(link["kind"] == "words" for link in links):
            return shown, target
    raise AssertionError("no case with a words link")


def test_the_evidence_writer_meets_every_goal_on_real_users(
    cases: list[tuple[Shown, str]], scientific_catalog: Any
) -> None:
    figures = []
    for shown, target in cases:
        rationale = write_rationale(shown, target, scientific_catalog.items, random.Random(target))
        judged = relational_claims(rationale, shown, scientific_catalog.items)
        figures.append(trust(rationale, shown, judged, target))
        assert 1 <= len(judged) <= 4, rationale
    relational = [f.relational for f in figures if f.relational is not None]
    # The goals, which the teacher must meet by construction (measured: copy 0, repeats 0, 0.997, 100%).
    assert max(f.copy_rate for f in figures) <= 0.10
    assert sum(f.repeats for f in figures) <= 0.02 * len(figures)
    assert sum(relational) / len(relational) >= 0.95
    assert sum(bool(f.coverage) for f in figures) >= 0.95 * len(figures)


def test_the_writer_varies_its_phrasing_and_repeats_itself_for_a_seed(
    cases: list[tuple[Shown, str]], scientific_catalog: Any
) -> None:
    texts = [write_rationale(s, t, scientific_catalog.items, random.Random(t)) for s, t in cases[:60]]
    again = [write_rationale(s, t, scientific_catalog.items, random.Random(t)) for s, t in cases[:60]]
    assert texts == again
    openings = {" ".join(text.split()[:2]) for text in texts}
    assert len(openings) >= 5, openings


def test_a_pick_without_links_says_so(cases: list[tuple[Shown, str]], scientific_catalog: Any) -> None:
    shown, target = cases[0]
    bare: Shown = {**shown, "links": [[] for _ in shown["candidate_ids"]]}
    rationale = write_rationale(bare, target, scientific_catalog.items, random.Random(1))
    assert "guess" in rationale and "like your" not in rationale.lower()
    judged = relational_claims(rationale, bare, scientific_catalog.items)
    assert judged and all(good for _, good in judged)  # saying there is no link, when there is none, is true


def test_a_copied_candidate_line_fails(cases: list[tuple[Shown, str]], scientific_catalog: Any) -> None:
    shown, target = _linked(cases)
    label = shown["labels"][shown["candidate_ids"].index(target)]
    line = next(ln for ln in shown["prompt"].splitlines() if ln.startswith(f"{label}. "))
    copied = f"{line[3:]}. {line[3:]}."
    judged = relational_claims(copied, shown, scientific_catalog.items)
    figures = trust(copied, shown, judged, target)
    assert figures.copy_rate > 0.5
    assert figures.relational == 0.0 and figures.coverage is False
    assert figures.lexical == 1.0  # what the old score called it: every word is in the catalog


def test_a_looping_rationale_fails() -> None:
    assert repeats("The user has no history yet. The user has no history yet.")
    assert repeats("1KG 3DP 3DP 3DP 3DP 3DP 3DP 3DP 3DP 3DP 3DP 3DP")
    assert not repeats("Candidate C is from Neiko like your caliper. Option A has no link to your history.")


def test_a_hallucinated_attribute_fails(cases: list[tuple[Shown, str]], scientific_catalog: Any) -> None:
    shown, target = _linked(cases)
    index = shown["candidate_ids"].index(target)
    label = shown["labels"][index]
    link = next(k for k in shown["links"][index] if k["kind"] == "words")
    word = link["words"][0]
    honest = f'Candidate {label} shares "{word}" with your history.'
    invented = f'Candidate {label} shares "{word}" with your history and is waterproof leather for hiking boots.'
    assert [good for _, good in relational_claims(honest, shown, scientific_catalog.items)] == [True]
    assert [good for _, good in relational_claims(invented, shown, scientific_catalog.items)] == [False]
    # A link it does not have: "no link" about a candidate that has one is false too.
    denial = f"Candidate {label} has no link to your history or request."
    assert [good for _, good in relational_claims(denial, shown, scientific_catalog.items)] == [False]


def test_a_true_fact_that_ties_nothing_to_the_user_is_not_grounded(
    cases: list[tuple[Shown, str]], scientific_catalog: Any
) -> None:
    shown, target = _linked(cases)
    label = shown["labels"][shown["candidate_ids"].index(target)]
    title_words = " ".join(scientific_catalog.items[target].title.split()[:3])
    fact = f"Candidate {label} is a {title_words}."
    judged = relational_claims(fact, shown, scientific_catalog.items)
    assert [good for _, good in judged] == [False]


def test_after_a_dispute_the_links_read_the_request_not_the_dispute() -> None:
    from agent.evidence import asked_text, request_words

    chat = [("user", "I want a good multimeter"), ("assistant", "I recommended: A; B; C."),
            ("user", "that is wrong, a pH meter is not a multimeter")]  # fmt: skip
    assert asked_text(chat, disputed=True) == "I want a good multimeter"
    assert asked_text(chat, disputed=False) == chat[-1][1]  # a new request is read as it is
    assert asked_text(chat[:1], disputed=True) == "I want a good multimeter"  # nothing before it: the message
    assert asked_text([], disputed=False) == ""
    # A refinement the catalog cannot honour refines the request before it; one with a wish of its own is read.
    price = [*chat[:2], ("user", "under 50 dollars please")]
    assert asked_text(price, disputed=False) == "I want a good multimeter"
    assert asked_text([*chat[:2], ("user", "a blue one please")], disputed=False) == "a blue one please"
    assert asked_text([("user", "cheaper please")], disputed=False) == "cheaper please"  # nothing before it
    # What a message rules out is not asked for: "anything but Levi's" refines the jeans request, and a dispute
    # after it reads that request too.
    jeans = [("user", "men's bootcut jeans"), ("assistant", "I recommended: A."), ("user", "anything but Levi's")]
    assert asked_text(jeans, disputed=False) == "men's bootcut jeans"
    assert asked_text([*jeans, ("user", "not for kids, and I already own the first one")], disputed=True) == (
        "men's bootcut jeans"
    )
    # The price wish after a dispute refines the request, not the dispute before it.
    after = [*chat, ("assistant", "I recommended: B."), ("user", "under 50 dollars please")]
    assert asked_text(after, disputed=False, earlier_disputes=[chat[-1][1]]) == "I want a good multimeter"
    assert request_words("a hoodie, nothing for kids") == ["hoodie"]
    assert request_words("latex-free nitrile gloves") == ["nitrile", "gloves"]


def test_a_claim_names_the_right_kind_of_link(cases: list[tuple[Shown, str]], scientific_catalog: Any) -> None:
    """A link to the request is no link to the history, and the other way round: "shares "multimeter" with your
    history item", said to a new user who asked for a multimeter, is what the shipped student wrote and is false."""
    shown, target = _linked(cases)
    index = shown["candidate_ids"].index(target)
    label = shown["labels"][index]
    word = next(k for k in shown["links"][index] if k["kind"] == "words")["words"][0]
    asked: Shown = {
        **shown,
        "history_ids": [],
        "conversation": [{"role": "user", "text": f"I want a {word}"}],
        "links": [
            [{"kind": "request", "words": [word], "history": [], "count": 0}] if n == index else []
            for n in range(len(shown["candidate_ids"]))
        ],
    }
    items = scientific_catalog.items

    def verdicts(text: str, on: Shown) -> list[bool]:
        return [good for _, good in relational_claims(text, on, items)]

    assert verdicts(f'Candidate {label} has "{word}", as you asked.', asked) == [True]
    assert verdicts(f'Candidate {label} shares "{word}" with your history item.', asked) == [False]
    # The history link of the original user, claimed as a request the user never made.
    assert verdicts(f'Candidate {label} shares "{word}" with your history.', shown) == [True]
    assert verdicts(f'Candidate {label} has "{word}", as you asked.', shown) == [False]


def test_questions_about_a_pick_and_pointers_at_one_ask_for_nothing() -> None:
    from agent.evidence import asked_text, asks_something

    assert not asks_something("is B auto-ranging?")
    assert not asks_something("how heavy is the second one?")
    assert not asks_something("more like the second one")
    assert asks_something("Is there a multimeter with bluetooth?")  # "a" is an article, not a pick
    assert asks_something("do you have any multimeters?")
    assert asks_something("like B but in navy")
    chat = [
        ("user", "I want a good multimeter for electronics hobby work"),
        ("user", "is B auto-ranging?"),
        ("user", "more like the second one"),
        ("user", "that's wrong, a pH meter is not a multimeter"),
    ]
    assert asked_text(chat, disputed=True) == chat[0][1]


def test_a_correction_names_the_picks_that_have_all_of_its_subject() -> None:
    from agent.dispute import corrected_claim

    picks = [
        Pick(item_id=i, title=t, label=label, logprob=0.0, reason="", grounded=False)
        for i, t, label in [
            ("scope", "Owon Oscilloscope and Digital Multimeter", "A"),
            ("clamp", "Uni-T Digital Handheld Clamp Meter Multimeter Test Tool", "B"),
            ("ph", "Mini Digital Pen Type PH Meter", "C"),
        ]
    ]
    # "a pH meter" names the pH pen, not the clamp meter that shares "meter"
    assert corrected_claim("a pH meter is not a multimeter", picks) == (["multimeter"], ["ph meter"], ["ph"])
    assert corrected_claim("a pH meter is not a multimeter", picks[:2]) == (["multimeter"], ["ph meter"], [])
