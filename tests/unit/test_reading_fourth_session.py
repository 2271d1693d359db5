"""Readings the fourth session's development lines asked for (tests/data/understanding.jsonl): each rule here is a
general shape of English, checked on new sentences of that shape, not on the lines themselves."""

from __future__ import annotations

from collections import Counter

import pytest

from agent.claims import referenced_labels
from agent.dispute import corrected_claim, referenced_picks
from agent.language import rephrase
from agent.profile import extract_preferences, wanted_phrases
from agent.spelling import Speller
from agent.unsupported import strip_unsupported, unsupported_constraints
from tests.unit.labelled_picks import LABELS, labelled_picks
from tools.catalog import Item


@pytest.fixture(scope="module")
def speller() -> Speller:
    titles = [
        *["Rain Jacket with Hood"] * 4,
        *["White Lab Coat, Unisex"] * 4,
        *["Nitrile Gloves, Powder-Free"] * 5,
        *["Men's Cotton T-Shirt"] * 5,
        *["Infrared Thermometer Gun"] * 25,  # 10 times the typo's 2 titles, as in the catalog (83 to 2)
        "Infared Thermometer (sic)",
        "Infared Probe",
        *["Flare Nut Wrench"] * 5,
    ]
    return Speller.from_items(Item(item_id=str(i), title=t, text=t) for i, t in enumerate(titles))


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("a rainjacket please", "a rain jacket please"),  # two title words typed as one, joined as titles join them
        ("labcoat for class", "lab coat for class"),
        ("nitrel gloves", "nitrile gloves"),  # two edits in a 6-letter word, in its vowels only
        ("infared gun", "infrared gun"),  # in 2 titles: no proof of a spelling
        # "flare" (a title's word) is two edits away but not in the vowels; "flannel", common English, one edit
        ("flanel shirt", "flannel shirt"),
        ("raincoat", "raincoat"),  # an English word stays
    ],
)
def test_speller_reads_joined_words_and_vowel_typos(speller: Speller, typed: str, meant: str) -> None:
    assert speller.correct(typed)[0] == meant


def test_speller_keeps_the_titles_hyphen() -> None:
    speller = Speller(Counter({"men": 4, "t": 7, "shirt": 7}), {("t", "shirt"): Counter({"-": 6, " ": 1})})
    assert speller._split("tshirt") == "t-shirt"


@pytest.mark.parametrize(
    ("message", "labels"),
    [("yes, A please", ["A"]), ("would A work for hiking?", ["A"]), ("how does A compare to B?", ["A", "B"])],
)
def test_a_capital_a_mid_sentence_is_a_pick(message: str, labels: list[str]) -> None:
    assert referenced_labels(message, LABELS) == labels


def test_a_capital_a_opening_a_noun_phrase_is_still_the_article() -> None:
    assert referenced_labels("A good choice for you", LABELS) == []
    assert referenced_labels("the Type A cable", LABELS) == []


def test_of_and_easy_to_join_a_phrase_but_a_purpose_does_not() -> None:
    assert wanted_phrases("a 3d pen that is easy to use") == ["3d pen", "easy to use"]
    assert wanted_phrases("a set of prepared microscope slides") == ["set of prepared microscope slides"]
    assert wanted_phrases("gloves to protect my hands") == ["gloves", "protect", "hands"]
    assert wanted_phrases("I want to buy a caliper") == ["caliper"]


@pytest.mark.parametrize(
    ("message", "unwanted"),
    [
        ("B's got a hood so that's a no", ["hood"]),
        ("the first one is latex, so nope", ["latex"]),
        ("C is polyester so it's out", ["polyester"]),
        ("A's plastic, so no thanks", ["plastic"]),
        ("acrylic pills after one wash", ["acrylic"]),
        ("pipette droppers, steer clear of glass", ["glass"]),
        ("leggings, but I'm sensitive to spandex", ["spandex"]),
    ],
)
def test_reasons_to_reject_rule_the_property_out(message: str, unwanted: list[str]) -> None:
    profile = extract_preferences(message, labels=LABELS)
    assert profile["unwanted"] == unwanted
    assert not set(wanted_phrases(message, labels=LABELS)) & set(unwanted)


def test_so_no_before_a_noun_is_not_a_rejection() -> None:
    assert rephrase("it is cold so no shorts please") == "it is cold so no shorts please"
    assert extract_preferences("it is cold so no shorts please")["unwanted"] == ["shorts"]


