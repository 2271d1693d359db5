"""Ranking metrics against hand-computed values, the tie-breaking rule, and properties of random rankings."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.metrics import (
    analytic_random_hr,
    analytic_random_mrr,
    analytic_random_ndcg,
    compute_metrics,
    hr_at_k,
    mrr,
    ndcg_at_k,
    parse_metric,
    rank_by_scores,
    rank_order,
    recall_at_k,
)

LOG2_3 = math.log2(3)  # 1/log2(3) = 0.6309, the gain at rank 2


# --- hand-computed values ------------------------------------------------------------------------


def test_ndcg_single_relevant_at_rank_3() -> None:
    assert ndcg_at_k(["a", "b", "c", "d"], {"c"}, 10) == pytest.approx(0.5)  # 1/log2(4)


def test_ndcg_two_relevant() -> None:
    # DCG = 1 (rank 1) + 1/log2(4) (rank 3) = 1.5; IDCG = 1 + 1/log2(3) = 1.6309
    assert ndcg_at_k(["a", "b", "c", "d"], {"a", "c"}, 3) == pytest.approx(1.5 / (1 + 1 / LOG2_3))
    assert ndcg_at_k(["a", "b", "c", "d"], {"a", "c"}, 3) == pytest.approx(0.919721, abs=1e-6)


def test_ndcg_ideal_dcg_uses_min_of_relevant_and_k() -> None:
    # 3 relevant but k=2: IDCG = 1 + 0.6309, not 1 + 0.6309 + 0.5
    assert ndcg_at_k(["a", "x", "y"], {"a", "b", "c"}, 2) == pytest.approx(1 / (1 + 1 / LOG2_3))
    assert ndcg_at_k(["a", "b", "y"], {"a", "b", "c"}, 2) == pytest.approx(1.0)


def test_ndcg_cuts_at_k() -> None:
    assert ndcg_at_k(["a", "b", "c"], {"c"}, 2) == 0.0


def test_k_larger_than_the_list_uses_the_whole_list() -> None:
    assert ndcg_at_k(["a", "b"], {"b"}, 10) == pytest.approx(1 / LOG2_3)
    assert hr_at_k(["a", "b"], {"b"}, 10) == 1.0
    assert recall_at_k(["a", "b"], {"b", "z"}, 10) == 0.5


def test_relevant_item_missing_from_ranking_is_a_miss() -> None:
    assert ndcg_at_k(["a", "b"], {"z"}, 2) == 0.0
    assert mrr(["a", "b"], {"z"}) == 0.0


def test_hit_rate() -> None:
    assert hr_at_k(["a", "b", "c"], {"c"}, 2) == 0.0
    assert hr_at_k(["a", "b", "c"], {"c"}, 3) == 1.0
    assert hr_at_k(["a", "b", "c"], {"a", "c"}, 1) == 1.0


def test_recall_counts_every_relevant_item() -> None:
    assert recall_at_k(["a", "b", "c", "d"], {"a", "d", "z"}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a", "b", "c", "d"], {"a", "d", "z"}, 4) == pytest.approx(2 / 3)


def test_conversational_recall_cutoffs_by_hand() -> None:
    # The conversational protocol's cut-offs on a 60-item ranking: one sample per gold item, so relevant = {g}.
    ranked = [f"i{n:02d}" for n in range(60)]
    names = ["recall@1", "recall@5", "recall@10", "recall@20", "recall@50"]
    at = {rank: compute_metrics(ranked, {ranked[rank - 1]}, names) for rank in (1, 5, 6, 20, 21, 50, 51)}
    assert at[1] == {"recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0, "recall@20": 1.0, "recall@50": 1.0}
    assert at[5] == {"recall@1": 0.0, "recall@5": 1.0, "recall@10": 1.0, "recall@20": 1.0, "recall@50": 1.0}
    assert at[6] == {"recall@1": 0.0, "recall@5": 0.0, "recall@10": 1.0, "recall@20": 1.0, "recall@50": 1.0}
    assert at[20]["recall@20"] == 1.0 and at[21]["recall@20"] == 0.0
    assert at[50]["recall@50"] == 1.0 and at[51]["recall@50"] == 0.0
    # Two relevant ids at ranks 4 and 25 (a turn scored as one sample): half of them by 5, 10 and 20, all by 50.
    two = compute_metrics(ranked, {"i03", "i24"}, names)
    assert two == {"recall@1": 0.0, "recall@5": 0.5, "recall@10": 0.5, "recall@20": 0.5, "recall@50": 1.0}


def test_mrr_uses_the_first_relevant_item() -> None:
    assert mrr(["a", "b", "c"], {"b", "c"}) == 0.5
    assert mrr(["a", "b", "c"], {"a"}) == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: ndcg_at_k(["a"], set(), 1),
        lambda: hr_at_k(["a"], [], 1),
        lambda: recall_at_k(["a"], (), 1),
        lambda: mrr(["a"], set()),
    ],
)
def test_empty_relevant_is_an_error(call: object) -> None:
    with pytest.raises(ValueError, match="relevant is empty"):
        call()  # type: ignore[operator]


@pytest.mark.parametrize("fn", [ndcg_at_k, hr_at_k, recall_at_k])
def test_duplicates_and_bad_k_are_errors(fn: object) -> None:
    with pytest.raises(ValueError, match="repeats"):
        fn(["a", "b", "a"], {"a"}, 2)  # type: ignore[operator]
    with pytest.raises(ValueError, match="at least 1"):
        fn(["a", "b"], {"a"}, 0)  # type: ignore[operator]
    with pytest.raises(ValueError, match="repeats"):
        mrr(["a", "a"], {"a"})


def test_compute_metrics_by_name() -> None:
    got = compute_metrics(["a", "b", "c"], {"b"}, ["ndcg@10", "hr@1", "hr@5", "recall@2", "mrr"])
    assert got == pytest.approx({"ndcg@10": 1 / LOG2_3, "hr@1": 0.0, "hr@5": 1.0, "recall@2": 1.0, "mrr": 0.5})


@pytest.mark.parametrize("name", ["ndcg", "ndcg@0", "ndcg@x", "map@10", "mrr@10", "@5"])
def test_bad_metric_names(name: str) -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        parse_metric(name)


def test_analytic_random_values() -> None:
    # (1/20) * sum_{r=1..10} 1/log2(r+1) = 4.543559 / 20, the 0.227 "random" row of RecLM-eval
    assert analytic_random_ndcg(20, 10) == pytest.approx(0.227178, abs=1e-6)
    assert analytic_random_ndcg(20, 10) == pytest.approx(sum(1 / math.log2(r + 1) for r in range(1, 11)) / 20)
    assert analytic_random_ndcg(5, 10) == pytest.approx(sum(1 / math.log2(r + 1) for r in range(1, 6)) / 5)
    assert analytic_random_hr(20, 10) == 0.5
    assert analytic_random_mrr(20) == pytest.approx(3.597740 / 20, abs=1e-6)  # H_20 / 20


# --- ranking by scores, ties -----------------------------------------------------------------------


def test_rank_by_scores_sorts_best_first() -> None:
    rng = random.Random(0)
    assert rank_by_scores(["a", "b", "c"], [0.1, 0.9, 0.5], rng) == ["b", "c", "a"]
    assert rank_by_scores(["a", "b", "c"], np.array([-np.inf, 2.0, np.inf]), rng) == ["c", "b", "a"]


def test_rank_by_scores_is_repeatable_with_the_same_seed() -> None:
    scores = [1.0] * 10
    ids = [str(i) for i in range(10)]
    assert rank_by_scores(ids, scores, np.random.default_rng(7)) == rank_by_scores(
        ids, scores, np.random.default_rng(7)
    )
    assert rank_by_scores(ids, scores, random.Random(7)) == rank_by_scores(ids, scores, random.Random(7))


def test_partial_tie_expected_ndcg_matches_hand_value() -> None:
    # "b" and "c" tie at rank 2-3: over tie-breaks "b" is at rank 2 or 3 with probability 1/2 each, so
    # E[NDCG@10] = (1/log2(3) + 1/log2(4)) / 2 = 0.5655.
    ids, scores = ["a", "b", "c", "d"], [1.0, 0.5, 0.5, 0.0]
    outcomes: Counter[tuple[str, ...]] = Counter(
        tuple(rank_by_scores(ids, scores, np.random.default_rng(seed))) for seed in range(2000)
    )
    assert set(outcomes) == {("a", "b", "c", "d"), ("a", "c", "b", "d")}
    expected = sum(ndcg_at_k(list(order), {"b"}, 10) for order in outcomes) / 2
    assert expected == pytest.approx((1 / LOG2_3 + 0.5) / 2)
    assert outcomes[("a", "b", "c", "d")] / 2000 == pytest.approx(0.5, abs=0.05)  # 0.05 = 4.5 SE


@pytest.mark.parametrize("make_rng", [np.random.default_rng, random.Random])
def test_constant_scores_break_ties_uniformly(make_rng: object) -> None:
    # All 24 orders of 4 tied items appear; each item lands at each rank about 1/4 of the time.
    ids = ["a", "b", "c", "d"]
    draws = 4000
    orders = [tuple(rank_by_scores(ids, [0.0] * 4, make_rng(seed))) for seed in range(draws)]  # type: ignore[operator]
    assert set(orders) == set(itertools.permutations(ids))
    rank_of_a = Counter(order.index("a") for order in orders)
    for rank in range(4):
        assert rank_of_a[rank] / draws == pytest.approx(0.25, abs=0.03)  # SE 0.0068
    # Expected NDCG of the enumerated, equally likely orders equals the analytic value for 4 candidates.
    exact = sum(ndcg_at_k(list(p), {"a"}, 2) for p in itertools.permutations(ids)) / 24
    assert exact == pytest.approx(analytic_random_ndcg(4, 2))


def test_constant_scorer_scores_like_random_on_20_candidates() -> None:
    ids = [f"c{i}" for i in range(20)]
    rng = np.random.default_rng(2026)
    values = np.array([ndcg_at_k(rank_by_scores(ids, np.zeros(20), rng), {"c0"}, 10) for _ in range(5000)])
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - analytic_random_ndcg(20, 10)) < 4 * se


def test_rank_rejects_nan_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="NaN"):
        rank_order([1.0, float("nan")], random.Random(0))
    with pytest.raises(ValueError, match="2 ids but 3 scores"):
        rank_by_scores(["a", "b"], [1.0, 2.0, 3.0], random.Random(0))


# --- properties -------------------------------------------------------------------------------------

ids_strategy = st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=3), min_size=1, max_size=30, unique=True)


@given(ids=ids_strategy, data=st.data())
def test_metrics_lie_in_unit_interval(ids: list[str], data: st.DataObject) -> None:
    relevant = data.draw(st.sets(st.sampled_from(ids) | st.just("zzzz"), min_size=1))
    k = data.draw(st.integers(min_value=1, max_value=40))
    for value in (
        ndcg_at_k(ids, relevant, k),
        hr_at_k(ids, relevant, k),
        recall_at_k(ids, relevant, k),
        mrr(ids, relevant),
    ):
        assert 0.0 <= value <= 1.0 + 1e-12


@given(ids=ids_strategy, data=st.data())
def test_ndcg_and_mrr_never_drop_when_the_relevant_item_moves_up(ids: list[str], data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(ids))
    k = data.draw(st.integers(min_value=1, max_value=40))
    ranked = [i for i in ids if i != target]
    positions = [[*ranked[:p], target, *ranked[p:]] for p in range(len(ids))]
    ndcgs = [ndcg_at_k(r, {target}, k) for r in positions]
    mrrs = [mrr(r, {target}) for r in positions]
    assert ndcgs == sorted(ndcgs, reverse=True)
    assert mrrs == sorted(mrrs, reverse=True)
    assert ndcgs[0] == pytest.approx(1.0)


@given(ids=ids_strategy, data=st.data())
def test_hit_rate_and_recall_grow_with_k(ids: list[str], data: st.DataObject) -> None:
    relevant = data.draw(st.sets(st.sampled_from(ids), min_size=1))
    hrs = [hr_at_k(ids, relevant, k) for k in range(1, len(ids) + 2)]
    recalls = [recall_at_k(ids, relevant, k) for k in range(1, len(ids) + 2)]
    assert hrs == sorted(hrs)
    assert recalls == sorted(recalls)
    assert recalls[-1] == 1.0


@given(ids=ids_strategy, data=st.data())
def test_relevant_first_is_a_perfect_ranking(ids: list[str], data: st.DataObject) -> None:
    relevant = data.draw(st.sets(st.sampled_from(ids), min_size=1))
    ranked = sorted(ids, key=lambda i: i not in relevant)
    k = data.draw(st.integers(min_value=1, max_value=40))
    assert ndcg_at_k(ranked, relevant, k) == pytest.approx(1.0)
    assert mrr(ranked, relevant) == 1.0


@given(scores=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=25), seed=st.integers(0, 99))
def test_rank_order_is_a_permutation_sorted_by_score(scores: list[int], seed: int) -> None:
    order = rank_order([float(s) for s in scores], np.random.default_rng(seed))
    assert sorted(order.tolist()) == list(range(len(scores)))
    ranked_scores = [scores[i] for i in order]
    assert ranked_scores == sorted(scores, reverse=True)
