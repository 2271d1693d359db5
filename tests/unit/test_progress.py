"""tools.progress: one switch silences our bars and the libraries' (CLI subprocesses: test_conversational_domain)."""

from __future__ import annotations

import os

import pytest

from tests.retrievaldata import small_catalog
from tools.bm25_store import BM25Store
from tools.progress import disable_progress_bars, enable_progress_bars, progress_enabled


def _tokenize_bar(capsys: pytest.CaptureFixture[str]) -> str:
    BM25Store.build(list(small_catalog().items.values()), "progress-test", progress=True)
    return capsys.readouterr().err


def test_the_switch_silences_ours_and_the_libraries(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.utils
    import transformers.utils.logging

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert "Tokenizing: 100%|" in _tokenize_bar(capsys)
    assert progress_enabled() and transformers.utils.logging.is_progress_bar_enabled()

    disable_progress_bars()
    assert not progress_enabled(True)
    assert _tokenize_bar(capsys) == ""
    assert not transformers.utils.logging.is_progress_bar_enabled()  # "Loading weights"
    assert huggingface_hub.utils.are_progress_bars_disabled()
    assert os.environ["TQDM_DISABLE"] == "1"  # for subprocesses, whose tqdm reads it at import
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"

    enable_progress_bars()
    assert progress_enabled() and transformers.utils.logging.is_progress_bar_enabled()
    assert not huggingface_hub.utils.are_progress_bars_disabled()
    assert "TQDM_DISABLE" not in os.environ
    assert "Tokenizing: 100%|" in _tokenize_bar(capsys)


def test_a_bar_not_asked_for_stays_off() -> None:
    assert progress_enabled(False) is False
