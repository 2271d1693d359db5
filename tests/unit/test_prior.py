"""The prior and the calibrated commit (agent/prior.py): features, the combination, the position bias."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from agent.errors import CalibrationError
from agent.prior import (
    FEATURES,
    Calibration,
    Prior,
    calibration_path,
    load_calibration,
    order_by,
    position_bias,
    prior_features,
)
from tools.search import CatalogRetrievers


def test_prior_scores_are_the_weighted_features() -> None:
    prior = Prior("d", {"seq": 2.0, "pop": 0.5})
    x = np.zeros((2, len(FEATURES)))
    x[0] = 9.0
    x[0, FEATURES.index("seq")], x[0, FEATURES.index("pop")] = 1.0, 2.0
    assert prior.scores(x).tolist() == [3.0, 0.0]


def test_a_dominant_prior_is_followed_and_only_candidates_come_back() -> None:
    ids = ["x", "y", "z"]
    prior = np.array([5.0, 0.0, -5.0])
    weak = Calibration("d", "m", llm_weight=0.1, llm_weight_stderr=0.05, position_bias={})
    logprobs = [-3.0, -0.1, -3.0]  # the model prefers y, by little next to the prior's gaps
    assert order_by(ids, weak.combine(prior, ["A", "B", "C"], logprobs)) == ids
    strong = Calibration("d", "m", llm_weight=50.0, llm_weight_stderr=1.0, position_bias={})
    assert order_by(ids, strong.combine(prior, ["A", "B", "C"], logprobs))[0] == "y"
    assert sorted(order_by(ids, strong.combine(prior, ["A", "B", "C"], logprobs))) == sorted(ids)


def test_position_bias_is_the_log_mean_label_probability() -> None:
    runs = [{"A": math.log(0.7), "B": math.log(0.3)}, {"A": math.log(0.5), "B": math.log(0.5)}]
    bias = position_bias(runs)
    assert bias["A"] == pytest.approx(math.log(0.6)) and bias["B"] == pytest.approx(math.log(0.4))
    calibration = Calibration("d", "m", llm_weight=1.0, llm_weight_stderr=None, position_bias=bias)
    # A model that always says "A" with 0.6 gains nothing from it once debiased.
    assert calibration.debiased(["A", "B"], [math.log(0.6), math.log(0.4)]).tolist() == pytest.approx([0.0, 0.0])


def test_features_on_the_small_catalog(small_retrievers: CatalogRetrievers) -> None:
    ids = ["B000GSLKIW", "B001C4ZNT8", "B0000223UV"]
    x = prior_features(
        ids,
        history=["B0002BBV4Q"],
        query="digital caliper",
        retrievers=small_retrievers,
        seqrec=small_retrievers.sequential(progress=False),
        cooccur=small_retrievers.cooccurrence(),
    )
    assert x.shape == (3, len(FEATURES))
    text = x[:, FEATURES.index("text")]
    assert text[0] > text[2]  # a digital caliper matches the query better than glue
    assert x[1, FEATURES.index("cooc")] == pytest.approx(math.log(2))  # bought together with the history item once
    empty = prior_features(ids, history=[], query="", retrievers=small_retrievers, seqrec=None, cooccur=None)
    assert not empty.any()


def test_calibration_lives_beside_its_adapter_and_is_refused_for_another_model(tmp_path: Path) -> None:
    assert calibration_path("smollm2", tmp_path / "adapter", "scientific") == tmp_path / "adapter" / "calibration" / (
        "scientific.json"
    )
    assert calibration_path("/models/SmolLM2-135M", None, "clothing").parts[-3:] == (
        "SmolLM2-135M",
        "calibration",
        "clothing.json",
    )
    path = tmp_path / "c.json"
    assert load_calibration(path, "m") is None
    Calibration("scientific", "m", 0.5, 0.1, {"A": -3.0}).save(path)
    assert load_calibration(path, "m") == Calibration("scientific", "m", 0.5, 0.1, {"A": -3.0})
    with pytest.raises(CalibrationError, match="llmrec train calibrate --domain scientific"):
        load_calibration(path, "another model")


def _synthetic_sets(seed: int, n: int = 300) -> list[tuple[np.ndarray, int]]:
    """Sets of 20 candidates where feature 0 points at the target strongly and feature 1 weakly; the rest is noise."""
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(n):
        x = rng.normal(size=(20, len(FEATURES)))
        target = int(rng.integers(20))
        x[target, 0] += 2.0
        x[target, 1] += 1.0
        sets.append((x, target))
    return sets


def test_the_conditional_logit_finds_the_informative_features_and_beats_each_alone() -> None:
    from agent.prior_fit import conditional_logit, heldout_report

    w = conditional_logit(_synthetic_sets(0))
    assert w[0] > w[1] > 0.3  # the strong signal weighs most, the weak one still counts
    assert np.abs(w[2:]).max() < 0.3  # noise gets next to nothing
    report = heldout_report(_synthetic_sets(1), seed=0)
    assert report["fit"] > max(report[name] for name in FEATURES)


def test_ndcg_of_candidate_sets_gives_no_credit_for_ties() -> None:
    from agent.prior_fit import ndcg10

    sets = [(np.zeros((3, 1)), 1), (np.zeros((3, 1)), 0)]
    assert ndcg10(sets, [np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0])]) == pytest.approx(1.0)
    assert ndcg10(sets[:1], [np.zeros(3)]) == pytest.approx(1 / np.log2(4))
