"""The deterministic claim-grounding verifier: splitting, label detection, support, scores and per-item reasons."""

from __future__ import annotations

import pytest

from agent.claims import (
    MAX_REASON_CHARS,
    Evidence,
    check_claims,
    grounding_score,
    marked_rationale,
    reason_for,
    referenced_labels,
    split_claims,
)
from agent.language import stem
from agent.state import Claim
from tools.catalog import Item

LABELS = tuple("ABCDEFGHIJKLMNOPQRST")

ROLL_80 = Item(
    item_id="B000ROLL80",
    title="PORTER-CABLE 740000801 4 1/2-Inch x 10yd 80 Grit Adhesive-Backed Sanding Roll",
    text="PORTER-CABLE 740000801 adhesive-backed sanding roll, 80 grit. Tools & Home Improvement.",
    attributes={"brand": "PORTER-CABLE", "category": ["Tools", "Abrasives"]},
)
ROLL_120 = Item(
    item_id="B000ROLL12",
    title="PORTER-CABLE 740001201 4 1/2-Inch x 10yd 120 Grit Sanding Roll",
    text="PORTER-CABLE sanding roll, 120 grit, for finishing wood.",
    attributes={"brand": "PORTER-CABLE", "color": "gray"},
)
GLUE = Item(
    item_id="B000GLUE08",
    title="Gorilla Wood Glue, 8 oz",
    text="Gorilla wood glue for the beginner and the pro. Water-resistant, dries natural.",
    attributes={"brand": "Gorilla", "size": "8 oz"},
)
SPONGE = Item(
    item_id="H1",
    title="3M Sanding Sponge, Medium Grit",
    text="3M sanding sponge for drywall.",
    attributes={"brand": "3M"},
)
EVIDENCE = Evidence(
    candidates={"A": ROLL_80, "B": ROLL_120, "C": GLUE},
    history=(SPONGE,),
    conversation=("I am refinishing an oak table",),
)


def _claim(text: str, supported: bool, item_ids: list[str] | None = None) -> Claim:
    return {
        "text": text,
        "item_ids": item_ids or [],
        "supported": supported,
        "support": 1.0 if supported else 0.0,
        "missing": [],
    }


# --- split_claims ----------------------------------------------------------------------------------------------------


def test_split_claims_on_sentence_ends() -> None:
    rationale = (
        "The user bought sanding rolls from PORTER-CABLE. Candidate B is a PORTER-CABLE 120 grit sanding roll, "
        "so it fits their history. C is waterproof glue, good for beginners."
    )
    assert split_claims(rationale) == [
        "The user bought sanding rolls from PORTER-CABLE.",
        "Candidate B is a PORTER-CABLE 120 grit sanding roll, so it fits their history.",
        "C is waterproof glue, good for beginners.",
    ]


def test_split_claims_on_other_terminators_newlines_and_bullets() -> None:
    rationale = (
        "Is B the best roll? Yes, B is sanding roll! A has 80 grit; C is wood glue\n- D is a drill\n* E is a saw"
    )
    assert split_claims(rationale) == [
        "Is B the best roll?",
        "Yes, B is sanding roll!",
        "A has 80 grit",
        "C is wood glue",
        "D is a drill",
        "E is a saw",
    ]


def test_split_claims_keeps_numbers_whole() -> None:
    rationale = "B is a 4 1/2-Inch roll with 3.5 mm backing. It costs 12.99 dollars."
    assert split_claims(rationale) == ["B is a 4 1/2-Inch roll with 3.5 mm backing.", "It costs 12.99 dollars."]


@pytest.mark.parametrize(
    "sentence",
    [
        "B suits small tools, e.g. detail sanders.",
        "C holds approx. 8 ounces of glue.",
        "A fits 1/2 in. arbors on sanders.",
        "B comes in sizes 1, 2, etc. and more.",
        "The user compared brands i.e. PORTER-CABLE and 3M.",
    ],
)
def test_split_claims_does_not_split_after_abbreviations(sentence: str) -> None:
    assert split_claims(sentence) == [sentence]


def test_split_claims_keeps_a_label_or_number_opening_a_list_entry() -> None:
    assert split_claims("B. A PORTER-CABLE sanding roll. 2. C is wood glue.") == [
        "B. A PORTER-CABLE sanding roll.",
        "C is wood glue.",
    ]
    assert split_claims("1. A is a roll\n2) B is a roll") == ["A is a roll", "B is a roll"]


