"""LLM rankers as evaluation systems, through the agent's own one pass (`agent.ranking.run_pass`: the prompt rendered
once, the rationale through the leak guard, one forward pass ranking every candidate, the claims checked against what
the prompt showed), so an evaluated case is a served turn of the same inputs.

- `llm-base`: the configured base model, zero-shot, rationale first (LLMREC_RATIONALE_MAX_TOKENS).
- `llm-base-direct`: the same model ranking with no rationale: the chain-of-thought ablation, and about 4 times
  cheaper on a CPU (one forward pass instead of a prefill plus a rationale).
- `llm-rec`: the base model with the fine-tuned LoRA adapter (LLMREC_ADAPTER_PATH for the local backend, the
  LoRA module LLMREC_OPENAI_ADAPTER_MODEL for a vLLM server), its label log-probabilities alone.
- `llm-rec-free`: the same model with its rationale decoded freely instead of over the true sentences
  (LLMREC_RATIONALE_DECODING=free; agent/claim_grammar.py): what the student writes on its own.
- `llm-rec-shuffled`: the same with the candidates in a seeded random order instead of the prior's, so a gain of
  `llm-rec` cannot come from merely following the order it was shown.
- `agent`: exactly what the agent commits with the configured model (LLMREC_ADAPTER_PATH as set): the same pass as
  `llm-rec` (or `llm-base` without an adapter), its position-debiased label scores combined with the prior by the
  calibration fitted for that model (agent/prior.py; `llmrec train calibrate`).

Candidates are shown in the prior's order, as the agent shows them (`-shuffled`: in random order). On a
catalog-wide protocol (`conversational`, `full`) the model ranks the hybrid retriever's top 20 for the query
(evals/first_stage.py). Passes are cached by model and prompt, so `llm-rec` and `agent` in one run pay once.
Which backend serves them is the deployment setting LLMREC_MODEL_BACKEND (`local` or `openai`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Literal

from agent.evidence import links_for
from agent.prior import Calibration, calibration_path, load_calibration
from agent.prompts import LABELS, RecRequest, Role
from agent.ranking import Pass, finish_pass, show, shown_label
from agent.runtime import Recommender, load_recommender
from agent.settings import ModelSettings
from agent.trust import Trust
from evals.errors import EvalConfigError
from evals.first_stage import FirstStage, above
from evals.metrics import Scores
from evals.priors import DomainPrior, shared_prior
from evals.seeding import derived_random
from evals.systems import Query, Scorer, SystemContext, register_system
from tools.catalog import Dataset, Item
from tools.cooccur import CoOccurrence

log = logging.getLogger(__name__)

Order = Literal["prior", "shuffled", "given"]

_MODELS: dict[tuple[object, ...], Recommender] = {}
_PASSES: dict[tuple[str, str, int, str, str | None], Pass] = {}
_RENDER = threading.Lock()


def _model(settings: ModelSettings) -> Recommender:
    """One loaded model per configuration and process (llm-rec and agent share theirs)."""
    key = (
        settings.model_backend,
        settings.model,
        settings.adapter_path,
        settings.openai_model,
        settings.device,
        settings.rationale_decoding,  # llm-rec-free is the same weights decoding otherwise: a model of its own
        settings.repetition_penalty,
    )
    if key not in _MODELS:
        _MODELS[key] = load_recommender(settings)
    return _MODELS[key]


class LLMScorer:
    """Scores candidates by the log-probability of their label after the model's own rationale, or (calibrated)
    by the agent's committed score."""

    def __init__(
        self,
        name: str,
        settings: ModelSettings,
        rationale_tokens: int,
        llm: Recommender | None = None,
        *,
        order: Order = "given",
        calibrated: bool = False,
        seed: int = 0,
    ) -> None:
        self.name = name
        self.settings = settings
        self.concurrent = settings.model_backend == "openai"
        """Whether the harness may score cases concurrently (`llmrec eval --workers`): a vLLM server batches the
        requests; the in-process model keeps each rationale's KV cache for its ranking, so one case at a time."""
        self.rationale_tokens = rationale_tokens
        self.order = order
        self.calibrated = calibrated
        self.seed = seed
        self._llm = llm
        """Loaded from `settings` on the first `fit` unless given (one model can serve several scorers)."""
        self._items: dict[str, Item] = {}
        self._first_stage: FirstStage | None = None
        self._prior: DomainPrior | None = None
        self._calibration: Calibration | None = None
        self._cooccur: CoOccurrence | None = None
        self.rationales: dict[str, str] = {}
        """Query key -> the rationale the model wrote, for faithfulness evaluation."""
        self.grounding: dict[str, float | None] = {}
        """Query key -> the share of the rationale's claims the verifier supports (agent/claims.py) against what
        the prompt showed; None for a rationale without claims. The harness reports it beside the metrics."""
        self.trust: dict[str, Trust] = {}
        """Query key -> the rationale's trust figures (agent/trust.py), coverage of the model's own top item."""
        self.passes: dict[str, Pass] = {}
        """Query key -> the whole pass (what the model was shown, its rationale, ranking and claims)."""

    @property
    def llm(self) -> Recommender:
        """The model behind this system (after `fit`), e.g. for the chain-of-thought re-rankings of `--cot`."""
        if self._llm is None:
            raise EvalConfigError(f"{self.name}: fit() must be called before its model is used")
        return self._llm

    def fit(self, dataset: Dataset) -> None:
        self._items = dataset.items
        self._first_stage = FirstStage(dataset)
        if self._llm is None:
            self._llm = _model(self.settings)
            log.info("%s: loaded %s", self.name, self._llm.name)
        if self.order == "prior" or self.calibrated:
            self._prior = shared_prior(dataset)
        # The co-occurrence links of the prompt, counted over the training interactions as the agent counts them.
        self._cooccur = CoOccurrence.of(dataset) if dataset.users else None
        if self.calibrated:
            path = calibration_path(self.settings.model, self.settings.adapter_path, dataset.domain)
            self._calibration = load_calibration(path, self.settings.identity)
            if self._calibration is None:
                raise EvalConfigError(
                    f"{self.name} commits through the calibration fitted for {self._llm.name} on {dataset.domain}, "
                    f"and {path} does not exist: run `llmrec train calibrate --domain {dataset.domain}`"
                )

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        if self._llm is None or self._first_stage is None:
            raise EvalConfigError(f"{self.name}: fit() must be called before score()")
        if len(candidate_ids) <= len(LABELS):
            by_item = self._scores(query, candidate_ids)
            return [by_item[i] for i in candidate_ids]
        # Catalog-wide: the model ranks the first stage's top 20.
        first = self._first_stage.scores(query, candidate_ids)
        top = self._first_stage.top(first, candidate_ids, query.exclude)
        by_item = self._scores(query, [candidate_ids[i] for i in top])
        ranked = sorted(top, key=lambda i: -by_item[candidate_ids[i]])
        return above(first, top, ranked)

    def _shown_order(self, query: Query, candidate_ids: Sequence[str]) -> list[str]:
        if self.order == "prior":
            assert self._prior is not None
            return self._prior.order(query, candidate_ids)
        if self.order == "shuffled":
            shuffled = list(candidate_ids)
            derived_random(self.seed, "llm-order", self.name, query.key).shuffle(shuffled)
            return shuffled
        return list(candidate_ids)

    def _scores(self, query: Query, candidate_ids: Sequence[str]) -> dict[str, float]:
        """Item id -> this system's score, for candidates the model can rank in one pass."""
        shown_ids = self._shown_order(query, candidate_ids)
        if self._calibration is None:
            return dict(self._pass(query, shown_ids).logprobs)
        assert self._prior is not None
        prior = self._prior.scores(query, shown_ids)
        # As the agent's `reason` node does: the rationale argues for the item committed first whatever the labels
        # say, when the calibration leaves the prior's lead standing (agent/prior.py `fixed_top`).
        index = self._calibration.fixed_top(prior)
        done = self._pass(query, shown_ids, shown_ids[index] if index is not None else None)
        combined = self._calibration.combine(prior, done.shown["labels"], [done.logprobs[i] for i in shown_ids])
        scores = {item_id: float(s) for item_id, s in zip(shown_ids, combined, strict=True)}
        if query.key in self.trust:
            # Coverage of what this system commits first (the calibrated order), as the agent's answer reports it,
            # not of the model's own top label.
            top = max(shown_ids, key=lambda i: scores[i])
            covered = any(claim.get("relational", False) and top in claim["item_ids"] for claim in done.claims)
            self.trust[query.key] = replace(self.trust[query.key], coverage=covered)
        return scores

    def _pass(self, query: Query, candidate_ids: Sequence[str], top: str | None = None) -> Pass:
        assert self._llm is not None
        request = case_request(self._items, query, candidate_ids, self._cooccur)
        with _RENDER:  # one tokenizer serves every worker thread of `llmrec eval --workers`
            shown = show(
                self._llm.tokenizer,
                request,
                context_tokens=self.settings.context_tokens,
                rationale_tokens=self.rationale_tokens,
            )
        pick = shown_label(shown, top)
        decoding = getattr(self._llm, "rationale_decoding", "free")
        key = (self._llm.name, decoding, self.rationale_tokens, shown["prompt"], pick)
        done = _PASSES.get(key)
        if done is None:
            items = {item.item_id: item for item in [*request.history, *request.candidates]}
            done = finish_pass(
                self._llm, shown, items, domain=request.domain, rationale_tokens=self.rationale_tokens, pick=pick
            )
            _PASSES[key] = done
        self.rationales[query.key] = done.rationale
        self.passes[query.key] = done
        if self.rationale_tokens:
            self.grounding[query.key] = done.grounding
            self.trust[query.key] = done.trust
        return done


