"""Batched teacher sampling: several rationales per exported teacher prompt, on a GPU when there is one.

    llmrec train annotate --domain scientific --teacher default --out runs/annotations/scientific.jsonl \\
        --limit 3000 --export-prompts runs/teacher/scientific.prompts.jsonl
    llmrec train generate --prompts runs/teacher/scientific.prompts.jsonl \\
        --out runs/teacher/scientific.samples.jsonl --samples 4
    llmrec train annotate --domain scientific --teacher default --out runs/annotations/scientific.jsonl \\
        --completions runs/teacher/scientific.samples.jsonl

Why a separate step: `llmrec train annotate` asks its teacher one pair at a time through the serving runtime, which
costs about 6.5 s per pair for the 135M default on 2 CPU cores. Here prompts are batched (left-padded, sorted by
length) and each is sampled `--samples` times in one `generate` call, so a GPU writes thousands of rationales a
minute; the verifier then keeps the best sample of each pair (rejection sampling), which the one-shot path cannot.
This module needs only torch, transformers and the model (no retrieval stack), so it also runs on a bare GPU box.

Output: one JSON row per prompt, appended as each batch finishes; a second run skips prompts already written:

    {"domain", "user_id", "target", "history", "samples": [str, ...], "teacher", "generation": {...}, "seconds"}
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from tqdm.auto import tqdm

from agent.errors import AgentError
from agent.prompts import ANSWER_PREFIX

log = logging.getLogger(__name__)

PROMPT_KEYS = ("domain", "user_id", "target", "history", "prompt")
"""What `llmrec train annotate --export-prompts` writes per pair, and what a prompt row must hold."""


class GenerationError(Exception):
    """A prompts file that cannot be read, or an output file that cannot be written; the message says which."""


def read_rows(
    path: Path, keys: Sequence[str], error: type[Exception], what: str, row_name: str
) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) of every JSON object line of `path` that has `keys`; anything else raises `error` naming
    the file and line (`what` names the file, `row_name` the kind of row expected)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from exc
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{number}: not a JSON line ({exc.msg})") from exc
        if not isinstance(row, dict) or any(key not in row for key in keys):
            raise error(f"{path}:{number}: {row_name} needs the keys {', '.join(keys)}")
        rows.append((number, row))
    return rows


def read_prompts(path: Path) -> list[dict[str, Any]]:
    """Every row of an exported prompts file; a malformed line names its file and line number."""
    return [row for _, row in read_rows(path, PROMPT_KEYS, GenerationError, "the prompts file", "a prompt row")]


def _done(out: Path) -> set[tuple[str, str, str]]:
    """Pairs already sampled in `out`; a last line cut short by an interruption is dropped from the file."""
    if not out.exists():
        return set()
    raw = out.read_bytes()
    complete, _, partial = raw.rpartition(b"\n")
    if partial.strip():
        log.warning("%s: dropping its last line, cut short by an interrupted run", out)
        out.write_bytes(complete + b"\n" if complete else b"")
    done: set[tuple[str, str, str]] = set()
    for line in complete.split(b"\n"):
        if line.strip():
            row = json.loads(line)
            done.add((str(row["domain"]), str(row["user_id"]), str(row["target"])))
    return done


def batches(rows: Sequence[dict[str, Any]], lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Indices of `rows` in batches of similar prompt length (longest first), so padding wastes little and an
    out-of-memory error, if any, comes in the first batch rather than after an hour."""
    order = sorted(range(len(rows)), key=lambda i: -lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def cut_sample(text: str) -> str:
    """A sample up to the answer line: the teacher prompt ends where a rationale starts, and the rationale ends
    where the serving format puts "Answer:" (the local and vLLM backends stop there too)."""
    return text.split(ANSWER_PREFIX, 1)[0].strip()


def generate_samples(
    rows: Sequence[dict[str, Any]],
    model: Any,
    tokenizer: Any,
    out: Path,
    *,
    teacher: str,
    samples: int = 4,
    max_tokens: int = 96,
    temperature: float = 0.8,
    top_p: float = 0.95,
    batch_size: int = 32,
    seed: int = 2026,
    progress: bool = False,
) -> int:
    """Sample every row's prompt `samples` times and append one row each to `out`; returns the rows written."""
    import torch

    done = _done(out)
    todo = [row for row in rows if (str(row["domain"]), str(row["user_id"]), str(row["target"])) not in done]
    log.info("%s: %d of %d prompts to sample", out, len(todo), len(rows))
    if not todo:
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.padding_side = "left"  # generation continues every prompt from its own last token
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    encoded = [tokenizer(row["prompt"], add_special_tokens=False)["input_ids"] for row in todo]
    settings = {
        "samples": samples,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "seed": seed,
    }
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    written = 0
    with tqdm(total=len(todo), desc="sample", unit="prompt", disable=not progress) as bar:
        for batch in batches(todo, [len(ids) for ids in encoded], batch_size):
            started = time.perf_counter()
            enc = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt").to(device)
            with torch.inference_mode():
                generated = model.generate(
                    **enc,
                    do_sample=True,
                    temperature=temperature,
                    top_p=top_p,
                    max_new_tokens=max_tokens,
                    num_return_sequences=samples,
                    pad_token_id=tokenizer.pad_token_id,
                )
            texts = tokenizer.batch_decode(generated[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            seconds = (time.perf_counter() - started) / len(batch)
            lines = []
            for k, i in enumerate(batch):
                row = todo[i]
                lines.append(
                    {
                        "domain": row["domain"],
                        "user_id": row["user_id"],
                        "target": row["target"],
                        "history": row["history"],
                        "samples": [cut_sample(t) for t in texts[k * samples : (k + 1) * samples]],
                        "teacher": teacher,
                        "generation": settings,
                        "seconds": round(seconds, 4),
                    }
                )
            try:
                with out.open("a", encoding="utf-8") as file:
                    file.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
            except OSError as exc:
                raise GenerationError(
                    f"cannot write to {out} ({exc.strerror or exc}); the {written} rows written before are kept: "
                    "free some space and run the same command to resume"
                ) from exc
            written += len(lines)
            bar.update(len(batch))
    return written


def load_teacher_model(model: str, device: str) -> tuple[Any, Any, str]:
    """(model, tokenizer, name) for `model` (`default`, a folder or a cached HF id) in bf16 on a GPU, else fp32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agent.model_store import resolve_model_path
    from agent.settings import DEFAULT_MODEL, ModelSettings

    name = DEFAULT_MODEL if model == "default" else model
    path = resolve_model_path(name, ModelSettings().model_cache_dir)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    tok = AutoTokenizer.from_pretrained(path)
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()  # type: ignore[arg-type]
    return lm, tok, name


def generate_command(
    prompts: Annotated[Path, typer.Option(help="Teacher prompts from `llmrec train annotate --export-prompts`.")],
    out: Annotated[Path, typer.Option(help="JSONL of samples; an existing file is resumed.")],
    model: Annotated[str, typer.Option(help="'default' (SmolLM2-135M), a model folder or a cached HF id.")] = "default",
    samples: Annotated[int, typer.Option(min=1, max=64, help="Rationales sampled per prompt.")] = 4,
    max_tokens: Annotated[int, typer.Option(min=1, help="Tokens per rationale.")] = 96,
    temperature: Annotated[float, typer.Option(min=0.05, max=2.0)] = 0.8,
    top_p: Annotated[float, typer.Option(min=0.05, max=1.0)] = 0.95,
    batch_size: Annotated[int, typer.Option(min=1, help="Prompts per generate call (x samples sequences).")] = 32,
    device: Annotated[str, typer.Option(help="'auto' (cuda when available), 'cuda', 'cpu'.")] = "auto",
    seed: Annotated[int, typer.Option()] = 2026,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Sample several rationales per exported teacher prompt in batches (fast on a GPU); judge them with
    `llmrec train annotate --completions`."""
    try:
        rows = read_prompts(prompts)
        lm, tok, name = load_teacher_model(model, device)
        written = generate_samples(
            rows,
            lm,
            tok,
            out,
            teacher=name,
            samples=samples,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
        )
    except (GenerationError, AgentError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    except KeyboardInterrupt:
        typer.echo(f"interrupted: the rows written so far are kept in {out}; run the same command to resume", err=True)
        raise typer.Exit(code=130) from None
    typer.echo(f"wrote {written} rows of {samples} samples to {out}")


if __name__ == "__main__":  # `python -m training.generate` on a GPU box where the package is not installed
    typer.run(generate_command)
