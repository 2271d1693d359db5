"""Run systems side by side on one protocol: fit each once, score every case, average the metrics.

Every system sees exactly the same cases (each case is built once and handed to all systems in turn), and
the harness, not the system, turns scores into a ranking, breaking ties at random with a generator seeded by
(seed, system, query) so that a constant scorer scores like random guessing.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from agent.trust import Trust
from evals.errors import EvalConfigError, SystemOutputError
from evals.metrics import compute_metrics, rank_order
from evals.protocols import Case, EvalProtocol, make_protocol, select_units
from evals.seeding import derived_generator
from evals.systems import Scorer, SystemContext, make_system
from tools.catalog import Dataset
from tools.progress import progress_enabled
from tools.settings import DataSettings

logger = logging.getLogger(__name__)

DEFAULT_SEED: int = DataSettings.model_fields["seed"].default


@dataclass(frozen=True)
class MetricSummary:
    """A metric over all samples of a run."""

    mean: float
    stderr: float | None
    """Standard error of the mean, std(ddof=1) / sqrt(n); None with fewer than 2 samples."""
    n: int


@dataclass
class EvalResult:
    """Everything a report needs from one run."""

    domain: str
    protocol: str
    protocol_description: str
    unit: str
    """What was evaluated: "users" or "turns"."""
    users: int
    """Number of units (users or turns) evaluated: those with at least one metric sample."""
    samples: int
    """Number of metric samples: equals `users` except on ReDial, where each gold item of a turn is one."""
    seed: int
    metrics: tuple[str, ...]
    num_candidates: int | None
    """Candidates per query when the protocol fixes it (20 for `candidates`), else None."""
    systems: dict[str, dict[str, MetricSummary]]
    """System name -> metric name -> summary, systems in the order they were given."""
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    """System name -> {"fit": s, "score": s}: wall time spent in the system's `fit` and `score`."""
    rationales: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    """System name -> claim grounding of the rationales it wrote (`rationale_summary`), for systems that write one."""
    strata: dict[str, dict[str, dict[str, MetricSummary]]] = field(default_factory=dict)
    """System name -> stratum -> metric -> summary over that stratum's samples (every metric of the protocol),
    for protocols that put samples in strata; empty when no sample is in one."""
    strata_notes: dict[str, str] = field(default_factory=dict)
    protocol_stats: dict[str, Any] = field(default_factory=dict)
    """What the protocol reports about its cases (`EvalProtocol.stats`), e.g. the first stage's recall."""
    """Stratum -> what it means (the protocol's `strata`)."""
    dropped_samples: int = 0
    """Metric samples the protocol dropped (`Case.dropped`, e.g. mentioned gold items under --exclude-mentioned)."""
    dropped_units: int = 0
    """Units left without any sample by those drops, hence not scored nor counted in `users`."""
    paired: dict[str, dict[str, MetricSummary]] = field(default_factory=dict)
    """"<system> - <reference>" -> metric -> the per-sample difference, for each system against each reference
    system in the run (`PAIRED_REFERENCES`): the same samples on both sides, so its standard error is that of the
    difference, far smaller than either system's own when they rank alike (the agent against its prior)."""

    def stratum_samples(self) -> dict[str, int]:
        """Stratum -> number of samples in it (the same for every system)."""
        first = next(iter(self.strata.values()), {})
        return {k: next(iter(per.values())).n if per else 0 for k, per in first.items()}

    def means(self, system: str) -> dict[str, float]:
        return {m: s.mean for m, s in self.systems[system].items()}


def training_view(dataset: Dataset) -> Dataset:
    """The dataset with every test item and gold label removed: what `Scorer.fit` is allowed to see."""
    return Dataset(
        domain=dataset.domain,
        items=dataset.items,
        users=[replace(u, test=None) for u in dataset.users],
        turns=[replace(t, gold=()) for t in dataset.turns],
        notes=dict(dataset.notes),
    )


def _resolve_systems(systems: Sequence[Scorer | str], seed: int) -> list[Scorer]:
    if not systems:
        raise EvalConfigError("no systems to evaluate: name at least one, e.g. --systems random,popularity")
    context = SystemContext(seed=seed)
    resolved = [make_system(s, context) if isinstance(s, str) else s for s in systems]
    names = [s.name for s in resolved]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise EvalConfigError(f"system {repeated[0]!r} is listed twice; each system runs once per report")
    return resolved


