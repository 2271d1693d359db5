"""Self-annotation: a teacher writes a rationale for each (history -> known target) pair; a filter keeps the good ones.

    llmrec train annotate --domain scientific --teacher default --out runs/annotations/scientific.jsonl --limit 200
    llmrec train annotate --domain scientific --teacher teachers/qwen7b.yaml \\
        --out runs/annotations/scientific.jsonl --max-tokens 160 --min-grounding 0.6

Pairs come from training users only (`tools.splits`: evaluation users are never read): per user, (history -> valid)
and (history + valid -> test), the most recent HISTORY_ITEMS items shown. They are shuffled with the project seed,
so `--limit N` takes a fair sample and a larger N extends it. The teacher (training/teacher.py) sees the history and
the target and writes 2-4 sentences (agent/prompts.py, `render_teacher_prompt`); `judge` accepts or rejects each
rationale for the first of REASONS that applies.

Output: one JSON row per pair, appended and flushed as it is written:

    {"domain", "user_id", "target", "history": [ids], "rationale", "accepted", "reason": null | str,
     "grounding": float | null, "teacher", "prompt_version", "seconds"}

Running the same command again resumes: pairs already in the file are skipped; a last line cut short by an
interruption is dropped (with a warning); rows of teacher errors are dropped and their pairs asked again. Each run
ends by regenerating FILE.card.json and FILE.card.md from the whole file (counts, rejections by reason, lengths).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from tqdm.auto import tqdm

from agent.claims import BOILERPLATE, Evidence, check_claims, grounding_score
from agent.errors import AgentError
from agent.language import stem
from agent.prompts import (
    ANSWER_PREFIX,
    TEACHER_INSTRUCTION,
    TEACHER_SYSTEM_PROMPT,
    render_teacher_prompt,
)
from agent.runtime import Recommender
from tools.catalog import HIDDEN_ATTRIBUTES, Dataset, Item
from tools.datasets import DOMAINS, load_dataset
from tools.errors import ToolsError
from tools.settings import DataSettings
from tools.splits import split_users
from tools.tokenize import tokenize
from training.evidence_teacher import EVIDENCE_TEACHER, EvidenceTeacher, TrustVerdict
from training.generate import read_rows
from training.teacher import TeacherConfigError, load_teacher, teacher_settings

log = logging.getLogger(__name__)

HISTORY_ITEMS = 10
"""History items shown to the teacher, the most recent ones (the serving prompt shows as many)."""
PROMPT_VERSION = "teacher-" + hashlib.sha256((TEACHER_SYSTEM_PROMPT + TEACHER_INSTRUCTION).encode()).hexdigest()[:8]
"""Changes whenever the teacher prompt's text does, so rows written with another prompt can be told apart."""
CLAIM_THRESHOLD = 0.6
"""Share of a claim's content words its evidence must contain (agent/claims.py; the serving verifier's default)."""
MIN_CONTENT_WORDS = 6
"""Fewer distinct content words than this cannot connect a history to an item: degenerate."""
MAX_REPEATS = 3
"""A line or a 4-word sequence occurring this often is a loop (the 135M model repeats its prompt's lines)."""
MAX_REPEATED_SHARE = 0.25
"""Share of 4-word sequences that repeat an earlier one above which a text is a near-loop: the 135M teacher often
writes a sentence twice with a word changed (0.33-0.69 in 4 of its first 10 rationales); a fluent 2-4 sentence
rationale scores near 0."""
TEACHER_ATTEMPTS = 2
"""Attempts per pair when the teacher raises; then the pair is rejected as a teacher error."""
MAX_CONSECUTIVE_FAILURES = 10
"""Pairs in a row whose teacher calls all failed before the run stops: the server is most likely down."""

REASONS: dict[str, str] = {
    "empty": "the teacher wrote no text (nothing but whitespace or punctuation)",
    "degenerate": f"a line or a 4-word sequence repeated {MAX_REPEATS}+ times, over {MAX_REPEATED_SHARE:.0%} of its "
    f"4-word sequences repeats, or fewer than {MIN_CONTENT_WORDS} distinct content words",
    "names_target": "names the target: its id, most of its title's distinctive words (those not in its attributes "
    "or the history), or its brand with a model number from its title",
    "no_evidence": "evidence teacher: the target has no link to the history (after the prompt kept what fits), so "
    "a rationale could only guess; the student would learn to pick without a reason",
    "copied": "evidence teacher: over 10% of its words are in 8-word spans copied from the prompt (agent/trust.py)",
    "unsupported": "the verifier (agent/claims.py, evidence = the target and the history) supports fewer claims "
    "than --min-grounding, or finds no claim at all; for the evidence teacher, fewer than 90% of its claims tie a "
    "candidate to the user through a shown link and hold (agent/trust.py)",
    "no_target_claim": "no supported claim mentions a word of the target's title or attributes; for the evidence "
    "teacher, no true relational claim names the target",
    "teacher_error": f"the teacher raised on {TEACHER_ATTEMPTS} attempts (the message follows the colon); such "
    "rows are asked again when the run is resumed",
}
"""Why a rationale is rejected: `judge` applies them in this order and records the first that holds."""


