"""The first stage in front of an LLM ranker on catalog-wide protocols: the retriever's top 20 for the query, as the
agent serves it (its search returns candidates, the model ranks at most 20 of them, one label token each).

The LLM's order is put above every other item; the rest keep the retriever's scores, so Recall@50 still counts the
retriever's places 21-50 and Recall@20 is the first stage's own recall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from evals.queries import query_text
from evals.retrievers import shared_retrievers
from evals.systems import Query
from tools.catalog import Dataset

FIRST_STAGE_K = 20
"""Candidates the model ranks: 20 labels is what the OpenAI logprobs API returns at once (top_logprobs <= 20)."""


class FirstStage:
    """The hybrid retriever over a dataset's catalog, opened on first use (candidate protocols never need it)."""

    def __init__(self, dataset: Dataset, k: int = FIRST_STAGE_K) -> None:
        self.dataset = dataset
        self.k = k

    def scores(self, query: Query, candidate_ids: Sequence[str]) -> npt.NDArray[np.float64]:
        """The hybrid score of every candidate for the query's text (all zeros when there is nothing to search)."""
        text = query_text(query, self.dataset.items)
        if not text:
            return np.zeros(len(candidate_ids))
        return np.asarray(shared_retrievers(self.dataset).hybrid.score_candidates(text, candidate_ids), np.float64)

    def top(self, scores: npt.NDArray[np.float64], candidate_ids: Sequence[str], exclude: Sequence[str]) -> list[int]:
        """Positions of the k best-scored candidates, best first, leaving out `exclude` (ties: catalog order)."""
        dropped = set(exclude)
        order = np.argsort(-scores, kind="stable")
        return [int(i) for i in order if candidate_ids[i] not in dropped][: self.k]


def above(scores: npt.NDArray[np.float64], top: Sequence[int], ranked: Sequence[int]) -> npt.NDArray[np.float64]:
    """`scores` with the positions in `ranked` (the LLM's order of `top`, best first) above every other item."""
    out = scores.copy()
    base = float(out.max()) + 1.0 if len(out) else 0.0
    for place, position in enumerate(ranked):
        out[position] = base + (len(top) - place)
    return out
