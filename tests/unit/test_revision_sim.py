"""The revision simulator's script and criteria (evals/revision.py), on hand-made turns: no model, no catalog."""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent.session import TurnResult
from agent.state import Claim, Revision
from evals.revision import (
    ITEM_MESSAGE,
    KINDS,
    OWNED_MESSAGE,
    Outcome,
    RevisionReport,
    Script,
    attribute_word,
    has_word,
    judge_addressed,
    judge_gone,
    judge_moved,
    kind_rotation,
    make_script,
    request_message,
    serves_request,
    simulate_disputes,
)
from tools.catalog import Dataset, Item, UserHistory

ITEMS = {
    "caliper": Item(
        "caliper",
        "Mitutoyo Digital Caliper 6 inch",
        "Mitutoyo Digital Caliper 6 inch. Stainless steel.",
        {"brand": "Mitutoyo", "category": "Tools Measuring Calipers"},
    ),
    "neiko": Item("neiko", "Neiko Digital Caliper", "Neiko Digital Caliper. Plastic body.", {"brand": "Neiko"}),
    "steel": Item("steel", "Steel Vernier Caliper", "Steel Vernier Caliper. Stainless steel jaws."),
    "rule": Item("rule", "Steel Rule 12 inch", "Steel Rule 12 inch. Mitutoyo compatible."),
}


def result(
    ids: list[str],
    *,
    rationale: str = "",
    claims: list[Claim] | None = None,
    revision: Revision | None = None,
    intent: str = "request",
) -> TurnResult:
    items = [
        {"item_id": i, "title": ITEMS[i].title, "reason": "", "grounded": True, "label": "ABCD"[n]}
        for n, i in enumerate(ids)
    ]
    answer = (revision["summary"] + "\n\n" if revision else "") + "I recommend: ..."
    return TurnResult(
        thread="t",
        intent=intent,
        answer=answer,
        rationale=rationale,
        items=items,
        grounding=1.0,
        revision=revision,
        claims=claims or [],
    )


def revision(summary: str, kind: str = "owned") -> Revision:
    dispute: Any = {"message": "", "kind": kind, "item_ids": [], "attribute": None, "claim": None}
    return Revision(turn=1, dispute=dispute, removed=[], added=[], kept=[], summary=summary)


def claim(text: str, ids: list[str]) -> Claim:
    return Claim(text=text, item_ids=ids, supported=True, support=1.0, missing=[])


# --- rotation and request -----------------------------------------------------------------------------------------


def test_rotation_plays_every_kind_evenly_and_is_seeded() -> None:
    kinds = kind_rotation(40, seed=7)
    assert Counter(kinds) == dict.fromkeys(KINDS, 10)
    assert kinds == kind_rotation(40, seed=7)
    assert all(kinds[n] != kinds[n + 1] for n in range(39))
    starts = {kind_rotation(1, seed)[0] for seed in range(40)}
    assert starts == set(KINDS)


def test_request_uses_category_words_else_title_words() -> None:
    assert request_message(ITEMS["caliper"]) == "I am looking for tools measuring calipers"
    shirt = Item("s", "Hanes Men's ComfortSoft Tee Shirt", "Hanes tee")
    assert request_message(shirt) == "I am looking for hanes men comfortsoft"


def test_attribute_word_prefers_the_brand_and_avoids_request_words() -> None:
    assert attribute_word(ITEMS["caliper"], "I am looking for calipers") == "mitutoyo"
    # No brand: the first content word of the title that the request does not use (plurals tolerated).
    assert attribute_word(ITEMS["steel"], "I am looking for steels") == "vernier"
    assert attribute_word(Item("x", "Calipers", "Calipers"), "I am looking for a caliper") is None


def test_has_word_is_whole_word_and_case_insensitive() -> None:
    assert has_word("Stainless STEEL jaws", "steel")
    assert not has_word("Steelworks ruler", "steel")
    assert has_word("Café grinder", "cafe")


# --- scripts ------------------------------------------------------------------------------------------------------


