"""Fine-tune a LoRA adapter to write the rationale, then the answer label (LLM-Rec instruction tuning).

    llmrec train sft --config training/configs/tiny.yaml              # random tiny Llama, CPU, about a minute
    llmrec train sft --config training/configs/cpu-default.yaml       # SmolLM2-135M on 2 CPU cores, for hours
    llmrec train sft --config training/configs/cpu-default.yaml --set max_steps=20 --set output_dir=runs/probe
    python -m training.sft --config training/configs/tiny.yaml        # the same without the CLI
    accelerate launch -m training.sft --config training/configs/gpu.yaml   # one or several GPUs

Examples come from accepted annotation rows (training/sft_data.py) rendered by the serving prompt code; the loss is
on the completion only (rationale + "\\nAnswer: X"), the prompt's tokens are labelled -100. Written to output_dir:

    checkpoints/          every save_steps; rerunning the same command resumes from the last one (resume: true)
    base/                 `base_model: tiny` only: the random base, so the adapter has something to load onto
    adapter/              peft's adapter_config.json + adapter_model.safetensors, and llmrec_adapter.json (the
                          base model's fingerprint: agent/local_backend.py refuses the adapter on another base)
    run.json              config, data hash, counts, git commit, versions, final train/val loss, time, memory
    loss.png              train and validation loss per step

Then `llmrec train export --adapter OUTPUT_DIR/adapter --out adapters/llmrec` (training/export.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.errors import AgentError
from tools.errors import ToolsError
from training.config import DEFAULT_BASE, TINY_BASE, ConfigError, SFTConfig, load_config, loss_unit
from training.sft_data import (
    IGNORE_INDEX,
    BuildStats,
    SFTDataError,
    build_sft_examples,
    data_hash,
    read_annotations,
    split_by_user,
    tokenize_example,
)

if TYPE_CHECKING:  # the retrieval stack is imported only when hard negatives are asked for
    from tools.catalog import Dataset
    from tools.search import CatalogRetrievers

log = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
CHECKPOINT_DIR = "checkpoints"
TINY_BASE_DIR = "base"
RUN_FILE = "run.json"
INPUTS_FILE = "inputs.json"
"""What a run was started on; a resumed run must match it (same data, base and adapter shape)."""
META_VERSION = 1


@dataclass
class SFTResult:
    output_dir: Path
    adapter_dir: Path
    run: dict[str, Any]
    """The contents of run.json."""
    model: Any
    """The trained PeftModel (base + adapter), still in memory."""
    log_history: list[dict[str, Any]]
    """The Trainer's log (loss, eval_loss, learning_rate per logged step), steps before a resume included."""


@dataclass(frozen=True)
class LoadedBase:
    model: Any
    tokenizer: Any
    name: str
    """What LLMREC_MODEL takes to load this base (`smollm2-135m-instruct`, a folder, or an HF id)."""
    path: str
    """The folder or HF id from_pretrained read: what `vllm serve` takes."""