def test_split_claims_drops_fragments_of_one_or_two_words() -> None:
    assert split_claims("Overall. Answer: B. B is glue.\nGreat!") == ["B is glue."]


@pytest.mark.parametrize(
    "rationale", ["", "   \n\t ", "...", "😀🔥✨ 👍", "\x00\x01\x1b[31m\x7f", "\u200b\ufeff 🙂\u2028🙂"]
)
def test_split_claims_of_empty_or_symbol_text_is_empty(rationale: str) -> None:
    assert split_claims(rationale) == []


# --- referenced_labels -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "labels"),
    [
        ("Candidate B is a sanding roll.", ["B"]),
        ("I would pick option C for the table.", ["C"]),
        ("The cheapest roll (A) has 80 grit.", ["A"]),
        ("[D] is a drill.", ["D"]),
        ("B: a PORTER-CABLE roll.", ["B"]),
        ("B. A PORTER-CABLE roll.", ["B"]),
        ("B) a PORTER-CABLE roll.", ["B"]),
        ("Items A and C are for wood.", ["A", "C"]),
        ("A, B share the brand.", ["A", "B"]),
        ("A is an 80 grit roll.", ["A"]),
        ("A and B are rolls.", ["A", "B"]),
        ("I recommend A.", ["A"]),
        ("I recommend B because it is a roll.", ["B"]),
        ("Candidate I is a hammer.", ["I"]),
        ("Option A sanding roll beats the rest.", ["A"]),
        ("Candidate I hammers nails.", ["I"]),
        ("I is a hammer.", ["I"]),
        ("H and I are hammers.", ["H", "I"]),
        ("C and B and C again.", ["C", "B"]),
        ("B's brand is PORTER-CABLE.", ["B"]),
    ],
)
def test_referenced_labels_finds_labels(claim: str, labels: list[str]) -> None:
    assert referenced_labels(claim, LABELS) == labels


@pytest.mark.parametrize(
    "claim",
    [
        "A good choice for this user.",
        "A very useful roll for sanding.",
        "A PORTER-CABLE roll suits sanders.",
        "I think the user sands a lot.",
        "I would recommend a sanding roll.",
        "The user needs vitamin C and size M.",
        "Plan B is a T-shirt made in the U.S.",
        "option c is lower case.",
    ],
)
def test_referenced_labels_ignores_articles_pronouns_and_values(claim: str) -> None:
    assert referenced_labels(claim, LABELS) == []


def test_referenced_labels_only_counts_listed_labels() -> None:
    assert referenced_labels("Candidate C and D are rolls.", ["A", "B", "C"]) == ["C"]


def test_referenced_labels_after_the_pronoun_i() -> None:
    # "I" is the pronoun here, C still a label; the list rule must not make "I" one.
    assert referenced_labels("C, I think, is the best roll.", LABELS) == ["C"]


# --- normalisation --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("beginners", "beginner"),
        ("batteries", "battery"),
        ("boxes", "box"),
        ("brushes", "brush"),
        ("sanding", "sand"),
        ("cutting", "cut"),
        ("glues", "gluing"),
        ("padded", "pad"),
    ],
)
def test_stem_merges_inflections(a: str, b: str) -> None:
    assert stem(a) == stem(b)


@pytest.mark.parametrize(("a", "b"), [("glass", "gla"), ("drilling", "dril"), ("string", "strong"), ("3.5", "35")])
def test_stem_keeps_different_words_apart(a: str, b: str) -> None:
    assert stem(a) != stem(b)


def test_stem_leaves_short_words_and_numbers() -> None:
    assert [stem(w) for w in ["bus", "gas", "1/2", "3.5", "10yd", "dw4524"]] == [
        "bus",
        "gas",
        "1/2",
        "3.5",
        "10yd",
        "dw4524",
    ]


# --- check_claims --------------------------------------------------------------------------------------------------


def test_supported_claim_about_a_labelled_candidate() -> None:
    [claim] = check_claims("Candidate B is a PORTER-CABLE 120 grit sanding roll.", EVIDENCE)
    assert claim == {
        "text": "Candidate B is a PORTER-CABLE 120 grit sanding roll.",
        "item_ids": ["B000ROLL12"],
        "supported": True,
        "support": 1.0,
        "missing": [],
    }


