"""The reading of a user message (agent/understanding.py) and its protocol (evals/understanding.py): unsupported
constraints, phrases, the learned intent classifier's masks and refusals, scoring, malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.intent_model import IntentModel, IntentModelError, fit_intent_model, open_intent_model
from agent.profile import wanted_phrases
from agent.question import answer_question
from agent.records import Pick
from agent.understanding import PreviousPick, read_message
from agent.understanding_set import Line, UnderstandingSetError, fitting_lines, load_lines
from agent.unsupported import unsupported_constraints
from evals.understanding import phrase_key, score_line, summarise
from tests.unit.hash_encoder import HashEncoder
from tools.catalog import Item
from ui.cli import app

PICKS = [
    PreviousPick("A", "Neiko 01407A Stainless Steel 6-Inch Digital Caliper"),
    PreviousPick("B", "Mitutoyo 505-732 Dial Caliper"),
    PreviousPick("C", "Fluke 101 Basic Digital Multimeter"),
]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("a multimeter under $50", ["price"]),
        ("top rated boots that ship by friday", ["rating", "delivery"]),
        ("something cheap, 5 stars", ["price", "rating"]),
        ("wat r ur best test tubes", []),
        ("a digital caliper with a large lcd", []),
        ("I need a dress by saturday", ["delivery"]),
        ("budget friendly rain jackets", ["price"]),
    ],
)
def test_unsupported_constraints(message: str, expected: list[str]) -> None:
    assert unsupported_constraints(message) == expected


def test_wanted_words_are_grouped_into_the_phrases_the_user_wrote() -> None:
    assert wanted_phrases("a digital caliper with a large lcd") == ["digital caliper", "large lcd"]
    assert wanted_phrases("men's bootcut jeans") == ["bootcut jeans"]  # the audience is a filter, not a want
    assert wanted_phrases("a hoodie, no zipper") == ["hoodie"]


def test_a_dispute_of_the_second_pick_names_it() -> None:
    reading = read_message("not the second one", PICKS)
    assert (reading.intent, reading.item, reading.dispute_kind) == ("dispute", 2, "item")
    assert read_message("a multimeter under $50").unsupported == ["price"]
    other = read_message("hello", PICKS)
    assert other.intent == "other" and other.wanted == [] and other.item is None


def test_the_intent_model_masks_what_needs_picks_and_refuses_another_encoder(tmp_path: Path) -> None:
    encoder = HashEncoder()
    messages = ["why the second one?", "is B waterproof?", "I need a caliper", "a hoodie please", "hello", "hi there"]
    labels = ["question", "question", "request", "request", "other", "other"]
    model = fit_intent_model(encoder, messages, [True, True, False, False, False, False], labels, c=10.0)
    assert model.classify(encoder, "why the first one?", True)[0] == "question"
    intent, scores = model.classify(encoder, "why the first one?", False)  # nothing shown: no question to ask
    assert intent in ("request", "other") and "question" not in scores
    model.save(tmp_path / "m.json")
    assert IntentModel.load(tmp_path / "m.json") == model
    other = HashEncoder()
    other.identity = "another-encoder"
    with pytest.raises(IntentModelError, match="llmrec train intent"):
        model.classify(other, "hello", False)
    assert open_intent_model(tmp_path / "missing.json") is None


def test_chit_chat_cues_alone_decide_the_intent() -> None:
    """When the cue rules see nothing but chit-chat ("thanks!", "got it", "........"), the intent is other whatever
    the classifier says (leave-family-out cross-validation: intent 0.935 -> 0.955 on the development part)."""
    encoder = HashEncoder()
    messages = ["not the second one", "I hate B", "drop C", "no, the first", "why B?", "I need a caliper"]
    labels = ["dispute", "dispute", "dispute", "dispute", "question", "request"]
    model = fit_intent_model(encoder, messages, [True] * 6, labels, c=10.0)
    for message in ("thanks!", "got it", "........", "hmm interesting"):
        assert model.classify(encoder, message, True)[0] == "other", message
    assert model.classify(encoder, "not the first one", True)[0] == "dispute"


def test_a_brand_pointing_at_a_pick_is_no_filter() -> None:
    from agent.profile import Vocabulary

    items = [Item(item_id=str(i), title=t, text=t, attributes={"brand": "Fluke"}) for i, t in enumerate("ab")]
    vocabulary = Vocabulary.from_items(items)
    owned = read_message("I already own that Fluke clamp meter", PICKS, vocabulary=vocabulary)
    assert owned.filters["brand"] == []
    assert read_message("Fluke multimeters please", vocabulary=vocabulary).filters["brand"] == ["fluke"]


def _line(tmp_path: Path, expected: dict[str, object], previous: bool = True) -> Path:
    row = {
        "id": "x-001",
        "split": "heldout",
        "category": "dispute_item",
        "domain": "scientific",
        "message": "not the second one",
        "previous": {"picks": [{"label": p.label, "title": p.title} for p in PICKS], "rationale": ""}
        if previous
        else None,
        "expected": expected,
    }
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return path


EXPECTED = {
    "intent": "dispute",
    "wanted": [],
    "unwanted": [],
    "filters": {"audience": [], "exclude_audience": [], "brand": []},
    "unsupported": [],
    "item": 2,
    "dispute_kind": "item",
    "claim": None,
}


def test_a_right_reading_scores_every_field_and_a_wrong_one_fails(tmp_path: Path) -> None:
    line = load_lines(_line(tmp_path, EXPECTED))[0]
    right = read_message(line.message, line.previous, line.rationale)
    outcome = score_line(right, line)
    assert outcome["all"] and outcome["intent"] and outcome["item"]
    wrong = read_message("I need a caliper", line.previous, "")
    failed = score_line(wrong, line)
    assert not failed["intent"] and not failed["all"]
    summary = summarise([(line, outcome), (line, failed)])
    assert summary["fields"]["intent"]["accuracy"] == 0.5 and summary["fields"]["intent"]["n"] == 2
    assert summary["categories"]["dispute_item"]["all"]["accuracy"] == 0.5
    assert phrase_key("Men's Bootcut Jeans") == phrase_key("men bootcut jean")


def test_a_malformed_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"domain": "scientific", "message": "hi", "expected": {}}) + "\n{not json\n")
    with pytest.raises(UnderstandingSetError, match="line 1"):
        load_lines(path)
    with pytest.raises(UnderstandingSetError, match="no such file"):
        load_lines(tmp_path / "missing.jsonl")


def _fit_line(id_: str, split: str, family: str, message: str) -> Line:
    return Line(id_, split, "request_plain", "scientific", message, [], "", dict(EXPECTED), family=family)


def test_a_training_supplement_adds_training_lines_and_refuses_held_out_ones() -> None:
    lines = [_fit_line("a", "dev", "f1", "I need a caliper"), _fit_line("b", "heldout", "f2", "got any gloves?")]
    extra = [_fit_line("s", "dev", "s1", "caliper, digital if possible")]
    assert [line.id for line in fitting_lines(lines, "dev", extra)] == ["a", "s"]
    assert [line.id for line in fitting_lines(lines, "dev")] == ["a"]
    with pytest.raises(UnderstandingSetError, match="split 'heldout'"):
        fitting_lines(lines, "dev", [_fit_line("s", "heldout", "s1", "a scale")])
    with pytest.raises(UnderstandingSetError, match="family 'f2'"):
        fitting_lines(lines, "dev", [_fit_line("s", "dev", "f2", "a scale")])
    with pytest.raises(UnderstandingSetError, match="repeats a message"):
        fitting_lines(lines, "dev", [_fit_line("s", "dev", "s2", "Got any  GLOVES?")])


def test_the_protocol_on_the_command_line_explains_what_is_missing(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--protocol", "understanding", "--systems", "rules", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--messages" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    args = ["eval", "--protocol", "understanding", "--messages", str(bad), "--systems", "rules", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "line 1" in result.output
    path = _line(tmp_path, EXPECTED)
    out = tmp_path / "report"
    args = ["eval", "--protocol", "understanding", "--messages", str(path), "--systems", "rules", "--out", str(out)]
    result = runner.invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "results.json").read_text())
    assert report["systems"]["rules"]["all"]["fields"]["intent"]["accuracy"] == 1.0
    assert (out / "categories.png").stat().st_size > 0
    result = runner.invoke(app, ["eval", "--protocol", "candidates", "--systems", "random", "--out", str(out)])
    assert result.exit_code == 2 and "--domain is required" in result.output


def test_a_question_is_answered_from_the_catalog_without_guessing() -> None:
    item = Item("X1", "Trail Rain Jacket", "Trail Rain Jacket waterproof nylon shell with hood", {"brand": "Acme"})
    picks = [Pick(item_id="X1", title=item.title, label="A", logprob=0.0, reason="It is a rain jacket.", grounded=True)]
    answer = answer_question("is A waterproof?", picks, {"X1": item})
    assert "mentions “waterproof”" in answer and "brand Acme" in answer and "unchanged" in answer
    answer = answer_question("is the first one fleece lined? how much is it?", picks, {"X1": item})
    assert "does not mention “fleece”" in answer and "no prices" in answer


def test_a_question_checks_a_hyphenated_property_whole() -> None:
    item = Item("X2", "Uni-T clamp meter", "Uni-T UT204 Auto-Ranging AC DC clamp meter", {"brand": "Uni-T"})
    picks = [Pick(item_id="X2", title=item.title, label="A", logprob=0.0, reason="", grounded=False)]
    answer = answer_question("is A auto-ranging?", picks, {"X2": item})
    assert "mentions “auto-ranging”" in answer and "“auto”" not in answer


def test_the_shipped_intent_model_fits_the_packaged_encoder() -> None:
    from tools.embeddings import Encoder
    from tools.settings import RetrievalSettings

    model = open_intent_model()
    assert model is not None, "adapters/intent/intent_model.json is shipped: run `llmrec train intent`"
    encoder = Encoder.from_settings(RetrievalSettings())
    assert model.classify(encoder, "why the second one?", True)[0] == "question"
    assert model.classify(encoder, "hello there", False)[0] == "other"
    # A wish the catalog cannot honour is a refinement, not a dispute (it removed a pick "because you already own
    # it" in a real chat); with a dispute cue it stays a dispute.
    assert model.classify(encoder, "under 50 dollars please", True)[0] == "request"
    assert model.classify(encoder, "under 30 bucks, and not the first one", True)[0] == "dispute"


def _pick(label: str, title: str) -> Pick:
    return Pick(item_id=f"id-{label}", title=title, label=label, logprob=0.0, reason="", grounded=False)


SHOWN = [
    _pick("A", "New Mini Digital Pen Type PH Meter PH-009"),
    _pick("B", "OWON B35T Plus Multimeter"),
    _pick("C", "Uni-T UT204 Clamp Meter"),
]


def test_x_is_not_a_y_rules_out_x_and_keeps_wanting_y() -> None:
    from agent.dispute import corrected_claim, dispute_preferences

    assert corrected_claim("that's wrong, a pH meter is not a multimeter", SHOWN) == (
        ["multimeter"],
        ["ph meter"],
        ["id-A"],
    )
    assert corrected_claim("C isn't waterproof", SHOWN) == (["waterproof"], [], ["id-C"])
    wanted, ruled_out, _ = corrected_claim("B is a surgical mask, not an N95 respirator", SHOWN) or ([], [], [])
    assert (wanted, ruled_out) == (["n95 respirator"], ["surgical mask"])
    assert corrected_claim("I need a multimeter", SHOWN) is None
    dispute = {"message": "", "kind": "claim", "item_ids": [], "attribute": None, "claim": "x"}
    profile = dispute_preferences("a pH meter is not a multimeter", dispute, SHOWN)  # type: ignore[arg-type]
    assert profile["wanted"] == ["multimeter"] and profile["unwanted"] == ["ph meter"]


def test_more_like_a_pick_searches_around_it_and_not_for_its_pointer_words() -> None:
    from agent.dispute import similar_pick
    from agent.planner import plan_tool_calls

    assert similar_pick("more like the second one", SHOWN) == "id-B"
    assert similar_pick("like C but in navy", SHOWN) == "id-C"
    assert similar_pick("I need a multimeter", SHOWN) is None
    profile = {"wanted": ["multimeter"], "unwanted": [], "constraints": {}}
    calls = plan_tool_calls(
        "more like the second one",
        profile,  # type: ignore[arg-type]
        turn=1,
        user_id=None,
        anchor_item="id-A",
        search_k=20,
        similar_to="id-B",
        labels=["A", "B", "C"],
    )
    assert (calls[0]["name"], calls[0]["args"].get("item_id")) == ("similar_items", "id-B")
    assert "search_catalog" not in [c["name"] for c in calls]
    calls = plan_tool_calls(
        "like B but in navy",
        profile,  # type: ignore[arg-type]
        turn=1,
        user_id=None,
        anchor_item="id-A",
        search_k=20,
        similar_to="id-B",
        labels=["A", "B", "C"],
    )
    assert calls[0]["name"] == "similar_items" and calls[1]["args"]["query"] == "navy multimeter"


@pytest.mark.parametrize(
    ("message", "wanted", "unwanted", "audience"),
    [
        ("cheap nitrile gloves under $20", ["nitrile gloves"], [], []),  # a price is no wish: searched without it
        ("a 5 star rated hoodie that ships fast", ["hoodie"], [], []),
        ("latex-free gloves", ["gloves"], ["latex"], []),
        ("jeans, anything but Wrangler", ["jeans"], ["wrangler"], []),
        ("I'm not crazy about plastic, I want a beaker", ["beaker"], ["plastic"], []),
        ("a cardigan for my wife", ["cardigan"], [], ["women"]),
        ("my husband already owns a caliper", ["owns", "caliper"], [], []),  # mentioned, not the audience
    ],
)
def test_traps_of_the_labelling_guide(
    message: str, wanted: list[str], unwanted: list[str], audience: list[str]
) -> None:
    from agent.profile import extract_preferences

    profile = extract_preferences(message)
    assert wanted_phrases(message) == wanted or profile["wanted"] == wanted
    assert profile["unwanted"] == unwanted
    assert profile.get("audience", []) == audience


def test_typos_are_read_as_the_catalog_word_and_real_words_stay(scientific_catalog: object) -> None:
    from agent.spelling import Speller

    items = scientific_catalog.items.values()  # type: ignore[attr-defined]
    speller = Speller.from_items(items)
    assert speller.correct("nitrle gloves") == ("nitrile gloves", [("nitrle", "nitrile")])
    assert speller.correct("osciloscope probes")[0] == "oscilloscope probes"
    # real words are never "corrected" to a more common neighbour, nor plurals to their singular
    for message in ("a stethoscope for my niece, she's a nurse", "no clue", "weights for a scale"):
        assert speller.correct(message) == (message, [])
