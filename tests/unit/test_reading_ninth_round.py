"""Readings the set's ninth round of development families asked for (tests/data/understanding.jsonl, read by the
agent only after they were written): general shapes of English, checked on new sentences, not on the set's lines."""

from __future__ import annotations

import pytest

from agent.dispute import corrected_claim, find_dispute
from agent.intent import cue_prior
from agent.language import read_word_spans, rephrase
from agent.off_topic import off_topic_reason
from agent.phrase_model import PhraseModel, RulesReading, served_phrases, served_unwanted, word_features, word_vectors
from agent.profile import Vocabulary, extract_preferences, naming_values
from agent.records import INTENTS
from agent.unsupported import strip_unsupported, unsupported_constraints
from tests.unit.hash_encoder import HashEncoder
from tests.unit.labelled_picks import labelled_picks
from tools.catalog import Item


@pytest.mark.parametrize(
    ("message", "unwanted"),
    [
        ("a fleece vest, nylon need not apply", ["nylon"]),
        ("need hiking socks — cotton ones need not apply", ["cotton"]),
        ("a lab stool, hard pass on anything with wheels", ["wheels"]),
        ("rain boots pls. rubber? hard pass", ["rubber"]),
        ("a desk lamp, but halogen is a hard pass", ["halogen"]),
        ("wool → merino pls", ["wool"]),
    ],
)
def test_more_ways_of_ruling_out(message: str, unwanted: list[str]) -> None:
    assert extract_preferences(message)["unwanted"] == unwanted


def test_an_arrow_swaps_one_property_for_another_and_numbers_are_left_alone() -> None:
    assert rephrase("glass => plastic") == "no glass , plastic"
    assert "merino" in extract_preferences("wool ➡️ merino")["wanted"]
    assert rephrase("a 3 -> 5 mm adapter") == "a 3 -> 5 mm adapter"  # a range, not a swap


def test_intensifiers_rule_nothing_out_but_a_cap_can_still_be_unwanted() -> None:
    assert extract_preferences("no cap, I need a rain shell")["unwanted"] == []
    assert extract_preferences("ngl I need a new torque wrench")["unwanted"] == []
    assert extract_preferences("a winter hat, no cap please")["unwanted"] == ["cap"]


def test_a_starred_word_corrects_the_word_it_is_like() -> None:
    assert rephrase("a flanel shirt *flannel") == "a flannel shirt "
    assert rephrase("a rain cota\n**coat pls") == "a rain coat pls"
    assert rephrase("2*3 mm screws") == "2*3 mm screws"  # a product of numbers, not a correction


def test_a_pronoun_the_item_is_for_stands_for_the_relative_named_before_it() -> None:
    assert extract_preferences("my nephew lost his gloves, find him some new ones").get("audience") == ["boys"]
    assert extract_preferences("mum's kettle died, I want to get her a new one").get("audience") == ["women"]
    # no relative named, or one that does not agree: no audience
    assert extract_preferences("a scarf for her").get("audience") is None
    assert extract_preferences("my wife says get him a scarf").get("audience") is None


@pytest.mark.parametrize(
    ("message", "kinds", "left"),
    [
        ("hiking boots with at least 2,000 reviews", ["rating"], "hiking boots"),
        ("which calipers have 300+ reviews?", ["rating"], "which calipers have"),
        ("a parka that ships to Norway", ["delivery"], "a parka"),
        # what one buys for shipping is a product, not a wish about delivery
        ("I need a shipping box", [], "I need a shipping box"),
        ("delivery bags and shipping labels", [], "delivery bags and shipping labels"),
        ("shipping tape, must arrive by friday", ["delivery"], "shipping tape must"),
    ],
)
def test_review_counts_and_where_it_ships_are_constraints_the_catalog_lacks(
    message: str, kinds: list[str], left: str
) -> None:
    assert unsupported_constraints(message) == kinds
    assert " ".join(strip_unsupported(message).replace(",", " ").replace("?", " ").split()) == left


@pytest.mark.parametrize(
    "message",
    [
        "[3] Okafor, T. (2019). Nitrile and latex allergy in labs. Lab Safety Review, 12, 4-9.",
        "Nguyen, L. A., & Park, S. (2022). Cotton blends. Textiles, 7, 1-20.",
        "@inproceedings{lee2021, title={Glove fit}, year={2021}}",
        "$$ PV = nRT $$",
        "\\frac{a}{b} + \\sqrt{c}",
    ],
)
def test_pasted_references_and_formulas_are_not_requests(message: str) -> None:
    assert off_topic_reason(message) == "code"


def test_a_citation_like_sentence_in_a_request_is_still_a_request() -> None:
    assert off_topic_reason("Smith, J. recommends nitrile gloves for the lab") is None
    assert off_topic_reason("I need a $20 multimeter") is None


