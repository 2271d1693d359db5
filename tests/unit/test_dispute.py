"""What a disputing message is about: owned items, ruled-out attributes, rationale claims, rejected items."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.dispute import corrected_claim, find_dispute
from agent.state import Claim, Pick
from tools.catalog import Item

ITEMS = {
    "belt": Item("belt", "Gatorback Leather Tool Belt", "Leather tool belt with pouches", {"brand": "Gatorback"}),
    "caliper": Item(
        "caliper", "Mitutoyo Digital Caliper 6 inch", "Digital caliper, stainless steel", {"brand": "Mitutoyo"}
    ),
    "kit": Item(
        "kit", "Elenco Soldering Practice Kit", "Soldering kit", {"brand": "Elenco", "category": ["Leathercraft"]}
    ),
    "gloves": Item("gloves", "Nitrile Gloves", "Disposable nitrile gloves", {"brand": "Medline"}),
}
# Best first; the top pick is labelled C, so "the top pick" and "label A" give different answers.
PICKS: list[Pick] = [
    {"item_id": item_id, "title": ITEMS[item_id].title, "label": label, "logprob": -0.5, "reason": "", "grounded": True}
    for item_id, label in [("belt", "C"), ("caliper", "A"), ("kit", "B")]
]
TOP, SECOND, THIRD = "belt", "caliper", "kit"


def claim(text: str, *item_ids: str) -> Claim:
    return {"text": text, "item_ids": list(item_ids), "supported": True, "support": 1.0, "missing": []}


CLAIMS = [
    claim("C is a sturdy leather belt for everyday work.", "belt"),
    claim("B is ideal for beginners learning to solder.", "kit"),
    claim("A is stainless and waterproof.", "caliper"),
    claim("You like precise measuring tools."),
]


def dispute(message: str, **kwargs: str) -> tuple[str, list[str], str | None, str | None]:
    found = find_dispute(message, PICKS, CLAIMS, ITEMS, **kwargs)
    assert found["message"] == message
    return found["kind"], found["item_ids"], found["attribute"], found["claim"]


# --- owned ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "item_ids"),
    [
        ("I already own that", [TOP]),
        ("I have that one already", [TOP]),
        ("already bought it", [TOP]),
        ("I own B", [THIRD]),
        ("I already have A and B", [SECOND, THIRD]),
        ("I already got the second one", [SECOND]),
        ("I've previously purchased the last one", [THIRD]),
        ("I already own the digital caliper", [SECOND]),
        ("already have a soldering kit, thanks", [THIRD]),
    ],
)
def test_owned(message: str, item_ids: list[str]) -> None:
    assert dispute(message) == ("owned", item_ids, None, None)


def test_not_owning_is_not_owned() -> None:
    assert dispute("I don't own a caliper")[0] != "owned"


# --- attribute --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["I said no leather", "no leather please", "without leather", "NO LEATHER!!"])
def test_a_ruled_out_attribute_disputes_the_picks_that_have_it(message: str) -> None:
    assert dispute(message) == ("attribute", [TOP], "leather", None)


def test_attribute_matches_attribute_values_and_plurals() -> None:
    assert dispute("I don't want Elenco stuff") == ("attribute", [THIRD], "elenco", None)
    assert dispute("no belts") == ("attribute", [TOP], "belts", None)


def test_attribute_that_no_pick_has_disputes_no_item() -> None:
    assert dispute("no wool please") == ("attribute", [], "wool", None)


def test_attribute_of_a_pick_missing_from_the_catalog_is_judged_by_its_title() -> None:
    found = find_dispute("no leather", PICKS, CLAIMS, {})
    assert (found["kind"], found["item_ids"], found["attribute"]) == ("attribute", [TOP], "leather")


def test_attribute_is_whole_word() -> None:
    # The kit's category is "Leathercraft": not leather.
    assert dispute("without leather")[1] == [TOP]


# --- claim ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "disputed", "item_ids"),
    [
        ("that's not for beginners", CLAIMS[1], [THIRD]),
        ("that is not waterproof", CLAIMS[2], [SECOND]),
        ("it isn't stainless", CLAIMS[2], [SECOND]),
        ("it's not for everyday work at all", CLAIMS[0], [TOP]),
        ("the waterproof part is false", CLAIMS[2], [SECOND]),
    ],
)
def test_a_negated_property_disputes_the_claim_sharing_most_words(
    message: str, disputed: Claim, item_ids: list[str]
) -> None:
    assert dispute(message) == ("claim", item_ids, None, disputed["text"])


def test_claim_ties_go_to_the_claim_about_the_referenced_pick_then_the_earlier_one() -> None:
    claims = [claim("C is tough.", "belt"), claim("B is tough too.", "kit")]
    assert find_dispute("B isn't tough", PICKS, claims, ITEMS)["claim"] == "B is tough too."
    assert find_dispute("it isn't tough", PICKS, claims, ITEMS)["claim"] == "C is tough."


def test_a_claim_about_no_pick_disputes_the_referenced_pick() -> None:
    found = find_dispute("I'm not into precise measuring", PICKS, CLAIMS, ITEMS)
    assert found["kind"] != "claim"  # "not into" rules something out
    found = find_dispute("the second is not precise", PICKS, CLAIMS, ITEMS)
    assert (found["kind"], found["item_ids"], found["claim"]) == ("claim", [SECOND], CLAIMS[3]["text"])


def test_claim_items_outside_the_picks_are_dropped() -> None:
    claims = [claim("It suits beginners.", "not-a-pick")]
    assert find_dispute("not for beginners", PICKS, claims, ITEMS)["item_ids"] == [TOP]


def test_a_negation_that_matches_no_claim_rejects_an_item() -> None:
    assert dispute("that's not for kids") == ("item", [TOP], None, None)


# --- item -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "item_ids"),
    [
        ("not that one", [TOP]),
        ("wrong", [TOP]),
        ("that's wrong", [TOP]),
        ("that's incorrect", [TOP]),
        ("I don't like B", [THIRD]),
        ("I don't like A", [SECOND]),
        ("A good choice? I don't think so", [TOP]),
        ("option B is wrong", [THIRD]),
        ("B and A are wrong", [THIRD, SECOND]),
        ("the second one is wrong", [SECOND]),
        ("the second is wrong", [SECOND]),
        ("the last one, no way", [THIRD]),
        ("the middle one is wrong", [SECOND]),
        ("#3 is wrong", [THIRD]),
        ("number 2 is bad", [SECOND]),
        ("the first aid kit is wrong", [THIRD]),
        ("the soldering kit is bad", [THIRD]),
        ("the fifth one is wrong", [TOP]),
        ("plan B is wrong", [TOP]),
        ("b is wrong", [THIRD]),  # a short message may type B's label in lower case, as texting does
        ("i think b is wrong for a workshop like mine, to be honest", [TOP]),  # a longer one writes it in capitals
    ],
)
def test_a_rejection_disputes_the_referenced_pick_or_the_top_one(message: str, item_ids: list[str]) -> None:
    assert dispute(message) == ("item", item_ids, None, None)


# --- explicit arguments and edge cases --------------------------------------------------------------------------------


def test_an_explicit_item_wins_whatever_the_kind() -> None:
    assert dispute("not that one", item_id="kit") == ("item", ["kit"], None, None)
    assert dispute("I already own it", item_id="kit") == ("owned", ["kit"], None, None)
    assert dispute("no leather", item_id="kit") == ("attribute", ["kit"], "leather", None)
    assert dispute("that's not for beginners", item_id="caliper") == ("claim", ["caliper"], None, CLAIMS[1]["text"])


def test_an_explicit_claim_wins() -> None:
    text = CLAIMS[2]["text"]
    assert dispute("I already own that", claim=text) == ("claim", [SECOND], None, text)
    # A claim about none of the picks rejects no pick (the top one used to be punished for it).
    assert dispute("wrong", claim="Some claim the rationale never made.") == (
        "claim",
        [],
        None,
        "Some claim the rationale never made.",
    )
    assert dispute("wrong", claim=text, item_id="kit") == ("claim", ["kit"], None, text)


def test_an_explicit_item_that_is_not_a_pick_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"'gloves' is not one of the recommended items \(belt, caliper, kit\)"):
        dispute("wrong", item_id="gloves")
    with pytest.raises(ValueError, match="not one of the recommended items"):
        find_dispute("wrong", [], [], ITEMS, item_id="belt")


def test_a_blank_explicit_claim_is_an_error() -> None:
    with pytest.raises(ValueError, match="claim is empty"):
        dispute("wrong", claim="  ")


@pytest.mark.parametrize("message", ["not that one", "I said no leather", "I already own it", "not for beginners"])
def test_without_picks_there_is_nothing_to_dispute(message: str) -> None:
    found = find_dispute(message, [], CLAIMS, ITEMS)
    assert (found["kind"], found["item_ids"], found["attribute"], found["claim"]) == ("item", [], None, None)


def test_emoji_and_control_characters() -> None:
    assert dispute("😡 I don't like\x00 B\x1b[0m 👎") == ("item", [THIRD], None, None)
    assert dispute("🙅 no lea\u200bther\r\n") == ("attribute", [TOP], "leather", None)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "message",
    [
        "that's not for beginners " * 4_000,
        "B a-A " * 17_000,
        "number " * 14_000 + " x",
        "the second " * 9_000,
        "A" * 100_000,
    ],
    ids=lambda m: repr(m[:8]),
)
@pytest.mark.timeout(120)
def test_long_messages_take_linear_time(message: str) -> None:
    # A quadratic pattern takes minutes on 100,000 characters; these take well under a second (timed in
    # benchmarks/understanding.py). The timeout fails a blow-up without asserting a speed on a shared machine.
    found = find_dispute(message, PICKS, CLAIMS, ITEMS)
    assert set(found["item_ids"]) <= {pick["item_id"] for pick in PICKS}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from([None, "belt", "kit"]))
def test_disputed_items_are_always_picks(message: str, item_id: str | None) -> None:
    found = find_dispute(message, PICKS, CLAIMS, ITEMS, item_id=item_id)
    assert found["kind"] in ("item", "attribute", "claim", "owned")
    assert set(found["item_ids"]) <= {pick["item_id"] for pick in PICKS}
    if item_id is not None:
        assert found["item_ids"] == [item_id]
    elif found["kind"] in ("item", "owned"):
        assert found["item_ids"]


def test_a_correction_disputes_the_picks_it_is_about_and_no_other() -> None:
    # "X is not a Y": the picks that are X, and none when no pick is (the list moved on since X was shown); the top
    # pick is never rejected by default (it was: thermal paste removed for "a pH meter is not a multimeter").
    assert dispute("a leather belt is not a caliper") == ("claim", [TOP], None, "a leather belt is not a caliper")
    kind, ids, _, text = dispute("that's wrong, a pH meter is not a multimeter")
    assert (kind, ids) == ("claim", [])
    assert text == "a ph meter is not a multimeter"
    assert dispute("that is not true, A is not waterproof")[:2] == ("claim", [SECOND])


@pytest.mark.parametrize(
    ("message", "wanted", "ruled_out", "about"),
    [
        ("you called B a soldering kit but it's a practice board", ["soldering kit"], ["practice board"], [THIRD]),
        ("you said A is a caliper, it's actually a ruler", ["caliper"], ["ruler"], [SECOND]),
        ("calling a tool belt a pouch is wrong", ["pouch"], ["tool belt"], [TOP]),
        ("Mitutoyo isn't waterproof", ["waterproof"], [], [SECOND]),  # a pick named by its brand: no rule-out
        ("a tool belt doesn't count as a pouch", ["pouch"], ["tool belt"], [TOP]),
        ("that's a ruler, not a caliper", ["caliper"], ["ruler"], []),
        ("you wrote that A is waterproof, it isn't", ["waterproof"], [], [SECOND]),
        ("the description says A is latex-free but it's latex", [], ["latex"], [SECOND]),
    ],
)
def test_more_ways_of_correcting_a_claim(
    message: str, wanted: list[str], ruled_out: list[str], about: list[str]
) -> None:
    """Issue 18's new development phrasings: what the rationale called a pick is still wanted, what it is is not."""
    assert corrected_claim(message, PICKS) == (wanted, ruled_out, about)


