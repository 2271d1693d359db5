"""Readings the set's sixth round of development families asked for (tests/data/understanding.jsonl, families read
by the agent only after they were written): each rule is a general shape of English, checked here on new sentences
of that shape, not on the set's lines."""

from __future__ import annotations

from collections import Counter

import pytest

from agent.dispute import PLUS_FEATURE, corrected_claim, find_dispute, similar_pick
from agent.intent import is_aside, settles_on_pick
from agent.language import prepare, rephrase
from agent.off_topic import off_topic_reason
from agent.phrase_model import _points
from agent.profile import extract_preferences
from agent.spelling import Speller
from agent.unsupported import strip_unsupported, unsupported_constraints
from tests.unit.labelled_picks import LABELS, labelled_picks


@pytest.mark.parametrize(
    "message",
    [
        "lock in C",
        "get me the Carhartt",
        "could we get the middle one please",
        "grabbing the last one rn",
        "B slaps, copping it",
        "A. lock it in.",
        "I'd like to order the third option",
        "we will proceed with option A.",
        "C 👍",
        "🔥 the second one",
        "ok, I take the A",
    ],
)
def test_settling_on_a_pick_by_acquiring_it_is_an_accept(message: str) -> None:
    assert settles_on_pick(message)


@pytest.mark.parametrize(
    "message",
    [
        "not the second one",
        "get me something like C",
        "get me the third one but in black",
        "I'll take A instead of B",
        "take out the first one",
        "get rid of B",
        "don't get me the last one",
        "I want to take the second one back",
        "get me a rain jacket",
        "I already bought the middle one",
    ],
)
def test_a_refusal_a_refinement_or_a_new_thing_settles_on_nothing(message: str) -> None:
    assert not settles_on_pick(message)


def test_deferring_the_choice_is_chit_chat_only_in_a_short_message() -> None:
    assert is_aside("I'll check with my husband and get back to you")
    assert is_aside("my boss has the final say, sorry")
    assert is_aside("let me sleep on it")
    assert not is_aside("the first one is wrong")
    long = "my wife has the final say, and she wants a navy wool cardigan with big buttons, size medium, in cotton"
    assert not is_aside(long)  # a longer message may still ask for something


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("'; DROP TABLE users; --", "code"),
        ("sudo apt-get install llmrec", "code"),
        ("curl -X POST localhost:8000/chat", "code"),
        ("cat notes.txt | grep gloves", "code"),
        ("could you reply in spanish please?", "another language"),
        ("is there a german version of this?", "another language"),
        ("cat eye sunglasses", None),  # a command word in a shopper's words
        ("dockers khakis, size 34", None),
        ("$ 40 budget for gloves", None),
        ("a french press and a german silver ring", None),
        ("I need a select few items", None),
    ],
)
def test_pasted_shell_sql_and_language_switches_are_off_topic(message: str, reason: str | None) -> None:
    assert off_topic_reason(message) == reason


@pytest.mark.parametrize(
    ("message", "rephrased"),
    [
        ("a work shirt, hold the pockets", "a work shirt, no pockets"),
        ("hold the door, I need a jacket", "hold the door, i need a jacket"),  # a clause opening it is no rule
        ("nylon is banned in our lab", "no nylon in our lab"),
        ("zippers are not allowed at my school", "no zippers at my school"),
        ("you ignored my no-leather rule", "you ignored no leather"),
        ("no-show socks", "no-show socks"),  # a product, not a rule
        ("won't you carry fleece vests?", "  fleece vests?"),
        ("no chance you have got a brass funnel?", "  a brass funnel?"),
        ("the 2nd one + a hood", "like the 2nd one but with a hood"),
    ],
)
def test_rules_negative_questions_and_pick_plus_feature_are_rephrased(message: str, rephrased: str) -> None:
    assert rephrase(message) == rephrased


def test_with_slash_is_with() -> None:
    assert "with" in prepare("a jacket w/ hood").split()
    assert "without" in prepare("gloves w/o powder").split()


