"""`teacher-rationale`: the evidence writer (agent/evidence_writer.py) as a named baseline of the rationale figures.

It ranks as `prior` does (the same scores, so its NDCG is the prior's) and writes the evidence writer's rationale for
the prior's top candidate over exactly the prompt an LLM system is shown (candidates in the prior's order, each with
its links). Its trust figures are what a rationale built from the computed evidence scores: the ceiling the student
is trained towards. It never stands in for a model's text at serving time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.evidence_writer import write_rationale
from agent.model_store import resolve_model_path
from agent.prompts import LABELS
from agent.ranking import show
from agent.settings import ModelSettings
from agent.trust import Trust, relational_claims, trust
from evals.errors import EvalConfigError
from evals.llm_systems import case_request
from evals.metrics import Scores
from evals.priors import DomainPrior, shared_prior
from evals.seeding import derived_random
from evals.systems import Query, Scorer, SystemContext, register_system
from tools.catalog import Dataset, Item
from tools.cooccur import CoOccurrence


class TeacherRationaleScorer:
    name = "teacher-rationale"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.settings = ModelSettings()
        self._tokenizer: Any = None
        self._prior: DomainPrior | None = None
        self._items: dict[str, Item] = {}
        self._cooccur: CoOccurrence | None = None
        self.rationales: dict[str, str] = {}
        self.grounding: dict[str, float | None] = {}
        self.trust: dict[str, Trust] = {}

    def fit(self, dataset: Dataset) -> None:
        from transformers import AutoTokenizer

        # The default model's tokenizer renders the prompt (its chat template), as the LLM systems render it.
        path = resolve_model_path(self.settings.model, self.settings.model_cache_dir)
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._prior = shared_prior(dataset)
        self._items = dataset.items
        self._cooccur = CoOccurrence.of(dataset) if dataset.users else None

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        if self._prior is None:
            raise EvalConfigError(f"{self.name}: fit() must be called before score()")
        scores = self._prior.scores(query, candidate_ids)
        if len(candidate_ids) > len(LABELS):
            return scores  # catalog-wide protocols: no prompt of more than 20 candidates to write about
        shown_ids = self._prior.order(query, candidate_ids)
        request = case_request(self._items, query, shown_ids, self._cooccur)
        shown = show(
            self._tokenizer,
            request,
            context_tokens=self.settings.context_tokens,
            rationale_tokens=self.settings.rationale_max_tokens,
        )
        top = shown_ids[0]
        rationale = write_rationale(shown, top, self._items, derived_random(self.seed, self.name, query.key))
        figures = trust(rationale, shown, relational_claims(rationale, shown, self._items), top)
        self.rationales[query.key] = rationale
        self.grounding[query.key] = figures.relational
        self.trust[query.key] = figures
        return scores


def _make(ctx: SystemContext) -> Scorer:
    return TeacherRationaleScorer(ctx.seed)


register_system("teacher-rationale", _make)
