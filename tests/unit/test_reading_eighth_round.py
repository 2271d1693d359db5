"""Readings the set's eighth round of development families asked for (tests/data/understanding.jsonl, read by the
agent only after they were written): general shapes of English, checked on new sentences, not on the set's lines."""

from __future__ import annotations

import pytest

from agent.dispute import PLUS_FEATURE, corrected_claim, find_dispute
from agent.intent import asks_about_picks, is_aside, refuses_pick, settles_on_pick
from agent.language import find_negations, prepare, rephrase
from agent.off_topic import off_topic_reason
from agent.profile import extract_preferences
from agent.unsupported import unsupported_constraints
from tests.unit.labelled_picks import labelled_picks


@pytest.mark.parametrize(
    ("message", "unwanted"),
    [
        ("want: lab coat / not: polyester", ["polyester"]),
        ("Looking for: rain boots. Avoid: rubber.", ["rubber"]),
        ("a lab coat that must not contain latex", ["latex"]),
        ("the shirt must not be polyester", ["polyester"]),
        ("could we not do fleece this time", ["fleece"]),
        ("if it's got pleats it's out", ["pleats"]),
        ("me and acrylic don't get along", ["acrylic"]),
        ("nylon is my kryptonite", ["nylon"]),
    ],
)
def test_more_ways_of_ruling_out(message: str, unwanted: list[str]) -> None:
    assert extract_preferences(message)["unwanted"] == unwanted


def test_lists_doubled_words_praise_for_another_thing_and_brand_households() -> None:
    assert rephrase("goggles + gloves") == "goggles and gloves"
    assert rephrase("a warm warm scarf") == "a warm scarf"
    assert rephrase("nothing against denim, but I want chinos") == " ,  i want chinos"
    assert rephrase("you can't go wrong with merino") == "  merino"
    assert rephrase("we're a Carhartt family") == "carhartt , "
    assert not find_negations("you can't go wrong with merino")[0].ruled_out


@pytest.mark.parametrize(
    ("message", "audience"),
    [
        ("a lab coat for a fourth grader", ["kids"]),
        ("rain boots for a second-grade boy", ["boys"]),
        ("a flat cap for me dad", ["men"]),
        ("getting my niece a microscope", ["girls"]),
        ("a scarf for the wee one", ["kids"]),
    ],
)
def test_grades_and_regional_relatives(message: str, audience: list[str]) -> None:
    assert extract_preferences(message).get("audience") == audience


@pytest.mark.parametrize(
    ("message", "kinds"),
    [
        ("I have a $30 gift card, need gloves", ["price"]),
        ("need boots, can't wait weeks for them", ["delivery"]),
        ("4⭐ or more", ["rating"]),
        ("a ★ patterned scarf", ["rating"]),  # a star sign is read as a rating, whatever it decorates
    ],
)
def test_gift_cards_waiting_and_stars(message: str, kinds: list[str]) -> None:
    assert unsupported_constraints(message) == kinds


@pytest.mark.parametrize(
    ("message", "wanted", "ruled_out", "about"),
    [
        ("a vest is no jacket", ["jacket"], ["vest"], ["p1"]),
        ("sorry, but B isn't even wool", ["wool"], [], ["p1"]),
        ("so C is not waterproof period thanks", ["waterproof"], [], ["p2"]),
        ("A is not lead free", [], ["lead"], ["p0"]),
    ],
)
def test_claims_said_as_people_say_them(
    message: str, wanted: list[str], ruled_out: list[str], about: list[str]
) -> None:
    picks = labelled_picks("Lead Solder Wire", "Acrylic Knit Vest", "Lined Rain Jacket")
    assert corrected_claim(message, picks) == (wanted, ruled_out, about)


def test_a_pick_that_already_lives_on_the_bench_is_owned() -> None:
    picks = labelled_picks("Lead Solder Wire", "Acrylic Knit Vest", "Lined Rain Jacket")
    assert find_dispute("A already lives on my bench", picks, [], {}, kind="item")["kind"] == "owned"


@pytest.mark.parametrize(
    ("message", "settles"),
    [
        ("sign me up for C", True),
        ("put me down for the first pair", True),
        ("A's a no-brainer", True),
        ("k c pls", True),
        ("2nd 1 thx", True),
        ("no-brainer? no, B is wrong", False),
    ],
)
def test_more_accepts(message: str, settles: bool) -> None:
    assert settles_on_pick(message) is settles


def test_refusing_a_pick_with_a_taking_verb() -> None:
    assert refuses_pick("I'm not going with C after all")
    assert refuses_pick("we won't be ordering the second one")
    assert not refuses_pick("I'm going with C")


@pytest.mark.parametrize(
    ("message", "asks"),
    [
        ("is it true to size?", True),
        ("does the carhartt one have a hood? and is it lined", True),
        ("out of these, which is the lightest?", True),
        ("which of the three runs warmest?", True),
        ("is there one like B but not in wool?", False),
        ("can you find more like C?", False),
    ],
)
def test_questions_about_the_picks(message: str, asks: bool) -> None:
    assert asks_about_picks(message) is asks


def test_asides_about_a_person_to_talk_to_and_privacy() -> None:
    assert is_aside("can I talk to a real person instead?")
    assert is_aside("do you keep what I type?")
    assert not is_aside("a person-sized tent")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("sku,qty,price\nA12,3,9.99\nB7,1,4.50", "code"),
        ("a\tb\tc\n1\t2\t3\n4\t5\t6", "code"),
        ("=SUM(A1:A9)", "code"),
        ("gloves, size M, blue\ngoggles, clear, anti-fog\napron, white, long", None),
    ],
)
def test_pasted_spreadsheets_are_off_topic_and_a_shoppers_list_is_not(message: str, reason: str | None) -> None:
    assert off_topic_reason(message) == reason


def test_a_baseline_pick_is_more_like_it_and_texting_is_spelled() -> None:
    assert PLUS_FEATURE.search("use c as the baseline and find similar")
    assert prepare("ok ill take tha first one") == "ok i will take the first one"
