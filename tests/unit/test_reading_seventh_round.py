"""Readings the set's seventh round of development families asked for (tests/data/understanding.jsonl, read by the
agent only after they were written): general shapes of English, checked on new sentences, not on the set's lines."""

from __future__ import annotations

from collections import Counter

import pytest

from agent.dispute import PLUS_FEATURE, corrected_claim, find_dispute
from agent.intent import is_aside, settles_on_pick
from agent.language import find_negations, prepare, rephrase
from agent.off_topic import off_topic_reason
from agent.profile import extract_preferences, wanted_phrases
from agent.spelling import Speller
from agent.unsupported import unsupported_constraints
from tests.unit.labelled_picks import labelled_picks


@pytest.mark.parametrize(
    ("message", "rephrased"),
    [
        ("a parka with zero fur", "a parka with no fur"),
        ("zero-waste soap", "zero-waste soap"),
        ("ugh, nylon. no thanks", "no nylon. no thanks"),
        ("yikes, acrylic", "no acrylic"),
        ("B has a zipper, which I really don't want", "b has no zipper"),
        ("as mentioned, leather is not acceptable", "as mentioned, no leather"),
        ("my old caliper just isn't precise enough, I need a digital one", " , , i need a digital one"),
        ("anything in the way of wool socks?", "anything   wool socks?"),
        ("the Carhartt version of a beanie", "carhartt beanie"),
    ],
)
def test_refusals_story_and_makes_are_rephrased(message: str, rephrased: str) -> None:
    assert rephrase(message) == rephrased


def test_texting_and_dictation_are_spelled_out() -> None:
    assert prepare("alr have the 2nd one") == "already have the 2nd one"
    assert prepare("hv it, tbh") == "have it,  "
    assert prepare("the first one comma remove it") == "the first one, remove it"
    assert prepare("item: lab coat / colour: white") == " , lab coat  , white"


def test_a_relative_clause_without_something_rules_it_out_and_a_fact_does_not() -> None:
    assert [n.ruled_out for n in find_negations("jackets that don't have a hood?")] == [("hood",)]
    assert [n.ruled_out for n in find_negations("a glue which doesn't contain solvents")] == [("solvents",)]
    assert [n.ruled_out for n in find_negations("I don't have a caliper yet")] == [()]
    assert [n.ruled_out for n in find_negations("not just gloves, goggles too")] == [()]


@pytest.mark.parametrize(
    ("message", "audience"),
    [
        ("rain boots for the gals", ["women"]),
        ("flannels for the fellas", ["men"]),
        ("a vest for my great-uncle", ["men"]),
    ],
)
def test_group_nouns_and_great_relatives_name_the_audience(message: str, audience: list[str]) -> None:
    found = extract_preferences(message)
    assert found.get("audience") == audience
    assert not {"gals", "fellas", "great-uncle"} & set(wanted_phrases(message))


def test_a_typo_in_a_relative_is_corrected() -> None:
    speller = Speller.from_items([])
    assert speller.correct("a scarf for my granpa")[0] == "a scarf for my grandpa"
    assert speller.correct("a hoodie for my nephwe")[0] == "a hoodie for my nephew"


@pytest.mark.parametrize(
    ("message", "kinds"),
    [
        ("a multimeter, max £30", ["price"]),
        ("goggles for under 20 euros", ["price"]),
        ("a scale for less than 40 CAD", ["price"]),
        ("work socks at $3 per pair", ["price"]),
        ("in-stock lab coats only", ["delivery"]),
        ("a 5p coin tray", []),
    ],
)
def test_other_currencies_unit_prices_and_stock(message: str, kinds: list[str]) -> None:
    assert unsupported_constraints(message) == kinds


@pytest.mark.parametrize(
    "message",
    ["the second one is going in my cart", "adding B to my basket", "carted the first one ✔️", "bag up C please"],
)
def test_a_pick_put_in_the_cart_is_an_accept(message: str) -> None:
    assert settles_on_pick(message)


def test_asides_about_time_the_season_and_the_account() -> None:
    assert is_aside("merry christmas!")
    assert is_aside("no hurry at all")
    assert is_aside("how do I sign out?")
    assert not is_aside("no rush delivery needed for these gloves")
    assert not is_aside("my account shows I bought the second one")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("~/Desktop/specs (2).pdf", "code"),
        ("C:\\Users\\me\\Pictures\\jacket.png", "code"),
        ("Automatic reply: I am out of the office until Monday", "code"),
        ("a 1/2 inch socket set", None),
    ],
)
def test_pasted_paths_and_auto_replies_are_off_topic(message: str, reason: str | None) -> None:
    assert off_topic_reason(message) == reason


@pytest.mark.parametrize(
    ("message", "wanted", "ruled_out", "about"),
    [
        ("C isn't insulated, it's just lined", ["insulated"], ["lined"], ["p2"]),
        ("B is not wool, is acrylic", ["wool"], ["acrylic"], ["p1"]),
        ("for the record, option A is not NIST traceable", ["nist traceable"], [], ["p0"]),
        ("I must correct your summary: the second item is not dishwasher safe", ["dishwasher safe"], [], ["p1"]),
        ("the last one not have a hood, your text is wrong", ["hood"], [], ["p2"]),
        ("looks like you mistook a vest for a jacket", ["jacket"], ["vest"], ["p1"]),
    ],
)
def test_more_claim_shapes(message: str, wanted: list[str], ruled_out: list[str], about: list[str]) -> None:
    picks = labelled_picks("Glass Thermometer", "Acrylic Knit Vest", "Lined Rain Jacket")
    assert corrected_claim(message, picks) == (wanted, ruled_out, about)


def test_a_mistaken_kind_is_a_claim_and_already_having_a_pick_is_ownership() -> None:
    picks = labelled_picks("Glass Thermometer", "Acrylic Knit Vest", "Lined Rain Jacket")
    assert find_dispute("you mistook a vest for a jacket", picks, [], {}, kind="attribute")["kind"] == "claim"
    assert find_dispute("I already have C", picks, [], {}, kind="item")["kind"] == "owned"


def test_a_direction_from_a_pick_is_more_like_it() -> None:
    assert PLUS_FEATURE.search("lean more toward the first one")
    assert PLUS_FEATURE.search("go further in c's direction")
    assert not PLUS_FEATURE.search("a jacket for walking toward the lake")


def test_the_joined_word_check_keeps_relatives_out_of_the_catalog_counts() -> None:
    # relatives count as words for the speller, so "grand pa" is not joined into a product word
    speller = Speller(Counter({"cardigan": 9}))
    assert speller.correct("cardi gan")[0] == "cardigan"