def load_base(config: SFTConfig) -> LoadedBase:
    """The base model and tokenizer named by the config, checked to rank with one token per label."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agent.errors import ModelLoadError
    from agent.labels import label_token_ids
    from agent.model_store import resolve_model_path
    from agent.prompts import LABELS
    from agent.settings import DEFAULT_MODEL, ModelSettings

    cache_dir = ModelSettings().model_cache_dir
    if config.base_model == TINY_BASE:
        tiny = _tiny_base(config.output_dir / TINY_BASE_DIR, resolve_model_path(DEFAULT_MODEL, cache_dir))
        name = path = str(tiny.resolve())
    elif config.base_model == DEFAULT_BASE:
        name, path = DEFAULT_MODEL, resolve_model_path(DEFAULT_MODEL, cache_dir)
    else:
        name, path = config.base_model, resolve_model_path(config.base_model, cache_dir)
    dtype = torch.bfloat16 if config.precision == "bf16" else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except OSError as exc:
        raise ModelLoadError(
            f"Could not load the base model {config.base_model!r} ({exc}). Use `default`, `tiny`, a model folder, "
            "or a Hugging Face id already in the local cache (HF_HUB_OFFLINE=1 forbids downloads)."
        ) from exc
    label_token_ids(tokenizer, LABELS, name)  # a base that cannot rank in one pass is useless to fine-tune
    return LoadedBase(model=model, tokenizer=tokenizer, name=name, path=path)


def _tiny_base(folder: Path, tokenizer_dir: str) -> Path:
    """Build the random tiny Llama once per output_dir and keep it: resuming and exporting need the same weights."""
    from filelock import FileLock

    from training.tiny_model import build_tiny_llama

    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):  # several accelerate processes may start at once
        if not (folder / "config.json").is_file():
            model, tokenizer = build_tiny_llama(tokenizer_dir)
            model.save_pretrained(folder)
            tokenizer.save_pretrained(folder)
    return folder


def build_examples(config: SFTConfig, tokenizer: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """All examples of the configured annotation files, and counts for run.json."""
    from tools.datasets import load_dataset
    from tools.settings import DataSettings

    split_seed = DataSettings().seed  # the project seed that evaluation and annotation split users by
    rows = read_annotations(config.data.annotations)
    by_domain: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if config.data.domains is None or row["domain"] in config.data.domains:
            by_domain.setdefault(str(row["domain"]), []).append(row)
    stats: list[BuildStats] = []
    examples: list[dict[str, Any]] = []
    share = config.data.hard_negative_share
    for domain, domain_rows in sorted(by_domain.items()):
        dataset = load_dataset(domain)
        retrievers = _open_retrievers(dataset) if share > 0 else None
        try:
            examples += build_sft_examples(
                domain_rows,
                dataset,
                tokenizer,
                seed=config.seed,
                num_negatives=config.data.num_negatives,
                context_tokens=config.max_length,
                rationale_tokens=config.data.rationale_tokens,
                split_seed=split_seed,
                stats=stats,
                hard_negative_share=share,
                retriever=retrievers.hybrid if retrievers is not None else None,
                found_only=config.data.hard_negatives == "found",
            )
        finally:
            if retrievers is not None:
                retrievers.close()
    if not examples:
        raise SFTDataError(
            f"no accepted annotation rows in {', '.join(map(str, config.data.annotations))}"
            + (f" for domains {', '.join(config.data.domains)}" if config.data.domains else "")
        )
    counts = {
        "rows": len(rows),
        "rows_used": sum(s.rows for s in stats),
        "accepted": sum(s.accepted for s in stats),
        "examples": len(examples),
        "longer_reserve": sum(s.longer_reserve for s in stats),
        "hard_negatives": sum(s.hard_negatives for s in stats),
        "retriever_found_target": sum(s.retriever_found for s in stats),
        "by_domain": dict(Counter(ex["domain"] for ex in examples)),
        "by_label": dict(sorted(Counter(ex["label"] for ex in examples).items())),
    }
    return examples, counts


def _open_retrievers(dataset: Dataset) -> CatalogRetrievers:
    """The domain's BM25 and Qdrant indexes (built on first use, with progress bars), for hard negatives."""
    try:
        from tools.search import catalog_retrievers
        from tools.settings import RetrievalSettings
    except ImportError as exc:  # a bare training box (torch + transformers + peft) has no retrieval stack
        raise ConfigError(
            f"data.hard_negative_share > 0 needs the retrieval stack to draw candidates ({exc.name or exc} is "
            "missing): install the project (`pip install -e .`), or set data.hard_negative_share: 0"
        ) from exc

    return catalog_retrievers(dataset, RetrievalSettings(), progress=True)


class _Tokenized:
    """A map-style dataset of tokenized examples (what torch's DataLoader and the Trainer need)."""

    def __init__(self, tokenizer: Any, examples: Sequence[dict[str, Any]]) -> None:
        self.rows = [tokenize_example(tokenizer, ex["prompt"], ex["completion"]) for ex in examples]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.rows[i]