def test_scripts_of_each_kind() -> None:
    before = result(
        ["caliper", "neiko", "steel"], claims=[claim("You like tools.", []), claim("A is steel.", ["caliper"])]
    )
    request = "I am looking for calipers"
    assert make_script("owned", before, ITEMS, request) == Script("owned", OWNED_MESSAGE, ("caliper",))
    assert make_script("item", before, ITEMS, request) == Script("item", ITEM_MESSAGE, ("neiko",), dispute_item="neiko")
    attribute = make_script("attribute", before, ITEMS, request)
    assert attribute == Script("attribute", "I said no mitutoyo", ("caliper",), attribute="mitutoyo")
    disputed = make_script("claim", before, ITEMS, request)
    assert disputed == Script("claim", "That's not true: A is steel.", ("caliper",), claim="A is steel.")


def test_claim_falls_back_to_owned_and_item_to_the_only_pick() -> None:
    single = result(["caliper"])
    assert make_script("claim", single, ITEMS, "calipers").kind == "owned"
    assert make_script("item", single, ITEMS, "calipers").disputed_items == ("caliper",)
    about_user = result(["caliper"], claims=[claim("You like tools.", [])])
    script = make_script("claim", about_user, ITEMS, "calipers")
    assert (script.kind, script.disputed_items, script.claim) == ("claim", (), "You like tools.")


# --- criteria -----------------------------------------------------------------------------------------------------


def test_gone_fails_when_a_disputed_item_comes_back() -> None:
    script = Script("owned", OWNED_MESSAGE, ("caliper",))
    assert judge_gone(script, result(["neiko", "steel"]), ITEMS)
    assert not judge_gone(script, result(["neiko", "caliper"]), ITEMS)


def test_gone_for_an_attribute_reads_the_catalog_text_not_only_the_title() -> None:
    script = Script("attribute", "I said no mitutoyo", ("caliper",), attribute="mitutoyo")
    assert judge_gone(script, result(["neiko", "steel"]), ITEMS)
    # "rule" is not the disputed item, but its catalog text says Mitutoyo.
    assert not judge_gone(script, result(["neiko", "rule"]), ITEMS)


def test_addressed_needs_a_summary_that_names_the_dispute() -> None:
    titles = {i: item.title for i, item in ITEMS.items()}
    owned = Script("owned", OWNED_MESSAGE, ("caliper",))
    named = revision("You said “I already own that”. I removed “Mitutoyo Digital Caliper 6 inch” because ...")
    assert judge_addressed(owned, result(["neiko"], revision=named), titles)
    assert not judge_addressed(owned, result(["neiko"]), titles)  # no revision at all
    silent = revision("The search found nothing better, so the list is unchanged.")
    assert not judge_addressed(owned, result(["neiko"], revision=silent), titles)
    rejected = Script("item", ITEM_MESSAGE, ("neiko",), dispute_item="neiko")
    assert judge_addressed(rejected, result(["steel"], revision=revision("I removed “Neiko Digital Caliper”.")), titles)
    assert not judge_addressed(rejected, result(["steel"], revision=revision("I removed “Steel Rule”.")), titles)
    attribute = Script("attribute", "I said no mitutoyo", ("caliper",), attribute="mitutoyo")
    ruled_out = revision("From now on I leave out anything with mitutoyo.")
    assert judge_addressed(attribute, result(["neiko"], revision=ruled_out), titles)


def test_addressed_fails_when_the_new_rationale_repeats_the_disputed_claim() -> None:
    titles = {i: item.title for i, item in ITEMS.items()}
    script = Script("claim", "That's not true: A is steel.", ("caliper",), claim="A is steel.")
    summary = revision("I removed “Mitutoyo Digital Caliper 6 inch” because you disputed “A is steel.”.")
    assert judge_addressed(script, result(["neiko"], rationale="B is plastic.", revision=summary), titles)
    repeated = result(["neiko"], rationale="Still, A  is steel. B is plastic.", revision=summary)
    assert not judge_addressed(script, repeated, titles)


def test_moved_compares_the_ordered_picks() -> None:
    assert not judge_moved(result(["caliper", "neiko"]), result(["caliper", "neiko"]))
    assert judge_moved(result(["caliper", "neiko"]), result(["neiko", "caliper"]))
    assert judge_moved(result(["caliper"]), result(["caliper", "steel"]))


