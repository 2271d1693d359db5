"""The SFT recipe: a YAML file (training/configs/*.yaml) validated in full before any model or data is touched.

Unknown keys, impossible values and missing files are refused with one message naming every bad key, e.g.

    training/configs/mine.yaml: invalid SFT config:
      lr: unknown key (did you mean learning_rate?)
      learning_rate: must be greater than 0

Relative paths (annotation files, output_dir, a model folder) are read from the current directory, as the
commands in training/sft.py are run from the repository root.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tools.datasets import DOMAINS

DEFAULT_BASE = "default"
"""`base_model: default`: the built-in SmolLM2-135M-Instruct (agent.model_store), as the local backend loads it."""
TINY_BASE = "tiny"
"""`base_model: tiny`: a random tiny Llama with the SmolLM2 tokenizer (training/tiny_model.py), built at run time."""


class ConfigError(ValueError):
    """A recipe that cannot run: its message names every offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoraSettings(_Strict):
    """The LoRA adapter (peft.LoraConfig)."""

    r: int = Field(default=8, ge=1, le=512, description="Rank; vLLM needs --max-lora-rank >= r.")
    alpha: int = Field(default=16, ge=1, description="Scale: the update is multiplied by alpha / r.")
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], min_length=1)


class DataConfig(_Strict):
    """Which annotation rows become examples, and how."""

    annotations: list[Path] = Field(min_length=1, description="JSONL files written by `llmrec train annotate`.")
    domains: list[str] | None = Field(default=None, description="Keep only rows of these domains; default: all.")
    num_negatives: int = Field(default=19, ge=1, le=19, description="Sampled negatives per example (labels A..T).")
    rationale_tokens: int = Field(default=96, ge=0, description="Reserve for the rationale, as serving reserves it.")
    val_share: float = Field(default=0.05, ge=0, lt=1, description="Share of users held out for the val loss.")
    hard_negative_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Seeded share of examples whose candidates are the hybrid retriever's top 20 for the history "
        "(target put in when missed), as the agent and the rerank protocol see them; the rest are uniform.",
    )
    hard_negatives: Literal["put_in", "found"] = Field(
        default="put_in",
        description="`put_in`: the target replaces the retriever's 20th when it missed it (as the rerank protocol "
        "builds candidates); `found`: only pairs whose target the retriever found get hard negatives, the rest stay "
        "uniform (a put-in target is the one candidate unlike the history: a shortcut, not a preference).",
    )

    @model_validator(mode="after")
    def _known_domains(self) -> Self:
        unknown = [d for d in self.domains or () if d not in DOMAINS]
        if unknown:
            raise ValueError(f"unknown domain {unknown[0]!r}; known: {', '.join(DOMAINS)}")
        return self


