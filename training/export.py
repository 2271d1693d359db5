"""Export a trained adapter as a folder that the local backend and `vllm serve --lora-modules` load as it is.

    llmrec train export --adapter runs/cpu-default/adapter --out adapters/llmrec
    llmrec train export --adapter runs/cpu-default/adapter --out adapters/llmrec --merge   # + OUT/merged

OUT holds peft's standard files (adapter_config.json, adapter_model.safetensors: the format vLLM reads),
llmrec_adapter.json (the base model's fingerprint: the local backend refuses the adapter on another base), the
run.json of the training run, and a model card README.md saying how to load it. Before OUT appears, the adapter is
loaded through the local backend exactly as `LLMREC_ADAPTER_PATH=OUT` would load it, and must rank the labels; with
--merge, OUT/merged (the base with the LoRA update folded in, and its tokenizer) must give the same label
log-probabilities as base + adapter. The export is written to a temporary folder first, so a failed check leaves
nothing behind.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.errors import AgentError
from training.config import loss_unit

log = logging.getLogger(__name__)

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
MERGED_DIR = "merged"
MERGE_ATOL = 1e-4
"""Largest difference allowed between the merged model's label log-probabilities and base + adapter's (float32)."""
# A short prompt that ends where ranking reads the labels; its text does not matter, only that it runs.
_CHECK_PROMPT = "<|im_start|>user\nPick one.<|im_end|>\n<|im_start|>assistant\nRationale: The first fits.\nAnswer:"


class ExportError(ValueError):
    """The adapter cannot be exported: missing files, an unusable OUT, or a failed load check."""


@dataclass(frozen=True)
class ExportResult:
    out: Path
    merged: Path | None
    label_logprobs: dict[str, float]
    """Base + adapter on the check prompt, through the local backend."""
    merged_max_diff: float | None


def _read_meta(adapter: Path) -> dict[str, Any]:
    from agent.local_backend import ADAPTER_META

    missing = [name for name in (*ADAPTER_FILES, ADAPTER_META) if not (adapter / name).is_file()]
    if missing:
        raise ExportError(
            f"{adapter} is not an adapter written by `llmrec train sft`: it lacks {', '.join(missing)}. "
            "Pass the adapter/ folder inside the run's output_dir."
        )
    meta: dict[str, Any] = json.loads((adapter / ADAPTER_META).read_text(encoding="utf-8"))
    if "base_model" not in meta:
        raise ExportError(f"{adapter / ADAPTER_META} does not name its base model (base_model)")
    return meta


def _run_info(adapter: Path) -> dict[str, Any] | None:
    for path in (adapter / "run.json", adapter.parent / "run.json"):
        if path.is_file():
            run: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return run
    return None


def _fmt(x: object) -> str:
    return f"{x:.4f}" if isinstance(x, float) else ("n/a" if x is None else str(x))


def shown_path(path: str | Path) -> str:
    """`path` as a card should print it: relative when under the current directory (the repository), `~/...` when
    under the home folder, else as is; so a card written on one machine reads right on another."""
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    for root, shown in ((Path.cwd(), "."), (Path.home(), "~")):
        if p == root:
            return shown
        if root in p.parents:
            return str(p.relative_to(root)) if shown == "." else f"~/{p.relative_to(root)}"
    return str(p)


def model_card(
    out: Path,
    adapter_config: dict[str, Any],
    meta: dict[str, Any],
    run: dict[str, Any] | None,
    merged: bool,
) -> str:
    """README.md of an exported adapter at `out`: what it is, what it was trained on, how to load it."""
    rank = adapter_config.get("r", meta.get("lora_r"))
    base, base_path = meta["base_model"], shown_path(meta.get("base_model_path", meta["base_model"]))
    out = Path(shown_path(out))
    lines = [
        "# llmrec LoRA adapter",
        "",
        "Fine-tuned by `llmrec train sft` (training/sft.py) to write a rationale grounded in the user's history and "
        "the candidates' attributes, then the answer label (`Answer: A`..`T`); the agent ranks candidates by the "
        "labels' log-probabilities after `Answer:` (agent/prompts.py renders the same prompt for training and "
        "serving).",
        "",
        f"- Base model: `{base}` (`LLMREC_MODEL`); weights read from `{base_path}`",
        f"- Base fingerprint: `{json.dumps(meta.get('base_fingerprint'))}`",
        f"- LoRA: r={rank}, alpha={adapter_config.get('lora_alpha')}, "
        f"target modules {', '.join(sorted(adapter_config.get('target_modules') or []))}",
        f"- Data hash (sha256 of the training texts): `{meta.get('data_hash')}`",
    ]
    if meta.get("init_adapter"):
        lines.append(f"- Started from the trained adapter `{meta['init_adapter']}` (a second stage; its card says how "
                     "it was trained), not from a fresh LoRA")  # fmt: skip
    if run is not None:
        counts = run.get("counts", {})
        lines += [
            f"- Examples: {counts.get('train')} train / {counts.get('val')} validation, users disjoint "
            f"(domains: {', '.join(sorted(counts.get('by_domain', {})))})",
            f"- Steps: {run.get('global_step')}; final train loss {_fmt(run.get('final_train_loss'))}, "
            f"validation loss {_fmt(run.get('final_val_loss'))} "
            f"({loss_unit(float(run.get('config', {}).get('answer_weight', 1.0)))})",
            f"- Git commit: `{run.get('git_commit')}`; versions: "
            + ", ".join(f"{k} {v}" for k, v in run.get("versions", {}).items()),
            f"- Training time: {round(run.get('elapsed_s') or 0)} s on {run.get('device')}",
        ]
    lines += [
        "",
        "## Load it",
        "",
        "Local backend (transformers in-process):",
        "",
        "```bash",
        f"LLMREC_MODEL={base} LLMREC_ADAPTER_PATH={out} llmrec chat --domain scientific",
        "```",
        "",
    ]
    lines += [
        "vLLM (peft's adapter format; the adapter is picked by the model name `llmrec`):",
        "",
        "```bash",
        f"vllm serve {base_path} --enable-lora --lora-modules llmrec={out} --max-lora-rank {rank} \\",
        "    --max-logprobs 40 --logprobs-mode processed_logprobs",
        "export LLMREC_MODEL_BACKEND=openai LLMREC_OPENAI_BASE_URL=http://127.0.0.1:8000/v1",
        "```",
        "",
    ]
    if merged:
        lines += [
            f"Merged model (the LoRA update folded into the base weights, with the tokenizer): `{out / MERGED_DIR}`",
            "",
            "```bash",
            f"LLMREC_MODEL={out / MERGED_DIR} llmrec chat --domain scientific",
            f"vllm serve {out / MERGED_DIR} --max-logprobs 40 --logprobs-mode processed_logprobs",
            "```",
            "",
        ]
    return "\n".join(lines)


def _prepare_out(out: Path, adapter: Path) -> Path:
    if out.resolve() == adapter.resolve() or adapter.resolve() in out.resolve().parents:
        raise ExportError(f"--out {out} must be outside the adapter folder {adapter}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not empty; choose a new folder or delete it")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def export_adapter(adapter: Path, out: Path, merge: bool = False) -> ExportResult:
    """Copy, check and document an adapter (see the module docstring); returns what the checks saw."""

    from agent.local_backend import ADAPTER_META, LocalRecommender
    from agent.prompts import LABELS
    from agent.settings import ModelSettings

    meta = _read_meta(adapter)
    run = _run_info(adapter)
    tmp = _prepare_out(out, adapter)
    try:
        for name in (*ADAPTER_FILES, ADAPTER_META):
            shutil.copy2(adapter / name, tmp / name)
        if run is not None:
            (tmp / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
        adapter_config = json.loads((tmp / "adapter_config.json").read_text(encoding="utf-8"))

        # Exactly what LLMREC_MODEL=<base> LLMREC_ADAPTER_PATH=<out> does, on the CPU for exact float32 sums.
        settings = ModelSettings(model=meta["base_model"], adapter_path=tmp, device="cpu")
        tuned = LocalRecommender.from_settings(settings)
        scores = tuned.label_logprobs(_CHECK_PROMPT, LABELS)
        if not all(math.isfinite(v) for v in scores.values()):
            raise ExportError(f"the adapter {adapter} gives non-finite label log-probabilities on its base")

        merged_dir, max_diff = None, None
        if merge:
            merged_dir = tmp / MERGED_DIR
            merged_model = tuned.model  # the local backend merges the adapter into the weights when it loads it
            merged_model.save_pretrained(merged_dir)
            tuned.tokenizer.save_pretrained(merged_dir)
            del tuned, merged_model
            reloaded = LocalRecommender.from_settings(ModelSettings(model=str(merged_dir), device="cpu"))
            again = reloaded.label_logprobs(_CHECK_PROMPT, LABELS)
            max_diff = max(abs(again[k] - scores[k]) for k in LABELS)
            if max_diff > MERGE_ATOL:
                raise ExportError(
                    f"the merged model's label log-probabilities differ from base + adapter by {max_diff:.2e} "
                    f"(allowed {MERGE_ATOL:.0e}); the merge is wrong"
                )
        (tmp / "README.md").write_text(
            model_card(out.resolve(), adapter_config, meta, run, merged_dir is not None) + "\n", encoding="utf-8"
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        out.rmdir()  # empty, checked above
    tmp.replace(out)
    return ExportResult(
        out=out,
        merged=out / MERGED_DIR if merged_dir is not None else None,
        label_logprobs=scores,
        merged_max_diff=max_diff,
    )


def export_command(
    adapter: Annotated[Path, typer.Option(help="The adapter/ folder of an SFT run (output_dir/adapter).")],
    out: Annotated[Path, typer.Option(help="New folder for the exported adapter (must not exist or be empty).")],
    merge: Annotated[bool, typer.Option(help="Also write OUT/merged: the base with the adapter folded in.")] = False,
) -> None:
    """Export an adapter for the local backend and `vllm serve --lora-modules`, after checking that it loads."""
    try:
        result = export_adapter(adapter, out, merge)
    except (ExportError, AgentError, OSError) as exc:
        log.debug("llmrec train export failed", exc_info=exc)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"exported {adapter} to {result.out} (loads with the local backend; model card: README.md)")
    if result.merged is not None:
        typer.echo(f"merged model: {result.merged} (max label log-prob difference {result.merged_max_diff:.1e})")
