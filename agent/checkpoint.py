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
SQLITE_TIMEOUT_S = 10.0


def is_store_error(exc: BaseException) -> bool:
    """Whether `exc` comes from the checkpoint database itself (SQLite or psycopg): locked, gone, disk full."""
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg")


def store_error(exc: BaseException) -> CheckpointError:
    """The sentence a user sees when the conversation store fails in the middle of the app's life."""
    if "locked" in str(exc):
        return CheckpointError(
            f"The conversation store is locked by another process ({exc}); nothing was changed, try again in a "
            "moment. Several app servers need Postgres (LLMREC_CHECKPOINT_URL=postgresql://...)."
        )
    return CheckpointError(f"The conversation store failed ({type(exc).__name__}: {exc}); nothing was changed.")


def checkpoint_location(url: str | None, data_dir: Path) -> str:
    """The configured URL, or the default SQLite file."""
    return url or str(data_dir / "checkpoints.sqlite")


@contextmanager
def open_checkpointer(
    url: str | None, data_dir: Path, *, timeout_s: float = SQLITE_TIMEOUT_S
) -> Iterator[BaseCheckpointSaver[Any]]:
    """Yield a ready checkpointer (tables created). Raises CheckpointError with the reason when it cannot open.

    `timeout_s`: how long a SQLite write waits for another process's lock before the turn fails.
    """
    location = checkpoint_location(url, data_dir)
    if location.startswith(("postgres://", "postgresql://")):
        with _postgres(location) as saver:
            yield saver
        return
    with _sqlite(Path(location.removeprefix("sqlite:///")), timeout_s) as saver:
        yield saver


def _sqlite_saver() -> Any:
    from langgraph.checkpoint.sqlite import SqliteSaver

    class FileSqliteSaver(SqliteSaver):
        """SqliteSaver that notices its file was deleted while open and writes it back from the open connection.

        On Linux a deleted file lives on while a connection holds it: every later turn would be written to a
        file nobody can open again, and lost at the next restart.
        """

        def __init__(self, conn: sqlite3.Connection, path: Path, timeout_s: float) -> None:
            super().__init__(conn)
            self.path = path
            self.timeout_s = timeout_s

        def restore_if_deleted(self) -> bool:
            if str(self.path) == ":memory:" or self.path.exists():
                return False
            with self.lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                copy = self.path.with_name(self.path.name + ".restoring")
                target = sqlite3.connect(copy)
                self.conn.backup(target)
                target.close()
                # Closing the last connection folds its WAL into the deleted file and removes the -wal and -shm
                # names, which a new file at the same path would otherwise pick up.
                self.conn.close()
                copy.replace(self.path)
                self.conn = sqlite3.connect(self.path, check_same_thread=False, timeout=self.timeout_s)
            log.warning("the conversation store %s was deleted while open; written back from memory", self.path)
            return True

    return FileSqliteSaver


def restore_if_deleted(saver: BaseCheckpointSaver[Any]) -> bool:
    """Write a deleted SQLite store back to its path from the open connection; True when that was needed."""
    restore = getattr(saver, "restore_if_deleted", None)
    return bool(restore()) if restore is not None else False


@contextmanager
def _sqlite(path: Path, timeout_s: float) -> Iterator[BaseCheckpointSaver[Any]]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: UIs run turns on worker threads; SqliteSaver serialises access with its lock.
        conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout_s)
    except (OSError, sqlite3.Error) as exc:
        raise CheckpointError(f"Cannot open the conversation store {path}: {exc}.") from exc
    try:
        saver: Any = _sqlite_saver()(conn, path, timeout_s)
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
        saver.conn.close()


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