class AnnotationError(Exception):
    """Base class of the errors self-annotation raises on purpose; the message is a sentence a user can act on."""


class AnnotationFileError(AnnotationError):
    """The output file cannot be read back (a corrupt row, another domain's rows) or written (disk full)."""


class TeacherUnavailableError(AnnotationError):
    """MAX_CONSECUTIVE_FAILURES pairs in a row failed in the teacher: the run stops, written rows are kept."""


# --- pairs ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One training example to annotate: a training user's recent history and the item they chose next."""

    user_id: str
    target: str
    history: tuple[str, ...]
    """At most HISTORY_ITEMS item ids, oldest first."""


def training_pairs(dataset: Dataset, seed: int) -> list[Pair]:
    """Every (history -> valid) and (history + valid -> test) pair of the training users, in a seeded order.

    Users are taken in dataset order, then the pairs are shuffled with `seed`: the first N are a fair sample, and the
    first N of a larger limit include them. Pairs with an empty history (nothing to ground a rationale in) are left out.
    """
    training_users, _ = split_users(dataset.users, seed)
    pairs: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    for user in training_users:
        for history, target in ((user.history, user.valid), (user.test_history, user.test)):
            if target is None or not history or (user.user_id, target) in seen:
                continue
            seen.add((user.user_id, target))
            pairs.append(Pair(user.user_id, target, tuple(history[-HISTORY_ITEMS:])))
    random.Random(seed).shuffle(pairs)
    return pairs


# --- the filter ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str | None
    """None when accepted, else a key of REASONS."""
    grounding: float | None
    """Share of supported claims (agent/claims.py); None for an empty rationale or one without claims."""


_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s|$)")
# A model number: 4+ letters and digits with at least one digit ("dw4524", "01407", "2090"); "1.75" and "1/2" are not.
_MODEL_CODE = re.compile(r"(?=[a-z]*\d)[a-z0-9]{4,}")
_WORD = re.compile(r"\w+")


def clean_rationale(text: str) -> str:
    """The teacher's text as a training target: stripped, cut before a stray "Answer:", and without an unfinished
    last sentence (generation stops at --max-tokens, often mid-sentence) when a finished one precedes it."""
    text = text.split(ANSWER_PREFIX, 1)[0].strip()
    if not text or _SENTENCE_END.search(text[-3:] + " "):
        return text
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()].strip() if ends else text


def _terms(text: str) -> set[str]:
    return {stem(token) for token in tokenize(text)}


def _attribute_terms(item: Item) -> set[str]:
    words: set[str] = set()
    for key, value in item.attributes.items():
        if key in HIDDEN_ATTRIBUTES:
            continue
        for part in [value] if isinstance(value, str) else value:
            words |= _terms(str(part))
    return words


def is_degenerate(text: str) -> bool:
    lines = Counter(" ".join(line.lower().split()) for line in text.splitlines() if line.strip())
    if lines and max(lines.values()) >= MAX_REPEATS:
        return True
    words = _WORD.findall(text.lower())
    grams = Counter(tuple(words[i : i + 4]) for i in range(len(words) - 3))
    if grams and max(grams.values()) >= MAX_REPEATS:
        return True
    repeats = sum(count - 1 for count in grams.values())
    if grams and repeats / sum(grams.values()) > MAX_REPEATED_SHARE:
        return True
    return len(_terms(text) - BOILERPLATE) < MIN_CONTENT_WORDS


def names_target(text: str, history: Sequence[Item], target: Item) -> bool:
    """Whether the rationale names the target outright (REASONS["names_target"]).

    Title words that are also the target's attribute values or words of the history are not distinctive: "digital
    caliper" may be said of a caliper bought by someone who owns calipers; "Neiko 01407" may not.
    """
    if re.search(rf"(?<!\w){re.escape(target.item_id)}(?!\w)", text, re.IGNORECASE):
        return True
    words = _terms(text)
    history_terms: set[str] = set()
    for item in history:
        history_terms |= _terms(item.title) | _attribute_terms(item)
    distinctive = _terms(target.title) - BOILERPLATE - _attribute_terms(target) - history_terms
    if len(distinctive) >= 2 and len(distinctive & words) >= max(2, math.ceil(0.6 * len(distinctive))):
        return True
    brand = target.attributes.get("brand")
    brand_terms = _terms(brand) if isinstance(brand, str) else set()
    codes = {token for token in tokenize(target.title) if _MODEL_CODE.fullmatch(token)} - history_terms
    return bool(brand_terms) and brand_terms <= words and bool(codes & set(tokenize(text)))


