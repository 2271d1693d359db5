"""Deployment settings of the data layer, read once at entry points from `LLMREC_*` variables or `.env`.

Every variable is listed in `.env.example`; tests/unit/test_settings.py keeps the two in sync.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_bundled_dir() -> Path:
    return REPO_ROOT / "data"


def _default_external_dir() -> Path | None:
    # A checkout laid out as in this project's workspace has the shared datasets beside it.
    candidate = REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


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