def collate(pad_id: int) -> Any:
    """Right-pad a batch (input_ids with `pad_id`, labels with IGNORE_INDEX, attention_mask with 0).

    Right, not left: a left pad token's query row masks every key (only pads precede it), and fully masked rows
    make SDPA's backward NaN on CUDA. A bf16 run at batch 16 on an H200 went from loss 1.8 to a NaN grad_norm
    by step 20 that way (a known transformers limitation with SDPA and padding); a right pad still sees its
    example's tokens. The model computes logits only for the last `logits_to_keep` positions, from the earliest
    completion token of the batch on: the vocabulary projection of most of the prompt (about 1,000 tokens x
    49,152 logits per SmolLM2 example) is never built, which on 2 cores is a fifth of a step at batch size 1.
    """
    import torch

    def fn(batch: list[dict[str, list[int]]]) -> dict[str, Any]:
        width = max(len(b["input_ids"]) for b in batch)
        out: dict[str, Any] = {}
        for key, fill in (("input_ids", pad_id), ("attention_mask", 0), ("labels", IGNORE_INDEX)):
            out[key] = torch.tensor([b[key] + [fill] * (width - len(b[key])) for b in batch], dtype=torch.long)
        first = int((out["labels"] != IGNORE_INDEX).any(0).nonzero().min())
        out["logits_to_keep"] = width - first + 1  # the token before a label predicts it
        return out

    return fn


def completion_loss_fn(answer_weight: float = 1.0) -> Any:
    """The Trainer's loss: cross-entropy of the completion tokens, summed, then divided by the completion tokens of
    the whole accumulated batch (the Trainer counts them), so every token weighs the same whatever its example's
    length; except each example's last completion token, the answer label, which counts `answer_weight` times.

    Why weigh the answer: the ranking reads only the label distribution after the rationale, yet that label is 1
    token of about 80 in a completion, so at weight 1 about 99% of the gradient teaches the rationale's wording.
    """
    import torch

    def loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        logits = outputs.logits
        keep = logits.shape[1]
        targets = labels[:, labels.shape[1] - keep + 1 :].to(logits.device)
        per_token = torch.nn.functional.cross_entropy(
            logits[:, :-1].float().reshape(-1, logits.shape[-1]),
            targets.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="none",
        ).view(targets.shape)
        mask = targets != IGNORE_INDEX
        count = num_items_in_batch if num_items_in_batch is not None else mask.sum()
        total = per_token.sum()
        if answer_weight != 1.0:
            rows = mask.any(1).nonzero().squeeze(1)
            last = mask.shape[1] - 1 - mask.flip(1).int().argmax(1)  # each row's last completion position
            total = total + (answer_weight - 1.0) * per_token[rows, last[rows]].sum()
        return total / count

    return loss


completion_loss = completion_loss_fn(1.0)
"""The unweighted completion loss (answer_weight 1)."""


class TrainingDivergedError(RuntimeError):
    """A loss, gradient norm or LoRA weight became NaN or infinite: the run stopped and saved no adapter."""


DIVERGED_HINT = (
    "lower learning_rate, use precision: fp32, or batch_size: 1 (a bf16 run of the default model at batch 16 "
    "diverged so on an H200 after about 20 steps; the same data at batch 1 did not)"
)


def non_finite_guard() -> Any:
    """A TrainerCallback that stops training at the first non-finite loss, grad_norm or eval_loss it sees logged.

    Needed because the Trainer hides divergence: with logging_nan_inf_filter it logs the mean of the finite
    losses, so a run whose weights turned NaN at step 20 went on logging "loss 0" for 330 more steps.
    """
    from transformers import TrainerCallback

    class NonFiniteGuard(TrainerCallback):
        def __init__(self) -> None:
            self.found: tuple[int, str, float] | None = None

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any) -> None:
            for key in ("loss", "grad_norm", "eval_loss"):
                value = (logs or {}).get(key)
                if isinstance(value, int | float) and not math.isfinite(value) and self.found is None:
                    self.found = (int(state.global_step), key, float(value))
            if self.found is not None:
                control.should_training_stop = True
                control.should_save = False

    return NonFiniteGuard()


