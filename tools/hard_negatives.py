"""Candidate sets from the first-stage retriever: what the LLM re-ranks in the agent, so what it is evaluated on
(evals/rerank.py) and trained on (training/sft_data.py, `data.hard_negative_share`).

One definition for both sides: if training drew its hard negatives differently from the rerank protocol, the
adapter would learn a candidate distribution that evaluation never shows it.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from tools.catalog import Item

if TYPE_CHECKING:  # tools.search loads Qdrant and BM25; a uniform-negatives SFT run (a bare GPU box) needs neither
    from tools.search import Retriever

HISTORY_TITLES = 10
"""Most recent history items whose titles form the query (scientific histories: median 5, 90th percentile ~10)."""


def history_query(history: Sequence[str], items: Mapping[str, Item]) -> str:
    """Titles of the last HISTORY_TITLES items of `history` (oldest first), most recent first, space-joined."""
    titles = [items[i].title for i in reversed(history[-HISTORY_TITLES:]) if i in items]
    return " ".join(t.strip() for t in titles if t.strip())


def retrieved_candidates(
    retriever: Retriever,
    query: str,
    target: str,
    *,
    k: int,
    exclude: Collection[str],
    items: Collection[str],
    fill_rng: random.Random,
) -> tuple[list[str], bool]:
    """(the retriever's top `k` for `query`, with `target` put in place of the k-th when missed; whether the
    retriever found `target` itself), as LlamaRec builds its re-ranking candidates.

    The list is in retrieval order (the caller shuffles it: that order would tell an LLM where the best match is).
    `exclude` (the user's history) is never returned; `target` must not be in it. A tiny catalog or an empty
    query leaves fewer than `k` hits: seeded random items of `items` outside `exclude` top the list up.
    """
    hits = retriever.search(query, k, exclude=exclude).item_ids if query else []
    found = target in hits
    candidates = list(hits) if found else [*hits[: k - 1], target]
    if len(candidates) < k:
        pool = sorted(set(items) - set(exclude) - set(candidates))
        candidates += fill_rng.sample(pool, min(len(pool), k - len(candidates)))
    return candidates, found
