"""Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): score(d) = sum_i w_i / (k + rank_i(d)).

Pure functions over ranked id lists (search) and over rank arrays (scoring a fixed candidate list). Ranks are
1-based; an id missing from a list contributes nothing from that list. k = 60 is the paper's value and the
default of Qdrant and Elasticsearch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

RRF_K = 60


def _check(k: int, n_lists: int, weights: Sequence[float] | None) -> Sequence[float]:
    if k < 0:
        raise ValueError(f"RRF k must be >= 0, got {k}")
    if weights is None:
        return [1.0] * n_lists
    if len(weights) != n_lists:
        raise ValueError(f"got {len(weights)} weights for {n_lists} ranked lists")
    return weights


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Fuse ranked id lists (best first) into one list of (id, fused score), best first.

    An id repeated within one list counts at its first (best) position only. Equal fused scores are
    ordered by the id's best rank in any list, then by the order of the lists.
    """
    weights = _check(k, len(rankings), weights)
    scores: dict[str, float] = {}
    seen: list[set[str]] = [set() for _ in rankings]
    depth = max((len(r) for r in rankings), default=0)
    # Visiting rank 1 of every list, then rank 2, ... makes dict order (best rank, list order): the tie-break.
    for position in range(depth):
        for i, ranking in enumerate(rankings):
            if position >= len(ranking):
                continue
            item_id = ranking[position]
            if item_id in seen[i]:
                continue
            seen[i].add(item_id)
            scores[item_id] = scores.get(item_id, 0.0) + weights[i] / (k + position + 1)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def rrf_scores(
    ranks: Sequence[npt.ArrayLike], k: int = RRF_K, weights: Sequence[float] | None = None
) -> npt.NDArray[np.float64]:
    """Fused scores of a fixed candidate list, given each source's 1-based rank per candidate.

    `ranks[i][j]` is candidate j's rank in source i; 0 (or less) means source i did not rank it.
    """
    weights = _check(k, len(ranks), weights)
    arrays = [np.asarray(r, dtype=np.float64) for r in ranks]
    if not arrays:
        return np.zeros(0, dtype=np.float64)
    total = np.zeros(arrays[0].shape, dtype=np.float64)
    for weight, rank in zip(weights, arrays, strict=True):
        if rank.shape != total.shape:
            raise ValueError(f"rank arrays differ in shape: {rank.shape} vs {total.shape}")
        ranked = rank > 0
        total[ranked] += weight / (k + rank[ranked])
    return total


def competition_ranks(scores: npt.ArrayLike, present: npt.ArrayLike | None = None) -> npt.NDArray[np.int64]:
    """1-based ranks of `scores` (higher is better) with ties sharing the best rank ("1224" ranking).

    Candidates where `present` is False get rank 0 (unranked) and do not push the others down.
    """
    values = np.asarray(scores, dtype=np.float64)
    mask = np.ones(values.shape, dtype=bool) if present is None else np.asarray(present, dtype=bool)
    ranks = np.zeros(values.shape, dtype=np.int64)
    if not mask.any():
        return ranks
    ranked = np.sort(-values[mask])
    ranks[mask] = np.searchsorted(ranked, -values[mask], side="left") + 1
    return ranks