def case_request(
    items: Mapping[str, Item], query: Query, candidate_ids: Sequence[str], cooccur: CoOccurrence | None
) -> RecRequest:
    """What the model is shown for an evaluated case: the query's history and conversation, the candidates in the
    given order, each with its links, as a served turn computes them."""
    history = [items[i] for i in query.history]
    candidates = [items[i] for i in candidate_ids]
    return RecRequest(
        history=history,
        candidates=candidates,
        conversation=_conversation(query.context),
        domain=query.domain,
        links=links_for(
            candidates,
            history,
            request_text=query.context[-1] if query.context else "",
            catalog=items,
            cooccur=cooccur,
        ),
    )


def _conversation(context: Sequence[str]) -> list[tuple[Role, str]]:
    # ReDial contexts alternate seeker and recommender, the seeker first; the last utterance is the seeker's.
    n = len(context)
    return [("user" if (n - 1 - i) % 2 == 0 else "assistant", text) for i, text in enumerate(context)]


def _rec_settings() -> ModelSettings:
    settings = ModelSettings()
    if settings.model_backend == "openai":
        return settings.model_copy(update={"openai_model": settings.openai_adapter_model})
    if settings.adapter_path is None:
        raise EvalConfigError(
            "llm-rec needs the fine-tuned adapter: set LLMREC_ADAPTER_PATH to the folder `llmrec train export` wrote"
        )
    return settings


