"""The LangGraph checkpointer: a SQLite file under the data directory by default, Postgres by setting."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.errors import CheckpointError

log = logging.getLogger(__name__)

# Seconds a writer waits for another process's lock before giving up: a turn writes about 10 checkpoints.
_SQLITE_TIMEOUT_S = 10.0


def checkpoint_location(url: str | None, data_dir: Path) -> str:
    """The configured URL, or the default SQLite file."""
    return url or str(data_dir / "checkpoints.sqlite")


@contextmanager
def open_checkpointer(url: str | None, data_dir: Path) -> Iterator[BaseCheckpointSaver[Any]]:
    """Yield a ready checkpointer (tables created). Raises CheckpointError with the reason when it cannot open."""
    location = checkpoint_location(url, data_dir)
    if location.startswith(("postgres://", "postgresql://")):
        with _postgres(location) as saver:
            yield saver
        return
    with _sqlite(Path(location.removeprefix("sqlite:///"))) as saver:
        yield saver


@contextmanager
def _sqlite(path: Path) -> Iterator[BaseCheckpointSaver[Any]]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: UIs run turns on worker threads; SqliteSaver serialises access with its lock.
        conn = sqlite3.connect(path, check_same_thread=False, timeout=_SQLITE_TIMEOUT_S)
    except (OSError, sqlite3.Error) as exc:
        raise CheckpointError(f"Cannot open the conversation store {path}: {exc}.") from exc
    try:
        saver = SqliteSaver(conn)
        saver.setup()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise CheckpointError(
            f"The conversation store {path} is unusable ({exc}). If it is corrupt, move it away to start afresh; "
            "if another process holds it, wait or set LLMREC_CHECKPOINT_URL to another file."
        ) from exc
    try:
        yield saver
    finally:
        conn.close()


@contextmanager
def _postgres(url: str) -> Iterator[BaseCheckpointSaver[Any]]:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError as exc:
        raise CheckpointError(
            "LLMREC_CHECKPOINT_URL points at Postgres, but its driver is not installed: pip install -e '.[postgres]'."
        ) from exc
    try:
        with PostgresSaver.from_conn_string(url) as saver:
            saver.setup()
            yield saver
    except Exception as exc:  # psycopg's OperationalError and friends; re-raised with a sentence, cause kept
        if isinstance(exc, CheckpointError):
            raise
        if type(exc).__module__.startswith("psycopg"):
            raise CheckpointError(f"Cannot use the Postgres conversation store: {exc}.") from exc
        raise
