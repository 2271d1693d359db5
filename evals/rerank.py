"""The `rerank` protocol: the stage the LLM actually serves in the agent (DESIGN.md, "Evaluation").

Per evaluation user (`tools.splits`), the hybrid retriever's top 20 for the user's history titles (history
excluded), with the held-out item put in place of the 20th when the retriever missed it, as LlamaRec evaluates.
Random negatives are too easy to show a re-ranker's value; retrieved ones are the hard, realistic case. How often
the first stage found the held-out item by itself is reported beside the metrics (`first_stage_recall@20`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from evals.protocols import CandidateProtocol, Case, register_protocol
from evals.queries import query_text
from evals.retrievers import shared_retrievers
from evals.seeding import derived_random
from tools.catalog import Dataset
from tools.hard_negatives import retrieved_candidates


class RerankProtocol(CandidateProtocol):
    name = "rerank"
    # Why report the two apart: a put-in held-out item is, by construction, the one candidate the retriever did not
    # pick, so "least like the history first" wins there without knowing anything about the user (reversing the
    # retriever's order puts it first), while on "found" users it is one of 20 look-alikes: the real re-ranking case.
    strata: ClassVar[dict[str, str]] = {
        "found": "the retriever found the held-out item in its top 20 itself: 20 look-alikes, the real re-ranking case",
        "put_in": "the held-out item was put in: the one candidate the retriever did not pick, so a ranker that "
        "puts the least history-like candidate first wins here without knowing the user",
    }

    def __init__(self, num_candidates: int = 20, *, split_seed: int | None = None) -> None:
        super().__init__(num_negatives=num_candidates - 1, split_seed=split_seed)
        self.first_stage_hits = 0
        self.first_stage_total = 0

    def describe(self) -> str:
        found = (
            f"; the retriever found the held-out item itself for {self.first_stage_hits} of "
            f"{self.first_stage_total} users"
            if self.first_stage_total
            else ""
        )
        return (
            f"the hybrid retriever's top {self.num_candidates}, held-out item put in when missed, "
            f"{self._per_user()}{found}"
        )

    def cases(self, dataset: Dataset, unit_ids: Sequence[str], seed: int) -> Iterator[Case]:
        retrievers = shared_retrievers(dataset)
        assert self.num_candidates is not None
        for user in self._users(dataset, unit_ids):
            assert user.test is not None
            query = self._query(dataset, user)
            text = query_text(query, dataset.items)
            seen = set(user.test_history)
            candidates, found = retrieved_candidates(
                retrievers.hybrid,
                text,
                user.test,
                k=self.num_candidates,
                exclude=seen,
                items=dataset.items,
                fill_rng=derived_random(seed, self.name, "fill", user.user_id),
            )
            self.first_stage_total += 1
            self.first_stage_hits += found
            rng = derived_random(seed, self.name, user.user_id)
            rng.shuffle(candidates)  # retrieval order would tell an LLM ranker where the best match is
            yield Case(
                query=query,
                candidates=tuple(candidates),
                targets=((user.test,),),
                stratum="found" if found else "put_in",
            )


register_protocol(RerankProtocol.name, RerankProtocol)
