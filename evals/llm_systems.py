"""LLM rankers as evaluation systems, through the agent's own one pass (`agent.ranking.run_pass`: the prompt rendered
once, the rationale through the leak guard, one forward pass ranking every candidate, the claims checked against what
the prompt showed), so an evaluated case is a served turn of the same inputs.

- `llm-base`: the configured base model, zero-shot, rationale first (LLMREC_RATIONALE_MAX_TOKENS).
- `llm-base-direct`: the same model ranking with no rationale: the chain-of-thought ablation, and about 4 times
  cheaper on a CPU (one forward pass instead of a prefill plus a rationale).
- `llm-rec`: the base model with the fine-tuned LoRA adapter (LLMREC_ADAPTER_PATH for the local backend, the
  LoRA module LLMREC_OPENAI_ADAPTER_MODEL for a vLLM server).

On a catalog-wide protocol (`conversational`, `full`) each ranks the hybrid retriever's top 20 for the query, shown in
the retriever's order as the agent shows its search results (evals/first_stage.py).

Which backend serves them is the deployment setting LLMREC_MODEL_BACKEND (`local` or `openai`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agent.prompts import LABELS, RecRequest, Role
from agent.ranking import Pass, run_pass
from agent.runtime import Recommender, load_recommender
from agent.settings import ModelSettings
from evals.errors import EvalConfigError
from evals.first_stage import FirstStage, above
from evals.metrics import Scores
from evals.systems import Query, Scorer, SystemContext, register_system
from tools.catalog import Dataset, Item

log = logging.getLogger(__name__)


class LLMScorer:
    """Scores candidates by the log-probability of their label after the model's own rationale."""

    def __init__(
        self, name: str, settings: ModelSettings, rationale_tokens: int, llm: Recommender | None = None
    ) -> None:
        self.name = name
        self.settings = settings
        self.rationale_tokens = rationale_tokens
        self._llm = llm
        """Loaded from `settings` on the first `fit` unless given (one model can serve several scorers)."""
        self._items: dict[str, Item] = {}
        self._first_stage: FirstStage | None = None
        self.rationales: dict[str, str] = {}
        """Query key -> the rationale the model wrote, for faithfulness evaluation."""
        self.grounding: dict[str, float | None] = {}
        """Query key -> the share of the rationale's claims the verifier supports (agent/claims.py) against what
        the prompt showed; None for a rationale without claims. The harness reports it beside the metrics."""
        self.passes: dict[str, Pass] = {}
        """Query key -> the whole pass (what the model was shown, its rationale, ranking and claims)."""

    def fit(self, dataset: Dataset) -> None:
        self._items = dataset.items
        self._first_stage = FirstStage(dataset)
        if self._llm is None:
            self._llm = load_recommender(self.settings)
            log.info("%s: loaded %s", self.name, self._llm.name)

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        if self._llm is None or self._first_stage is None:
            raise EvalConfigError(f"{self.name}: fit() must be called before score()")
        if len(candidate_ids) <= len(LABELS):
            done = self._pass(query, candidate_ids)
            return [done.logprobs[i] for i in candidate_ids]
        # Catalog-wide: the model ranks the first stage's top 20, in the retriever's order.
        first = self._first_stage.scores(query, candidate_ids)
        top = self._first_stage.top(first, candidate_ids, query.exclude)
        done = self._pass(query, [candidate_ids[i] for i in top])
        position = {candidate_ids[i]: i for i in top}
        return above(first, top, [position[i] for i in done.order])

    def _pass(self, query: Query, candidate_ids: Sequence[str]) -> Pass:
        assert self._llm is not None
        request = RecRequest(
            history=[self._items[i] for i in query.history],
            candidates=[self._items[i] for i in candidate_ids],
            conversation=_conversation(query.context),
            domain=query.domain,
        )
        done = run_pass(
            self._llm,
            request,
            rationale_tokens=self.rationale_tokens,
            context_tokens=self.settings.context_tokens,
        )
        self.rationales[query.key] = done.rationale
        self.passes[query.key] = done
        if self.rationale_tokens:
            self.grounding[query.key] = done.grounding
        return done


def _conversation(context: Sequence[str]) -> list[tuple[Role, str]]:
    # ReDial contexts alternate seeker and recommender, the seeker first; the last utterance is the seeker's.
    n = len(context)
    return [("user" if (n - 1 - i) % 2 == 0 else "assistant", text) for i, text in enumerate(context)]


def _make_base(ctx: SystemContext) -> Scorer:
    settings = ModelSettings()
    return LLMScorer("llm-base", settings.model_copy(update={"adapter_path": None}), settings.rationale_max_tokens)


def _make_base_direct(ctx: SystemContext) -> Scorer:
    return LLMScorer("llm-base-direct", ModelSettings().model_copy(update={"adapter_path": None}), 0)


def _make_rec(ctx: SystemContext) -> Scorer:
    settings = ModelSettings()
    if settings.model_backend == "openai":
        settings = settings.model_copy(update={"openai_model": settings.openai_adapter_model})
    elif settings.adapter_path is None:
        raise EvalConfigError(
            "llm-rec needs the fine-tuned adapter: set LLMREC_ADAPTER_PATH to the folder `llmrec train export` wrote"
        )
    return LLMScorer("llm-rec", settings, settings.rationale_max_tokens)


register_system("llm-base", _make_base)
register_system("llm-base-direct", _make_base_direct)
register_system("llm-rec", _make_rec)
