"""The prior of a domain in the evals: the sequential model, co-occurrence and the fitted prior weights, opened once
per domain and process (beside `evals.retrievers.shared_retrievers`), and the prior's score of a query's candidates.

The query's history and text are what the systems may know (`evals.queries.query_text`: the history titles, or the
dialogue), so the `prior` system, the LLM systems' candidate order and the `agent` system all read the same scores.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent.prior import Prior, prior_features
from agent.prior_fit import open_prior
from evals.queries import query_text
from evals.retrievers import shared_retrievers
from evals.systems import Query
from tools.catalog import Dataset
from tools.search import CatalogRetrievers


@dataclass(frozen=True)
class DomainPrior:
    retrievers: CatalogRetrievers
    prior: Prior

    def scores(self, query: Query, candidate_ids: Sequence[str]) -> npt.NDArray[np.float64]:
        features = prior_features(
            candidate_ids,
            history=query.history,
            query=query_text(query, self.retrievers.dataset.items),
            retrievers=self.retrievers,
            seqrec=self.retrievers.sequential(progress=False),
            cooccur=self.retrievers.cooccurrence(),
        )
        return self.prior.scores(features)

    def order(self, query: Query, candidate_ids: Sequence[str]) -> list[str]:
        """The candidates in the prior's order, best first (as the agent shows them to the model)."""
        scores = self.scores(query, candidate_ids)
        return [candidate_ids[i] for i in np.argsort(-scores, kind="stable")]


_lock = threading.Lock()
_open: dict[str, DomainPrior] = {}


def shared_prior(dataset: Dataset, *, progress: bool = True) -> DomainPrior:
    """The domain's prior, opened (the sequential model trained and the prior fitted when missing) on first use."""
    with _lock:
        found = _open.get(dataset.domain)
    if found is None:
        retrievers = shared_retrievers(dataset, progress=progress)
        found = DomainPrior(retrievers, open_prior(retrievers, progress=progress))
        with _lock:
            _open[dataset.domain] = found
    return found
