"""Fitting the prior (agent/prior.py) on validation users: a conditional logit (McFadden's choice model: a softmax
over each candidate set, the held-out item the one chosen) on the prior's features, over the candidate sets the agent
meets. Unlike a per-candidate logistic regression it fits exactly what ranking needs, the order within a set: the
per-candidate fit also spends weight on telling sets apart, and on clothing it ended below BM25 alone.

Validation users are training users (never evaluation users, `tools.splits`) with a validation item; the model
predicts that item from the history before it, which the sequential model never trained on. Each user gives two
candidate sets: the validation item among 19 random catalog items (what the candidates protocol asks), and the first
stage's union for the history (what the agent and the pipeline protocol rank) when it holds the item. Scientific's
2,000 users take about 2 minutes on 2 cores; the fit is saved beside the sequential model and refused when that
model or the catalog changes. A fifth of the sets is held out first: the fit's NDCG@10 on them, and each feature's
alone, are saved with the weights (`fitted_on["heldout_ndcg10"]`), then the weights are refitted on every set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import logsumexp
from tqdm import tqdm

from agent.prior import FEATURES, PRIOR_VERSION, Prior, prior_features
from tools.candidate_sources import union_candidates
from tools.catalog import Dataset, UserHistory
from tools.errors import StaleIndexError
from tools.hard_negatives import history_query
from tools.progress import progress_enabled
from tools.search import CatalogRetrievers
from tools.seqrec import SeqRec, folder_for
from tools.settings import DataSettings
from tools.splits import is_eval_user

log = logging.getLogger(__name__)

PRIOR_USERS = 2000
"""Validation users the prior is fitted on: 4 weights need far fewer, and more only costs start-up time."""
PRIOR_SHARE = 0.5
"""At most this share of the validation users fit the prior; the rest calibrate an LLM (clothing has 1,168 training
users: 584 each)."""
MIN_CASES = 20
CANDIDATES = 20
L2 = 1.0
"""Ridge penalty on the weights, in the units of the summed log-likelihood: negligible beside 2,000+ sets, it only
keeps the fit finite when a feature separates a small validation set perfectly."""
HELDOUT_SHARE = 0.2


def text_only(domain: str) -> Prior:
    """The prior of a catalog without interaction histories (a dialogue catalog): the retriever's order."""
    return Prior(domain=domain, weights={"text": 1.0}, fitted_on={"default": "no interaction histories to fit on"})


@dataclass(frozen=True)
class ValidationCase:
    user_id: str
    history: tuple[str, ...]
    target: str
    query: str
    candidates: list[str]
    kind: str
    """"random" (19 random negatives) or "union" (the first stage's candidates)."""


def validation_users(dataset: Dataset, seed: int) -> tuple[list[UserHistory], list[UserHistory]]:
    """(users the prior is fitted on, users left for calibrating an LLM): training users with a history and a
    validation item, in the order of a seeded hash of their id. The prior takes the first PRIOR_USERS, at most
    PRIOR_SHARE of them, so that an LLM's weight is never fitted on users the prior has already seen."""
    users = [u for u in dataset.users if u.valid is not None and u.history and not is_eval_user(u.user_id, seed)]
    users.sort(key=lambda u: hashlib.sha256(f"{seed}:validation:{u.user_id}".encode()).digest())
    cut = min(PRIOR_USERS, int(PRIOR_SHARE * len(users)))
    return users[:cut], users[cut:]


def validation_cases(
    retrievers: CatalogRetrievers, users: list[UserHistory], seed: int, *, progress: bool = True
) -> Iterator[ValidationCase]:
    """Both candidate sets of each user (the union set only when it holds the validation item)."""
    items = retrievers.dataset.items
    catalog = sorted(items)
    for user in tqdm(users, desc=f"Validation users of {retrievers.domain}", disable=not progress_enabled(progress)):
        assert user.valid is not None
        seen = set(user.all_items) - {user.valid}
        query = history_query(user.history, items)
        rng = random.Random(f"{seed}:prior:{user.user_id}")
        pool = len(catalog) - len(seen | {user.valid})
        wanted = min(pool, CANDIDATES - 1)
        negatives: list[str] = []
        if pool < 2 * CANDIDATES:  # a small catalog: draw from the list itself (rejection would crawl)
            negatives = rng.sample([i for i in catalog if i not in seen and i != user.valid], wanted)
        while len(negatives) < wanted:
            pick = catalog[rng.randrange(len(catalog))]
            if pick not in seen and pick != user.valid and pick not in negatives:
                negatives.append(pick)
        yield ValidationCase(user.user_id, user.history, user.valid, query, [user.valid, *negatives], "random")
        union = union_candidates(retrievers, history=user.history, query=query, k=CANDIDATES, exclude=seen)
        if user.valid in union.ids:
            yield ValidationCase(user.user_id, user.history, user.valid, query, union.ids, "union")


def _basis(retrievers: CatalogRetrievers, seqrec: SeqRec) -> dict[str, object]:
    manifest = seqrec.manifest
    return {
        "catalog": manifest.catalog,
        "interactions": manifest.interactions,
        "seqrec_config": manifest.config,
        "users": [PRIOR_USERS, PRIOR_SHARE],
        "version": PRIOR_VERSION,
    }