def test_planted_unsupported_claim() -> None:
    [claim] = check_claims("B is leather.", EVIDENCE)
    assert claim["item_ids"] == ["B000ROLL12"]
    assert claim["supported"] is False
    assert claim["support"] == 0.0
    assert claim["missing"] == ["leather"]


def test_missing_words_are_deduplicated_and_in_order() -> None:
    [claim] = check_claims("B is leather, velvet leather and suede roll.", EVIDENCE)
    assert claim["missing"] == ["leather", "velvet", "suede"]
    assert claim["support"] == pytest.approx(1 / 4)


def test_a_claim_is_checked_against_the_candidate_it_names_only() -> None:
    # "glue" is in C's fields, not in B's ("wood" is in both): true of C, false of B.
    [about_b] = check_claims("B is wood glue.", EVIDENCE)
    [about_c] = check_claims("C is wood glue.", EVIDENCE)
    assert (about_b["supported"], about_b["support"], about_b["missing"]) == (False, 0.5, ["glue"])
    assert (about_c["supported"], about_c["missing"]) == (True, [])


def test_a_claim_naming_no_candidate_is_checked_against_all_of_them() -> None:
    [claim] = check_claims("Wood glue and sanding rolls both help with furniture.", EVIDENCE)
    assert claim["item_ids"] == []
    assert claim["missing"] == ["furniture"]
    assert claim["supported"] is True


def test_history_and_conversation_are_evidence() -> None:
    [history, conversation, neither] = check_claims(
        "The user owns a 3M sponge for drywall. The user is refinishing an oak table. The user paints walnut desks.",
        EVIDENCE,
    )
    assert (history["supported"], history["missing"]) == (True, [])
    assert (conversation["supported"], conversation["missing"]) == (True, [])
    assert (neither["supported"], neither["missing"]) == (False, ["paints", "walnut", "desks"])


def test_plurals_in_claims_match_singulars_in_evidence() -> None:
    # GLUE says "beginner"; the claim says "beginners" and "glues".
    [claim] = check_claims("C glues wood for beginners.", EVIDENCE)
    assert claim["missing"] == []
    assert claim["supported"] is True


def test_a_claim_without_content_words_is_supported() -> None:
    [claim] = check_claims("B would be a great fit for this user.", EVIDENCE)
    assert claim["item_ids"] == ["B000ROLL12"]
    assert (claim["supported"], claim["support"], claim["missing"]) == (True, 1.0, [])


def test_threshold_decides_support() -> None:
    rationale = "C is waterproof wood glue."  # wood and glue are C's, waterproof is not: support 2/3
    [default] = check_claims(rationale, EVIDENCE)
    [strict] = check_claims(rationale, EVIDENCE, threshold=0.7)
    assert default["support"] == pytest.approx(2 / 3)
    assert default["supported"] is True
    assert strict["supported"] is False
    assert strict["missing"] == ["waterproof"]


def test_threshold_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        check_claims("B is a roll.", EVIDENCE, threshold=1.5)


def test_candidates_are_named_by_id() -> None:
    [bracketed, bare] = check_claims("[B000GLUE08] dries natural. The roll B000ROLL12 is 120 grit.", EVIDENCE)
    assert bracketed["item_ids"] == ["B000GLUE08"]
    assert bare["item_ids"] == ["B000ROLL12"]
    assert bracketed["supported"] and bare["supported"]


def test_short_ids_are_named_only_in_brackets() -> None:
    evidence = Evidence(candidates={"A": Item("42", "Oak Table Wax", "paste wax"), "B": GLUE})
    [bare, bracketed] = check_claims("It costs 42 dollars today. The wax [42] is paste wax.", evidence)
    assert bare["item_ids"] == []
    assert bracketed["item_ids"] == ["42"]


def test_candidates_are_named_by_title() -> None:
    [claim] = check_claims("The Gorilla Wood Glue suits this user.", EVIDENCE)
    assert claim["item_ids"] == ["B000GLUE08"]
    # One title word, or words every candidate title shares, name nothing.
    assert check_claims("Glue is needed for the table.", EVIDENCE)[0]["item_ids"] == []
    assert check_claims("A PORTER-CABLE sanding roll suits sanders.", EVIDENCE)[0]["item_ids"] == []


