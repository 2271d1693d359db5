"""The batched teacher: prompts exported by annotate, sampled by training/generate.py, judged best-of-N.

The tiny random Llama (real SmolLM2 tokenizer, real batched `generate`) writes the samples; scripted texts drive
the choice of the best sample, which is routing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.prompts import render_teacher_prompt
from tests.retrievaldata import small_catalog
from tests.unit.test_annotate import (
    GOOD,
    MITUTOYO,
    SEED,
    UNSUPPORTED,
    FakeTeacher,
    catalog_with,
    grounded,
    many_users,
    read_rows,
)
from tools.splits import is_eval_user
from training import annotate as ann
from training.annotate import AnnotationFileError, annotate, best_sample, export_prompts, judge_samples
from training.generate import GenerationError, batches, cut_sample, generate_samples, read_prompts


@pytest.fixture
def no_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ann, "split_users", lambda users, seed: (list(users), []))
    monkeypatch.setattr("tools.splits.is_eval_user", lambda user_id, seed, share=0.25: False)


def test_best_sample_prefers_a_whole_accepted_rationale_then_grounding() -> None:
    items = small_catalog().items
    history, target = [items["B0002BBV4Q"], items["B001C4ZNT8"]], items[MITUTOYO]
    noisy = GOOD + " " + UNSUPPORTED + " " + UNSUPPORTED  # accepted only after salvage
    index, text, verdict, salvaged = best_sample(
        [UNSUPPORTED, noisy, grounded(target), GOOD], history, target, min_grounding=0.6, salvage_claims=True
    )
    assert verdict.accepted and salvaged is None and index in (2, 3) and text in (grounded(target), GOOD)
    index, text, verdict, salvaged = best_sample(
        [UNSUPPORTED, noisy], history, target, min_grounding=0.6, salvage_claims=True
    )
    assert (index, text, salvaged) == (1, GOOD, noisy) and verdict.accepted
    index, _, verdict, _ = best_sample([UNSUPPORTED, ""], history, target, min_grounding=0.6, salvage_claims=True)
    assert index == 0 and verdict.reason == "unsupported"  # none passes: the first sample's reason is counted


def test_export_writes_the_teacher_prompt_of_each_pair_not_yet_annotated(tmp_path: Path, no_split: None) -> None:
    dataset = catalog_with(many_users(4))
    out = tmp_path / "ann.jsonl"
    teacher = FakeTeacher(dataset, {})
    annotate(dataset, teacher, out, seed=SEED, limit=1)  # one pair is already annotated
    prompts = tmp_path / "prompts.jsonl"
    assert export_prompts(dataset, teacher.tokenizer, out, prompts, seed=SEED) == 3
    rows = read_prompts(prompts)
    done = {(r["user_id"], r["target"]) for r in read_rows(out)}
    assert len(rows) == 3 and not done & {(r["user_id"], r["target"]) for r in rows}
    row = rows[0]
    history = [dataset.items[i] for i in row["history"]]
    assert row["prompt"] == render_teacher_prompt(teacher.tokenizer, history, dataset.items[row["target"]])


def test_judging_keeps_the_best_sample_per_pair_and_resumes(tmp_path: Path, no_split: None) -> None:
    dataset = catalog_with(many_users(3))
    pairs = ann.training_pairs(dataset, SEED)
    samples = tmp_path / "samples.jsonl"
    lines = [
        {
            "domain": dataset.domain,
            "user_id": p.user_id,
            "target": p.target,
            "history": list(p.history),
            "samples": [UNSUPPORTED, grounded(dataset.items[p.target])],
            "teacher": "tiny-teacher",
            "seconds": 0.25,
        }
        for p in pairs
    ]
    samples.write_text("".join(json.dumps(line) + "\n" for line in lines[:2]), encoding="utf-8")
    out = tmp_path / "ann.jsonl"
    card = judge_samples(dataset, samples, out, seed=SEED)
    rows = read_rows(out)
    assert card["pairs"] == 2 and card["accepted"] == 2
    assert all(r["sample_index"] == 1 and r["samples"] == 2 and r["teacher"] == "tiny-teacher" for r in rows)
    samples.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    judge_samples(dataset, samples, out, seed=SEED)  # the first two are already judged
    assert [(r["user_id"], r["target"]) for r in read_rows(out)] == [(p.user_id, p.target) for p in pairs]


def test_a_samples_file_of_an_evaluation_user_or_unknown_item_is_refused(tmp_path: Path) -> None:
    dataset = catalog_with(many_users(1))
    row = {"domain": dataset.domain, "history": ["B0002BBV4Q"], "target": MITUTOYO, "samples": [GOOD]}
    samples = tmp_path / "samples.jsonl"
    eval_user = next(f"u{i}" for i in range(1000) if is_eval_user(f"u{i}", SEED))
    samples.write_text(json.dumps(row | {"user_id": eval_user}) + "\n", encoding="utf-8")
    with pytest.raises(AnnotationFileError, match="is an evaluation user"):
        judge_samples(dataset, samples, tmp_path / "ann.jsonl", seed=SEED)
    train_user = next(f"u{i}" for i in range(1000) if not is_eval_user(f"u{i}", SEED))
    samples.write_text(json.dumps(row | {"user_id": train_user, "target": "NOPE"}) + "\n", encoding="utf-8")
    with pytest.raises(AnnotationFileError, match="unknown item ids"):
        judge_samples(dataset, samples, tmp_path / "ann.jsonl", seed=SEED)
    assert not (tmp_path / "ann.jsonl").exists() or not read_rows(tmp_path / "ann.jsonl")


def test_batches_group_prompts_of_similar_length_longest_first() -> None:
    rows = [{"i": i} for i in range(5)]
    assert list(batches(rows, [3, 9, 1, 7, 5], 2)) == [[1, 3], [4, 0], [2]]


def test_a_sample_is_cut_at_the_answer_line() -> None:
    assert cut_sample(" They own calipers.\nAnswer: C") == "They own calipers."


def test_a_malformed_prompts_file_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"domain": "scientific"}\n', encoding="utf-8")
    with pytest.raises(GenerationError, match=r"p.jsonl:1: a prompt row needs the keys"):
        read_prompts(bad)


def test_the_tiny_model_samples_every_prompt_n_times_in_batches_and_resumes(
    tiny_llm: Any, tmp_path: Path, no_split: None
) -> None:
    dataset = catalog_with(many_users(5))
    prompts = tmp_path / "prompts.jsonl"
    export_prompts(dataset, tiny_llm.tokenizer, tmp_path / "ann.jsonl", prompts, seed=SEED)
    rows = read_prompts(prompts)
    out = tmp_path / "samples.jsonl"
    kwargs: dict[str, Any] = {"teacher": "tiny-llama", "samples": 3, "max_tokens": 6, "batch_size": 2}
    assert generate_samples(rows[:3], tiny_llm.model, tiny_llm.tokenizer, out, **kwargs) == 3
    with out.open("a", encoding="utf-8") as f:
        f.write('{"domain": "scient')  # an interrupted write
    assert generate_samples(rows, tiny_llm.model, tiny_llm.tokenizer, out, **kwargs) == 2
    written = read_rows(out)
    assert sorted((r["user_id"], r["target"]) for r in written) == sorted((r["user_id"], r["target"]) for r in rows)
    assert all(len(r["samples"]) == 3 and all(isinstance(s, str) for s in r["samples"]) for r in written)
    card = judge_samples(dataset, out, tmp_path / "ann.jsonl", seed=SEED)
    assert card["pairs"] == 5  # random-model text is judged (and rejected), not crashed on
