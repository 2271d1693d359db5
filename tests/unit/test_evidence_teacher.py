"""`llmrec train annotate --teacher evidence` on the bundled scientific catalog: rows that carry their candidates,
a filter that is the served model's trust checks, and SFT examples rendered against the very same prompt."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from agent.ranking import label_of, show
from agent.trust import Trust
from tools.cooccur import CoOccurrence
from tools.splits import is_eval_user
from training.annotate import annotate_command, card_paths, read_annotations
from training.evidence_teacher import EvidenceTeacher, judge_trust
from training.sft_data import build_sft_examples, example_request

SEED = 2026


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(annotate_command)
    return app


def test_the_command_writes_rows_with_candidates_and_a_card(tmp_path: Path) -> None:
    out = tmp_path / "ann.jsonl"
    args = ["--domain", "scientific", "--teacher", "evidence", "--out", str(out), "--limit", "60", "--no-progress"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "60 pairs" in result.output
    rows = read_annotations(out, "scientific")
    assert len(rows) == 60 and not any(is_eval_user(r["user_id"], SEED) for r in rows)
    accepted = [r for r in rows if r["accepted"]]
    assert len(accepted) >= 30
    for row in rows:
        assert row["target"] in row["candidates"] and len(row["candidates"]) == 20
        assert row["accepted"] == (row["reason"] is None)
    for row in accepted:
        assert row["trust"]["copy_rate"] <= 0.10 and not row["trust"]["repeats"] and row["trust"]["coverage"]
    assert {r["reason"] for r in rows if not r["accepted"]} <= {"no_evidence", "degenerate", "unsupported", "copied"}
    card = json.loads(card_paths(out)[0].read_text())
    assert card["accepted"] == len(accepted) and card["coverage_accepted"] == 1.0
    assert card["rejected_by_reason"]["no_evidence"] == sum(r["reason"] == "no_evidence" for r in rows)
    # Resumed: nothing is written twice.
    again = CliRunner().invoke(_app(), args)
    assert again.exit_code == 0 and len(read_annotations(out, "scientific")) == 60


def test_sft_examples_are_the_prompt_the_rationale_was_written_against(
    tmp_path: Path, scientific_catalog: Any, smollm2_tokenizer: Any
) -> None:
    from training.annotate import annotate

    out = tmp_path / "ann.jsonl"
    teacher = EvidenceTeacher(scientific_catalog, smollm2_tokenizer, SEED, hard_negative_share=0.0)
    annotate(scientific_catalog, teacher, out, teacher_info=teacher.info(), seed=SEED, limit=30)
    rows = read_annotations(out, "scientific")
    examples = build_sft_examples(rows, scientific_catalog, smollm2_tokenizer, seed=SEED)
    cooccur = CoOccurrence.of(scientific_catalog)
    accepted = [r for r in rows if r["accepted"]]
    assert len(examples) == len(accepted) > 0
    for row, ex in zip(accepted, examples, strict=True):
        assert ex["candidate_ids"] == row["candidates"]
        shown = show(
            smollm2_tokenizer,
            example_request(scientific_catalog, row["history"], row["candidates"], (), cooccur),
            context_tokens=2048,
            rationale_tokens=96,
        )
        assert ex["prompt"].startswith(shown["prompt"])
        label = label_of(shown, row["target"])
        # The rationale argues for the target under the label the student reads it by, and answers it.
        assert f" {label} " in f" {row['rationale']} " or f" {label}." in row["rationale"]
        assert ex["completion"].endswith(f"Answer: {label}")


def test_the_filter_rejects_what_the_trust_checks_reject() -> None:
    good = Trust(0.0, False, 1.0, True, 1.0)
    assert judge_trust("C is from Neiko like your caliper.", good).accepted
    assert judge_trust("C is from Neiko.", good, target_links=0).reason == "no_evidence"
    assert judge_trust("  .. ", good).reason == "empty"
    assert judge_trust("x", Trust(0.0, True, 1.0, True, 1.0)).reason == "degenerate"
    assert judge_trust("x", Trust(0.4, False, 1.0, True, 1.0)).reason == "copied"
    assert judge_trust("x", Trust(0.0, False, 0.5, True, 1.0)).reason == "unsupported"
    assert judge_trust("x", Trust(0.0, False, 1.0, False, 1.0)).reason == "no_target_claim"


class _Paraphraser:
    """An LLM teacher stand-in that rewrites the writer's text by a fixed rule (a unit test of the routing; the real
    tiny LLM goes through the same path below)."""

    name = "rewriter"

    def __init__(self, smollm2_tokenizer: Any, rewrite: Any) -> None:
        self.tokenizer = smollm2_tokenizer
        self.rewrite = rewrite
        self.prompts: list[str] = []

    def generate(self, prompt: str, max_tokens: int, stop: Any = (), stream: bool = False, **decoding: Any) -> Any:
        self.prompts.append(prompt)
        written = prompt.split("Explanation: ", 1)[1].split("\n\n", 1)[0]
        return iter((self.rewrite(written),))

    def label_logprobs(self, prompt: str, labels: Any) -> dict[str, float]:
        return dict.fromkeys(labels, -1.0)


def _paraphrased(tmp_path: Path, scientific_catalog: Any, smollm2_tokenizer: Any, rewrite: Any) -> list[dict[str, Any]]:
    from training.annotate import annotate

    out = tmp_path / "para.jsonl"
    paraphraser = _Paraphraser(smollm2_tokenizer, rewrite)
    teacher = EvidenceTeacher(
        scientific_catalog, smollm2_tokenizer, SEED, hard_negative_share=0.0, paraphraser=paraphraser
    )  # type: ignore[arg-type]
    annotate(scientific_catalog, teacher, out, teacher_info=teacher.info(), seed=SEED, limit=30)
    assert paraphraser.prompts and all(p.endswith("Rationale:") for p in paraphraser.prompts)
    return [r for r in read_annotations(out, "scientific") if r["reason"] != "no_evidence"]


def test_a_paraphrase_that_keeps_the_facts_passes_and_one_that_lies_does_not(
    tmp_path: Path, scientific_catalog: Any, smollm2_tokenizer: Any
) -> None:
    kept = _paraphrased(
        tmp_path / "a", scientific_catalog, smollm2_tokenizer, lambda text: text.replace("shares", "has in common")
    )
    assert kept and sum(r["accepted"] for r in kept) >= 0.9 * len(kept)
    assert all(r["teacher"] == "evidence-writer-1+paraphrase:rewriter" and r["written"] for r in kept)
    lies = _paraphrased(
        tmp_path / "b",
        scientific_catalog,
        smollm2_tokenizer,
        lambda text: text.replace(".", ", and it is waterproof leather that glows in the dark.", 1),
    )
    assert lies and not any(r["accepted"] for r in lies)
    assert {r["reason"] for r in lies} <= {"unsupported", "no_target_claim"}
    loops = _paraphrased(tmp_path / "c", scientific_catalog, smollm2_tokenizer, lambda text: (text + " ") * 3)
    assert loops and all(r["reason"] == "degenerate" for r in loops)


def test_the_real_tiny_llm_paraphrases_through_the_same_filter(
    tmp_path: Path, scientific_catalog: Any, tiny_llm: Any
) -> None:
    from training.annotate import annotate

    out = tmp_path / "tiny.jsonl"
    teacher = EvidenceTeacher(
        scientific_catalog, tiny_llm.tokenizer, SEED, hard_negative_share=0.0, paraphraser=tiny_llm, max_tokens=12
    )
    card = annotate(scientific_catalog, teacher, out, teacher_info=teacher.info(), seed=SEED, limit=6)
    rows = read_annotations(out, "scientific")
    # A random tiny model writes noise: the filter rejects it with a reason, and the card counts the reasons.
    paraphrased = [r for r in rows if r["reason"] != "no_evidence"]
    assert paraphrased and not any(r["accepted"] for r in paraphrased)
    assert sum(card["rejected_by_reason"].values()) == len(rows) - card["accepted"]


def test_requests_teach_the_chat_case(tmp_path: Path, scientific_catalog: Any, smollm2_tokenizer: Any) -> None:
    # A share of the pairs is shown as a chat shows it: a request for the target's kind, half as a new user's.
    from training.annotate import annotate

    out = tmp_path / "ann.jsonl"
    teacher = EvidenceTeacher(scientific_catalog, smollm2_tokenizer, SEED, hard_negative_share=0.0, request_share=0.5)
    annotate(scientific_catalog, teacher, out, teacher_info=teacher.info(), seed=SEED, limit=40)
    rows = read_annotations(out, "scientific")
    asked = [r for r in rows if r.get("conversation")]
    assert 8 <= len(asked) <= 32  # about half of 40
    assert any(not r["history"] for r in asked) and any(r["history"] for r in asked)
    new_users = [r for r in asked if not r["history"] and r["accepted"]]
    assert new_users, "a new user's request has the target's asked-for words to argue from"
    examples = {(e["user_id"], e["target"]): e for e in build_sft_examples(rows, scientific_catalog,
                                                                           smollm2_tokenizer, seed=SEED)}  # fmt: skip
    for row in new_users:
        example = examples[(row["user_id"], row["target"])]
        assert "The user has no history yet." in example["prompt"]
        assert f"User: {row['conversation'][0][1]}" in example["prompt"] and "asked:" in example["prompt"]
        assert "as you asked" in row["rationale"] or "you asked for" in row["rationale"].lower()


def test_follow_ups_teach_the_turn_after_a_dispute(
    tmp_path: Path, scientific_catalog: Any, smollm2_tokenizer: Any
) -> None:
    # A share of the request pairs is shown as the turn after an item dispute: the earlier answer's picks, the
    # dispute, the dispute line; the disputed picks are not among the candidates and the links read the request.
    from agent.prompts import DISPUTE_NOTE
    from training.annotate import annotate

    out = tmp_path / "ann.jsonl"
    teacher = EvidenceTeacher(scientific_catalog, smollm2_tokenizer, SEED, hard_negative_share=0.0,
                              request_share=1.0, follow_up_share=0.5)  # fmt: skip
    annotate(scientific_catalog, teacher, out, teacher_info=teacher.info(), seed=SEED, limit=40)
    rows = read_annotations(out, "scientific")
    follow_ups = [r for r in rows if r.get("dispute")]
    assert 8 <= len(follow_ups) <= 32  # about half of 40
    titles = {i.title[:60]: i.item_id for i in scientific_catalog.items.values()}
    for row in follow_ups:
        (r1, _), (r2, answer), (r3, message) = row["conversation"]
        assert (r1, r2, r3) == ("user", "assistant", "user") and row["dispute"] == message
        picks = [titles[t] for t in answer.removeprefix("I recommended: ").removesuffix(".").split("; ")]
        assert len(picks) == 3 and row["target"] not in picks
        ruled_out = {"first": picks[0], "second": picks[1], "third": picks[2]}
        for word, item in ruled_out.items():
            if f"the {word} one" in message:
                assert item not in row["candidates"], "a disputed pick is left out, as the graph leaves it out"
    examples = {(e["user_id"], e["target"]): e for e in build_sft_examples(rows, scientific_catalog,
                                                                           smollm2_tokenizer, seed=SEED)}  # fmt: skip
    accepted = [r for r in follow_ups if r["accepted"]]
    assert accepted
    for row in accepted:
        prompt = examples[(row["user_id"], row["target"])]["prompt"]
        assert DISPUTE_NOTE.format(what=row["dispute"]) in prompt and "Assistant: I recommended:" in prompt
        # The links are the request's words, not the dispute's ("own", "first", "wrong" are never asked for).
        assert not any(f'asked: "{w}"' in prompt for w in ("own", "first", "wrong", "like", "second"))


def test_a_synthetic_request_names_what_the_item_is(scientific_catalog: Any) -> None:
    from tools.catalog import Item
    from training.requests import synthetic_request

    caliper = Item(item_id="x", title="Neiko 01407A Electronic Digital Caliper with Extra Large LCD Screen",
                   text="", attributes={"brand": "Neiko"}, domain="scientific")  # fmt: skip
    texts = {synthetic_request(caliper, random.Random(seed)) for seed in range(30)}
    assert all(t is not None and "caliper" in t and "screen" not in t for t in texts)
    assert any("digital caliper" in str(t) for t in texts) and any("a caliper" in str(t) for t in texts)
    gloves = Item(item_id="g", title="Nitrile Gloves, Large, 100 Count", text="", attributes={}, domain="scientific")
    assert all("gloves" in str(synthetic_request(gloves, random.Random(s))) for s in range(10))
    assert all(" a gloves" not in str(synthetic_request(gloves, random.Random(s))) for s in range(10))
    maker = Item(item_id="d", title="DEWALT DW4524 4-1/2-Inch DEWALT", text="", attributes={"brand": "DEWALT"},
                 domain="scientific")  # fmt: skip
    assert synthetic_request(maker, random.Random(0)) is None