CandidateSet = tuple[npt.NDArray[np.float64], int]
"""(features of each candidate, row of the held-out item)."""


def conditional_logit(sets: list[CandidateSet], *, l2: float = L2) -> npt.NDArray[np.float64]:
    """The weights that maximise sum over sets of log softmax(X w)[target] - l2/2 |w|^2 (L-BFGS, exact gradient)."""
    dim = sets[0][0].shape[1]

    def loss(w: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        total, grad = 0.5 * l2 * float(w @ w), l2 * w.copy()
        for x, target in sets:
            z = x @ w
            lse = float(logsumexp(z))
            p = np.exp(z - lse)
            total -= float(z[target]) - lse
            grad -= x[target] - p @ x
        return total, grad

    found = minimize(loss, np.zeros(dim), jac=True, method="L-BFGS-B")
    return np.asarray(found.x, dtype=np.float64)


def ndcg10(sets: list[CandidateSet], scores: list[npt.NDArray[np.float64]]) -> float:
    """Mean NDCG@10 of one relevant item per set; ties rank the target last among them (no credit for a tie)."""
    total = 0.0
    for (_, target), s in zip(sets, scores, strict=True):
        rank = int((s >= s[target]).sum())  # 1-based, pessimistic on ties
        total += 1.0 / np.log2(rank + 1) if rank <= 10 else 0.0
    return total / max(len(sets), 1)


def heldout_report(sets: list[CandidateSet], seed: int) -> dict[str, float]:
    """NDCG@10 on a held-out fifth of the sets: of a fit on the rest, and of each feature alone."""
    order = random.Random(f"{seed}:prior-heldout").sample(range(len(sets)), len(sets))
    cut = int(HELDOUT_SHARE * len(sets))
    test = [sets[i] for i in order[:cut]]
    train = [sets[i] for i in order[cut:]]
    w = conditional_logit(train)
    report = {"fit": round(ndcg10(test, [x @ w for x, _ in test]), 4)}
    for j, name in enumerate(FEATURES):
        report[name] = round(ndcg10(test, [x[:, j] for x, _ in test]), 4)
    report["sets"] = float(len(test))
    return report


def fit_prior(retrievers: CatalogRetrievers, *, seed: int, progress: bool = True) -> Prior:
    """Fit the prior's weights on validation users (`text_only` for a domain without interaction histories)."""
    seqrec = retrievers.sequential(progress=progress)
    if seqrec is None:
        return text_only(retrievers.domain)
    cooccur = retrievers.cooccurrence()
    chosen, _ = validation_users(retrievers.dataset, seed)
    sets: list[CandidateSet] = []
    kinds = {"random": 0, "union": 0}
    for case in validation_cases(retrievers, chosen, seed, progress=progress):
        x = prior_features(
            case.candidates,
            history=case.history,
            query=case.query,
            retrievers=retrievers,
            seqrec=seqrec,
            cooccur=cooccur,
        )
        sets.append((x, case.candidates.index(case.target)))
        kinds[case.kind] += 1
    basis = _basis(retrievers, seqrec)
    if len(sets) < MIN_CASES:  # a toy catalog: too few users to fit the weights on
        return Prior(retrievers.domain, {"text": 1.0}, {"default": "too few validation users", "basis": basis})
    heldout = heldout_report(sets, seed)
    w = conditional_logit(sets)
    weights = {name: round(float(v), 6) for name, v in zip(FEATURES, w, strict=True)}
    fitted = {"users": len(chosen), "candidate_sets": kinds, "seed": seed, "heldout_ndcg10": heldout, "basis": basis}
    return Prior(domain=retrievers.domain, weights=weights, fitted_on=fitted)


def prior_path(settings: DataSettings, domain: str) -> Path:
    return folder_for(settings.data_dir, domain) / "prior.json"


def open_prior(
    retrievers: CatalogRetrievers,
    settings: DataSettings | None = None,
    *,
    build_missing: bool = True,
    progress: bool = True,
) -> Prior:
    """The domain's saved prior (fitted and saved first when missing); refused when it was fitted for another
    catalog or sequential model."""
    settings = settings or retrievers.settings or DataSettings()
    seqrec = retrievers.sequential(progress=progress)
    if seqrec is None:
        return text_only(retrievers.domain)
    path = prior_path(settings, retrievers.domain)
    if path.exists() and Prior.load(path).version != PRIOR_VERSION:
        # Our own feature set changed, not the user's data: refit (two minutes) rather than refuse.
        log.info("refitting the prior of %s: saved for prior version %s", retrievers.domain, Prior.load(path).version)
        path.unlink()
    if path.exists():
        prior = Prior.load(path)
        if prior.fitted_on.get("basis") != json.loads(json.dumps(_basis(retrievers, seqrec))):
            raise StaleIndexError(
                f"The prior of domain '{retrievers.domain}' was fitted for another catalog or sequential model: "
                f"run `llmrec train seqrec --domain {retrievers.domain}`."
            )
        return prior
    if not build_missing:
        raise StaleIndexError(f"no prior fitted for {retrievers.domain}: run `llmrec train seqrec`")
    prior = fit_prior(retrievers, seed=settings.seed, progress=progress)
    prior.save(path)
    return prior
