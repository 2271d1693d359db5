"""Reciprocal rank fusion against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from tools.fusion import competition_ranks, reciprocal_rank_fusion, rrf_scores


def test_two_lists_hand_computed() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 63)
    assert fused["d"] == pytest.approx(1 / 62)


def test_order_is_by_fused_score() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert [i for i, _ in fused] == ["b", "a", "d", "c"]


def test_id_in_one_list_only_gets_that_list_alone() -> None:
    fused = dict(reciprocal_rank_fusion([["x"], ["y", "z"]], k=1))
    assert fused == pytest.approx({"x": 1 / 2, "y": 1 / 2, "z": 1 / 3})


def test_ties_broken_by_best_rank_then_list_order() -> None:
    # "a" and "b" both score 1/61 + 1/62: same best rank (1), "a" comes from the first list.
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], k=60)
    assert fused[0][1] == pytest.approx(fused[1][1])
    assert [i for i, _ in fused] == ["a", "b"]
    # With k=0 all four score exactly 1.0: x, y, q at rank 1 (lists 0, 1, 2), p only at rank 2 (1/2 + 1/2).
    fused = reciprocal_rank_fusion([["x", "p"], ["y", "p"], ["q"]], k=0)
    assert [s for _, s in fused] == pytest.approx([1.0] * 4)
    assert [i for i, _ in fused] == ["x", "y", "q", "p"]


def test_empty_inputs() -> None:
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []
    assert reciprocal_rank_fusion([[], ["a"]]) == [("a", pytest.approx(1 / 61))]


def test_duplicate_within_a_list_counts_once_at_best_rank() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "a", "b"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 63)


def test_weights() -> None:
    fused = dict(reciprocal_rank_fusion([["a"], ["b"]], k=60, weights=[2.0, 0.5]))
    assert fused == pytest.approx({"a": 2 / 61, "b": 0.5 / 61})
    with pytest.raises(ValueError, match="weights"):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="k"):
        reciprocal_rank_fusion([["a"]], k=-1)


def test_rrf_scores_over_rank_arrays() -> None:
    # Candidates c0..c2: dense ranks 1, 2, 3; BM25 ranks 2, unranked, 1.
    scores = rrf_scores([[1, 2, 3], [2, 0, 1]], k=60)
    np.testing.assert_allclose(scores, [1 / 61 + 1 / 62, 1 / 62, 1 / 63 + 1 / 61])
    assert rrf_scores([]).shape == (0,)
    np.testing.assert_allclose(rrf_scores([[1, 1]], k=60, weights=[3.0]), [3 / 61, 3 / 61])
    with pytest.raises(ValueError, match="shape"):
        rrf_scores([[1, 2], [1]])


def test_rrf_scores_agree_with_list_fusion() -> None:
    lists = [["a", "b", "c"], ["c", "a"]]
    fused = dict(reciprocal_rank_fusion(lists, k=60))
    ids = ["a", "b", "c"]
    ranks = [[lst.index(i) + 1 if i in lst else 0 for i in ids] for lst in lists]
    np.testing.assert_allclose(rrf_scores(ranks, k=60), [fused[i] for i in ids])


def test_competition_ranks() -> None:
    np.testing.assert_array_equal(competition_ranks([0.5, 0.9, 0.5, 0.1]), [2, 1, 2, 4])
    np.testing.assert_array_equal(competition_ranks([3.0, 0.0, 1.0], present=[True, False, True]), [1, 0, 2])
    np.testing.assert_array_equal(competition_ranks([0.0, 0.0], present=[False, False]), [0, 0])
    assert competition_ranks([]).shape == (0,)