@pytest.mark.parametrize(
    ("message", "audience"),
    [
        ("a fleece vest for the hubby", ["men"]),
        ("wifey wants a rain jacket", ["women"]),
        ("nana needs a cardigan", ["women"]),
        ("a microscope for my kiddo", ["kids"]),
        ("my husband already owns the first one", []),  # mentioned, not the one it is for
    ],
)
def test_what_people_call_their_relatives_names_the_audience(message: str, audience: list[str]) -> None:
    assert extract_preferences(message).get("audience", []) == audience


@pytest.mark.parametrize(
    ("message", "kinds", "left"),
    [
        ("money is tight, I need a lab coat", ["price"], "I need a lab coat"),
        ("on a shoestring, just work gloves", ["price"], "just work gloves"),
        ("go easy on my wallet: a flannel shirt", ["price"], "a flannel shirt"),
        ("a caliper reviewers love", ["rating"], "a caliper"),
        ("the hoodies buyers rate highest", ["rating"], "the hoodies"),
        ("a scarf with glowing reviews", ["rating"], "a scarf"),
    ],
)
def test_money_idioms_and_reviewer_praise_are_unsupported(message: str, kinds: list[str], left: str) -> None:
    assert unsupported_constraints(message) == kinds
    assert " ".join(strip_unsupported(message).replace(",", " ").split()).strip(" :") == left


@pytest.mark.parametrize(
    ("message", "wanted", "ruled_out", "about"),
    [
        ("B isn't insulated or windproof", ["insulated", "windproof"], [], ["p1"]),
        (
            "the second one is neither machine washable nor wrinkle resistant",
            ["machine washable", "wrinkle resistant"],
            [],
            ["p1"],
        ),
        ("that's inaccurate, C isn't NIST traceable", ["nist traceable"], [], ["p2"]),
        ("wait, A holds 100 ml, not 250 ml", ["250 ml"], ["100 ml"], ["p0"]),
        ("C measures 12 inch, not 6 inch", ["6 inch"], ["12 inch"], ["p2"]),
    ],
)
def test_claims_that_deny_two_properties_or_a_quantity(
    message: str, wanted: list[str], ruled_out: list[str], about: list[str]
) -> None:
    picks = labelled_picks("Glass Beaker 250 ml", "Columbia Fleece Jacket", "Steel Ruler")
    assert corrected_claim(message, picks) == (wanted, ruled_out, about)


def test_an_ignored_rule_is_an_attribute_dispute_and_an_order_history_is_ownership() -> None:
    picks = labelled_picks("Wool Cardigan", "Cotton Cardigan", "Acrylic Cardigan")
    found = find_dispute("you ignored my no-wool rule", picks, [], {}, kind="claim")
    assert (found["kind"], found["attribute"]) == ("attribute", "wool")
    assert find_dispute("A is in my purchase history", picks, [], {}, kind="item")["kind"] == "owned"


@pytest.mark.parametrize(
    ("message", "label"),
    [("a cousin of C, please", "p2"), ("any siblings of the first one?", "p0"), ("B's twin, if you have one", "p1")],
)
def test_kin_of_a_pick_asks_for_more_like_it(message: str, label: str) -> None:
    picks = labelled_picks("Wool Cardigan", "Cotton Cardigan", "Acrylic Cardigan")
    assert similar_pick(message, picks) == label
    assert _points("cousin", LABELS) and _points("twin", LABELS) and not _points("cotton cardigan", LABELS)
    assert not _points("cousin", [])  # with no picks the word may be anything


def test_a_pick_plus_a_feature_is_more_like_it() -> None:
    assert PLUS_FEATURE.search("b plus a hood")
    assert PLUS_FEATURE.search("the first one + pockets")
    assert not PLUS_FEATURE.search("a multimeter plus leads")


def test_a_catalog_word_typed_as_two_is_joined() -> None:
    counts = Counter({"cardigan": 9, "thermometer": 12, "rain": 8, "coat": 8, "lab": 6, "scope": 4})
    speller = Speller(counts, {("rain", "coat"): Counter({" ": 5})})
    assert speller.correct("a cardi gan in grey")[0] == "a cardigan in grey"
    assert speller.correct("need a ther mometer")[0] == "need a thermometer"
    assert speller.correct("a rain coat")[0] == "a rain coat"  # both words: a pair the titles write
    assert speller.correct("lab coat")[0] == "lab coat"  # "labcoat" is no title word
