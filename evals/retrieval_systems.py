"""The retrievers as evaluation systems: `bm25`, `dense` and `hybrid` (reciprocal rank fusion of the two).

The query is the user's recent history titles (for ReDial, the dialogue context), the same text the agent's
planner searches with; each system scores the protocol's candidates through `score_candidates`, vectorised for
the full-ranking protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import get_args

import numpy as np

from evals.metrics import Scores
from evals.queries import query_text
from evals.retrievers import shared_retrievers
from evals.systems import Query, Scorer, SystemContext, register_system
from tools.catalog import Dataset, Item
from tools.search import CatalogRetrievers, SystemName


class RetrieverScorer:
    def __init__(self, kind: SystemName) -> None:
        self.name: str = kind
        self.kind = kind
        self._retrievers: CatalogRetrievers | None = None
        self._items: dict[str, Item] = {}

    def fit(self, dataset: Dataset) -> None:
        # Indexes hold catalog text only, never interactions: the training view cannot leak through them.
        self._items = dataset.items
        self._retrievers = shared_retrievers(dataset)

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        assert self._retrievers is not None, "fit() first"
        text = query_text(query, self._items)
        if not text:
            # No history and no context: nothing to search with, so every candidate ties (random order).
            return np.zeros(len(candidate_ids))
        return self._retrievers.get(self.kind).score_candidates(text, candidate_ids)


def _factory(kind: SystemName) -> Callable[[SystemContext], Scorer]:
    def make(ctx: SystemContext) -> Scorer:
        return RetrieverScorer(kind)

    return make


for _name in get_args(SystemName):
    register_system(_name, _factory(_name))