def judge(rationale: str, history: Sequence[Item], target: Item, min_grounding: float = 0.6) -> Verdict:
    """Accept a rationale or give the first reason of REASONS that rejects it (teacher errors are decided earlier)."""
    text = rationale.strip()
    if not any(ch.isalnum() for ch in text):
        return Verdict(False, "empty", None)
    claims = check_claims(text, Evidence(candidates={"A": target}, history=history), threshold=CLAIM_THRESHOLD)
    grounding = grounding_score(claims)
    if is_degenerate(text):
        return Verdict(False, "degenerate", grounding)
    if names_target(text, history, target):
        return Verdict(False, "names_target", grounding)
    if grounding is None or grounding < min_grounding:
        return Verdict(False, "unsupported", grounding)
    target_terms = (_terms(target.title) | _attribute_terms(target)) - BOILERPLATE
    if not any(claim["supported"] and _terms(claim["text"]) & target_terms for claim in claims):
        return Verdict(False, "no_target_claim", grounding)
    return Verdict(True, None, grounding)


def salvage(rationale: str, history: Sequence[Item], target: Item) -> str:
    """The claims of a rejected rationale worth keeping: supported, not naming the target, each said once.

    Filtering claim by claim instead of rationale by rationale: the 135M teacher's texts mix true statements about
    the history and the target with loops and invented praise, so a whole-text filter rejected all of its first
    10 rationales. The kept claims are judged again as a rationale of their own (`judge`), so the same bar holds.
    """
    claims = check_claims(rationale, Evidence(candidates={"A": target}, history=history), threshold=CLAIM_THRESHOLD)
    kept: list[str] = []
    seen: set[frozenset[str]] = set()
    for claim in claims:
        key = frozenset(_terms(claim["text"]) - BOILERPLATE)
        if not claim["supported"] or not key or key in seen or names_target(claim["text"], history, target):
            continue
        seen.add(key)
        kept.append(claim["text"].strip())
    return " ".join(kept)


# --- the output file -----------------------------------------------------------------------------------------------

_ROW_KEYS = ("domain", "user_id", "target", "accepted", "reason")


def card_paths(out: Path) -> tuple[Path, Path]:
    """(FILE.card.json, FILE.card.md) beside the annotations FILE."""
    return out.with_name(out.name + ".card.json"), out.with_name(out.name + ".card.md")


