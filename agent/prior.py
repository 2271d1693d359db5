"""The prior: what the interaction data and the retrievers say about each candidate before the LLM reads it, and
the calibrated commit that adds the LLM's position-debiased label scores to it.

Features per candidate (`prior_features`), in FEATURES order:
    seq     the sequential model's score after the user's history, z-scored over the candidates (0: no history
            or no model)
    text    the hybrid retriever's fused (RRF) score for the query text, z-scored over the candidates
    bm25    BM25's own score for the query text, z-scored over the candidates
    dense   the embedding cosine for the query text, z-scored over the candidates (0 while dense search is down)
    cooc    log(1 + users who have the candidate together with a history item)
    pop     log(1 + users who have the candidate)

The two halves of the fusion are features of their own because their worth differs by catalog: on clothing BM25
alone (0.651 NDCG@10 on the candidates protocol) beats the fusion (0.625), and a prior over the fused score only
could not lean on it (version 1 reached 0.569 there).

`Prior` holds the weights a conditional logit (a softmax over each candidate set) fitted on validation users'
candidate sets (agent/prior_fit.py): the prior score is their weighted sum. `Calibration` adds what a fit on other
validation users says about the LLM: its weight beside the prior, and the label-position bias estimated once from
runs over shuffled candidates (a small model prefers early letters: the 135M base picked "D" for 130 of 200 users).
The committed score is

    prior + llm_weight * (label log-probability - position_bias[label])

so a model whose labels carry no information gets a weight near 0 and the agent commits the prior's order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.errors import CalibrationError
from tools.cooccur import CoOccurrence
from tools.search import CatalogRetrievers
from tools.seqrec import SeqRec
from tools.settings import REPO_ROOT

FEATURES: tuple[str, ...] = ("seq", "text", "bm25", "dense", "cooc", "pop")
PRIOR_VERSION = 2
"""2: BM25 and dense scores as features of their own, fitted as a conditional logit (1: fused score only, a
per-candidate logistic regression)."""

Matrix = npt.NDArray[np.float64]


def _z(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 1e-12 else np.zeros_like(values)


def prior_features(
    candidate_ids: Sequence[str],
    *,
    history: Sequence[str],
    query: str,
    retrievers: CatalogRetrievers,
    seqrec: SeqRec | None,
    cooccur: CoOccurrence | None,
) -> Matrix:
    """One row of FEATURES per candidate (see the module docstring)."""
    n = len(candidate_ids)
    out = np.zeros((n, len(FEATURES)))
    if n == 0:
        return out
    if seqrec is not None and history:
        out[:, 0] = _z(seqrec.score_candidates(history, candidate_ids))
    if query.strip():
        # BM25 alone when dense search is down: the turn's notes already say so (tools/search.py _dense_warning).
        parts = retrievers.hybrid.candidate_scores(query, candidate_ids, bm25_fallback=True)
        for name in ("text", "bm25", "dense"):
            if name in parts:
                out[:, FEATURES.index(name)] = _z(np.asarray(parts[name], dtype=np.float64))
    if cooccur is not None:
        out[:, FEATURES.index("cooc")] = [np.log1p(cooccur.history_count(i, history)) for i in candidate_ids]
        out[:, FEATURES.index("pop")] = [cooccur.log_popularity(i) for i in candidate_ids]
    return out


@dataclass(frozen=True)
class Prior:
    """Weights of FEATURES fitted on validation users; the score is their weighted sum."""

    domain: str
    weights: dict[str, float]
    fitted_on: dict[str, Any] = field(default_factory=dict)
    """Users, candidate sets and the fit's own figures, for the record."""
    version: int = PRIOR_VERSION

    def scores(self, features: Matrix) -> npt.NDArray[np.float64]:
        w = np.array([self.weights.get(name, 0.0) for name in FEATURES])
        return np.asarray(features @ w, dtype=np.float64)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Prior:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Calibration:
    """What a fit on validation users says about one model's labels on one domain."""

    domain: str
    model: str
    """The model (and adapter) it was fitted for (`ModelSettings.identity`: the same on both backends)."""
    llm_weight: float
    """The weight of the debiased label log-probability beside a prior score of weight 1."""
    llm_weight_stderr: float | None
    position_bias: dict[str, float]
    """Label -> mean log-probability the model gives that label over shuffled candidates (PriDe-style prior)."""
    fitted_on: dict[str, Any] = field(default_factory=dict)
    version: int = PRIOR_VERSION

    def debiased(self, labels: Sequence[str], logprobs: Sequence[float]) -> npt.NDArray[np.float64]:
        return np.array([lp - self.position_bias.get(label, 0.0) for label, lp in zip(labels, logprobs, strict=True)])

    def combine(
        self, prior: npt.NDArray[np.float64], labels: Sequence[str], logprobs: Sequence[float]
    ) -> npt.NDArray[np.float64]:
        """The committed score of each candidate: prior + llm_weight * debiased label log-probability."""
        return prior + self.llm_weight * self.debiased(labels, logprobs)

    def fixed_top(self, prior: Sequence[float] | npt.NDArray[np.float64]) -> int | None:
        """The index of the candidate committed first whatever the model's labels say, else None: the prior's best,
        when its lead over the second is more than the label term can move (|llm_weight| x LABEL_SPREAD)."""
        return fixed_top(prior, self)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