def non_finite_parameters(model: Any) -> list[str]:
    """Names of trainable parameters holding a NaN or an infinity."""
    import torch

    return [n for n, p in model.named_parameters() if p.requires_grad and not bool(torch.isfinite(p).all())]


def _checkpointing_kwarg(arguments: Any, enabled: bool) -> dict[str, Any]:
    """transformers 5.20 renamed TrainingArguments' gradient_checkpointing to activation_checkpointing; a GPU image
    may carry either (5.17 was seen), so pass whichever this one takes."""
    import inspect

    names = inspect.signature(arguments.__init__).parameters
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": enabled}


def _git_commit() -> str | None:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("llmrec", "torch", "transformers", "peft", "accelerate"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _check_inputs(output_dir: Path, inputs: dict[str, Any], resuming: bool) -> None:
    path = output_dir / INPUTS_FILE
    if resuming and path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        changed = [k for k in inputs if before.get(k) != inputs[k]]
        if changed:
            raise ConfigError(
                f"{output_dir} holds a run with other {', '.join(changed)}; resuming it would mix two runs. "
                "Choose another output_dir, or delete that one."
            )
    output_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(inputs, indent=2) + "\n", encoding="utf-8")


def plot_losses(log_history: Sequence[dict[str, Any]], path: Path, answer_weight: float = 1.0) -> None:
    """Train and validation loss against the optimizer step."""
    from matplotlib.figure import Figure

    train = [(h["step"], h["loss"]) for h in log_history if "loss" in h]
    val = [(h["step"], h["eval_loss"]) for h in log_history if "eval_loss" in h]
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    if train:
        ax.plot(*zip(*train, strict=True), label="train", marker="." if len(train) < 30 else None)
    if val:
        ax.plot(*zip(*val, strict=True), label="validation", marker="o")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(f"loss ({loss_unit(answer_weight)})")
    ax.set_title("LoRA SFT: rationale + answer label")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def adapter_meta(base: LoadedBase, config: SFTConfig, fingerprint: dict[str, Any], digest: str) -> dict[str, Any]:
    """llmrec_adapter.json: read by agent/local_backend.attach_adapter (base_fingerprint) and by export."""
    from agent.prompts import LABELS

    return {
        "format_version": META_VERSION,
        "base_model": base.name,
        "base_model_path": base.path,
        "base_fingerprint": fingerprint,
        "lora_r": config.lora.r,
        "lora_alpha": config.lora.alpha,
        "target_modules": config.lora.target_modules,
        "labels": list(LABELS),
        "max_length": config.max_length,
        "data_hash": digest,
        "init_adapter": None if config.init_adapter is None else str(config.init_adapter),
    }


def _warm_start(model: Any, config: SFTConfig, lora: Any) -> Any:
    """The base with `config.init_adapter` loaded trainable; refused when its shape is not `config.lora`'s (the
    adapter written at the end records `config.lora`, so the two must agree)."""
    from peft import PeftConfig, PeftModel

    assert config.init_adapter is not None
    saved = PeftConfig.from_pretrained(str(config.init_adapter))
    mine = (lora.r, lora.lora_alpha, set(lora.target_modules))
    theirs = (getattr(saved, "r", None), getattr(saved, "lora_alpha", None), set(getattr(saved, "target_modules", ())))
    if mine != theirs:
        raise ConfigError(
            f"init_adapter {config.init_adapter} has r, alpha, modules {theirs}; the config's lora says {mine}"
        )
    return PeftModel.from_pretrained(model, str(config.init_adapter), is_trainable=True)


