"""Ranking metrics as pure functions, and the tie-aware ranking they are computed on.

Every metric takes `ranked` (candidate ids, best first) and `relevant` (the ids that count as hits), with
binary relevance. Shared rules: `relevant` must not be empty, `ranked` must not repeat an id, `k` must be at
least 1, and a `k` larger than the list means the whole list. Metric names used across evals/ are "ndcg@10",
"hr@5", "recall@20", "mrr"; `compute_metrics` evaluates a list of such names on one ranking.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Rng = random.Random | np.random.Generator
"""A seeded source of randomness: either kind is accepted wherever evals/ breaks ties or samples."""
Scores = Sequence[float] | npt.NDArray[np.floating[Any]]


def _checked(ranked: Sequence[str], relevant: Collection[str], k: int | None) -> frozenset[str]:
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if len(relevant) == 0:
        raise ValueError("relevant is empty: a metric is undefined without at least one relevant item")
    if len(set(ranked)) != len(ranked):
        raise ValueError("ranked repeats an item id; a ranking lists each candidate once")
    return frozenset(relevant)


def _discount(rank: int) -> float:
    """Gain of a hit at 1-based `rank`."""
    return 1.0 / math.log2(rank + 1)


def _ndcg(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    dcg = sum(_discount(i + 1) for i, item in enumerate(ranked[:k]) if item in relevant)
    idcg = sum(_discount(i + 1) for i in range(min(len(relevant), k)))
    return dcg / idcg


def _hr(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    return 1.0 if any(item in relevant for item in ranked[:k]) else 0.0


def _recall(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    return sum(1 for item in ranked[:k] if item in relevant) / len(relevant)


def _mrr(ranked: Sequence[str], relevant: frozenset[str]) -> float:
    for i, item in enumerate(ranked):
        if item in relevant:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalised discounted cumulative gain at `k`: DCG of the top k over the ideal DCG.

    The ideal DCG puts min(|relevant|, k) hits at the top, so a perfect ranking scores 1 whatever the size of
    `relevant`; relevant ids that are not in `ranked` at all simply count as misses.
    """
    return _ndcg(ranked, _checked(ranked, relevant, k), k)


def hr_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Hit rate at `k`: 1 if any relevant id is in the top k, else 0."""
    return _hr(ranked, _checked(ranked, relevant, k), k)


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Recall at `k`: the share of relevant ids in the top k (over |relevant|, not min(|relevant|, k))."""
    return _recall(ranked, _checked(ranked, relevant, k), k)


def mrr(ranked: Sequence[str], relevant: Collection[str]) -> float:
    """Reciprocal rank of the first relevant id over the whole list; 0 if none is ranked."""
    return _mrr(ranked, _checked(ranked, relevant, None))


_AT_K: dict[str, Callable[[Sequence[str], frozenset[str], int], float]] = {
    "ndcg": _ndcg,
    "hr": _hr,
    "recall": _recall,
}


def parse_metric(name: str) -> tuple[str, int | None]:
    """Split `"ndcg@10"` into `("ndcg", 10)` and `"mrr"` into `("mrr", None)`; raise ValueError otherwise."""
    if name == "mrr":
        return "mrr", None
    base, sep, k_text = name.partition("@")
    if sep and base in _AT_K and k_text.isdigit() and int(k_text) >= 1:
        return base, int(k_text)
    raise ValueError(f"unknown metric {name!r}; use mrr or one of {', '.join(f'{b}@K' for b in _AT_K)}")


def compute_metrics(ranked: Sequence[str], relevant: Collection[str], names: Iterable[str]) -> dict[str, float]:
    """Evaluate each named metric on one ranking (validating the inputs once)."""
    relevant_set = _checked(ranked, relevant, None)
    out: dict[str, float] = {}
    for name in names:
        base, k = parse_metric(name)
        out[name] = _mrr(ranked, relevant_set) if k is None else _AT_K[base](ranked, relevant_set, k)
    return out


def rank_order(scores: Scores, rng: Rng) -> npt.NDArray[np.intp]:
    """Indices of `scores`, highest score first, ties broken uniformly at random by `rng`.

    Random tie-breaking makes a constant scorer score like random guessing: breaking ties by input order
    would give it the best or the worst case, depending on where the protocol puts the held-out item.
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"scores must be one-dimensional, got shape {values.shape}")
    if np.isnan(values).any():
        raise ValueError("scores contain NaN, which has no place in a ranking")
    n = values.shape[0]
    if isinstance(rng, np.random.Generator):
        perm = rng.permutation(n)
    else:
        shuffled = list(range(n))
        rng.shuffle(shuffled)
        perm = np.asarray(shuffled, dtype=np.intp)
    # A uniformly random permutation, then a stable sort, leaves every tied group in uniform random order.
    return perm[np.argsort(-values[perm], kind="stable")]


def rank_by_scores(ids: Sequence[str], scores: Scores, rng: Rng) -> list[str]:
    """`ids` sorted by `scores`, best first; ties are broken uniformly at random by the seeded `rng`.

    `rng` is a seeded `random.Random` or `numpy.random.Generator`, so a run repeats exactly. Because ties are
    broken at random (not by position), a constant scorer's expected metrics equal random guessing's, e.g.
    `analytic_random_ndcg(20, 10)` on the candidate protocol, instead of the best or worst case.
    """
    if len(ids) != len(scores):
        raise ValueError(f"{len(ids)} ids but {len(scores)} scores")
    return [ids[i] for i in rank_order(scores, rng)]


def analytic_random_ndcg(num_candidates: int, k: int) -> float:
    """Expected NDCG@k of a uniformly random ranking of `num_candidates` with exactly one relevant item.

    The hit is equally likely at each rank r, so E = (1/n) * sum_{r=1..min(k,n)} 1/log2(r+1);
    for n=20, k=10 that is 0.2272, the "random" row of RecLM-eval's 20-candidate protocol.
    """
    if num_candidates < 1 or k < 1:
        raise ValueError("num_candidates and k must be at least 1")
    return sum(_discount(r) for r in range(1, min(k, num_candidates) + 1)) / num_candidates


def analytic_random_hr(num_candidates: int, k: int) -> float:
    """Expected HR@k of a uniformly random ranking with one relevant item: min(k, n) / n."""
    if num_candidates < 1 or k < 1:
        raise ValueError("num_candidates and k must be at least 1")
    return min(k, num_candidates) / num_candidates


def analytic_random_mrr(num_candidates: int) -> float:
    """Expected MRR of a uniformly random ranking with one relevant item: H_n / n (0.1799 for n=20)."""
    if num_candidates < 1:
        raise ValueError("num_candidates must be at least 1")
    return sum(1.0 / r for r in range(1, num_candidates + 1)) / num_candidates