def test_a_correction_after_a_clause_of_its_own_is_read() -> None:
    picks = labelled_picks("Dr.meter PH002 pH Pen", "Fluke 323 Clamp Meter", "Extech MA145 Clamp Meter")
    assert corrected_claim("double-checked the manual, B isn't CAT IV rated", picks) == (["cat iv rated"], [], ["p1"])
    assert corrected_claim("love the list! quick note: C isn't auto-ranging", picks) == (["auto-ranging"], [], ["p2"])
    assert corrected_claim("nope, the first one isnt waterproof", picks) == (["waterproof"], [], ["p0"])
    # A taste is no property the rationale gave the pick: nothing to want
    assert corrected_claim("B is not my style", picks) is None
    assert corrected_claim("eh, C isn't really my thing", picks) is None


def test_a_pick_the_user_sent_back_is_rejected_not_owned() -> None:
    picks = labelled_picks("Lead Solder Wire", "Acrylic Knit Vest", "Lined Rain Jacket")
    for message in ("sent B back last month, not again", "I returned the last one twice already, so no"):
        assert find_dispute(message, picks, [], {}, kind="owned")["kind"] == "item"
    assert find_dispute("I already own B", picks, [], {}, kind="owned")["kind"] == "owned"
    # "never again" complains of nothing in particular
    assert extract_preferences("returned it, never again")["unwanted"] == []


def _ruling_out() -> PhraseModel:
    """A tagger that tags every word as the start of a ruled-out phrase."""
    tags = ["O", "B-W", "I-W", "B-U", "I-U"]
    text, spans = read_word_spans("x")
    width = word_features(word_vectors(HashEncoder(), text, spans), spans, RulesReading("request", [], [])).shape[1]
    return PhraseModel(
        HashEncoder().identity,
        tags,
        [[0.0] * width for _ in tags],
        [100.0 if tag == "B-U" else -100.0 for tag in tags],
        {"test": True},
    )


def test_requests_and_tagged_disputes_take_the_taggers_ruled_out_phrases() -> None:
    model, encoder, labels = _ruling_out(), HashEncoder(), ["A", "B", "C"]
    attribute = RulesReading("dispute", [], [], labels, "attribute")
    assert served_unwanted(model, encoder, "polyester", attribute) == ["polyester"]
    # the tagger's phrases replace the rules' in requests and in disputes of a pick, an attribute or an owned pick
    ruled = RulesReading("dispute", [], ["wool"], labels, "attribute")
    assert served_unwanted(model, encoder, "acrylic", ruled) == ["acrylic"]
    assert served_unwanted(model, encoder, "polyester", RulesReading("dispute", [], [], labels, "item")) == [
        "polyester"
    ]
    assert served_unwanted(model, encoder, "polyester", RulesReading("request", [], [], [])) == ["polyester"]
    # the rules' stand for a claim, for every other intent, and without a tagger
    assert served_unwanted(model, encoder, "polyester", RulesReading("dispute", [], ["wool"], labels, "claim")) == [
        "wool"
    ]
    assert served_unwanted(model, encoder, "polyester", RulesReading("question", [], [], labels)) == []
    assert served_unwanted(None, None, "polyester", attribute) == []
    # a phrase that only points at a pick is no rule-out
    assert served_unwanted(model, encoder, "B", attribute) == []


def test_a_pick_ordered_and_on_its_way_is_owned() -> None:
    picks = labelled_picks("Lead Solder Wire", "Acrylic Knit Vest", "Lined Rain Jacket")
    for message in ("C is already on its way to me", "got the middle one last week, tracking says out for delivery"):
        assert cue_prior(message, INTENTS, 1.0)["dispute"] == 1.0
        assert find_dispute(message, picks, [], {}, kind="item")["kind"] == "owned"
    assert find_dispute("there's a box full of B in the stockroom", picks, [], {}, kind="item")["kind"] == "owned"
    # where an order is tells nothing the catalog cannot honour; asking for a delivery date does
    assert unsupported_constraints("tracking says out for delivery") == []
    assert unsupported_constraints("can it be delivered by friday?") == ["delivery"]
    assert cue_prior("ordered B!", INTENTS, 1.0)["dispute"] == 0.0  # an order placed now is an accept


def test_a_brand_the_rules_rule_out_stays_beside_the_taggers_phrases() -> None:
    # After picks the tagger can read a brand as pointing at the pick that has it ("anything but Levi's" with a
    # Levi's pick shown); a brand ruled out is a filter, and the rules' stays.
    model, encoder, labels = _ruling_out(), HashEncoder(), ["A", "B", "C"]
    rules = RulesReading("request", [], ["levi's", "polyester"], labels)
    served = served_phrases(model, encoder, "B", rules, brands=["levi's"])
    assert served[1] == ["levi's"]  # the tagger's "B" only points at a pick; "polyester" is not a brand
    assert served_phrases(model, encoder, "levis", rules, brands=["levi's"])[1] == ["levis", "levi's"]
    items = [
        Item(item_id=f"l{n}", title=f"Levi's jean {n}", text="jean", attributes={"brand": "Levi's"}, domain="clothing")
        for n in range(2)
    ]
    vocabulary = Vocabulary.from_items(items)
    assert naming_values(["levi's", "polyester", "anything"], vocabulary) == ["levi's"]
    assert naming_values(["levi's"], None) == []
