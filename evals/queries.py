"""The text a retriever searches with for an evaluation query: the user's recent history titles, or the dialogue."""

from __future__ import annotations

from collections.abc import Mapping

from evals.systems import Query
from tools.catalog import Item
from tools.hard_negatives import HISTORY_TITLES, history_query

__all__ = ["DIALOGUE_CHARS", "HISTORY_TITLES", "query_text"]

DIALOGUE_CHARS = 1000
"""Most recent characters of a dialogue context; MiniLM reads at most 256 word pieces, and the end matters most."""


def query_text(query: Query, items: Mapping[str, Item]) -> str:
    """Titles of the last HISTORY_TITLES history items, most recent first; for dialogues, the latest context."""
    if query.context:
        text = " ".join(u.strip() for u in query.context if u.strip())
        return text[-DIALOGUE_CHARS:]
    return history_query(query.history, items)
