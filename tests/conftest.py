"""Test-wide environment: offline hubs, and no test ever writes into the user's real data folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Nothing may be downloaded from a model or dataset hub at test time (no network here, and CI must repeat).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One writable data dir per test session, so converted datasets are cached across tests."""
    return tmp_path_factory.mktemp("llmrec-data")


@pytest.fixture(autouse=True)
def _isolated_data_dir(session_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLMREC_DATA_DIR", str(session_data_dir))
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only public datasets beside the checkout; tests needing them skip, saying why, if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (see ../shared/data/README.md)")
    return SHARED_DATA