LABEL_SPREAD = 20.0
"""Nats between the most and least likely label the committed order allows for: 20 labels' log-probabilities after a
rationale lie within about 10 nats of each other (agent/nodes.py), so 20 leaves a margin."""


def fixed_top(prior: Sequence[float] | npt.NDArray[np.float64], calibration: Calibration | None) -> int | None:
    """The index of the candidate that the commit puts first whatever the labels: the prior's best when there is no
    calibration (the prior's order is committed) or when the calibrated label term cannot overturn its lead. The
    rationale is then written for that candidate: the student argued for its own pick, and the agent's answer argued
    for its committed top item in 64% of scientific turns (2026-12-06, 200 users)."""
    scores = np.asarray(prior, dtype=np.float64)
    if scores.size == 0:
        return None
    best = int(np.argmax(scores))
    if calibration is None or scores.size == 1:
        return best
    lead = scores[best] - np.max(np.delete(scores, best))
    return best if lead > abs(calibration.llm_weight) * LABEL_SPREAD else None


def order_by(candidate_ids: Sequence[str], scores: Sequence[float] | npt.NDArray[np.float64]) -> list[str]:
    """Candidates best first; ties keep their given order (deterministic)."""
    return [candidate_ids[i] for i in sorted(range(len(candidate_ids)), key=lambda i: -float(scores[i]))]


def position_bias(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """log of the mean label probability over runs on shuffled candidates: where the target's place is uniform,
    any label the model favours beyond 1/n is a preference for the letter, not the item."""
    labels = sorted({label for run in runs for label in run})
    out: dict[str, float] = {}
    for label in labels:
        probs = [math.exp(run[label]) for run in runs if label in run]
        out[label] = math.log(max(sum(probs) / len(probs), 1e-12))
    return out


BASE_CALIBRATIONS = REPO_ROOT / "adapters" / "base"
"""Calibrations of base models without an adapter, shipped in the repository: `<slug of the model>/<domain>.json`."""


def calibration_path(model: str, adapter: Path | None, domain: str) -> Path:
    """Where the calibration of `model` (with `adapter`, if any) on `domain` lives: beside the adapter it was
    fitted for, so it travels and is versioned with it; for a bare base model, under adapters/base/."""
    if adapter is not None:
        return adapter / "calibration" / f"{domain}.json"
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in Path(model).name) or "model"
    return BASE_CALIBRATIONS / slug / "calibration" / f"{domain}.json"


def load_calibration(path: Path, model_name: str) -> Calibration | None:
    """The calibration at `path`, or None when there is none; refused when it was fitted for another model."""
    if not path.exists():
        return None
    calibration = Calibration.load(path)
    if calibration.model != model_name:
        raise CalibrationError(
            f"{path} was fitted for {calibration.model}, not {model_name}: run `llmrec train calibrate --domain "
            f"{calibration.domain}` for this model."
        )
    return calibration
