"""Self-annotation (training/annotate.py, training/teacher.py): pairs, the filter, resuming, the card, the command.

A scripted fake teacher drives the filter and routing cases; the tiny random Llama (real tokenizer, real forward
passes, garbage text) runs the whole path once.
"""

from __future__ import annotations

import errno
import json
import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from agent.errors import ModelServerError
from agent.prompts import RATIONALE_PREFIX, render_teacher_prompt
from tests.retrievaldata import small_catalog
from tools.catalog import Dataset, Item, UserHistory
from tools.splits import is_eval_user
from training import annotate as ann
from training import teacher as teacher_mod
from training.annotate import (
    REASONS,
    AnnotationFileError,
    TeacherUnavailableError,
    annotate,
    annotate_command,
    card_paths,
    clean_rationale,
    judge,
    training_pairs,
)
from training.teacher import TeacherConfigError, load_teacher, teacher_settings

SEED = 2026

# Items of tests/retrievaldata.py
NEIKO = "B0002BBV4Q"  # Neiko 01407A Electronic Digital Caliper, Stainless Steel
FOWLER = "B001C4ZNT8"  # Fowler 52-008-706 Dial Caliper
MITUTOYO = "B000GSLKIW"  # Mitutoyo 500-196-30 ... Digital Caliper
STARRETT = "B0009XT6FC"  # Starrett 1202-6 Dial Caliper with Case
FLUKE = "B000FP8B8K"  # Fluke 115 Compact True-RMS Digital Multimeter
ASTRO = "B00C7LOR3Q"  # AstroAI Digital Multimeter
KIMWIPES = "B001QEBAE8"  # Kimberly-Clark Kimtech Science Kimwipes
PIPETTES = "B0030MIDY0"
BEAKER = "B00IHCNBAY"

GOOD = (
    "This user has bought digital and dial calipers for measuring. "
    "A digital caliper from the Test, Measure & Inspect category suits that measuring habit."
)
NAMES_TARGET = (
    "This user likes calipers, so the Mitutoyo 500-196-30 Advanced Onsite Sensor Absolute Scale caliper is right."
)
LOOPING = "- Neiko 01407A Electronic Digital Caliper\n" * 4
UNSUPPORTED = "This user loves waterproof titanium kayaks and camping hammocks for long outdoor trips."
ONLY_HISTORY = (
    "This user bought a Fowler dial caliper with a graduation range. "
    "They also own a Neiko electronic stainless steel caliper."
)


def grounded(target: Item) -> str:
    """A rationale the filter accepts for a history of calipers and any target of tests/retrievaldata.py."""
    return (
        "This user has bought digital and dial calipers for measuring. "
        f"A {target.attributes['brand']} product from {target.attributes['category']} continues that habit."
    )


class FakeTokenizer:
    """Renders a chat as plain "role: content" lines; enough for the teacher prompt."""

    def apply_chat_template(self, conversation: list[dict[str, str]], **kwargs: object) -> str:
        return "".join(f"<{m['role']}>\n{m['content']}\n" for m in conversation) + "<assistant>\n"

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [ord(ch) for ch in text]


class FakeTeacher:
    """Answers from a script keyed by the target item id (read back from the prompt); an exception is raised.

    `interrupt_after` raises KeyboardInterrupt on that call (1-based), as Ctrl-C in the middle of a run would.
    """

    name = "fake-teacher"

    def __init__(
        self,
        dataset: Dataset,
        script: Mapping[str, str | BaseException],
        default: str | BaseException | None = None,
        interrupt_after: int | None = None,
    ) -> None:
        self.tokenizer = FakeTokenizer()
        self.items = dataset.items
        self.titles = {item.title: item_id for item_id, item in dataset.items.items()}
        self.script = script
        self.default = default
        self.interrupt_after = interrupt_after
        self.calls: list[str] = []

    def target_of(self, prompt: str) -> str:
        chosen = prompt.split("The item the user chose next:", 1)[1]
        return next(item_id for title, item_id in self.titles.items() if f"- {title}" in chosen)

    def generate(
        self, prompt: str, max_tokens: int, stop: Sequence[str] = (), stream: bool = False, **decoding: Any
    ) -> Iterator[str]:
        target = self.target_of(prompt)
        self.calls.append(target)
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        answer = self.script.get(target, self.default)
        if answer is None:
            answer = grounded(self.items[target])
        if isinstance(answer, BaseException):
            raise answer
        return iter((answer,))

    def label_logprobs(self, prompt: str, labels: Sequence[str]) -> dict[str, float]:
        return dict.fromkeys(labels, -1.0)


