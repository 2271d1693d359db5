"""The exception hierarchy of tools/: a user sees the message, a log keeps the cause (``raise ... from``)."""

from __future__ import annotations

from pathlib import Path


class ToolsError(Exception):
    """Base class of every error raised on purpose by tools/."""


class DatasetNotFoundError(ToolsError):
    """A dataset's files are not where the settings say they are."""


class UnknownDomainError(ToolsError):
    """A domain name that no loader is registered for."""


class DatasetFormatError(ToolsError):
    """A dataset file does not have the expected format.

    The message names the file, the 1-based line and what was expected, so a user can fix the file.
    """

    def __init__(self, path: Path | str, line: int | None, expected: str, found: str | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.expected = expected
        self.found = found
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        message = f"{where}: expected {expected}"
        if found is not None:
            shown = found if len(found) <= 120 else found[:117] + "..."
            message += f", found {shown!r}"
        super().__init__(message)