def _scan(out: Path, domain: str) -> tuple[list[tuple[bytes, dict[str, Any]]], bytes]:
    """(every complete row with its line as written, the unfinished last line or b"")."""
    try:
        raw = out.read_bytes()
    except OSError as exc:
        raise AnnotationFileError(f"cannot read {out}: {exc.strerror or exc}") from exc
    lines = raw.split(b"\n")
    partial = lines.pop()  # b"" when the file ends with a newline
    rows: list[tuple[bytes, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = _parse_row(line, out, number)
        if row["domain"] != domain:
            raise AnnotationFileError(
                f"{out} holds annotations for the {row['domain']!r} domain (line {number}), not {domain!r}; "
                "write each domain to its own --out file"
            )
        rows.append((line, row))
    return rows, partial


def _key(row: dict[str, Any]) -> tuple[str, str, str]:
    return str(row["domain"]), str(row["user_id"]), str(row["target"])


def load_annotations(out: Path, domain: str) -> list[dict[str, Any]]:
    """Every complete row of `out`, teacher errors included, the first row of a pair only; changes nothing."""
    if not out.exists():
        return []
    rows, _ = _scan(out, domain)
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for _, row in rows:
        if _key(row) not in seen:
            seen.add(_key(row))
            unique.append(row)
    return unique


def read_annotations(out: Path, domain: str) -> list[dict[str, Any]]:
    """The rows of `out` to resume from, after repairing what an interrupted run leaves behind.

    A last line without its newline (the run was killed mid-write) is dropped with a warning; rows of teacher errors
    are dropped so their pairs are asked again; a repeated pair keeps its first row. The file is then rewritten
    (atomically) without them. A row that is not JSON anywhere else, or rows of another domain, raise
    AnnotationFileError: those are not what this command writes, so the file is left alone.
    """
    if not out.exists():
        return []
    rows, partial = _scan(out, domain)
    if partial.strip():
        log.warning("%s: dropping its last line, cut short by an interrupted run (%d bytes)", out, len(partial))
    kept: list[tuple[bytes, dict[str, Any]]] = []
    seen: set[tuple[str, str, str]] = set()
    retried = duplicates = 0
    for line, row in rows:
        if _key(row) in seen:
            duplicates += 1
        elif str(row["reason"] or "").startswith("teacher_error"):
            retried += 1
        else:
            seen.add(_key(row))
            kept.append((line, row))
    if retried:
        log.info("%s: %d pairs that failed in the teacher will be asked again", out, retried)
    if duplicates:
        log.warning("%s: dropping %d repeated rows of pairs already annotated", out, duplicates)
    if partial or retried or duplicates:
        _rewrite(out, [line for line, _ in kept])
    return [row for _, row in kept]


def _parse_row(line: bytes, out: Path, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AnnotationFileError(
            f"{out}, line {number} is not a JSON row ({exc}); only the last line may be cut short by an "
            "interruption, so this file was changed by something else: fix or remove that line"
        ) from exc
    if not isinstance(row, dict) or any(key not in row for key in _ROW_KEYS):
        raise AnnotationFileError(
            f"{out}, line {number} is not an annotation row (it needs the keys {', '.join(_ROW_KEYS)})"
        )
    return row


def _rewrite(out: Path, lines: Iterable[bytes]) -> None:
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_bytes(b"".join(line + b"\n" for line in lines))
        tmp.replace(out)
    except OSError as exc:
        raise AnnotationFileError(f"cannot rewrite {out} to resume it: {exc.strerror or exc}") from exc


def _append_row(out: Path, row: dict[str, Any], written: int) -> None:
    """`_append`, with a failed write (disk full) raised as an AnnotationFileError that says how to resume."""
    try:
        _append(out, row)
    except OSError as exc:
        raise AnnotationFileError(
            f"cannot write to {out} ({exc.strerror or exc}; is the disk full?). The {written} rows "
            "written before are kept: free some space and run the same command to resume"
        ) from exc


def _append(out: Path, row: dict[str, Any]) -> None:
    # Opened per row: a row costs seconds of generation, and a failing close (disk full) then surfaces here.
    with out.open("ab") as file:
        file.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
        file.flush()


# --- the run -------------------------------------------------------------------------------------------------------


def _ask_teacher(teacher: Recommender, prompt: str, max_tokens: int) -> tuple[str, str | None]:
    """(text, None), or ("", "teacher_error: ...") after TEACHER_ATTEMPTS failures."""
    error: Exception | None = None
    for attempt in range(1, TEACHER_ATTEMPTS + 1):
        try:
            return "".join(teacher.generate(prompt, max_tokens, stop=(ANSWER_PREFIX,))), None
        except (AgentError, RuntimeError) as exc:  # a server error, or e.g. CUDA out of memory; anything else is a bug
            log.warning("teacher failed (attempt %d of %d): %s", attempt, TEACHER_ATTEMPTS, exc, exc_info=exc)
            error = exc
    message = " ".join(str(error).split())[:200]
    return "", f"teacher_error: {type(error).__name__}: {message}"


def judge_rationale(
    text: str, history: Sequence[Item], target: Item, *, min_grounding: float, salvage_claims: bool = True
) -> tuple[str, Verdict, str | None]:
    """(the rationale to keep, its verdict, the teacher's whole text when only its supported claims were kept).

    With `salvage_claims`, a rejected rationale is cut down to its supported claims (`salvage`) and kept if that
    passes `judge`.
    """
    rationale = clean_rationale(text)
    verdict = judge(rationale, history, target, min_grounding)
    if salvage_claims and not verdict.accepted and verdict.reason != "empty":
        kept = salvage(rationale, history, target)
        second = judge(kept, history, target, min_grounding) if kept else verdict
        if second.accepted:
            return kept, second, rationale
    return rationale, verdict, None


def annotate_pair(
    teacher: Recommender,
    dataset: Dataset,
    pair: Pair,
    *,
    max_tokens: int,
    min_grounding: float,
    salvage_claims: bool = True,
) -> dict[str, Any]:
    """Ask the teacher about one pair and judge its rationale (`judge_rationale`): the row to write."""
    history = [dataset.items[item_id] for item_id in pair.history]
    target = dataset.items[pair.target]
    started = time.perf_counter()
    text, error = _ask_teacher(teacher, render_teacher_prompt(teacher.tokenizer, history, target), max_tokens)
    seconds = time.perf_counter() - started
    if error:
        rationale, verdict, salvaged_from = clean_rationale(text), Verdict(False, error, None), None
    else:
        rationale, verdict, salvaged_from = judge_rationale(
            text, history, target, min_grounding=min_grounding, salvage_claims=salvage_claims
        )
    return row_for(dataset.domain, pair, rationale, verdict, teacher.name, seconds, salvaged_from)


def row_for(
    domain: str,
    pair: Pair,
    rationale: str,
    verdict: Verdict | TrustVerdict,
    teacher: str,
    seconds: float,
    salvaged_from: str | None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "domain": domain,
        "user_id": pair.user_id,
        "target": pair.target,
        "history": list(pair.history),
        "rationale": rationale,
        "accepted": verdict.accepted,
        "reason": verdict.reason,
        "grounding": None if verdict.grounding is None else round(verdict.grounding, 4),
        "teacher": teacher,
        "prompt_version": PROMPT_VERSION,
        "seconds": round(seconds, 3),
        "salvaged_from": salvaged_from,
    } | extra


def annotate(
    dataset: Dataset,
    teacher: Recommender | EvidenceTeacher,
    out: Path,
    *,
    teacher_info: dict[str, Any] | None = None,
    seed: int | None = None,
    limit: int | None = None,
    max_tokens: int = 96,
    min_grounding: float = 0.6,
    salvage_claims: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Annotate the first `limit` training pairs of `dataset` into `out` (resuming it), then write its card.

    Returns the card. Raises AnnotationFileError when `out` cannot be read back or written (rows before a failed
    write are kept), TeacherUnavailableError after MAX_CONSECUTIVE_FAILURES teacher errors in a row. The card is
    written in every case, also after an interruption, so it always describes what the file holds.
    """
    seed = DataSettings().seed if seed is None else seed
    pairs, todo, available = _pending(dataset, out, seed, limit)
    run = {
        "pairs_available": available,
        "limit": limit,
        "max_tokens": max_tokens,
        "min_grounding": min_grounding,
        "salvage_claims": salvage_claims,
        "seed": seed,
        "teacher": teacher_info or {"name": teacher.name},
    }
    started = time.perf_counter()
    written = failures = 0
    try:
        with tqdm(
            total=len(pairs), initial=len(pairs) - len(todo), desc="annotate", unit="pair", disable=not progress
        ) as bar:
            for pair in todo:
                if isinstance(teacher, EvidenceTeacher):
                    row = teacher.annotate_pair(pair)
                else:
                    row = annotate_pair(
                        teacher,
                        dataset,
                        pair,
                        max_tokens=max_tokens,
                        min_grounding=min_grounding,
                        salvage_claims=salvage_claims,
                    )
                _append_row(out, row, written)
                written += 1
                bar.update(1)
                failures = failures + 1 if str(row["reason"]).startswith("teacher_error") else 0
                if failures >= MAX_CONSECUTIVE_FAILURES:
                    raise TeacherUnavailableError(
                        f"the teacher failed on {failures} pairs in a row (last: {row['reason']}); it is probably "
                        f"down. {written} rows are kept in {out}: run the same command again to resume"
                    )
    finally:
        run["run_seconds"] = round(time.perf_counter() - started, 3)
        run["rows_written"] = written
        card = _write_card_after_run(out, dataset.domain, run)
    return card


def _pending(dataset: Dataset, out: Path, seed: int, limit: int | None) -> tuple[list[Pair], list[Pair], int]:
    """(the first `limit` training pairs, those of them not yet in `out`, the number of training pairs in all)."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    pairs = training_pairs(dataset, seed)
    available = len(pairs)
    pairs = pairs[:limit]
    done = {(row["user_id"], row["target"]) for row in read_annotations(out, dataset.domain)}
    todo = [pair for pair in pairs if (pair.user_id, pair.target) not in done]
    log.info("%s: %d of %d pairs to annotate (%d training pairs in all)", out, len(todo), len(pairs), available)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnnotationFileError(f"cannot create the folder of {out}: {exc.strerror or exc}") from exc
    return pairs, todo, available


# --- batched teachers (training/generate.py): export the prompts, judge the samples -----------------------------


def export_prompts(
    dataset: Dataset, tokenizer: Any, out: Path, prompts: Path, *, seed: int, limit: int | None = None
) -> int:
    """Write the teacher prompt of every pair not yet in `out` to `prompts` (for `llmrec train generate`)."""
    _, todo, _ = _pending(dataset, out, seed, limit)
    try:
        prompts.parent.mkdir(parents=True, exist_ok=True)
        with prompts.open("w", encoding="utf-8") as file:
            for pair in todo:
                history = [dataset.items[item_id] for item_id in pair.history]
                row = {
                    "domain": dataset.domain,
                    "user_id": pair.user_id,
                    "target": pair.target,
                    "history": list(pair.history),
                    "prompt": render_teacher_prompt(tokenizer, history, dataset.items[pair.target]),
                    "prompt_version": PROMPT_VERSION,
                }
                file.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise AnnotationFileError(f"cannot write the prompts to {prompts}: {exc.strerror or exc}") from exc
    return len(todo)


def best_sample(
    samples: Sequence[str], history: Sequence[Item], target: Item, *, min_grounding: float, salvage_claims: bool
) -> tuple[int, str, Verdict, str | None]:
    """(index, rationale, verdict, salvaged_from) of the sample to keep: a whole accepted rationale before a
    salvaged one, then the higher grounding, then the earlier sample; when none passes, the first sample's
    verdict (its reason is what the card counts)."""
    judged = [
        (i, *judge_rationale(text, history, target, min_grounding=min_grounding, salvage_claims=salvage_claims))
        for i, text in enumerate(samples)
    ]
    accepted = [j for j in judged if j[2].accepted]
    if not accepted:
        return judged[0]
    return max(accepted, key=lambda j: (j[3] is None, j[2].grounding or 0.0, -j[0]))


def judge_samples(
    dataset: Dataset,
    samples_path: Path,
    out: Path,
    *,
    seed: int,
    min_grounding: float = 0.6,
    salvage_claims: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Append a row to `out` for every sampled pair not yet in it (`best_sample`), then write the card.

    Rows of another domain, of evaluation users, or naming items the catalog lacks raise AnnotationFileError
    before anything is written: a samples file is checked as strictly as the annotations it becomes.
    """
    rows = _read_samples(samples_path, dataset, seed)
    _, _, available = _pending(dataset, out, seed, None)
    done = {(row["user_id"], row["target"]) for row in read_annotations(out, dataset.domain)}
    todo = [row for row in rows if (str(row["user_id"]), str(row["target"])) not in done]
    started = time.perf_counter()
    written = 0
    try:
        for sampled in tqdm(todo, desc="judge", unit="pair", disable=not progress):
            pair = Pair(str(sampled["user_id"]), str(sampled["target"]), tuple(map(str, sampled["history"])))
            history = [dataset.items[item_id] for item_id in pair.history]
            index, rationale, verdict, salvaged_from = best_sample(
                [str(text) for text in sampled["samples"]] or [""],
                history,
                dataset.items[pair.target],
                min_grounding=min_grounding,
                salvage_claims=salvage_claims,
            )
            row = row_for(
                dataset.domain,
                pair,
                rationale,
                verdict,
                str(sampled.get("teacher") or "unknown"),
                float(sampled.get("seconds") or 0.0),
                salvaged_from,
                samples=len(sampled["samples"]),
                sample_index=index,
            )
            _append_row(out, row, written)
            written += 1
    finally:
        run = {
            "pairs_available": available,
            "samples_file": str(samples_path),
            "min_grounding": min_grounding,
            "salvage_claims": salvage_claims,
            "seed": seed,
            "run_seconds": round(time.perf_counter() - started, 3),
            "rows_written": written,
        }
        card = _write_card_after_run(out, dataset.domain, run)
    return card


_SAMPLE_KEYS = ("domain", "user_id", "target", "history", "samples")


def _read_samples(path: Path, dataset: Dataset, seed: int) -> list[dict[str, Any]]:
    from tools.splits import is_eval_user

    rows = read_rows(path, _SAMPLE_KEYS, AnnotationFileError, "the samples file", "a row of `llmrec train generate`")
    for number, row in rows:
        if row["domain"] != dataset.domain:
            raise AnnotationFileError(f"{path}:{number}: a {row['domain']!r} row, not {dataset.domain!r}")
        if is_eval_user(str(row["user_id"]), seed):
            raise AnnotationFileError(f"{path}:{number}: user {row['user_id']} is an evaluation user")
        missing = [i for i in [row["target"], *row["history"]] if str(i) not in dataset.items]
        if missing or not isinstance(row["samples"], list):
            raise AnnotationFileError(f"{path}:{number}: unknown item ids {missing[:3]} or samples not a list")
    return [row for _, row in rows]


def _write_card_after_run(out: Path, domain: str, run: dict[str, Any]) -> dict[str, Any]:
    try:
        return write_card(out, domain, run)
    except (OSError, AnnotationFileError) as exc:
        # Not raised: the run's own outcome (success, or the error already on its way) is what the user must see.
        log.warning("could not write the dataset card of %s: %s", out, exc, exc_info=exc)
        return {}


# --- the dataset card ----------------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def build_card(rows: Sequence[dict[str, Any]], domain: str, run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts and means over every row of the file (so they hold after resumes), plus the last run's settings."""
    accepted = [row for row in rows if row["accepted"]]
    reasons = Counter(str(row["reason"]).split(":", 1)[0] for row in rows if not row["accepted"])
    lengths = [len(str(row.get("rationale") or "").split()) for row in rows if row.get("rationale")]
    accepted_lengths = [len(str(row.get("rationale") or "").split()) for row in accepted]
    seconds = [float(row.get("seconds") or 0.0) for row in rows]
    return {
        "domain": domain,
        "pairs": len(rows),
        "accepted": len(accepted),
        "rejected": len(rows) - len(accepted),
        "acceptance_rate": round(len(accepted) / len(rows), 4) if rows else None,
        "accepted_salvaged": sum(1 for row in accepted if row.get("salvaged_from")),
        "rejected_by_reason": {reason: reasons.get(reason, 0) for reason in REASONS}
        | {reason: count for reason, count in reasons.items() if reason not in REASONS},
        "users": len({row["user_id"] for row in rows}),
        "users_accepted": len({row["user_id"] for row in accepted}),
        "mean_rationale_words": _mean(lengths),
        "mean_rationale_words_accepted": _mean(accepted_lengths),
        "mean_grounding_accepted": _mean([float(row["grounding"]) for row in accepted if row["grounding"] is not None]),
        # Rows of the evidence teacher carry the trust figures of agent/trust.py.
        "mean_copy_rate_accepted": _mean([float(row["trust"]["copy_rate"]) for row in accepted if row.get("trust")]),
        "coverage_accepted": _mean([float(bool(row["trust"]["coverage"])) for row in accepted if row.get("trust")]),
        "teachers": dict(Counter(str(row.get("teacher")) for row in rows)),
        "prompt_versions": dict(Counter(str(row.get("prompt_version")) for row in rows)),
        "elapsed_seconds": round(sum(seconds), 3),
        "mean_seconds_per_pair": _mean(seconds),
        "reasons": REASONS,
        "last_run": run or {},
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_card(out: Path, domain: str, run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Regenerate FILE.card.json and FILE.card.md from the whole of `out`; returns the card."""
    rows = load_annotations(out, domain)
    card = build_card(rows, domain, run)
    json_path, md_path = card_paths(out)
    json_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(card_markdown(card, rows, out.name), encoding="utf-8")
    return card


def card_markdown(card: dict[str, Any], rows: Sequence[dict[str, Any]], file_name: str, examples: int = 3) -> str:
    def shown(value: Any) -> str:
        return "n/a" if value is None else str(value)

    lines = [
        f"# Self-annotated rationales: {card['domain']}",
        "",
        f"`{file_name}`: rationales written by a teacher that saw each training user's history and the item they "
        "chose next, kept only when they pass the filter of their teacher (an LLM teacher: the claim verifier "
        "supports them and they do not name the item; the evidence teacher: the served model's trust checks). "
        "Generated by `llmrec train annotate` (training/annotate.py) from the whole file.",
        "",
        "| | |",
        "|---|---|",
        f"| pairs | {card['pairs']} |",
        f"| accepted | {card['accepted']} ({shown(card['acceptance_rate'])}) |",
        f"| rejected | {card['rejected']} |",
        f"| users | {card['users']} ({card['users_accepted']} with an accepted rationale) |",
        f"| mean rationale length, words (all / accepted) | {shown(card['mean_rationale_words'])} / "
        f"{shown(card['mean_rationale_words_accepted'])} |",
        f"| mean grounding of accepted | {shown(card['mean_grounding_accepted'])} |",
        f"| mean copy rate / coverage of accepted (evidence teacher) | {shown(card['mean_copy_rate_accepted'])} / "
        f"{shown(card['coverage_accepted'])} |",
        f"| teacher time, s (mean per pair) | {card['elapsed_seconds']} ({shown(card['mean_seconds_per_pair'])}) |",
        f"| teachers | {', '.join(f'{name} ({n})' for name, n in card['teachers'].items()) or 'n/a'} |",
        f"| prompt versions | {', '.join(f'{v} ({n})' for v, n in card['prompt_versions'].items()) or 'n/a'} |",
        "",
        "## Rejections",
        "",
        "| reason | rows | meaning |",
        "|---|---|---|",
    ]
    for reason, count in card["rejected_by_reason"].items():
        lines.append(f"| {reason} | {count} | {REASONS.get(reason, '')} |")
    run = card.get("last_run") or {}
    if run:
        lines += ["", "## Last run", "", "```json", json.dumps(run, indent=2, ensure_ascii=False), "```"]
    accepted = [row for row in rows if row["accepted"]][:examples]
    if accepted:
        lines += ["", "## Examples (accepted)", ""]
        lines += [
            f"- `{row['user_id']}` -> `{row['target']}`: {' '.join(row['rationale'].split())}" for row in accepted
        ]
    return "\n".join(lines) + "\n"


# --- the command ---------------------------------------------------------------------------------------------------


def _fail(exc: BaseException) -> typer.Exit:
    log.debug("llmrec train annotate failed", exc_info=exc)
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def annotate_command(
    domain: Annotated[str, typer.Option(help=f"Dataset domain: {', '.join(DOMAINS)}.")],
    out: Annotated[
        Path, typer.Option(help="JSONL file of annotations; an existing one is resumed. Cards go beside it.")
    ],
    teacher: Annotated[
        str,
        typer.Option(
            metavar="SETTINGS",
            help="'default' (the LLMREC_* model settings) or a YAML/JSON file of ModelSettings fields.",
        ),
    ] = "default",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Annotate the first N training pairs of the seeded order. Default: all.")
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Tokens the teacher may write per rationale.")] = 96,
    min_grounding: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of claims the verifier must support to keep a rationale.")
    ] = 0.6,
    salvage_claims: Annotated[
        bool, typer.Option(help="Keep a rejected rationale's supported claims when they pass the filter on their own.")
    ] = True,
    export_prompts_to: Annotated[
        Path | None,
        typer.Option(
            "--export-prompts",
            help="Only write the teacher prompts of the pairs not yet in --out to this JSONL, for "
            "`llmrec train generate` (batched sampling, e.g. on a GPU).",
        ),
    ] = None,
    completions: Annotated[
        Path | None,
        typer.Option(
            help="Judge the samples `llmrec train generate` wrote instead of asking the teacher: the best accepted "
            "sample of each pair is kept.",
        ),
    ] = None,
    hard_negative_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Evidence teacher: share of pairs whose candidates are BM25's top 20 for the history (the rest: "
            "random unseen items).",
        ),
    ] = 0.5,
    request_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Evidence teacher: share of pairs shown with a request for the target's kind, half of them as a new "
            "user's (no history), as a chat shows them (training/requests.py).",
        ),
    ] = 0.0,
    follow_up_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Evidence teacher: share of the request pairs shown as the turn after an item dispute (the "
            "request, the earlier answer's 3 picks, 'I already own the first one' and the like).",
        ),
    ] = 0.0,
    paraphrase: Annotated[
        bool,
        typer.Option(
            help="Evidence teacher: have the --paraphrase-teacher LLM rewrite each rationale; the rewrite is judged.",
        ),
    ] = False,
    paraphrase_teacher: Annotated[
        str,
        typer.Option(metavar="SETTINGS", help="With --paraphrase: 'default' or a YAML/JSON file of ModelSettings."),
    ] = "default",
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Have a teacher write rationales for training users' (history -> target) pairs; keep the grounded ones.

    `--teacher evidence` is the evidence writer (training/evidence_teacher.py): it writes against the example's
    candidates and their links, and the trust checks of the served model are its filter."""
    try:
        if export_prompts_to and completions:
            raise AnnotationError("--export-prompts and --completions are two steps: give one of them")
        if teacher != EVIDENCE_TEACHER:
            teacher_settings(teacher)  # a bad teacher file fails before the dataset or a model is loaded
        settings = DataSettings()
        dataset = load_dataset(domain, settings)
        read_annotations(out, dataset.domain)  # and an unusable --out before the model is
        if teacher == EVIDENCE_TEACHER:
            if export_prompts_to or completions:
                raise AnnotationError("the evidence teacher writes directly: --export-prompts and --completions are "
                                      "for LLM teachers")  # fmt: skip
            teacher_settings(paraphrase_teacher)  # a bad file fails before any model is loaded
            writer = _evidence_teacher(dataset, settings.seed, hard_negative_share, progress)
            writer.request_share = request_share
            writer.follow_up_share = follow_up_share
            if paraphrase:
                writer.paraphraser, _ = load_teacher(paraphrase_teacher)
            card = annotate(dataset, writer, out, teacher_info=writer.info(), seed=settings.seed, limit=limit,
                            progress=progress)  # fmt: skip
            _report(card, out)
            return
        if completions is not None:
            card = judge_samples(
                dataset,
                completions,
                out,
                seed=settings.seed,
                min_grounding=min_grounding,
                salvage_claims=salvage_claims,
                progress=progress,
            )
            _report(card, out)
            return
        model, info = load_teacher(teacher)
        if export_prompts_to is not None:
            n = export_prompts(dataset, model.tokenizer, out, export_prompts_to, seed=settings.seed, limit=limit)
            typer.echo(f"wrote {n} teacher prompts to {export_prompts_to}")
            return
        card = annotate(
            dataset,
            model,
            out,
            teacher_info=info,
            seed=settings.seed,
            limit=limit,
            max_tokens=max_tokens,
            min_grounding=min_grounding,
            salvage_claims=salvage_claims,
            progress=progress,
        )
    except (AnnotationError, TeacherConfigError, ToolsError, AgentError, OSError) as exc:
        raise _fail(exc) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise _fail(ValueError(f"invalid LLMREC_* setting {where}: {first['msg']}")) from exc
    except KeyboardInterrupt:
        typer.echo(f"interrupted: the rows written so far are kept in {out}; run the same command to resume", err=True)
        raise typer.Exit(code=130) from None
    _report(card, out)


def _evidence_teacher(dataset: Dataset, seed: int, hard_share: float, progress: bool) -> EvidenceTeacher:
    """The evidence writer with the default tokenizer (the prompt it writes against is the default model's) and,
    for hard negatives, the domain's BM25 index (built on first use, seconds)."""
    from transformers import AutoTokenizer

    from agent.model_store import resolve_model_path
    from agent.settings import ModelSettings

    model = ModelSettings()
    tokenizer: Any = AutoTokenizer.from_pretrained(resolve_model_path(model.model, model.model_cache_dir))
    retriever = None
    if hard_share > 0:
        from tools.search import open_bm25
        from tools.settings import RetrievalSettings

        retriever = open_bm25(dataset, RetrievalSettings(), progress=progress)
    return EvidenceTeacher(dataset, tokenizer, seed, retriever=retriever, hard_negative_share=hard_share)


def _report(card: dict[str, Any], out: Path) -> None:
    rejected = ", ".join(f"{reason} {n}" for reason, n in card["rejected_by_reason"].items() if n)
    typer.echo(
        f"{card['pairs']} pairs in {out}: {card['accepted']} accepted, {card['rejected']} rejected"
        + (f" ({rejected})" if rejected else "")
    )
    json_path, md_path = card_paths(out)
    typer.echo(f"wrote {json_path} and {md_path}")