def catalog_with(users: list[UserHistory]) -> Dataset:
    base = small_catalog()
    return Dataset(domain=base.domain, items=base.items, users=users)


def all_training(users: Sequence[UserHistory], seed: int) -> tuple[list[UserHistory], list[UserHistory]]:
    return list(users), []


@pytest.fixture
def no_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every user is a training user (the filter tests do not depend on the hash split)."""
    monkeypatch.setattr(ann, "split_users", all_training)


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def many_users(n: int) -> list[UserHistory]:
    targets = [MITUTOYO, STARRETT, FLUKE, ASTRO, KIMWIPES, PIPETTES, BEAKER]
    return [UserHistory(f"u{i:02d}", (NEIKO, FOWLER), valid=targets[i % len(targets)]) for i in range(n)]


# --- pairs ---------------------------------------------------------------------------------------------------------


def test_pairs_come_only_from_training_users_with_both_targets() -> None:
    users = [
        UserHistory(f"user{i}", (NEIKO, FOWLER), valid=MITUTOYO, test=STARRETT if i % 2 else None) for i in range(40)
    ]
    dataset = catalog_with(users)
    eval_ids = {u.user_id for u in users if is_eval_user(u.user_id, SEED)}
    assert eval_ids and len(eval_ids) < len(users)  # the split really holds users out here

    pairs = training_pairs(dataset, SEED)

    assert {p.user_id for p in pairs} == {u.user_id for u in users} - eval_ids
    by_user = {u.user_id: u for u in users}
    for pair in pairs:
        user = by_user[pair.user_id]
        if pair.target == MITUTOYO:
            assert pair.history == (NEIKO, FOWLER)
        else:
            assert pair.target == STARRETT and user.test == STARRETT
            assert pair.history == (NEIKO, FOWLER, MITUTOYO)  # history + valid
    expected = sum(1 + (u.test is not None) for u in users if u.user_id not in eval_ids)
    assert len(pairs) == expected
    assert pairs == training_pairs(dataset, SEED)  # deterministic
    in_dataset_order = [(u.user_id, t) for u in users if u.user_id not in eval_ids for t in (u.valid, u.test) if t]
    assert [(p.user_id, p.target) for p in pairs] != in_dataset_order  # shuffled, so --limit is a fair sample


def test_pairs_show_the_ten_most_recent_items_and_skip_empty_histories(no_split: None) -> None:
    ids = list(small_catalog().items)
    long_history = tuple(i for i in ids if i not in (MITUTOYO, STARRETT))[:14]
    users = [UserHistory("long", long_history, valid=MITUTOYO), UserHistory("empty", (), valid=STARRETT)]
    pairs = training_pairs(catalog_with(users), SEED)
    assert [(p.user_id, p.target) for p in pairs] == [("long", MITUTOYO)]
    assert pairs[0].history == long_history[-10:]


def test_annotate_writes_no_row_of_an_evaluation_user(tmp_path: Path) -> None:
    users = many_users(30)
    dataset = catalog_with(users)
    eval_ids = {u.user_id for u in users if is_eval_user(u.user_id, SEED)}
    assert eval_ids
    out = tmp_path / "ann.jsonl"
    teacher = FakeTeacher(dataset, {})
    annotate(dataset, teacher, out, seed=SEED)
    written = {row["user_id"] for row in read_rows(out)}
    assert written == {u.user_id for u in users} - eval_ids


# --- the filter ----------------------------------------------------------------------------------------------------


def test_judge_accepts_a_grounded_rationale_about_the_kind_of_item() -> None:
    items = small_catalog().items
    verdict = judge(GOOD, [items[NEIKO], items[FOWLER]], items[MITUTOYO])
    assert verdict.accepted and verdict.reason is None
    assert verdict.grounding == 1.0


@pytest.mark.parametrize(
    ("rationale", "target", "reason"),
    [
        ("", MITUTOYO, "empty"),
        ("  ...  \n", MITUTOYO, "empty"),
        (LOOPING, MITUTOYO, "degenerate"),
        (
            "A digital caliper for measuring, digital caliper for measuring, digital caliper for measuring.",
            MITUTOYO,
            "degenerate",
        ),
        ("This user likes calipers.", MITUTOYO, "degenerate"),  # too few content words
        (  # the same sentence twice, one word changed: a near-loop
            "This user bought a dial caliper and a digital caliper for measuring in Test, Measure & Inspect. "
            "This user bought a dial caliper and a digital caliper for measuring in Test, Measure and Inspect.",
            MITUTOYO,
            "degenerate",
        ),
        (NAMES_TARGET, MITUTOYO, "names_target"),
        (
            f"Item {MITUTOYO} is a digital caliper for precise measuring, like the dial caliper this user owns.",
            MITUTOYO,
            "names_target",
        ),
        (
            "This user owns dial calipers, and a Starrett 1202 caliper from Test, Measure & Inspect matches them.",
            STARRETT,
            "names_target",
        ),  # brand + model number
        (UNSUPPORTED, MITUTOYO, "unsupported"),
        (ONLY_HISTORY, KIMWIPES, "no_target_claim"),
    ],
)
def test_judge_rejects_with_the_first_reason_that_holds(rationale: str, target: str, reason: str) -> None:
    items = small_catalog().items
    verdict = judge(rationale, [items[NEIKO], items[FOWLER]], items[target])
    assert not verdict.accepted
    assert verdict.reason == reason


def test_brand_and_category_of_the_target_are_not_naming_it() -> None:
    items = small_catalog().items
    text = (
        "This user buys measuring tools such as dial and digital calipers. "
        "A Starrett dial caliper from Test, Measure & Inspect continues that habit."
    )
    assert judge(text, [items[NEIKO], items[FOWLER]], items[STARRETT]).accepted


def test_min_grounding_decides_between_accepted_and_unsupported() -> None:
    items = small_catalog().items
    half = GOOD + " " + UNSUPPORTED  # 2 of 3 claims supported
    history = [items[NEIKO], items[FOWLER]]
    assert judge(half, history, items[MITUTOYO], min_grounding=0.6).accepted
    strict = judge(half, history, items[MITUTOYO], min_grounding=0.9)
    assert (strict.reason, strict.grounding) == ("unsupported", pytest.approx(2 / 3))


def test_clean_rationale_drops_an_unfinished_last_sentence_and_a_stray_answer() -> None:
    assert clean_rationale("  One sentence here. And a second one that is cu") == "One sentence here."
    assert clean_rationale("No sentence ends here") == "No sentence ends here"
    assert clean_rationale("It fits. Answer: B") == "It fits."


# --- the run: routing of each reason, teacher errors, the card ---------------------------------------------------


def test_every_rejection_reason_is_written_and_counted_on_the_card(tmp_path: Path, no_split: None) -> None:
    script: dict[str, str | BaseException] = {
        MITUTOYO: GOOD,
        STARRETT: "Starrett 1202-6 Dial Caliper with Case is what this user with calipers wants next, clearly.",
        FLUKE: LOOPING,
        ASTRO: "",
        KIMWIPES: ModelServerError("the model server at http://gpu:8000/v1 does not answer"),
        PIPETTES: UNSUPPORTED,
        BEAKER: ONLY_HISTORY,
    }
    dataset = catalog_with(many_users(7))
    teacher = FakeTeacher(dataset, script)
    out = tmp_path / "ann.jsonl"

    card = annotate(dataset, teacher, out, seed=SEED, teacher_info={"name": "fake-teacher", "spec": "test"})

    rows = read_rows(out)
    reasons = {row["target"]: row["reason"] and row["reason"].split(":", 1)[0] for row in rows}
    assert reasons == {
        MITUTOYO: None,
        STARRETT: "names_target",
        FLUKE: "degenerate",
        ASTRO: "empty",
        KIMWIPES: "teacher_error",
        PIPETTES: "unsupported",
        BEAKER: "no_target_claim",
    }
    error_row = next(row for row in rows if row["target"] == KIMWIPES)
    assert error_row["reason"].startswith("teacher_error: ModelServerError: the model server")
    assert teacher.calls.count(KIMWIPES) == 2  # two attempts, then given up
    good = next(row for row in rows if row["accepted"])
    assert good["rationale"] == GOOD and good["grounding"] == 1.0
    assert good["history"] == [NEIKO, FOWLER] and good["teacher"] == "fake-teacher"
    assert good["prompt_version"] == ann.PROMPT_VERSION

    on_disk = json.loads(card_paths(out)[0].read_text())
    assert on_disk == card
    assert card["pairs"] == len(rows) == 7
    assert card["accepted"] == sum(row["accepted"] for row in rows) == 1
    assert card["rejected"] == 6
    assert card["rejected_by_reason"] == {reason: 0 for reason in REASONS} | {
        "names_target": 1,
        "degenerate": 1,
        "empty": 1,
        "teacher_error": 1,
        "unsupported": 1,
        "no_target_claim": 1,
    }
    assert card["users"] == 7 and card["users_accepted"] == 1
    assert card["mean_grounding_accepted"] == 1.0
    assert card["mean_rationale_words_accepted"] == len(GOOD.split())
    assert card["last_run"]["teacher"] == {"name": "fake-teacher", "spec": "test"}
    markdown = card_paths(out)[1].read_text()
    assert "| pairs | 7 |" in markdown and "| accepted | 1 (0.1429) |" in markdown
    assert "| no_target_claim | 1 |" in markdown and GOOD in markdown


def test_a_teacher_that_is_down_stops_the_run_after_ten_failures_in_a_row(tmp_path: Path, no_split: None) -> None:
    dataset = catalog_with(many_users(14))
    down = FakeTeacher(dataset, {}, default=ModelServerError("connection refused"))
    out = tmp_path / "ann.jsonl"

    with pytest.raises(TeacherUnavailableError, match="10 pairs in a row"):
        annotate(dataset, down, out, seed=SEED)

    rows = read_rows(out)
    assert len(rows) == 10 and all(row["reason"].startswith("teacher_error") for row in rows)
    assert len(down.calls) == 20  # 2 attempts for each of 10 pairs, none for the other 4
    assert json.loads(card_paths(out)[0].read_text())["rejected_by_reason"]["teacher_error"] == 10

    # The server is back: the failed pairs are asked again, each pair ends with exactly one row.
    up = FakeTeacher(dataset, {})
    card = annotate(dataset, up, out, seed=SEED)
    rows = read_rows(out)
    assert len(rows) == 14 and len(up.calls) == 14
    assert all(row["accepted"] for row in rows)
    assert card["rejected_by_reason"]["teacher_error"] == 0


def test_a_single_failure_does_not_stop_the_run(tmp_path: Path, no_split: None) -> None:
    dataset = catalog_with(many_users(14))
    # Only Kimwipes targets fail: at most 2 of the 14 pairs, never 10 in a row.
    teacher = FakeTeacher(dataset, {KIMWIPES: RuntimeError("CUDA out of memory")})
    annotate(dataset, teacher, tmp_path / "ann.jsonl", seed=SEED)
    rows = read_rows(tmp_path / "ann.jsonl")
    assert len(rows) == 14
    assert Counter(row["reason"] is None for row in rows) == {True: 12, False: 2}


# --- resuming ------------------------------------------------------------------------------------------------------


def test_resume_after_an_interruption_gives_one_row_per_pair(tmp_path: Path, no_split: None) -> None:
    dataset = catalog_with(many_users(12))
    out = tmp_path / "ann.jsonl"
    interrupted = FakeTeacher(dataset, {}, interrupt_after=5)

    with pytest.raises(KeyboardInterrupt):
        annotate(dataset, interrupted, out, seed=SEED, limit=9)

    assert len(read_rows(out)) == 4
    assert json.loads(card_paths(out)[0].read_text())["pairs"] == 4  # the card describes what the file holds

    resumed = FakeTeacher(dataset, {})
    annotate(dataset, resumed, out, seed=SEED, limit=9)
    rows = read_rows(out)
    keys = [(row["user_id"], row["target"]) for row in rows]
    assert len(keys) == len(set(keys)) == 9
    assert len(resumed.calls) == 5  # only the pairs not written before
    expected = [(p.user_id, p.target) for p in training_pairs(dataset, SEED)[:9]]
    assert keys == expected

    # A larger limit extends the same sample.
    annotate(dataset, FakeTeacher(dataset, {}), out, seed=SEED, limit=12)
    assert [(row["user_id"], row["target"]) for row in read_rows(out)][:9] == expected
    assert len(read_rows(out)) == 12


def test_a_last_line_cut_in_half_is_dropped_and_its_pair_asked_again(
    tmp_path: Path, no_split: None, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = catalog_with(many_users(6))
    out = tmp_path / "ann.jsonl"
    annotate(dataset, FakeTeacher(dataset, {}), out, seed=SEED)
    data = out.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    cut = data[: last_start + (len(data) - last_start) // 2]
    out.write_bytes(cut)
    with pytest.raises(json.JSONDecodeError):
        read_rows(out)

    again = FakeTeacher(dataset, {})
    with caplog.at_level(logging.WARNING, logger="training.annotate"):
        card = annotate(dataset, again, out, seed=SEED)

    assert "cut short by an interrupted run" in caplog.text
    rows = read_rows(out)
    assert len(rows) == 6 and len({(r["user_id"], r["target"]) for r in rows}) == 6
    assert len(again.calls) == 1
    assert card["pairs"] == 6


def test_a_corrupt_row_in_the_middle_is_an_error_and_the_file_is_left_alone(tmp_path: Path, no_split: None) -> None:
    dataset = catalog_with(many_users(4))
    out = tmp_path / "ann.jsonl"
    annotate(dataset, FakeTeacher(dataset, {}), out, seed=SEED)
    lines = out.read_text().splitlines()
    lines[1] = lines[1][:20]
    out.write_text("\n".join(lines) + "\n")
    before = out.read_bytes()

    teacher = FakeTeacher(dataset, {})
    with pytest.raises(AnnotationFileError, match="line 2 is not a JSON row"):
        annotate(dataset, teacher, out, seed=SEED)
    assert out.read_bytes() == before and teacher.calls == []


def test_a_file_of_another_domain_is_refused(tmp_path: Path, no_split: None) -> None:
    dataset = catalog_with(many_users(2))
    out = tmp_path / "ann.jsonl"
    out.write_text(json.dumps({"domain": "clothing", "user_id": "x", "target": "y", "accepted": True, "reason": None}))
    out.write_text(out.read_text() + "\n")
    with pytest.raises(AnnotationFileError, match="'clothing' domain"):
        annotate(dataset, FakeTeacher(dataset, {}), out, seed=SEED)


def test_a_full_disk_is_a_clear_error_and_keeps_the_rows_before_it(
    tmp_path: Path, no_split: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = catalog_with(many_users(6))
    out = tmp_path / "ann.jsonl"
    real_append = ann._append
    appended: list[int] = []

    def append_until_full(path: Path, row: dict[str, Any]) -> None:
        if len(appended) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        appended.append(1)
        real_append(path, row)

    monkeypatch.setattr(ann, "_append", append_until_full)
    with pytest.raises(AnnotationFileError, match=r"disk full.*3 rows written before are kept"):
        annotate(dataset, FakeTeacher(dataset, {}), out, seed=SEED)
    assert len(read_rows(out)) == 3


# --- the teacher settings ------------------------------------------------------------------------------------------


def test_a_teacher_file_with_an_unknown_key_fails_before_any_model_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_loading(*args: object) -> None:
        raise AssertionError("no model may be loaded for a bad teacher file")

    monkeypatch.setattr(teacher_mod, "load_recommender", no_loading)
    path = tmp_path / "teacher.yaml"
    path.write_text("model_backend: openai\nopenai_url: http://gpu:8000/v1\n")
    with pytest.raises(TeacherConfigError, match=r"unknown teacher setting.*openai_url"):
        load_teacher(str(path))

    path.write_text("model_backend: vllm\n")
    with pytest.raises(TeacherConfigError, match="invalid teacher setting model_backend"):
        load_teacher(str(path))

    path.write_text("- model_backend\n")
    with pytest.raises(TeacherConfigError, match="must hold a mapping"):
        load_teacher(str(path))

    with pytest.raises(TeacherConfigError, match="neither 'default' nor an existing"):
        load_teacher(str(tmp_path / "missing.yaml"))


def test_a_teacher_file_sets_model_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMREC_OPENAI_API_KEY", "from-the-environment")
    path = tmp_path / "teacher.json"
    path.write_text(
        json.dumps(
            {"model_backend": "openai", "openai_base_url": "http://gpu:8000/v1", "openai_model": "Qwen/Qwen2.5-7B"}
        )
    )
    settings = teacher_settings(str(path))
    assert (settings.model_backend, settings.openai_base_url, settings.openai_model) == (
        "openai",
        "http://gpu:8000/v1",
        "Qwen/Qwen2.5-7B",
    )
    assert settings.openai_api_key.get_secret_value() == "from-the-environment"
    described = teacher_mod.describe_teacher(settings, str(path))
    assert "openai_api_key" not in described["settings"]
    assert "from-the-environment" not in json.dumps(described)
    assert teacher_settings("default").model_backend == "local"


def test_the_command_reports_a_bad_teacher_file_in_one_line_before_loading_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dataset(*args: object) -> None:
        raise AssertionError("the dataset must not be loaded for a bad teacher file")

    monkeypatch.setattr(ann, "load_dataset", no_dataset)
    path = tmp_path / "teacher.yaml"
    path.write_text("temperature: 0.7\n")
    result = CliRunner().invoke(
        command_app(), ["--domain", "scientific", "--teacher", str(path), "--out", str(tmp_path / "a.jsonl")]
    )
    assert result.exit_code == 2, result.output
    assert "unknown teacher setting(s) temperature" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "a.jsonl").exists()


def command_app() -> typer.Typer:
    app = typer.Typer()
    app.command()(annotate_command)
    return app


def test_the_command_annotates_and_summarises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_split: None) -> None:
    dataset = catalog_with(many_users(5))
    teacher = FakeTeacher(dataset, {FLUKE: LOOPING})
    monkeypatch.setattr(ann, "load_dataset", lambda domain, settings: dataset)
    monkeypatch.setattr(ann, "load_teacher", lambda spec: (teacher, {"spec": spec, "name": teacher.name}))
    out = tmp_path / "runs" / "ann.jsonl"
    result = CliRunner().invoke(
        command_app(),
        ["--domain", "scientific", "--teacher", "default", "--out", str(out), "--limit", "4", "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    assert "4 pairs" in result.output and "3 accepted, 1 rejected (degenerate 1)" in result.output
    assert len(read_rows(out)) == 4
    assert all(path.exists() for path in card_paths(out))


# --- the prompt and the real model path ----------------------------------------------------------------------------


def test_teacher_prompt_lists_history_and_target_and_ends_like_the_serving_prompt(tiny_llm: Any) -> None:
    items = small_catalog().items
    history = [items[i] for i in list(items)[:12] if i != MITUTOYO]
    prompt = render_teacher_prompt(tiny_llm.tokenizer, history, items[MITUTOYO])
    assert prompt.endswith("<|im_start|>assistant\n" + RATIONALE_PREFIX)
    chosen = prompt.split("The item the user chose next:", 1)[1]
    assert items[MITUTOYO].title in chosen and "brand: Mitutoyo" in chosen
    shown = [item for item in history if item.title[:60] in prompt]
    assert shown == history[-10:]  # the 10 most recent only
    assert "Do not write the item's title" in prompt


def test_tiny_llm_end_to_end_writes_judged_rows(tiny_llm: Any, tmp_path: Path, no_split: None) -> None:
    dataset = catalog_with(many_users(3))
    out = tmp_path / "ann.jsonl"
    card = annotate(dataset, tiny_llm, out, seed=SEED, max_tokens=12)
    rows = read_rows(out)
    assert len(rows) == 3
    for row in rows:
        assert row["teacher"] == "tiny-llama"
        assert isinstance(row["rationale"], str)
        assert row["accepted"] or row["reason"] in REASONS  # garbage text: judged, not crashed
    assert card["pairs"] == 3 and card["accepted"] + card["rejected"] == 3


# --- claim-level salvage ---------------------------------------------------------------------------------------------


def test_salvage_keeps_supported_claims_that_do_not_name_the_target() -> None:
    items = small_catalog().items
    history = [items[NEIKO], items[FOWLER]]
    text = GOOD + " " + UNSUPPORTED + " " + UNSUPPORTED + " " + NAMES_TARGET
    assert judge(text, history, items[MITUTOYO]).reason == "names_target"
    kept = ann.salvage(text, history, items[MITUTOYO])
    assert kept == GOOD, "the invented kayak claims and the one naming the target are dropped, the rest kept once"
    assert judge(kept, history, items[MITUTOYO]).accepted


def test_salvaged_rows_keep_the_teacher_text_and_are_counted(tmp_path: Path, no_split: None) -> None:
    noisy = GOOD + " " + UNSUPPORTED + " " + UNSUPPORTED
    dataset = catalog_with(many_users(1))
    target = training_pairs(dataset, SEED)[0].target
    out = tmp_path / "ann.jsonl"
    card = annotate(dataset, FakeTeacher(dataset, {target: noisy}), out, seed=SEED, limit=1)
    row = read_rows(out)[0]
    assert target == MITUTOYO
    assert row["accepted"] and row["rationale"] == GOOD and row["salvaged_from"] == noisy
    assert card["accepted_salvaged"] == 1
    off = tmp_path / "off.jsonl"
    annotate(dataset, FakeTeacher(dataset, {target: noisy}), off, seed=SEED, limit=1, salvage_claims=False)
    assert not read_rows(off)[0]["accepted"] and read_rows(off)[0]["salvaged_from"] is None
