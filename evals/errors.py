"""The exception hierarchy of evals/: each message is one sentence a user can act on.

The CLI turns any `EvalError` into that sentence and exit code 2; the cause stays chained (`raise ... from`).
"""

from __future__ import annotations

from collections.abc import Iterable


class EvalError(Exception):
    """Base class of every error raised on purpose by evals/."""


class EvalConfigError(EvalError):
    """A run was asked for with arguments that cannot work (no systems, N < 1, a system named twice...)."""


class UnknownSystemError(EvalError):
    """A system name that no factory is registered for."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown system {name!r}; known systems: {', '.join(self.known) or '(none)'}")


class UnknownProtocolError(EvalError):
    """A protocol name that is neither registered nor planned."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown protocol {name!r}; known protocols: {', '.join(self.known)}")


class ProtocolNotAvailableError(EvalError):
    """A planned protocol whose implementation has not landed yet (e.g. `rerank` needs the retriever)."""


class ProtocolNotApplicableError(EvalError):
    """The protocol needs data the domain does not have (held-out users, dialogue turns, enough negatives)."""


class SystemOutputError(EvalError):
    """A system returned scores the harness cannot rank (wrong length, NaN)."""


class ReportWriteError(EvalError):
    """The report folder cannot be created or written."""