@pytest.mark.parametrize(
    ("message", "wanted", "ruled_out", "about"),
    [
        # what trails or leads the property is not part of it
        ("A isn't waterproof - please fix that before I send this list around", ["waterproof"], [], [SECOND]),
        ("C isn't leather \U0001f612\U0001f612", ["leather"], [], [TOP]),
        ("A is not waterproof whatsoever", ["waterproof"], [], [SECOND]),
        ("the 2nd one is not stainless at all", ["stainless"], [], [SECOND]),
        ("the leather one is not even close to waterproof", ["waterproof"], [], [TOP]),
        # a clause or an aside before the pick, and a pick named by its brand with its kind: nothing ruled out
        ("not to nitpick, but A isn't stainless", ["stainless"], [], [SECOND]),
        ("saving these for later (A has no case fyi)", ["case"], [], [SECOND]),
        ("sorry to nitpick \u2014 B isn't lead-free", [], ["lead"], [THIRD]),
        ("the Mitutoyo caliper isn't waterproof", ["waterproof"], [], [SECOND]),
        ("the Gatorback isn't a pouch", ["pouch"], [], [TOP]),
        # a kind with an article still tells kinds apart, and the kind alone names no pick
        ("a digital caliper is not a ruler", ["ruler"], ["digital caliper"], [SECOND]),
    ],
)
def test_a_correction_reads_the_property_and_the_pick_alone(
    message: str, wanted: list[str], ruled_out: list[str], about: list[str]
) -> None:
    """The training supplement's claim disputes (written after these rules, so out of sample for them): 0.326 ->
    0.448 of its 239 claim disputes read right in every field (2026-12-07)."""
    assert corrected_claim(message, PICKS) == (wanted, ruled_out, about)


