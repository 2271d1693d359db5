"""The language layer (agent/language.py): one reading of a message for intent, profile, dispute and claims."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.dispute import dispute_preferences, find_dispute
from agent.intent import cue_prior
from agent.language import (
    asked_part,
    asking_clauses,
    find_negations,
    pick_statements,
    prepare,
    read_words,
    singular,
    stem,
)
from agent.profile import extract_preferences, wanted_phrases
from agent.state import INTENTS, Pick
from tools.catalog import Item

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)


@given(WORDS)
def test_the_two_keys_agree_on_plurals(word: str) -> None:
    # stem is built on singular: a word and its singular always share a stem, so a claim check and a filter never
    # disagree about whether "batteries" is "battery".
    assert stem(word) == stem(singular(word))


@pytest.mark.parametrize(
    ("a", "b"), [("gluing", "glue"), ("batteries", "battery"), ("sanding", "sand"), ("sizes", "size")]
)
def test_stem_merges_what_singular_keeps_apart_only_for_verbs(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_singular_keeps_verb_forms_apart() -> None:
    # A filter must not rule out "wire" items after "no wired headphones".
    assert singular("wired") != singular("wire")
    assert singular("zippers") == singular("zipper")


@pytest.mark.parametrize("quote", ["'", "\u2019", "`"])
def test_every_spelling_of_a_contraction_reads_the_same(quote: str) -> None:
    message = f"that isn{quote}t waterproof, and I don{quote}t want leather"
    assert prepare(message) == "that is not waterproof, and i do not want leather"
    assert extract_preferences(message)["unwanted"] == ["leather"]
    assert cue_prior(message, INTENTS, 1.0) == cue_prior(
        "that is not waterproof, and i do not want leather", INTENTS, 1.0
    )


def test_negation_scope_is_shared_by_profile_and_dispute() -> None:
    message = "I said no leather"
    assert [n.ruled_out for n in find_negations(message)] == [("leather",)]
    picks: list[Pick] = [
        {"item_id": "1", "label": "A", "title": "Leather work gloves", "logprob": 0.0, "reason": "", "grounded": False}
    ]
    items = {"1": Item(item_id="1", title="Leather work gloves", text="", attributes={}, domain="scientific")}
    dispute = find_dispute(message, picks, [], items)
    assert dispute["kind"] == "attribute"
    assert dispute["attribute"] == "leather"
    assert dispute["item_ids"] == ["1"]


def test_words_keep_hyphens_and_split_clauses() -> None:
    words = read_words("latex-free gloves, no powder")
    assert [w.text for w in words] == ["latex-free", "gloves", ",", "no", "powder"]
    assert words[2].is_break


@pytest.mark.parametrize(
    ("message", "wanted", "unwanted"),
    [
        ("B has a hood, I said no hood", [], ["hood"]),
        ("B is plastic and I wanted glass", ["glass"], []),
        ("the second one looks great but I want it in black", ["black"], []),
        ("like B but in navy", ["navy"], []),  # no statement about B: a wish anchored on it
        ("the first one has to be waterproof", ["waterproof"], []),
    ],
)
def test_what_a_pick_is_is_not_a_wish(message: str, wanted: list[str], unwanted: list[str]) -> None:
    profile = extract_preferences(message, labels=["A", "B", "C"])
    assert profile["wanted"] == wanted and profile["unwanted"] == unwanted


def test_a_pick_statement_needs_picks_and_a_verb() -> None:
    words = read_words("A is a kids' pen and I said not for kids")
    assert list(pick_statements(words, ["A", "B"]))[:5] == [1, 1, 1, 1, 1]
    assert not any(pick_statements(words, []))  # a first message: "a" is an article
    assert not any(pick_statements(read_words("a first aid kit"), ["A", "B"]))
    profile = extract_preferences("A is a kids' pen and I said not for kids", labels=["A", "B", "C"])
    assert profile["exclude_audience"] == ["kids"] and "audience" not in profile


@pytest.mark.parametrize(
    ("message", "asked"),
    [
        ("I already own that Fluke clamp meter", ""),
        ("I already have those Levi's, show me Wrangler instead", "show me wrangler instead"),
        ("I have the white ones already but I need black", "i need black"),
    ],
)
def test_only_the_clauses_that_ask_carry_wishes(message: str, asked: str) -> None:
    assert asking_clauses(message) == asked


def test_what_the_user_owns_is_not_searched_for_again() -> None:
    picks: list[Pick] = [
        {
            "item_id": "1",
            "label": "A",
            "title": "Fluke 323 clamp meter",
            "logprob": 0.0,
            "reason": "",
            "grounded": False,
        }
    ]
    items = {"1": Item(item_id="1", title="Fluke 323 clamp meter", text="", attributes={}, domain="scientific")}
    message = "I already own that Fluke clamp meter"
    dispute = find_dispute(message, picks, [], items)
    assert dispute["kind"] == "owned" and dispute["item_ids"] == ["1"]
    assert dispute_preferences(message, dispute, picks)["wanted"] == []
    message = "I already own that clamp meter, I need test leads"
    assert dispute_preferences(message, find_dispute(message, picks, [], items), picks)["wanted"] == ["test", "leads"]


def test_a_long_message_is_read_for_what_it_asks_not_its_story() -> None:
    message = (
        "My sister just got into nursing school and starts her clinical rotations in September. Right now she "
        "borrows scrubs from a friend, which is not ideal, and I want to surprise her with something of her own "
        "before her first shift. Could you find her a women's v-neck scrub top? She likes navy, and she told me "
        "she can't stand chest pockets because they snag on her badge."
    )
    profile = extract_preferences(message)
    assert wanted_phrases(message) == ["v-neck scrub top", "navy"]
    assert profile["unwanted"] == ["chest pockets"] and profile["audience"] == ["women"]
    assert asked_part("a women's v-neck scrub top in navy") == "a women's v-neck scrub top in navy"  # short: all


@pytest.mark.parametrize(
    ("message", "wanted", "unwanted"),
    [
        ("no need for a case, just the thermometer", ["thermometer"], []),  # not needed is not ruled out
        ("I don't need it to be waterproof", [], []),
        ("doesn't have to be digital", [], []),
        ("I wouldn't say no to a fleece lining", ["fleece lining"], []),  # a double negative is a want
        ("I can't do without pockets", ["pockets"], []),
        ("I'm not a big fan of hoods, looking for a jacket", ["jacket"], ["hoods"]),
        ("I don't want leather", [], ["leather"]),
    ],
)
def test_needing_and_double_negatives(message: str, wanted: list[str], unwanted: list[str]) -> None:
    assert wanted_phrases(message) == wanted
    assert extract_preferences(message)["unwanted"] == unwanted


def test_a_correction_about_an_ordinal_pick_rules_nothing_out() -> None:
    from agent.dispute import corrected_claim

    picks: list[Pick] = [
        {"item_id": i, "label": label, "title": f"item {i}", "logprob": 0.0, "reason": "", "grounded": False}
        for i, label in (("1", "A"), ("2", "B"), ("3", "C"))
    ]
    assert corrected_claim("wrong, the last one isn't waterproof", picks) == (["waterproof"], [], ["3"])


def test_a_correction_must_name_something_to_want_instead() -> None:
    from agent.dispute import corrected_claim

    picks: list[Pick] = [
        {"item_id": i, "label": label, "title": f"item {i}", "logprob": 0.0, "reason": "", "grounded": False}
        for i, label in (("1", "A"), ("2", "B"), ("3", "C"))
    ]
    assert corrected_claim("B is not what I want", picks) is None
    assert corrected_claim("that's false, A is not latex-free", picks) == ([], ["latex"], ["1"])


@pytest.mark.parametrize(
    ("message", "wanted", "unwanted"),
    [
        ("color doesn't matter, I want a digital caliper", ["digital caliper"], []),
        ("glass or plastic is fine, I need a graduated cylinder", ["graduated cylinder"], []),
        ("it doesn't need a hood, any fleece jacket is fine", ["fleece jacket"], []),
        ("I can't wear wool", [], ["wool"]),
        ("a hoodie, I'd rather not have a zipper", ["hoodie"], ["zipper"]),
        ("zippers are a dealbreaker for me", [], ["zippers"]),
        ("too much polyester in these", [], ["polyester"]),
        ("a graduated cylinder that is not plastic", ["graduated cylinder"], ["plastic"]),
        ("do you carry champion hoodies?", ["champion hoodies"], []),
        ("meh, the second one isn't it", [], []),
    ],
)
def test_paraphrases_of_wishes_read_one_way(message: str, wanted: list[str], unwanted: list[str]) -> None:
    """Issue 18's new development phrasings: permission is not a want, "can't wear"/"rather not"/"dealbreaker"/"too
    much" rule out, asking verbs and interjections are no wish."""
    assert wanted_phrases(message, labels=["A", "B", "C"]) == wanted
    assert extract_preferences(message, labels=["A", "B", "C"])["unwanted"] == unwanted


def test_ages_and_relatives_without_my_name_the_audience() -> None:
    assert extract_preferences("a fleece jacket for a 10 year old boy")["audience"] == ["boys"]
    assert wanted_phrases("a fleece jacket for a 10 year old boy") == ["fleece jacket"]
    assert extract_preferences("a microscope slide set for a 12 year old")["audience"] == ["kids"]
    assert extract_preferences("a flannel shirt for dad")["audience"] == ["men"]
    assert extract_preferences("a 3d pen to give to the niece")["audience"] == ["girls"]


def test_a_long_message_keeps_a_negated_request_and_drops_the_story_of_its_rule_outs() -> None:
    message = (
        "Every morning I walk my two boys to school, and the route goes through a park that turns into a swamp "
        "whenever it rains. Last week my younger son came home with soaked sneakers and a cold, and I felt terrible "
        "about it. So I need rain jackets for boys, with hoods, in bright colors so drivers can see them. I don't "
        "want anything with a fleece lining, since it gets really muggy here. My fingers are not as quick as they "
        "used to be."
    )
    profile = extract_preferences(message)
    assert wanted_phrases(message) == ["rain jackets", "hoods", "bright colors"]
    assert profile["unwanted"] == ["fleece lining"] and profile["audience"] == ["boys"]
