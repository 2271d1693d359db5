"""Dense retrieval under faults, on a real embedded Qdrant folder damaged on disk (and a Qdrant server that does not
answer): the agent still answers from BM25, and the user is told in the answer's notes.

Unit tests of the stores alone: tests/unit/test_qdrant_store.py (locked folder, broken meta.json, unreachable
server), tests/unit/test_search.py (hybrid fallback when a server goes away mid-session, locked folder).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.session import RecommenderAgent
from agent.settings import AgentSettings, ModelSettings
from tests.retrievaldata import settings_for, small_catalog
from tools.embeddings import Encoder
from tools.errors import IndexCorruptError, QdrantUnavailableError
from tools.indexing import build_indexes
from tools.qdrant_store import QdrantStore
from tools.search import catalog_retrievers
from tools.settings import RetrievalSettings


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Encoder]:
    """A data folder with both indexes of the 24-item catalog, copied by each test before damaging it."""
    folder = tmp_path_factory.mktemp("indexes")
    encoder = Encoder(RetrievalSettings().embedding_model, cache_dir=folder / "vectors")
    build_indexes(small_catalog(), settings_for(folder), progress=False, encoder=encoder)
    return folder, encoder


def _storage(folder: Path) -> Path:
    return next(QdrantStore.embedded_path(folder, "scientific").rglob("storage.sqlite"))


def _flip_bits(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(4096, len(data), 97):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "points-file-garbage": lambda f: _storage(f).write_bytes(b"\x00garbage" * 100),
    "points-file-truncated": lambda f: _storage(f).write_bytes(_storage(f).read_bytes()[:50_000]),
    "points-file-emptied": lambda f: _storage(f).write_bytes(b""),
    "points-file-bit-flips": lambda f: _flip_bits(_storage(f)),
    "collection-folder-deleted": lambda f: shutil.rmtree(_storage(f).parent),
    "meta-json-broken": lambda f: (QdrantStore.embedded_path(f, "scientific") / "meta.json").write_text("{"),
}


@pytest.fixture
def agent_over(tiny_llm: Any, tmp_path: Path) -> Iterator[Callable[[RetrievalSettings, Encoder], RecommenderAgent]]:
    opened: list[Any] = []

    def open_agent(settings: RetrievalSettings, encoder: Encoder) -> RecommenderAgent:
        retrievers = catalog_retrievers(small_catalog(), settings, progress=False, encoder=encoder)
        opened.append(retrievers)
        agent = RecommenderAgent.open(
            "scientific",
            llm=tiny_llm,
            retrievers=retrievers,
            model_settings=ModelSettings(rationale_max_tokens=8),
            agent_settings=AgentSettings(checkpoint_url=str(tmp_path / "c.sqlite")),
        )
        opened.append(agent)
        return agent

    yield open_agent
    for thing in reversed(opened):
        thing.close()


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_qdrant_folder_falls_back_to_bm25_and_says_so(
    built: tuple[Path, Encoder], tmp_path: Path, agent_over: Any, damage: str
) -> None:
    source, encoder = built
    folder = tmp_path / "data"
    shutil.copytree(source, folder)
    DAMAGE[damage](folder)
    agent = agent_over(settings_for(folder), encoder)
    assert isinstance(agent.context.retrievers.dense_error, IndexCorruptError)
    result = agent.turn("t", "a digital caliper")
    assert result.items, "BM25 still finds calipers"
    told = [n for n in result.notes if "keyword (BM25) results only" in n]
    assert told and "llmrec index --domain scientific" in told[0], result.notes
    assert "keyword (BM25) results only" in result.answer


def test_an_unreachable_qdrant_server_falls_back_to_bm25_and_says_so(
    built: tuple[Path, Encoder], tmp_path: Path, agent_over: Any
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    folder = tmp_path / "data"
    shutil.copytree(built[0], folder)
    agent = agent_over(settings_for(folder, qdrant_url=url, qdrant_timeout=1), built[1])
    assert isinstance(agent.context.retrievers.dense_error, QdrantUnavailableError)
    result = agent.turn("t", "a digital caliper")
    assert result.items
    assert any("does not answer" in n and url in n for n in result.notes)