def test_serves_request_needs_every_pick_to_mention_a_request_word() -> None:
    assert serves_request(result(["caliper", "neiko"]), ITEMS, "I am looking for calipers")
    assert not serves_request(result(["caliper", "rule"]), ITEMS, "I am looking for calipers")
    assert serves_request(result(["rule"]), ITEMS, "I am looking for a steel rule")
    assert not serves_request(result([]), ITEMS, "I am looking for calipers")


# --- the simulator and its report, with a fake agent ---------------------------------------------------------------


class FakeAgent:
    """Recommends caliper, neiko; a dispute drops what was disputed (or, when `stubborn`, changes nothing)."""

    def __init__(self, *, stubborn: bool = False, fail_user: str | None = None) -> None:
        self.stubborn, self.fail_user = stubborn, fail_user
        self.calls: list[dict[str, Any]] = []

    def turn(
        self,
        thread: str,
        message: str,
        *,
        user_id: str | None = None,
        dispute_item: str | None = None,
        dispute_claim: str | None = None,
    ) -> TurnResult:
        from agent.errors import TurnFailedError

        self.calls.append({"thread": thread, "message": message, "item": dispute_item, "claim": dispute_claim})
        if user_id == self.fail_user:
            raise TurnFailedError("Sorry, this turn failed")
        if message.startswith("I am looking for"):
            return result(["caliper", "neiko"], claims=[claim("A is steel.", ["caliper"])])
        if self.stubborn:
            return result(["caliper", "neiko"], intent="dispute")
        gone = dispute_item or "caliper"
        left = [i for i in ("caliper", "neiko", "steel") if i != gone]
        summary = (
            f"I removed “{ITEMS[gone].title}” because you already own it. "
            "From now on I leave out anything with mitutoyo."
        )
        return result(left, intent="dispute", revision=revision(summary), rationale="B is plastic.")


def dataset() -> Dataset:
    users = [UserHistory(f"u{n}", ("rule",), None, "caliper") for n in range(8)]
    return Dataset(domain="scientific", items=dict(ITEMS), users=users)


def test_simulator_plays_every_kind_and_reports_rates() -> None:
    data = dataset()
    report = simulate_disputes(FakeAgent(), data.users, data, seed=3)
    assert [o.kind for o in report.outcomes] == kind_rotation(8, 3)
    summary = report.summary()
    assert summary["all"]["n"] == 8
    assert summary["all"]["intent_ok"] == 1.0
    for kind in ("owned", "item", "claim"):
        assert summary[kind]["gone"] == 1.0
        assert summary[kind]["n"] == 2
    # caliper gone, but "steel" came in: its text does not say mitutoyo, so the attribute is gone too.
    assert summary["attribute"]["gone"] == 1.0
    assert {o.user_id for o in report.outcomes} == {u.user_id for u in data.users}
    assert "| all | 8 |" in report.to_markdown()
    assert report.to_json()["summary"]["all"]["success"] == summary["all"]["success"]
    # The request "tools measuring calipers": caliper and neiko mention calipers; steel is a "Caliper" too.
    assert summary["all"]["on_request_before"] == 1.0


def test_simulator_records_a_stubborn_agent_and_errors_without_raising() -> None:
    data = dataset()
    report = simulate_disputes(FakeAgent(stubborn=True, fail_user="u0"), data.users, data, seed=3)
    summary = report.summary()
    assert summary["all"]["errors"] == 1
    assert summary["all"]["n"] == 7
    assert summary["all"]["gone"] == 0.0
    assert summary["all"]["moved"] == 0.0
    assert summary["all"]["addressed"] == 0.0
    assert "u0: TurnFailedError" in report.to_markdown()


def test_report_of_nobody_has_no_rates() -> None:
    report = RevisionReport(domain="scientific", model="m", seed=1, outcomes=[Outcome("u", "owned", skipped="none")])
    stats = report.summary()["all"]
    assert stats["n"] == 0 and stats["skipped"] == 1 and stats["gone"] is None
    assert "n/a" in report.to_markdown()