def _base_settings() -> ModelSettings:
    """The configured model without its adapter: no adapter folder, and on a server its first model (the base), not
    the LoRA module that LLMREC_OPENAI_MODEL may name for the agent."""
    return ModelSettings().model_copy(update={"adapter_path": None, "openai_model": None})


def _make_base(ctx: SystemContext) -> Scorer:
    settings = _base_settings()
    return LLMScorer("llm-base", settings, settings.rationale_max_tokens, order="prior", seed=ctx.seed)


def _make_base_direct(ctx: SystemContext) -> Scorer:
    return LLMScorer("llm-base-direct", _base_settings(), 0, order="prior", seed=ctx.seed)


def _make_rec(ctx: SystemContext) -> Scorer:
    settings = _rec_settings()
    return LLMScorer("llm-rec", settings, settings.rationale_max_tokens, order="prior", seed=ctx.seed)


def _make_rec_free(ctx: SystemContext) -> Scorer:
    settings = _rec_settings().model_copy(update={"rationale_decoding": "free"})
    return LLMScorer("llm-rec-free", settings, settings.rationale_max_tokens, order="prior", seed=ctx.seed)


def _make_rec_direct(ctx: SystemContext) -> Scorer:
    return LLMScorer("llm-rec-direct", _rec_settings(), 0, order="prior", seed=ctx.seed)


def _make_rec_shuffled(ctx: SystemContext) -> Scorer:
    settings = _rec_settings()
    return LLMScorer("llm-rec-shuffled", settings, settings.rationale_max_tokens, order="shuffled", seed=ctx.seed)


def _make_agent(ctx: SystemContext) -> Scorer:
    settings = ModelSettings()
    return LLMScorer("agent", settings, settings.rationale_max_tokens, order="prior", calibrated=True, seed=ctx.seed)


register_system("llm-base", _make_base)
register_system("llm-base-direct", _make_base_direct)
register_system("llm-rec", _make_rec)
register_system("llm-rec-free", _make_rec_free)
register_system("llm-rec-direct", _make_rec_direct)
register_system("llm-rec-shuffled", _make_rec_shuffled)
register_system("agent", _make_agent)