def _rank(system: Scorer, case: Case, ids: npt.NDArray[np.object_], seed: int) -> tuple[list[str], float]:
    """The case's candidates (`ids`, as an array) ranked by the system's scores, and `score`'s seconds."""
    start = time.perf_counter()
    raw = system.score(case.query, case.candidates)
    elapsed = time.perf_counter() - start
    scores = np.asarray(raw, dtype=np.float64)
    n = len(case.candidates)
    if scores.shape != (n,):
        raise SystemOutputError(
            f"system {system.name!r} returned scores of shape {scores.shape} for {n} candidates "
            f"(query {case.query.key})"
        )
    if np.isnan(scores).any():
        raise SystemOutputError(f"system {system.name!r} returned NaN scores for query {case.query.key}")
    rng = derived_generator(seed, "ties", system.name, case.query.key)
    if case.excluded:
        keep = np.ones(n, dtype=bool)
        keep[list(case.excluded)] = False
        kept = np.flatnonzero(keep)
        order = kept[rank_order(scores[kept], rng)]
    else:
        order = rank_order(scores, rng)
    ranked: list[str] = ids[order].tolist()
    return ranked, elapsed


def rationale_summary(scores: Sequence[float | None], trust: Sequence[Trust] = ()) -> dict[str, float | int | None]:
    """Mean claim grounding over rationales with claims, and the share of rationales without any claim; with the
    rationales' `trust` figures (agent/trust.py), each as a mean and its standard error: copy rate, the share that
    repeat themselves, the share whose top item is argued for (coverage), the old lexical score."""
    scored = [s for s in scores if s is not None]
    out: dict[str, float | int | None] = {
        "rationales": len(scores),
        "mean_grounding": sum(scored) / len(scored) if scored else None,
        "grounding_stderr": _summarise(scored).stderr if scored else None,
        "no_claims_share": (len(scores) - len(scored)) / len(scores) if scores else None,
    }
    columns = {
        "copy_rate": [t.copy_rate for t in trust],
        "repeats": [float(t.repeats) for t in trust],
        "stopped_repeat": [float(t.stopped_repeat) for t in trust],
        "coverage": [float(bool(t.coverage)) for t in trust if t.coverage is not None],
        "lexical": [t.lexical for t in trust if t.lexical is not None],
    }
    for key, values in columns.items():
        if values:
            summary = _summarise(values)
            out[key], out[f"{key}_stderr"] = summary.mean, summary.stderr
    return out


def _summarise(values: list[float]) -> MetricSummary:
    arr = np.asarray(values, dtype=np.float64)
    n = arr.shape[0]
    stderr = float(arr.std(ddof=1) / math.sqrt(n)) if n >= 2 else None
    return MetricSummary(mean=float(arr.mean()) if n else math.nan, stderr=stderr, n=n)


PAIRED_REFERENCES = ("prior", "sasrec", "hybrid", "bm25")
"""Systems every other one is compared with sample by sample, when they are in the run."""


def paired_differences(values: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, MetricSummary]]:
    """ "a - b" -> metric -> summary of the per-sample differences, for each system a and each reference b of
    `PAIRED_REFERENCES` in `values` (system -> metric -> samples in one order)."""
    out: dict[str, dict[str, MetricSummary]] = {}
    for reference in (r for r in PAIRED_REFERENCES if r in values):
        for name, per in values.items():
            if name == reference or f"{reference} - {name}" in out:
                continue
            diffs = {
                metric: [a - b for a, b in zip(samples, values[reference][metric], strict=True)]
                for metric, samples in per.items()
                if samples and len(samples) == len(values[reference].get(metric, []))
            }
            if diffs:
                out[f"{name} - {reference}"] = {metric: _summarise(d) for metric, d in diffs.items()}
    return out


def _prefetch(
    system: Scorer, cases: Sequence[Case], ids: Sequence[npt.NDArray[np.object_]], seed: int, workers: int, bar: bool
) -> dict[int, tuple[list[str], float]]:
    """Case index -> the case ranked by `system`, for every case with a target, `workers` cases at a time (for a
    model behind a server that batches concurrent requests)."""
    todo = [i for i, case in enumerate(cases) if case.targets]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = pool.map(lambda i: _rank(system, cases[i], ids[i], seed), todo)
        return dict(zip(todo, tqdm(jobs, total=len(todo), desc=system.name, unit="case", disable=not bar), strict=True))