@pytest.mark.parametrize(
    ("message", "audience", "wanted"),
    [
        ("I'm a woman, need a fleece vest", ["women"], ["fleece vest"]),
        ("guy here, looking for a henley", ["men"], ["henley"]),
        ("I'm a female nurse and I need a stethoscope", ["women"], ["stethoscope"]),
    ],
)
def test_who_the_user_says_they_are_is_the_audience(message: str, audience: list[str], wanted: list[str]) -> None:
    assert extract_preferences(message).get("audience") == audience
    assert wanted_phrases(message) == wanted


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("chinos in the $30-40 range", "price"),
        ("a pullover rated four stars and up", "rating"),
        ("leggings with at least 4.5 star reviews", "rating"),
        ("like B but better reviewed", "rating"),
    ],
)
def test_ranges_and_star_thresholds_are_unsupported_and_not_wishes(message: str, kind: str) -> None:
    assert unsupported_constraints(message) == [kind]
    assert not any(ch.isdigit() for ch in strip_unsupported(message))
    assert "range" not in wanted_phrases(message) and "least" not in " ".join(wanted_phrases(message))


@pytest.mark.parametrize(
    ("message", "wanted", "ruled_out", "about"),
    [
        ("pretty sure B isn't stainless steel", ["stainless steel"], [], ["p1"]),
        ("correct me if I'm wrong, but the last one is not latex-free", [], ["latex"], ["p2"]),
        ("I could be wrong but A isn't wool", ["wool"], [], ["p0"]),
        ("B has no hood", ["hood"], [], ["p1"]),
        ("the second one has no carrying case, the explanation is wrong", ["carrying case"], [], ["p1"]),
        ("the last one has no pockets fyi", ["pockets"], [], ["p2"]),
    ],
)
def test_hedged_and_missing_feature_claims(
    message: str, wanted: list[str], ruled_out: list[str], about: list[str]
) -> None:
    picks = labelled_picks("wool sweater", "steel ruler", "rain jacket")
    assert corrected_claim(message, picks) == (wanted, ruled_out, about)


def test_ordinal_before_the_picks_kind_and_a_typed_possessive_point_at_a_pick() -> None:
    picks = labelled_picks("levi's men's 505 jean", "wrangler jacket", "rain jacket")
    assert referenced_picks("how heavy is the second jacket?", picks, fallback=False) == ["p1"]
    assert referenced_picks("gimme the levis", picks, fallback=False) == ["p0"]
    assert referenced_picks("the first aid kit", picks, fallback=False) == []


@pytest.mark.parametrize(
    ("message", "wanted"),
    [
        ("I'm hunting for a packable down jacket", ["packable down jacket"]),
        ("a safety can, no plastic", ["safety can"]),
        ("nitrile gloves box of 100", ["nitrile gloves", "box of 100"]),
        ("a stethoscope for my mom, she's a nurse", ["stethoscope"]),
        ("calm down, I need a jacket", ["calm", "jacket"]),  # "down" names a thing only before a garment
    ],
)
def test_stopwords_that_name_things_pack_sizes_and_who_someone_is(message: str, wanted: list[str]) -> None:
    assert wanted_phrases(message) == wanted


def test_shipping_faster_is_delivery() -> None:
    assert unsupported_constraints("like C but something that ships faster") == ["delivery"]


@pytest.mark.parametrize(
    ("message", "wanted", "unwanted"),
    [
        ("latex is off limits, I need exam gloves", ["exam gloves"], ["latex"]),
        ("a flannel shirt, as long as there's no polyester in it", ["flannel shirt"], ["polyester"]),
        ("no polyester means NO polyester", [], ["polyester"]),
        ("the hood on B ruins it", [], ["hood"]),
        ("wanna get some rare earth magnets", ["rare earth magnets"], []),
    ],
)
def test_more_ways_of_ruling_out_and_of_filler(message: str, wanted: list[str], unwanted: list[str]) -> None:
    assert wanted_phrases(message, labels=LABELS) == wanted
    assert extract_preferences(message, labels=LABELS)["unwanted"] == unwanted


def test_in_laws_and_step_children_are_audiences() -> None:
    assert extract_preferences("a quarter-zip sweater for my father-in-law").get("audience") == ["men"]
    assert extract_preferences("a dissection kit for my stepson").get("audience") == ["boys"]


def test_lowest_price_is_a_price() -> None:
    assert unsupported_constraints("denim jackets sorted by lowest price") == ["price"]
    assert wanted_phrases("denim jackets sorted by lowest price") == ["denim jackets"]


def test_equally_close_corrections_keep_the_typed_consonants() -> None:
    counts = Counter({"power": 40, "powder": 10})
    assert Speller(counts).word("powdr") == "powder"


def test_i_said_no_x_stays_an_attribute_dispute_whatever_the_learned_kind() -> None:
    from agent.dispute import find_dispute

    picks = labelled_picks("Stainless Steel Caliper", "Digital Thermometer", "Steel Ruler")
    found = find_dispute("I said no stainless", picks, [], {}, kind="claim")
    assert (found["kind"], found["attribute"]) == ("attribute", "stainless")
    assert find_dispute("B isn't stainless steel", picks, [], {}, kind="claim")["kind"] == "claim"
