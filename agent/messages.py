"""User messages before they reach the graph: control characters removed, length bounded, emptiness refused."""

from __future__ import annotations

import unicodedata

from agent.errors import EmptyMessageError

MAX_MESSAGE_CHARS = 4000
"""About 1,000 tokens: half the default 2,048-token context; longer messages are cut, with a note."""
_KEEP = frozenset("\n\t")


def clean_message(text: str, max_chars: int = MAX_MESSAGE_CHARS) -> tuple[str, list[str]]:
    """(cleaned text, notes for the user). Raises EmptyMessageError when nothing readable is left.

    Control characters (category Cc, e.g. NUL, ESC) are dropped, newlines and tabs kept; format characters
    (Cf) stay because emoji sequences need the zero-width joiner. Invalid surrogates are replaced.
    """
    if not isinstance(text, str):
        raise EmptyMessageError(f"A message must be text, got {type(text).__name__}.")
    text = text.encode("utf-8", "replace").decode("utf-8")
    cleaned = "".join(ch for ch in text if ch in _KEEP or unicodedata.category(ch) != "Cc").strip()
    notes: list[str] = []
    if len(cleaned) != len(text.strip()):
        notes.append("removed control characters from your message")
    if not cleaned:
        raise EmptyMessageError("Please type a message: say what you are looking for, e.g. 'a digital caliper'.")
    if len(cleaned) > max_chars:
        notes.append(f"your message was {len(cleaned):,} characters; I read the first {max_chars:,}")
        cleaned = cleaned[:max_chars].rstrip()
    return cleaned, notes
