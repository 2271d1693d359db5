"""Conversations checkpointed in a real PostgreSQL server (LLMREC_CHECKPOINT_URL=postgresql://...), resumed by a
second agent as a second app server would, plus the errors a misconfigured URL gets."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.checkpoint import open_checkpointer
from agent.errors import CheckpointError
from agent.session import RecommenderAgent
from agent.settings import AgentSettings, ModelSettings
from tests.postgres_server import postgres_bin, throwaway_postgres
from tools.search import CatalogRetrievers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("LLMREC_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if postgres_bin() is None:  # under CI a failure (tests/ci_skips.py): .ci/system-deps.sh installs it
        pytest.skip(
            "no PostgreSQL server: apt-get install postgresql (make system-deps), or set LLMREC_TEST_POSTGRES_URL"
        )
    # Not pytest's tmp_path: its parents are private to root, and the server runs as the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="llmrec-pg-"))
    try:
        with throwaway_postgres(folder) as started:
            yield started
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _agent(url: str, llm: Any, retrievers: CatalogRetrievers) -> RecommenderAgent:
    return RecommenderAgent.open(
        "scientific",
        llm=llm,
        retrievers=retrievers,
        model_settings=ModelSettings(rationale_max_tokens=8),
        agent_settings=AgentSettings(checkpoint_url=url),
    )


def test_two_app_servers_share_a_conversation(postgres_url: str, tiny_llm: Any, small_retrievers: Any) -> None:
    with _agent(postgres_url, tiny_llm, small_retrievers) as first:
        result = first.turn("pg-1", "a digital caliper")
        with _agent(postgres_url, tiny_llm, small_retrievers) as second:
            assert second.thread_exists("pg-1")
            follow = second.turn("pg-1", "I already own that")
            assert follow.intent == "dispute" and not follow.new_thread
            assert result.items[0]["item_id"] in follow.revision["removed"]  # type: ignore[index]
        assert len(first.values("pg-1")["revisions"]) == 1, "the first server sees the second one's turn"


def test_unreachable_postgres_is_a_clear_error(tmp_path: Path) -> None:
    with (
        pytest.raises(CheckpointError, match="Postgres"),
        open_checkpointer("postgresql://nobody@127.0.0.1:1/x", tmp_path),
    ):
        pass


def test_unusable_sqlite_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "checkpoints.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CheckpointError, match="unusable"), open_checkpointer(str(bad), tmp_path):
        pass