def test_labels_ids_and_titles_combine_without_repeats() -> None:
    [claim] = check_claims("Candidate C, the Gorilla Wood Glue [B000GLUE08], beats A.", EVIDENCE)
    assert claim["item_ids"] == ["B000GLUE08", "B000ROLL80"]


def test_empty_rationale_gives_no_claims() -> None:
    assert check_claims("", EVIDENCE) == []
    assert check_claims("Answer: B", EVIDENCE) == []


@pytest.mark.parametrize("rationale", ["😀😀😀 🔥🔥", "\x00\x01\x02\x1b\x7f\u200b", "B is 😀 leather\x00. ✨✨✨"])
def test_emoji_and_control_characters_do_not_crash(rationale: str) -> None:
    claims = check_claims(rationale, EVIDENCE)
    assert all(0.0 <= claim["support"] <= 1.0 for claim in claims)
    assert grounding_score(claims) in (None, 0.0, 1.0)


def test_emoji_around_a_false_claim_still_flag_it() -> None:
    [claim] = check_claims("B is 😀 leather\x00. ✨✨✨", EVIDENCE)
    assert claim["missing"] == ["leather"]


def test_no_candidates_at_all() -> None:
    [claim] = check_claims("The user sands drywall with a 3M sponge.", Evidence(candidates={}, history=(SPONGE,)))
    assert (claim["item_ids"], claim["supported"]) == ([], True)


# --- scores and marking -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("supported", "score"),
    [([], None), ([True], 1.0), ([False], 0.0), ([True, False], 0.5), ([True, True, False, True], 0.75)],
)
def test_grounding_score(supported: list[bool], score: float | None) -> None:
    assert grounding_score([_claim(f"claim {i}", s) for i, s in enumerate(supported)]) == score


def test_grounding_score_of_checked_claims() -> None:
    claims = check_claims("B is a sanding roll. B is leather. C is wood glue.", EVIDENCE)
    assert grounding_score(claims) == pytest.approx(2 / 3)


def test_marked_rationale_wraps_unsupported_claims() -> None:
    claims = check_claims("B is a sanding roll. B is leather. C is wood glue.", EVIDENCE)
    assert marked_rationale(claims) == "B is a sanding roll. [unsupported: B is leather.] C is wood glue."
    assert marked_rationale([]) == ""


# --- reason_for --------------------------------------------------------------------------------------------------


def test_reason_from_the_first_supported_claim_about_the_item() -> None:
    claims = [
        _claim("B is leather.", False, ["B000ROLL12"]),
        _claim("C is wood glue.", True, ["B000GLUE08"]),
        _claim("B has 120 grit.", True, ["B000ROLL12"]),
        _claim("B is a sanding roll.", True, ["B000ROLL12"]),
    ]
    assert reason_for(ROLL_120, "B", claims) == ("B has 120 grit.", True)


def test_reason_from_the_item_fields_when_no_claim_supports_it() -> None:
    claims = [_claim("B is leather.", False, ["B000ROLL12"]), _claim("C is wood glue.", True, ["B000GLUE08"])]
    reason, grounded = reason_for(ROLL_120, "B", claims, wanted=["porter-cable", "sanding", "stainless steel"])
    assert (reason, grounded) == ("brand: PORTER-CABLE; matches 'sanding'", False)


def test_reason_shows_attributes_when_nothing_wanted_matches() -> None:
    assert reason_for(GLUE, "C", [], wanted=["leather"]) == ("brand: Gorilla; size: 8 oz", False)


def test_reason_is_never_empty() -> None:
    assert reason_for(Item("X9", "", ""), "D", []) == ("candidate D: X9", False)
    assert reason_for(Item("X9", "Oak Wax", ""), "E", [], wanted=["the"]) == ("candidate E: Oak Wax", False)


def test_reason_is_shortened() -> None:
    long_claim = "B is a sanding roll " + "with 120 grit " * 30
    reason, grounded = reason_for(ROLL_120, "B", [_claim(long_claim, True, ["B000ROLL12"])])
    assert grounded is True
    assert len(reason) <= MAX_REASON_CHARS
    assert reason.startswith("B is a sanding roll with 120 grit")
    assert reason.endswith("…")
