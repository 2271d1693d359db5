"""The interaction-data systems: `sasrec` (the sequential model alone, tools/seqrec.py) and `prior` (the fitted
combination of the sequential model, the retriever, co-occurrence and popularity, agent/prior.py, without the LLM).

Both learn from the training interactions only (each user's history before the held-out items); `prior`'s weights
come from validation users, never from evaluation users.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evals.errors import EvalConfigError
from evals.metrics import Scores
from evals.priors import DomainPrior, shared_prior
from evals.systems import Query, Scorer, SystemContext, register_system
from tools.catalog import Dataset
from tools.seqrec import SeqRec


class SeqRecScorer:
    name = "sasrec"

    def __init__(self) -> None:
        self._model: SeqRec | None = None

    def fit(self, dataset: Dataset) -> None:
        model = shared_prior(dataset).retrievers.sequential()
        if model is None:
            raise EvalConfigError(f"sasrec needs interaction histories; the {dataset.domain} catalog has none")
        self._model = model

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        assert self._model is not None, "fit() first"
        if not query.history:
            return np.zeros(len(candidate_ids))  # nothing to go on: every candidate ties (random order)
        return self._model.score_candidates(query.history, candidate_ids)


class PriorScorer:
    name = "prior"

    def __init__(self) -> None:
        self._prior: DomainPrior | None = None

    def fit(self, dataset: Dataset) -> None:
        self._prior = shared_prior(dataset)

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        assert self._prior is not None, "fit() first"
        return self._prior.scores(query, candidate_ids)


def _sasrec(ctx: SystemContext) -> Scorer:
    return SeqRecScorer()


def _prior(ctx: SystemContext) -> Scorer:
    return PriorScorer()


register_system("sasrec", _sasrec)
register_system("prior", _prior)
