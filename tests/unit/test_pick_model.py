"""The learned pointer at the pick a message is about (agent/pick_model.py): its lexical evidence, its weights file,
how a dispute follows it (`repoint`), the shipped pointer on messages the rules misread, and its comparison
(evals/pick_pointer.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent.pick_model import (
    NONE_FEATURES,
    PICK_FEATURES,
    PickModel,
    PickModelError,
    _capital,
    _one_off,
    fit_pick_model,
    open_pick_model,
    pick_features,
    point_at,
    repoint,
    rules_pointed,
)
from agent.records import Dispute, Pick
from evals.pick_pointer import compare

NAMES = [*PICK_FEATURES, *NONE_FEATURES]


def _pick(label: str, title: str) -> Pick:
    return Pick(item_id=f"id-{label}", title=title, label=label, logprob=0.0, reason="", grounded=False)


PICKS = [
    _pick("A", "Dynarex Safe-Touch Vinyl Exam Gloves, Powder-Free"),
    _pick("B", "AMMEX Indigo Nitrile Gloves, 6 mil"),
    _pick("C", "Medline Aloetouch Latex Gloves"),
]


def _fired(message: str, intent: str = "dispute", kind: str | None = "item") -> list[list[str]]:
    rules = rules_pointed(message, PICKS, None)
    rows = pick_features(message, PICKS, intent, kind, rules)
    return [[NAMES[i] for i in np.nonzero(row)[0]] for row in rows]


@pytest.mark.parametrize(
    ("word", "target", "expected"),
    [
        ("thrid", "third", True),  # two letters swapped
        ("secnd", "second", True),  # one dropped
        ("midle", "middle", True),
        ("thirds", "third", True),  # one added
        ("third", "third", False),  # the word itself is the ordinal feature's
        ("flook", "fluke", False),  # two letters off
        ("bird", "third", False),
    ],
)
def test_a_word_one_letter_off(word: str, target: str, expected: bool) -> None:
    assert _one_off(word, target) is expected


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("A's coming home with me", True),
        ("C'll do nicely", True),
        ("3 more Bs pls", True),
        ("narrow it to A-style rolls", True),
        ("similar-to-C, merino wool", True),
        ("=VLOOKUP(B2,'Sizes'!A:D,3)", False),  # a cell, not a label
        ("solid A+", False),  # a grade
    ],
)
def test_a_capital_label_standing_alone(text: str, found: bool) -> None:
    label = next(c for c in "ABC" if c in text.replace("VLOOKUP", "").replace("Sizes", ""))
    assert bool(_capital(label).search(text)) is found


def test_the_evidence_each_pick_and_none_get() -> None:
    rows = _fired("whats the midle one made of", "question", None)
    assert len(rows) == 4 and "ordinal_misspelt" in rows[1] and "ordinal_misspelt" not in rows[0]
    assert "position_word" in _fired("nope on the one on the right")[2]
    assert "own_title_words" in _fired("the Dynarex box was never powder-free", kind="claim")[0]
    assert "whole_list" in _fired("scrap all three and start over")[3]
    listed = _fired("1) ok\n2) ok\n3) that's latex, not vinyl", kind="claim")
    assert all("list_number" in listed[i] for i in range(3))
    assert not any("list_number" in row for row in _fired("Step 3: load the filament"))  # one number is no list
    # the none row holds only "none" evidence, a pick's row only a pick's
    assert len(set(NAMES)) == len(NAMES)
    rows = pick_features("not B", PICKS, "dispute", "item", ["id-B"])
    assert not rows[:3, len(PICK_FEATURES) :].any() and not rows[3, : len(PICK_FEATURES)].any()


def _model(**weights: float) -> PickModel:
    return PickModel(weights=tuple(weights.get(name, 0.0) for name in NAMES), fitted_on={})


def test_the_pointer_points_at_the_best_scored_pick_or_none() -> None:
    model = _model(ordinal=3.0, position_word=3.0, bias=1.0)
    assert model.point("drop the third one", PICKS, "dispute", "item", []) == "id-C"
    assert model.point("the bottom one, nope", PICKS, "dispute", "item", []) == "id-C"
    assert model.point("none of these work", PICKS, "dispute", "item", []) is None
    assert model.point("anything", [], "dispute", "item", []) is None
    # without a pointer the rules point, when they read one pick
    assert point_at(None, "x", PICKS, "dispute", None, ["id-B"]) == "id-B"
    assert point_at(None, "x", PICKS, "dispute", None, ["id-A", "id-B"]) is None


def test_the_weights_file_round_trips_and_refuses_another_version(tmp_path: Path) -> None:
    model = _model(ordinal=2.5, bias=-1.0)
    path = tmp_path / "pick_model.json"
    model.save(path)
    assert PickModel.load(path) == PickModel(weights=model.weights, fitted_on={})
    fields = json.loads(path.read_text())
    path.write_text(json.dumps({**fields, "version": 0}))
    with pytest.raises(PickModelError, match="version"):
        PickModel.load(path)
    path.write_text(json.dumps({**fields, "features": NAMES[:-1]}))
    with pytest.raises(PickModelError, match="other features"):
        PickModel.load(path)
    assert open_pick_model(tmp_path / "missing.json") is None
    with pytest.raises(PickModelError, match="llmrec train intent"):
        PickModel.load(tmp_path / "missing.json")


def _dispute(kind: str, ids: list[str]) -> Dispute:
    return Dispute(message="", kind=kind, item_ids=ids, attribute=None, claim=None)  # type: ignore[typeddict-item]


def test_a_dispute_follows_the_pointer() -> None:
    assert repoint(_dispute("item", ["id-A"]), "id-C", PICKS)["item_ids"] == ["id-C"]
    # "scrap all three": the rules' top pick alone was rejected; about none in particular, every pick is
    assert repoint(_dispute("item", ["id-A"]), None, PICKS)["item_ids"] == ["id-A", "id-B", "id-C"]
    assert repoint(_dispute("owned", ["id-A"]), None, PICKS)["item_ids"] == ["id-A", "id-B", "id-C"]
    # a claim about no pick in particular punishes none
    assert repoint(_dispute("claim", ["id-A"]), None, PICKS)["item_ids"] == []
    # several picks named stay named; an attribute dispute rejects what has the ruled-out thing, as before
    assert repoint(_dispute("item", ["id-A", "id-C"]), None, PICKS)["item_ids"] == ["id-A", "id-C"]
    assert repoint(_dispute("attribute", ["id-C"]), "id-A", PICKS)["item_ids"] == ["id-C"]


def test_the_fit_learns_which_evidence_points() -> None:
    messages = [("drop the third one", 2), ("not the first one", 0), ("the second is wrong", 1), ("none of these", 3)]
    cases = []
    for message, target in messages * 5:
        rules = rules_pointed(message, PICKS, None)
        cases.append((pick_features(message, PICKS, "dispute", "item", rules), target))
    model = fit_pick_model(cases, l2=0.3, fitted_on={"lines": len(cases)})
    assert model.point("I hate the third one", PICKS, "dispute", "item", ["id-C"]) == "id-C"
    assert model.point("none of these", PICKS, "dispute", "item", []) is None
    scored = [(case, None) for case in cases]  # rules that never point: right on "none of these" alone
    report = compare(model, scored)
    assert report["pointer"] == 1.0 and report["rules"] == 0.25 and report["fixed"] == 15 and report["broken"] == 0


@pytest.mark.parametrize(
    ("message", "intent", "item"),
    [
        ("scrap all three and start over", "dispute", None),  # the rules: the top pick
        ("0 for 3, sorry", "dispute", None),
        ("nope on the one on the right", "dispute", 3),  # the rules: the top pick
        ("the bottom one, nope, not for me", "dispute", 3),
        ("not the second one", "dispute", 2),
        ("A's coming home with me", "accept", 1),  # the rules read no label
        ("the midle one pls", "accept", 2),  # an ordinal one letter off
    ],
)
def test_the_shipped_pointer_reads_what_the_rules_misread(message: str, intent: str, item: int | None) -> None:
    from agent.dispute import find_dispute

    model = open_pick_model()
    assert model is not None, "adapters/intent/pick_model.json is shipped: run `llmrec train intent`"
    dispute = find_dispute(message, PICKS, [], {}, kind="item") if intent == "dispute" else None
    rules = rules_pointed(message, PICKS, dispute)
    pointed = model.point(message, PICKS, intent, "item" if dispute else None, rules)
    assert pointed == (None if item is None else PICKS[item - 1]["item_id"])