@pytest.mark.parametrize(
    "message",
    [
        "I've been using the Mitutoyo for years",
        "the leather belt is already in my closet",
        "I've worn C for ages, I have it",
        "picked up the middle one at a store last week",
    ],
)
def test_more_ways_of_saying_a_pick_is_owned(message: str) -> None:
    assert find_dispute(message, PICKS, CLAIMS, ITEMS)["kind"] == "owned"


def test_a_claim_about_every_pick_disputed_for_one_pick_removes_only_that_pick() -> None:
    # One rationale sentence describes all three picks; "B isn't true RMS" disputes B (it removed all three).
    picks = [
        Pick(item_id=f"m{i}", title=title, label=label, logprob=0.0, reason="", grounded=True)
        for i, (label, title) in enumerate(
            [("A", "Fluke 323 True-RMS Clamp Meter"), ("B", "Uni-T UT202A Clamp Meter"), ("C", "FLIR CM174")]
        )
    ]
    text = "A is the Fluke 323 true-RMS clamp meter, B is the Uni-T UT202A, a true RMS meter, and C is the FLIR CM174."
    claims = [Claim(text=text, item_ids=["m0", "m1", "m2"], supported=True, support=1.0, missing=[])]
    items = {p["item_id"]: Item(item_id=p["item_id"], title=p["title"], text=p["title"]) for p in picks}
    dispute = find_dispute("check again, B isn't true RMS", picks, claims, items, kind="claim")
    assert (dispute["kind"], dispute["item_ids"]) == ("claim", ["m1"])
    # Naming no pick, the claim's picks all stay disputed, as before.
    dispute = find_dispute("that's not true RMS at all", picks, claims, items, kind="claim")
    assert dispute["item_ids"] == ["m0", "m1", "m2"]