def train(config: SFTConfig) -> SFTResult:
    """Run one SFT job end to end (resuming from output_dir's last checkpoint when `config.resume`)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments, trainer_utils

    from agent.local_backend import ADAPTER_META, model_fingerprint

    started = time.perf_counter()
    output_dir = config.output_dir
    checkpoint_dir = output_dir / CHECKPOINT_DIR
    find_last: Any = trainer_utils.get_last_checkpoint  # untyped in transformers
    last: str | None = find_last(str(checkpoint_dir)) if checkpoint_dir.is_dir() else None
    if last is not None and not config.resume:
        raise ConfigError(
            f"{checkpoint_dir} already holds checkpoints and resume is false; set resume: true to continue that run, "
            "or choose another output_dir."
        )

    torch.manual_seed(config.seed)
    base = load_base(config)
    examples, counts = build_examples(config, base.tokenizer)
    train_examples, val_examples = split_by_user(examples, config.data.val_share, config.seed)
    digest = data_hash(examples)
    fingerprint = model_fingerprint(base.model.config)
    inputs = {
        "data_hash": digest,
        "base_fingerprint": fingerprint,
        "lora": config.lora.model_dump(mode="json"),
        "init_adapter": None if config.init_adapter is None else str(config.init_adapter),
    }
    _check_inputs(output_dir, inputs, resuming=last is not None)

    train_set, val_set = _Tokenized(base.tokenizer, train_examples), _Tokenized(base.tokenizer, val_examples)
    lengths = [len(r["input_ids"]) for r in train_set.rows]
    completion = [sum(t != IGNORE_INDEX for t in r["labels"]) for r in train_set.rows]
    counts |= {
        "train": len(train_set),
        "val": len(val_set),
        "train_users": len({ex["user_id"] for ex in train_examples}),
        "val_users": len({ex["user_id"] for ex in val_examples}),
        "mean_tokens": round(sum(lengths) / len(lengths), 1),
        "max_tokens": max(lengths),
        "mean_completion_tokens": round(sum(completion) / len(completion), 1),
    }
    log.info("%d train and %d val examples (%s)", len(train_set), len(val_set), counts)

    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=list(config.lora.target_modules),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base.model, lora) if config.init_adapter is None else _warm_start(base.model, config, lora)
    if config.gradient_checkpointing:
        model.enable_input_require_grads()  # checkpointed blocks need a grad-requiring input when the base is frozen
    has_val = len(val_set) > 0
    args = TrainingArguments(
        output_dir=str(checkpoint_dir),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accumulation,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        num_train_epochs=config.epochs if config.epochs is not None else 1.0,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        bf16=config.precision in ("bf16", "bf16-mixed"),
        # transformers refuses bf16 without a GPU unless told the run is on the CPU (then autocast is CPU autocast).
        use_cpu=not torch.cuda.is_available(),
        **_checkpointing_kwarg(TrainingArguments, config.gradient_checkpointing),
        logging_steps=config.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_val else "no",
        eval_steps=config.eval_steps if has_val else None,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        logging_nan_inf_filter=False,  # a NaN loss must show as NaN (NonFiniteGuard), not as the finite mean
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        # Batches of similar lengths: less padding, and a shorter logits window (from the earliest completion on).
        train_sampling_strategy="group_by_length" if config.batch_size > 1 else "random",
        label_names=["labels"],
        prediction_loss_only=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        data_collator=collate(base.tokenizer.pad_token_id or base.tokenizer.eos_token_id),
        compute_loss_func=completion_loss_fn(config.answer_weight),
        train_dataset=train_set,
        eval_dataset=val_set if has_val else None,
        callbacks=[guard := non_finite_guard()],
    )
    if last is not None:
        log.warning("resuming from %s", last)
    outcome = trainer.train(resume_from_checkpoint=last)
    bad_weights = non_finite_parameters(model)
    if guard.found is not None or bad_weights:
        step, key, value = guard.found or (trainer.state.global_step, f"weight {bad_weights[0]}", float("nan"))
        raise TrainingDivergedError(
            f"training diverged: {key} was {value} at step {step}, so no adapter was saved. Checkpoints in "
            f"{checkpoint_dir} from after that step hold the diverged weights: delete them (or choose another "
            f"output_dir) before running again, and {DIVERGED_HINT}"
        )
    evals = [h for h in trainer.state.log_history if "eval_loss" in h]
    final_val = None
    if has_val:  # the last eval of the run when it fell on the last step, else one more
        done = evals and evals[-1]["step"] == trainer.state.global_step
        final_val = evals[-1]["eval_loss"] if done else trainer.evaluate()["eval_loss"]

    adapter_dir = output_dir / ADAPTER_DIR
    history = trainer.state.log_history
    train_losses = [h["loss"] for h in history if "loss" in h]
    run: dict[str, Any] = {
        "config": config.model_dump(mode="json"),
        "base_model": base.name,
        "base_model_path": base.path,
        "data_hash": digest,
        "counts": counts,
        "git_commit": _git_commit(),
        "versions": _versions(),
        "device": str(next(model.parameters()).device),
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "total_params": sum(p.numel() for p in model.parameters()),
        "global_step": trainer.state.global_step,
        "epochs_done": trainer.state.epoch,
        "resumed_from": Path(last).name if last else None,
        "final_train_loss": train_losses[-1] if train_losses else None,
        "mean_train_loss_this_run": outcome.training_loss,
        "final_val_loss": final_val,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "train_runtime_s": outcome.metrics.get("train_runtime"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),  # Linux: KiB
        "loss_log": [
            {k: h[k] for k in ("step", "loss", "eval_loss", "learning_rate") if k in h}
            for h in history
            if "loss" in h or "eval_loss" in h
        ],
    }
    if trainer.is_world_process_zero():
        # Not trainer.save_model: with lm_head among the targets (the tiny recipe), peft would also copy the
        # whole base lm_head into the adapter (save_embedding_layers), though the vocabulary never changes.
        trainer.accelerator.unwrap_model(trainer.model).save_pretrained(str(adapter_dir), save_embedding_layers=False)
        meta = adapter_meta(base, config, fingerprint, digest)
        (adapter_dir / ADAPTER_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (output_dir / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
        plot_losses(history, output_dir / "loss.png", config.answer_weight)
    return SFTResult(output_dir=output_dir, adapter_dir=adapter_dir, run=run, model=model, log_history=history)


def _summary(result: SFTResult) -> str:
    run = result.run

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    return (
        f"trained {run['global_step']} steps on {run['counts']['train']} examples in {run['elapsed_s']:.0f} s: "
        f"train loss {fmt(run['final_train_loss'])}, val loss {fmt(run['final_val_loss'])}\n"
        f"adapter: {result.adapter_dir}\nrun:     {result.output_dir / RUN_FILE}, {result.output_dir / 'loss.png'}"
    )


def sft_command(
    config: Annotated[Path, typer.Option(help="YAML recipe, e.g. training/configs/tiny.yaml.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a recipe key, KEY=VALUE (dotted, YAML value); repeatable."),
    ] = None,
) -> None:
    """Fine-tune a LoRA adapter on accepted annotations: rationale first, then the answer label."""
    try:
        cfg = load_config(config, set_ or ())
        result = train(cfg)
    except (ConfigError, SFTDataError, AgentError, ToolsError, TrainingDivergedError) as exc:
        log.debug("llmrec train sft failed", exc_info=exc)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(_summary(result))


def main(args: Sequence[str] | None = None) -> int:
    """`python -m training.sft --config PATH [--set KEY=VALUE ...]`; also what `accelerate launch -m` runs."""
    parser = argparse.ArgumentParser(prog="python -m training.sft", description=sft_command.__doc__)
    parser.add_argument("--config", type=Path, required=True, help="YAML recipe")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parsed = parser.parse_args(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        result = train(load_config(parsed.config, parsed.overrides))
    except (ConfigError, SFTDataError, AgentError, ToolsError, TrainingDivergedError) as exc:
        log.debug("training failed", exc_info=exc)
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(_summary(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
