"""Test-wide environment: offline hubs, no test ever writes into the user's real data folder, and under CI only
tests marked `allowed_skip` may skip (tests/ci_skips.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import ci_skips

# Nothing may be downloaded from a model or dataset hub at test time (no network here, and CI must repeat).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
# The suite's model tests were written against the base model's behaviour; the shipped adapter, which a user gets by
# default, is tested where it is named (LLMREC_ADAPTER_PATH=adapters/llmrec) and in tests/unit/test_settings.py.
os.environ.setdefault("LLMREC_ADAPTER_PATH", "none")


def pytest_configure(config: pytest.Config) -> None:
    # Not `pytest_plugins = [...]`: pytest supports that only in a conftest at the rootdir, and this one is in tests/.
    config.pluginmanager.register(ci_skips, "llmrec-ci-skips")


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One writable data dir per test session, so converted datasets are cached across tests."""
    return tmp_path_factory.mktemp("llmrec-data")


@pytest.fixture(scope="session", autouse=True)
def _isolated_data_dir(session_data_dir: Path) -> Iterator[None]:
    """Session-scoped, so that it is in place before any module-scoped fixture opens an agent (pytest sets up wider
    scopes first: a function-scoped one came too late, and the module fixtures of the real-agent, Slack and browser
    tests trained into the user's own data dir for the default 20 epochs, past the browser test's 10 minutes)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMREC_DATA_DIR", str(session_data_dir))
        # The real-agent tests train SASRec on a whole bundled catalog on first use: 2 epochs (about a minute) test
        # the same path as the 20 of a real install (12 minutes on 2 cores; its quality is measured in evals/).
        patch.setenv("LLMREC_SEQREC_EPOCHS", "2")
        yield


@pytest.fixture(autouse=True)
def _progress_bars_back_on() -> Iterator[None]:
    """`--no-progress` run in-process (CliRunner) switches bars off for the whole process: switch them back."""
    yield
    from tools.progress import enable_progress_bars, progress_enabled

    if not progress_enabled():
        enable_progress_bars()


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The default model converted to an HF folder (once per machine, about 25 s; then cached)."""
    from agent.model_store import converted_default_model
    from agent.settings import ModelSettings

    return converted_default_model(ModelSettings().model_cache_dir)


@pytest.fixture(scope="session")
def tiny_llm(smollm2_dir: Path) -> Any:
    """A LocalRecommender over a tiny random Llama with the real SmolLM2 tokenizer."""
    from agent.local_backend import LocalRecommender
    from tests.tiny_models import build_tiny_llama

    model, tokenizer = build_tiny_llama(smollm2_dir)
    return LocalRecommender(model, tokenizer, name="tiny-llama")


@pytest.fixture(scope="session")
def small_retrievers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """BM25 + embedded Qdrant over the 24-item catalog of tests/retrievaldata.py (read-only: shared by modules)."""
    from tests.retrievaldata import settings_for, small_catalog
    from tools.embeddings import Encoder
    from tools.search import catalog_retrievers
    from tools.settings import RetrievalSettings

    data_dir = tmp_path_factory.mktemp("small-retrievers")
    encoder = Encoder(RetrievalSettings().embedding_model, cache_dir=data_dir / "vectors")
    with catalog_retrievers(small_catalog(), settings_for(data_dir), progress=False, encoder=encoder) as retrievers:
        yield retrievers


_STRAY = (".chainlit", ".files", "chainlit.md")
"""What Chainlit writes into its app root, the working directory unless told otherwise (ui/chainlit_home.py)."""
_ROOT = Path(__file__).resolve().parents[1]
_STRAY_BEFORE = {name for name in _STRAY if (_ROOT / name).exists()}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a test left Chainlit's files in the checkout (importing chainlit in-process does that)."""
    stray = [name for name in _STRAY if (_ROOT / name).exists() and name not in _STRAY_BEFORE]
    if stray:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nerror: the tests left {', '.join(stray)} in {_ROOT}: something imported chainlit in-process")


@pytest.fixture(scope="session")
def scientific_catalog() -> Any:
    """The bundled scientific catalog (with its users), loaded once."""
    from tools.datasets import load_dataset

    return load_dataset("scientific")


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_dir: Path) -> Any:
    """The default model's tokenizer: its chat template renders every prompt."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir))
