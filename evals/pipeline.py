"""The `pipeline` protocol: the end-to-end figure. Per evaluation user, the first stage's candidates exactly as the
agent serves them (tools/candidate_sources.py: the sequential model's top 20 after the history and the hybrid
retriever's top 20 for the history's titles, unioned, in the prior's order, the best 20), with the held-out item NOT
put in: a user whose item the first stage missed scores 0 whatever the ranker does.

Reported beside the metrics: the first stage's recall@20 per source, for the union, and for the 20 served.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from evals.priors import shared_prior
from evals.protocols import Case, _UserProtocol, register_protocol
from evals.queries import query_text
from tools.candidate_sources import union_candidates
from tools.catalog import Dataset

SERVED = 20
"""Candidates served per user: what one label token each lets the model rank in one pass."""


class PipelineProtocol(_UserProtocol):
    name = "pipeline"
    metrics = ("ndcg@10", "hr@1", "hr@5", "hr@10", "mrr")
    num_candidates = SERVED
    strata: ClassVar[dict[str, str]] = {
        "found": "the first stage served the held-out item: the ranker's own case",
        "missed": "the first stage missed it: 0 for every system",
    }

    def __init__(self, *, split_seed: int | None = None) -> None:
        super().__init__(split_seed=split_seed)
        self.users_seen = 0
        self.hits: dict[str, int] = {}

    def describe(self) -> str:
        return f"the first stage's top {SERVED} as served (held-out item not put in), {self._per_user()}"

    def stats(self) -> dict[str, Any]:
        n = self.users_seen
        return {f"first_stage_recall@{SERVED}": {k: v / n for k, v in self.hits.items()} if n else {}, "users": n}

    def cases(self, dataset: Dataset, unit_ids: Sequence[str], seed: int) -> Iterator[Case]:
        prior = shared_prior(dataset)
        for user in self._users(dataset, unit_ids):
            assert user.test is not None
            query = self._query(dataset, user)
            seen = set(user.test_history) - {user.test}
            sourced = union_candidates(
                prior.retrievers, history=query.history, query=query_text(query, dataset.items), k=SERVED, exclude=seen
            )
            served = prior.order(query, sourced.ids)[:SERVED]
            self.users_seen += 1
            found = {
                **{name: user.test in ids for name, ids in sourced.sources.items()},
                "union": user.test in sourced.ids,
            }
            found["served"] = user.test in served
            for name, hit in found.items():
                self.hits[name] = self.hits.get(name, 0) + hit
            yield Case(
                query=query,
                candidates=tuple(served),
                targets=((user.test,),),
                stratum="found" if found["served"] else "missed",
            )


register_protocol(PipelineProtocol.name, PipelineProtocol)
