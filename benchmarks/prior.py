"""What the sequential source and the prior add to a turn: latency of `recommend_for_user` (SASRec's top 20 after a
history) and of ordering a turn's candidates by the prior (features: SASRec scores, the hybrid score of the query,
co-occurrence, popularity; then the weighted sum and the sort), side by side in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.prior --domain scientific --users 200

Per evaluation user: the user's history and its titles as the query, the first stage's union as the candidates (up
to 40, what a served turn orders). Medians and 95th percentiles over users; the machine is recorded with them.
Target: the prior adds at most 50 ms to a turn.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

from agent.prior import prior_features
from agent.prior_fit import open_prior
from tools.candidate_sources import union_candidates
from tools.datasets import load_dataset
from tools.hard_negatives import history_query
from tools.search import catalog_retrievers
from tools.settings import RetrievalSettings
from tools.splits import is_eval_user


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = RetrievalSettings()
    dataset = load_dataset(args.domain, settings)
    users = [u for u in dataset.test_users() if is_eval_user(u.user_id, settings.seed)][: args.users]
    with catalog_retrievers(dataset, settings, progress=False) as retrievers:
        seqrec = retrievers.sequential(progress=False)
        cooccur = retrievers.cooccurrence()
        prior = open_prior(retrievers, settings, progress=False)
        assert seqrec is not None, f"{args.domain} has no interaction histories"
        sequential, ordering, union_sizes = [], [], []
        for user in users:
            history = list(user.test_history)
            query = history_query(history, dataset.items)
            start = time.perf_counter()
            seqrec.top(history, 20, exclude=history)
            sequential.append(time.perf_counter() - start)
            candidates = union_candidates(retrievers, history=history, query=query, k=20, exclude=history).ids
            union_sizes.append(len(candidates))
            start = time.perf_counter()
            scores = prior.scores(
                prior_features(
                    candidates, history=history, query=query, retrievers=retrievers, seqrec=seqrec, cooccur=cooccur
                )
            )
            sorted(range(len(candidates)), key=lambda i: -scores[i])
            ordering.append(time.perf_counter() - start)
    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
        },
        "domain": args.domain,
        "users": len(users),
        "median_candidates": statistics.median(union_sizes),
        "recommend_for_user_top20": _percentiles(sequential),
        "prior_order": _percentiles(ordering),
        "target_ms": 50,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domain", default="scientific")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--out", default="benchmarks/results/prior.json")
    main(parser.parse_args())