class SFTConfig(_Strict):
    """One fine-tuning run. Give `epochs` or `max_steps` (optimizer steps); max_steps wins when both are given."""

    base_model: str = Field(
        default=DEFAULT_BASE, description="`default`, `tiny`, a model folder, or a Hugging Face id in the local cache."
    )
    data: DataConfig
    output_dir: Path = Field(description="Checkpoints, the adapter, run.json and loss.png go here.")
    seed: int = Field(
        default=2026,
        description="Seeds the negatives, the validation split and training. Evaluation users are refused by the "
        "project seed instead (LLMREC_SEED, as `llmrec eval` and `train annotate` split users).",
    )
    lora: LoraSettings = Field(default_factory=LoraSettings)
    init_adapter: Path | None = Field(
        default=None,
        description="Start from this trained adapter (a folder with adapter_config.json) instead of a fresh LoRA: "
        "a second stage on new data. Its rank and target modules must be `lora`'s.",
    )
    learning_rate: float = Field(default=2e-4, gt=0, le=1)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(default=0.03, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    answer_weight: float = Field(
        default=1.0,
        ge=1,
        le=100,
        description="The answer label token counts this many times in the loss: the ranking reads only its "
        "distribution, and it is 1 token of a completion of about 80 (then the logged loss is weighted too).",
    )
    epochs: float | None = Field(default=None, gt=0)
    max_steps: int | None = Field(default=None, ge=1, description="Optimizer steps; wins over epochs.")
    batch_size: int = Field(default=1, ge=1, description="Examples per device per forward pass.")
    grad_accumulation: int = Field(default=8, ge=1)
    max_length: int = Field(
        default=2048, ge=256, description="Context tokens: the prompt is rendered to fit, as serving renders it."
    )
    precision: Literal["fp32", "bf16", "bf16-mixed"] = Field(
        default="fp32",
        description="bf16 loads the base in bfloat16 and trains with bf16 autocast (GPU); bf16-mixed keeps the "
        "weights in float32 and runs the forward and backward passes under bf16 autocast: 2x faster on a CPU with "
        "bfloat16 instructions (SmolLM2-135M, 940 tokens: 2.7 s a step instead of 5.3 s on 2 cores).",
    )
    gradient_checkpointing: bool = False
    logging_steps: int = Field(default=10, ge=1)
    eval_steps: int = Field(default=50, ge=1)
    save_steps: int = Field(default=50, ge=1)
    save_total_limit: int = Field(default=2, ge=1, description="Checkpoints kept; older ones are deleted.")
    resume: bool = Field(default=True, description="Continue from the last checkpoint in output_dir if there is one.")

    @model_validator(mode="after")
    def _a_length(self) -> Self:
        if self.epochs is None and self.max_steps is None:
            raise ValueError("give epochs or max_steps (max_steps wins when both are given)")
        return self

    @model_validator(mode="after")
    def _paths_exist(self) -> Self:
        for path in self.data.annotations:
            if not path.is_file():
                raise ValueError(f"data.annotations: {path} does not exist (relative to {Path.cwd()})")
        if self.init_adapter is not None and not (self.init_adapter / "adapter_config.json").is_file():
            raise ValueError(f"init_adapter: {self.init_adapter} is not a LoRA adapter folder (no adapter_config.json)")
        base = self.base_model
        looks_like_path = base.startswith((".", "/", "~")) or Path(base).expanduser().exists()
        if base not in (DEFAULT_BASE, TINY_BASE) and looks_like_path:
            folder = Path(base).expanduser()
            if not folder.exists():
                raise ValueError(f"base_model: {base} does not exist (relative to {Path.cwd()})")
            if not (folder / "config.json").is_file():
                raise ValueError(f"base_model: {folder} is not a Hugging Face model folder (no config.json)")
        return self


def loss_unit(answer_weight: float) -> str:
    """What the logged loss measures: per completion token, the answer label counted `answer_weight` times."""
    per = "nats per completion token"
    return per if answer_weight == 1 else f"{per}, answer label x{answer_weight:g}"


# The names other trainers use (transformers, TRL, peft) for keys this recipe spells differently.
_HINTS = {
    "lr": "learning_rate",
    "model": "base_model",
    "model_name_or_path": "base_model",
    "num_train_epochs": "epochs",
    "per_device_train_batch_size": "batch_size",
    "gradient_accumulation_steps": "grad_accumulation",
    "max_seq_length": "max_length",
    "bf16": "precision",
    "lora_r": "lora.r",
    "lora_alpha": "lora.alpha",
    "lora_dropout": "lora.dropout",
    "resume_from_checkpoint": "resume",
}


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _known_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Field names at the level of `loc`'s parent, for a 'did you mean' hint."""
    current: Any = model
    for part in loc[:-1]:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        current = annotation
    return list(current.model_fields)


def _describe(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), _known_keys(SFTConfig, loc), n=1)
            hint = [_HINTS[str(loc[-1])]] if str(loc[-1]) in _HINTS else close
            message = "unknown key" + (f" (did you mean {hint[0]}?)" if hint else "")
        else:
            message = err["msg"].removeprefix("Value error, ")
        lines.append(f"{_loc(loc)}: {message}" if loc else message)
    return lines


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, sep, value = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {override!r} is not KEY=VALUE (e.g. max_steps=20 or lora.r=16)")
    *parents, leaf = key.strip().split(".")
    node = raw
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {override!r}: {part} is not a section")
        node = child
    node[leaf] = _yaml().safe_load(value)


def parse_config(raw: object, source: str = "config", overrides: Sequence[str] = ()) -> SFTConfig:
    """Validate a recipe already read into Python objects; ConfigError lists every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: an SFT config is a YAML mapping of keys, got {type(raw).__name__}")
    raw = copy.deepcopy(raw)
    for override in overrides:
        _apply_override(raw, override)
    try:
        return SFTConfig.model_validate(raw)
    except ValidationError as exc:
        lines = "\n  ".join(_describe(exc))
        raise ConfigError(f"{source}: invalid SFT config:\n  {lines}") from exc


def _yaml() -> Any:
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise ConfigError("reading YAML recipes needs PyYAML: pip install 'llmrec[train]'") from exc
    return yaml


def load_config(path: Path, overrides: Sequence[str] = ()) -> SFTConfig:
    """Read and validate a YAML recipe; `overrides` are KEY=VALUE strings (dotted keys, YAML values)."""
    yaml = _yaml()

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    return parse_config(raw, str(path), overrides)
