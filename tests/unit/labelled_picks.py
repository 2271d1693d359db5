"""Previous picks labelled A, B, C for the reading tests: only titles matter to the rules under test."""

from __future__ import annotations

from agent.state import Pick

LABELS = ["A", "B", "C"]


def labelled_picks(*titles: str) -> list[Pick]:
    """Picks p0, p1, ... with these titles, labelled A, B, C in order."""
    return [
        Pick(item_id=f"p{i}", title=title, label=label, logprob=0.0, reason="", grounded=False)
        for i, (label, title) in enumerate(zip(LABELS, titles, strict=False))
    ]
