"""The labelled understanding set's format (tests/data/UNDERSTANDING.md): one JSON object per line with the message,
the previous turn's picks and rationale, and the expected reading. Read by the `understanding` protocol
(evals/understanding.py) and by `llmrec train intent` (training/intent_cli.py), so both read any file of the format
the same way and reject a malformed one with the same message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from agent.understanding import PreviousPick

_EXPECTED_KEYS = ("intent", "wanted", "unwanted", "filters", "unsupported", "item")


class UnderstandingSetError(AgentError):
    """A labelled-message file that cannot be read: missing, empty or malformed (the message names the line)."""


@dataclass(frozen=True)
class Line:
    id: str
    split: str
    category: str
    domain: str
    message: str
    previous: list[PreviousPick]
    rationale: str
    expected: dict[str, Any]
    family: str = ""
    """The phrasing family (tests/data/UNDERSTANDING.md): lines of one family share a split."""


def load_lines(path: Path) -> list[Line]:
    """The labelled lines of `path`; a clear error naming the line for anything malformed."""
    if not path.is_file():
        raise UnderstandingSetError(f"--messages {path}: no such file (the format: tests/data/UNDERSTANDING.md)")
    lines: list[Line] = []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                expected = row["expected"]
                missing = [key for key in _EXPECTED_KEYS if key not in expected]
                if missing:
                    raise KeyError(f"expected.{missing[0]}")
                previous = row.get("previous") or {}
                picks = [PreviousPick(str(p["label"]), str(p["title"])) for p in previous.get("picks", [])]
                lines.append(
                    Line(
                        id=str(row.get("id", f"line-{number}")),
                        split=str(row.get("split", "all")),
                        category=str(row.get("category", "all")),
                        domain=str(row["domain"]),
                        message=str(row["message"]),
                        previous=picks,
                        rationale=str(previous.get("rationale", "")),
                        expected=expected,
                        family=str(row.get("family", "")),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise UnderstandingSetError(
                    f"{path}, line {number}: not a labelled message ({type(exc).__name__}: {exc}); each line is a "
                    "JSON object with domain, message, previous and expected (tests/data/UNDERSTANDING.md)"
                ) from None
    if not lines:
        raise UnderstandingSetError(f"{path} holds no labelled messages")
    return lines


def fitting_lines(lines: list[Line], split: str, supplement: list[Line] | None = None) -> list[Line]:
    """The lines a reader is fitted on: `lines` of `split`, then every line of a training `supplement` (e.g.
    training/data/understanding_supplement.jsonl), which must hold training lines only: none of its lines may be
    held out, share a phrasing family with a line of `lines` outside `split`, or repeat such a line's message, or the
    held-out figure would measure phrasings the readers were fitted on."""
    chosen = [line for line in lines if line.split == split]
    if not supplement:
        return chosen
    outside = [line for line in lines if line.split != split]
    families = {line.family for line in outside if line.family}
    messages = {" ".join(line.message.lower().split()) for line in outside}
    for line in supplement:
        if line.split != split:
            raise UnderstandingSetError(f"supplement line {line.id} is split {line.split!r}: it may only add {split!r}")
        if line.family in families:
            raise UnderstandingSetError(
                f"supplement line {line.id}: family {line.family!r} is a family of the set outside {split!r}"
            )
        if " ".join(line.message.lower().split()) in messages:
            raise UnderstandingSetError(f"supplement line {line.id} repeats a message of the set outside {split!r}")
    return chosen + list(supplement)