def run_eval(
    dataset: Dataset,
    protocol: EvalProtocol | str,
    systems: Sequence[Scorer | str],
    users: int | None = None,
    seed: int = DEFAULT_SEED,
    *,
    progress: bool = True,
    workers: int = 1,
) -> EvalResult:
    """Evaluate `systems` (instances or registered names) on `dataset` under `protocol`.

    `users` subsamples the protocol's units (test users, or dialogue turns) deterministically, see
    `evals.protocols.select_units`; None evaluates all. Each system is fitted once, on
    `training_view(dataset)`. Standard errors treat samples as independent, which ReDial's several gold
    items of one turn are not quite.

    `workers` > 1 scores the cases of each system that says it may be called concurrently (`concurrent = True`:
    an LLM behind a vLLM server, which batches the requests) that many at a time; the others one by one. The
    figures do not depend on it: every system scores the same cases, and the harness ranks them in case order.
    """
    proto = make_protocol(protocol) if isinstance(protocol, str) else protocol
    scorers = _resolve_systems(systems, seed)
    units = select_units(proto.unit_ids(dataset), users, seed)

    seconds: dict[str, dict[str, float]] = {}
    train = training_view(dataset)
    for scorer in scorers:
        start = time.perf_counter()
        scorer.fit(train)
        seconds[scorer.name] = {"fit": time.perf_counter() - start, "score": 0.0}
        logger.info("fitted %s on %s in %.2fs", scorer.name, dataset.domain, seconds[scorer.name]["fit"])

    values: dict[str, dict[str, list[float]]] = {s.name: {m: [] for m in proto.metrics} for s in scorers}
    by_stratum: dict[str, dict[str, dict[str, list[float]]]] = {
        s.name: {k: {m: [] for m in proto.metrics} for k in proto.strata} for s in scorers
    }
    samples = scored_units = dropped_samples = dropped_units = 0
    bar = tqdm(
        proto.cases(dataset, units, seed),
        total=len(units),
        desc=f"{proto.name} on {dataset.domain}",
        unit=proto.unit.rstrip("s"),
        disable=not progress_enabled(progress),
    )
    shared: tuple[tuple[str, ...], npt.NDArray[np.object_]] = ((), np.array([], dtype=object))
    batched = [s for s in scorers if workers > 1 and getattr(s, "concurrent", False)]
    prefetched: dict[str, dict[int, tuple[list[str], float]]] = {}
    if batched:
        cases = list(bar)  # built once, in order: the concurrent systems rank them all first
        arrays: list[npt.NDArray[np.object_]] = []
        for case in cases:
            if case.candidates is not shared[0]:
                shared = (case.candidates, np.array(case.candidates, dtype=object))
            arrays.append(shared[1])
        for scorer in batched:
            started = time.perf_counter()
            prefetched[scorer.name] = _prefetch(scorer, cases, arrays, seed, workers, progress_enabled(progress))
            seconds[scorer.name]["score_wall"] = time.perf_counter() - started
        bar = tqdm(cases, desc=f"{proto.name} on {dataset.domain}", disable=not progress_enabled(progress))
    for index, case in enumerate(bar):
        dropped_samples += case.dropped
        if not case.targets:
            dropped_units += int(case.dropped > 0)
            continue  # nothing left to measure: every gold item of the turn was dropped
        samples += len(case.targets)
        scored_units += 1
        strata = case.sample_strata()
        for stratum in set(strata) - {None}:
            if stratum not in proto.strata:
                raise EvalConfigError(
                    f"protocol {proto.name!r} put a sample in stratum {stratum!r}, which its `strata` does not declare"
                )
        if case.candidates is not shared[0]:
            # Catalog-wide protocols share one tuple: convert it once, not per query (3x faster on 4k items).
            shared = (case.candidates, np.array(case.candidates, dtype=object))
        for scorer in scorers:
            done = prefetched.get(scorer.name)
            ranked, elapsed = done[index] if done is not None else _rank(scorer, case, shared[1], seed)
            seconds[scorer.name]["score"] += elapsed
            for target, stratum in zip(case.targets, strata, strict=True):
                row = compute_metrics(ranked, target, proto.metrics)
                for metric, value in row.items():
                    values[scorer.name][metric].append(value)
                if stratum is not None:
                    bucket = by_stratum[scorer.name][stratum]
                    for metric, value in row.items():
                        bucket[metric].append(value)
    bar.close()
    stratified = any(v for per in by_stratum.values() for by_metric in per.values() for v in by_metric.values())

    return EvalResult(
        rationales={
            s.name: rationale_summary(list(grounding.values()), list(getattr(s, "trust", {}).values()))
            for s in scorers
            if (grounding := getattr(s, "grounding", None))
        },
        domain=dataset.domain,
        protocol=proto.name,
        protocol_description=proto.describe(),
        unit=proto.unit,
        users=scored_units,
        samples=samples,
        seed=seed,
        metrics=proto.metrics,
        num_candidates=proto.num_candidates,
        systems={name: {m: _summarise(v) for m, v in per.items()} for name, per in values.items()},
        seconds=seconds,
        strata={
            name: {k: {m: _summarise(v) for m, v in by_metric.items()} for k, by_metric in per.items()}
            for name, per in by_stratum.items()
        }
        if stratified
        else {},
        strata_notes=dict(proto.strata) if stratified else {},
        dropped_samples=dropped_samples,
        dropped_units=dropped_units,
        protocol_stats=proto.stats(),
        paired=paired_differences(values),
    )
