"""The exception hierarchy of tools/: a user sees the message, a log keeps the cause (``raise ... from``)."""

from __future__ import annotations

from pathlib import Path


class ToolsError(Exception):
    """Base class of every error raised on purpose by tools/."""


class DatasetNotFoundError(ToolsError):
    """A dataset's files are not where the settings say they are."""


class UnknownDomainError(ToolsError):
    """A domain name that no loader is registered for."""


class DatasetConfigError(ToolsError):
    """The dataset settings contradict each other (e.g. a configured dataset named like a built-in domain)."""


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


class IndexMissingError(ToolsError):
    """A search index (BM25 or Qdrant) for a domain has not been built yet."""


class StaleIndexError(ToolsError):
    """An index was built from another catalog, embedding model, tokenizer or schema than the current one."""


class IndexCorruptError(ToolsError):
    """An index's files exist but cannot be read."""


class IndexLockedError(ToolsError):
    """An embedded Qdrant folder is held by another process (local mode allows one client per folder)."""


class QdrantUnavailableError(ToolsError):
    """A configured Qdrant server does not answer, or refuses the request."""


class EmptyQueryError(ToolsError, ValueError):
    """A search query that is empty or only whitespace."""


class UnknownItemError(ToolsError):
    """Item ids that are not in the catalog of the domain being searched."""

    def __init__(self, item_ids: list[str], domain: str) -> None:
        self.item_ids = item_ids
        self.domain = domain
        shown = ", ".join(item_ids[:10]) + (f" (and {len(item_ids) - 10} more)" if len(item_ids) > 10 else "")
        super().__init__(f"unknown item ids in the {domain} catalog: {shown}")


class EmbeddingModelError(ToolsError):
    """The configured embedding model cannot be loaded."""
