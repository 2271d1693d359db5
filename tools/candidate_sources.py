"""The first stage's candidates from every source: the sequential model's top k after the user's history and the
hybrid retriever's top k for the query, unioned (a new user, or a catalog without interactions, gets text retrieval
alone).

The agent's planner issues the same two searches as tool calls (`recommend_for_user`, `search_catalog`, both with
k = search_k), and the `pipeline` protocol and the prior's fit call `union_candidates`, so the candidates evaluated
are the candidates served. Text and collaborative signals are complementary: on scientific the hybrid top 20 holds
the held-out item for 14% of users.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from tools.search import CatalogRetrievers
from tools.seqrec import SeqRec

SEQUENTIAL = "sasrec"
TEXT = "hybrid"
NO_HISTORY_NOTE = "no history to go on, so the sequential recommender was skipped (text search only)"
NO_INTERACTIONS_NOTE = "this catalog has no interaction histories, so the sequential recommender was skipped"


@dataclass(frozen=True)
class Sourced:
    """The union, in source order (sequential first, then text), and what each source returned."""

    ids: list[str]
    sources: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def sequential_note(seqrec: SeqRec | None, history: Sequence[str]) -> str | None:
    """Why the sequential source was skipped, or None when it ran."""
    if seqrec is None:
        return NO_INTERACTIONS_NOTE
    if not history:
        return NO_HISTORY_NOTE
    return None


def union_candidates(
    retrievers: CatalogRetrievers,
    *,
    history: Sequence[str],
    query: str,
    k: int,
    exclude: Collection[str] = (),
    progress: bool = False,
) -> Sourced:
    """Each source's top `k` (items in `exclude` left out), unioned without repeats."""
    sources: dict[str, list[str]] = {}
    notes: list[str] = []
    seqrec = retrievers.sequential(progress=progress)
    skipped = sequential_note(seqrec, history)
    if skipped is None and seqrec is not None:
        sources[SEQUENTIAL] = [i for i, _ in seqrec.top(history, k, exclude)]
    else:
        notes.append(skipped or "")
    if query.strip():
        result = retrievers.hybrid.search(query, k, exclude=exclude)
        sources[TEXT] = list(result.item_ids)
        notes += list(result.warnings)
    ids = list(dict.fromkeys(i for found in sources.values() for i in found))
    return Sourced(ids, sources, notes)
