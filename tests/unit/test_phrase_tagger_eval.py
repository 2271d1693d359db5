"""evals/phrase_tagger.py counts each way of serving the phrases against the labels: the served reading (the tagger's
wanted phrases for a request, the rules' ruled-out ones) and the alternatives it is measured against. A tagger with
chosen weights stands in for a fitted one, so what each count reads is known exactly."""

from __future__ import annotations

import numpy as np

from agent.language import read_word_spans
from agent.phrase_model import TAGS, PhraseModel, RulesReading, TaggedLine
from evals.phrase_tagger import Counts, score

MESSAGE = "nitrile gloves , no latex"


def _tagger_reading(tags: list[str]) -> tuple[PhraseModel, np.ndarray]:
    """A model whose tags are the given ones: one-hot rows through identity weights."""
    x = np.array([[1.0 if tag == t else 0.0 for t in TAGS] for tag in tags])
    return PhraseModel("e", list(TAGS), np.eye(len(TAGS)).tolist(), [0.0] * len(TAGS), {}), x


def _line(wanted: list[str], unwanted: list[str]) -> TaggedLine:
    return TaggedLine(MESSAGE, RulesReading("request", wanted, unwanted, []), ["nitrile gloves"], ["latex"])


def test_each_served_reading_and_alternative_is_counted_against_the_labels() -> None:
    assert len(read_word_spans(MESSAGE)[1]) == 5
    model, x = _tagger_reading(["B-W", "I-W", "O", "O", "B-U"])
    counts: Counts = {}
    # The rules read "gloves" wanted and nothing ruled out; the tagger reads both labels right.
    score(model, [(_line(["gloves"], []), (x, [], True))], counts)
    assert counts["served_wanted"] == [(1, 1, 1)]  # a request's wanted phrases are the tagger's
    assert counts["rules_wanted"] == [(0, 1, 1)]
    assert counts["rules_unwanted"] == [(0, 0, 1)]  # served: the rules' ruled-out phrases (none here)
    assert counts["fallback_unwanted_all"] == [(1, 1, 1)]  # the tagger's where the rules read none
    assert counts["tagger_first_unwanted"] == [(1, 1, 1)] and counts["union_unwanted"] == [(1, 1, 1)]
    assert counts["per_word_served_wanted"] == [(1, 1, 1)]


def test_the_decoded_and_the_word_by_word_readings_are_counted_apart() -> None:
    # Word by word: "nitrile" O (0.5 against B-W 0.45), "gloves" I-W (0.6): the orphan continuation starts the
    # phrase "gloves". Decoded, B-W I-W (0.45 x 0.6 = 0.27) beats every well-formed path: "nitrile gloves".
    probs = {0: {"O": 0.5, "B-W": 0.45}, 1: {"I-W": 0.6, "O": 0.3, "B-W": 0.1}, 4: {"B-U": 0.9}}
    x = np.log(np.array([[probs.get(i, {"O": 0.9}).get(t, 0.01) for t in TAGS] for i in range(5)]))
    model = PhraseModel("e", list(TAGS), np.eye(len(TAGS)).tolist(), [0.0] * len(TAGS), {})
    counts: Counts = {}
    score(model, [(_line([], []), (x, [], True))], counts)
    assert counts["served_wanted"] == [(1, 1, 1)] and counts["per_word_served_wanted"] == [(0, 1, 1)]
    assert counts["tagger_first_unwanted"] == [(1, 1, 1)] and counts["rules_unwanted"] == [(0, 0, 1)]