@pytest.mark.parametrize(
    ("message", "about"),
    [
        ("the product page says B is not fleece lined", ["m1"]),
        ("according to the manufacturer the second one isn't NIST traceable", ["m1"]),
        ("double check your notes: C isn't 100% wool", ["m2"]),
    ],
)
def test_a_source_before_the_pick_is_not_a_thing_ruled_out(message: str, about: list[str]) -> None:
    picks = [
        Pick(item_id=f"m{i}", title=title, label=label, logprob=0.0, reason="", grounded=True)
        for i, (label, title) in enumerate([("A", "Wool Sweater"), ("B", "Fleece Jacket"), ("C", "Cotton Shirt")])
    ]
    corrected = corrected_claim(message, picks)
    assert corrected is not None
    wanted, ruled_out, meant = corrected
    assert wanted and ruled_out == [] and meant == about
    # A letter after a thing's name is part of it, not a pick.
    assert corrected_claim("vitamin c is not a supplement", picks) == (["supplement"], ["vitamin c"], [])


def test_more_of_an_x_than_a_y_rules_x_out_and_keeps_wanting_y() -> None:
    picks = [
        Pick(item_id=f"j{i}", title=title, label=label, logprob=0.0, reason="", grounded=True)
        for i, (label, title) in enumerate(
            [("A", "Carhartt Jacket"), ("B", "Woolrich Shirt Jacket"), ("C", "Duck Coat")]
        )
    ]
    assert corrected_claim("B is more of a shirt than a jacket", picks) == (["jacket"], ["shirt"], ["j1"])
    assert corrected_claim("the last one's more like a tunic than a dress", picks) == (["dress"], ["tunic"], ["j2"])
    # A comparison corrects nothing.
    assert corrected_claim("A is more comfortable than B", picks) is None
    assert corrected_claim("A is more of a jacket than B", picks) is None
