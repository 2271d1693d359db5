"""Readings the ninth session's work asked for (the set's tenth round and the dev lines of the typo category): each
rule here is a general shape, checked on new sentences of that shape, not on the labelled lines themselves."""

from __future__ import annotations

import pytest

from agent.spelling import Speller
from tools.catalog import Item


@pytest.fixture(scope="module")
def speller() -> Speller:
    titles = [
        *["Rain Jacket with Hood"] * 4,
        *["Glass Thermometer, Mercurry Free"] * 3,  # the titles' own typo, in 3 titles
        "Mercury Thermometer",
        "Separatory Funnel 250 ml",
        *["Nitrile Gloves, Powder-Free"] * 5,
    ]
    return Speller.from_items(Item(item_id=str(i), title=t, text=t) for i, t in enumerate(titles))


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("rain jacket, avoid polyster", "rain jacket, avoid polyester"),  # no title says polyester
        ("a burgandy rain jacket", "a burgundy rain jacket"),
        ("gloves with good reveiws", "gloves with good reviews"),  # a swap of two letters
        ("a thermometer, nothing with mercurey", "a thermometer, nothing with mercury"),  # not the titles' typo
        ("nitrle gloves", "nitrile gloves"),  # the catalog's word first, as before
        ("a separatory funnel", "a separatory funnel"),  # a word of one title is the catalog's own word
        ("no hanes please", "no hanes please"),  # a short word no list knows may be a brand: it stays
        ("a korad supply", "a korad supply"),
    ],
)
def test_a_common_english_word_the_titles_lack_is_a_correction_too(speller: Speller, typed: str, meant: str) -> None:
    assert speller.correct(typed)[0] == meant


@pytest.mark.parametrize(
    ("message", "labels"),
    [
        ("kk b pls ty", ["B"]),  # texting types a label in lower case
        ("c ftw, gettin it", ["C"]),
        ("b or c?", ["B", "C"]),
        ("vitamin c serum", []),  # a letter after a word that makes it a value
        ("usb c cable", []),
        ("a caliper", []),  # never the article
        ("I think the b one would be good for my lab work, thanks", []),  # a long message writes labels in capitals
    ],
)
def test_a_short_texted_message_names_a_pick_in_lower_case(message: str, labels: list[str]) -> None:
    from agent.claims import texted_labels

    assert texted_labels(message, ["A", "B", "C"]) == labels


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("1st 1 pls thx", "1st one pls thx"),
        ("ok ill do tha last 1", "ok i will do the last one"),
        ("that 1, thanks", "that one, thanks"),
        ("the 1 inch ruler", "the 1 inch ruler"),  # a quantity stays
        ("a 1 gallon jug", "a 1 gallon jug"),
    ],
)
def test_a_digit_one_after_a_pointer_is_the_word(typed: str, read: str) -> None:
    from agent.language import prepare

    assert prepare(typed) == read


def test_texted_references_find_their_pick() -> None:
    from agent.dispute import referenced_picks
    from agent.state import Pick

    picks = [
        Pick(item_id=i, title=t, label=label, logprob=0.0, reason="", grounded=False)
        for i, t, label in (("a", "Pea Coat", "A"), ("b", "Rain Jacket", "B"), ("c", "Trench Coat", "C"))
    ]
    assert referenced_picks("kk b pls ty", picks, fallback=False) == ["b"]
    assert referenced_picks("ok ill do tha last 1", picks, fallback=False) == ["c"]
    assert referenced_picks("1st 1 pls", picks, fallback=False) == ["a"]


@pytest.mark.parametrize(
    ("message", "kinds"),
    [
        ("any promo codes for a men's rain jacket?", ["price"]),  # coupons and codes are about price
        ("got any coupons on nitrile gloves?", ["price"]),
        ("a pipette pump, no poorly reviewed ones", ["rating"]),  # reviews ruled out are a rating
        ("a puffer jacket without a bunch of negative reviews", ["rating"]),
        ("hiking socks scoring at least 4.8 out of 5", ["rating"]),
        ("a maxi dress with 90%+ positive reviews", ["rating"]),
        ("the SainSmart is maybe a 3 out of 10 for me", []),  # the user's own score of a pick asks for nothing
        ("deal, I'll take B", []),
        ("a 1/2 inch drill bit", []),
    ],
)
def test_coupons_bad_reviews_and_scores_are_constraints_the_catalog_cannot_honour(
    message: str, kinds: list[str]
) -> None:
    from agent.unsupported import unsupported_constraints

    assert unsupported_constraints(message) == kinds


@pytest.mark.parametrize(
    ("message", "item_id"),
    [("got anything B-ish but in olive?", "b"), ("something C-esque, just waterproof", "c"), ("a T-shirt", None)],
)
def test_a_label_with_ish_or_esque_names_its_pick(message: str, item_id: str | None) -> None:
    from agent.dispute import referenced_picks
    from agent.state import Pick

    picks = [
        Pick(item_id=i, title=t, label=label, logprob=0.0, reason="", grounded=False)
        for i, t, label in (("a", "Pea Coat", "A"), ("b", "Rain Jacket", "B"), ("c", "Trench Coat", "C"))
    ]
    assert referenced_picks(message, picks, fallback=False, by_title=False) == ([item_id] if item_id else [])
