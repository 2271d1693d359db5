"""SFT: examples rendered as serving renders them, loss on the completion only, LoRA training, resume, refusals."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
import typer
import yaml
from typer.testing import CliRunner

from agent.evidence import links_for
from agent.local_backend import ADAPTER_META, model_fingerprint
from agent.prompts import LABELS, RecRequest, render_prompt
from tools.cooccur import CoOccurrence
from tools.datasets import load_dataset
from tools.splits import is_eval_user
from training import sft
from training.config import ConfigError, SFTConfig, load_config, parse_config
from training.sft_data import (
    IGNORE_INDEX,
    SFTDataError,
    build_sft_examples,
    data_hash,
    read_annotations,
    sample_candidates,
    split_by_user,
    tokenize_example,
)

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "training" / "configs" / "tiny.yaml"
SAMPLE = ROOT / "training" / "data" / "scientific_sample.jsonl"
SEED = 2026


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return read_annotations([SAMPLE])


@pytest.fixture(scope="module")
def scientific() -> Any:
    return load_dataset("scientific")


def tiny_config(out: Path, annotations: Path = SAMPLE, *extra: str) -> SFTConfig:
    """The shipped tiny recipe, made smaller and faster for a unit test (5 candidates, short context)."""
    overrides = [
        f"output_dir={out}",
        f"data.annotations=[{annotations}]",
        "data.num_negatives=4",
        "max_length=768",
        "max_steps=3",
        "logging_steps=1",
        *extra,
    ]
    return load_config(TINY, overrides)


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --- examples ------------------------------------------------------------------------------------------------------


def test_sft_text_is_byte_identical_to_serving(rows: Any, scientific: Any, tokenizer: Any) -> None:
    examples = build_sft_examples(rows, scientific, tokenizer, seed=SEED)
    accepted = [r for r in rows if r["accepted"]]
    cooccur = CoOccurrence.of(scientific)  # the links' counts, as the agent computes them
    assert len(examples) == len(accepted) == 40  # the 4 rejected rows are left out
    for row, ex in zip(accepted, examples, strict=True):
        history = [scientific.items[i] for i in row["history"]]
        candidates = [scientific.items[i] for i in ex["candidate_ids"]]
        links = links_for(candidates, history, request_text="", catalog=scientific.items, cooccur=cooccur)
        request = RecRequest(history=history, candidates=candidates, domain="scientific", links=links)
        served = render_prompt(tokenizer, request, context_tokens=2048, reserve_tokens=96)
        label = served.label_of(row["target"])
        # What the agent reads labels after (ranking) and what the model is trained to write, byte for byte.
        assert served.with_rationale(row["rationale"]) + " " + label == ex["prompt"] + ex["completion"]
        assert ex["prompt"] == served.text
        assert ex["completion"].endswith(f"\nAnswer: {label}") and ex["label"] == label
        assert ex["user_id"] == row["user_id"] and ex["target"] == row["target"]


def test_candidates_are_unseen_items_seeded_and_the_label_uniform(rows: Any, scientific: Any, tokenizer: Any) -> None:
    users = {u.user_id: u for u in scientific.users}
    examples = build_sft_examples(rows, scientific, tokenizer, seed=SEED)
    for row, ex in zip([r for r in rows if r["accepted"]], examples, strict=True):
        seen = set(users[row["user_id"]].all_items) | set(row["history"])
        negatives = [c for c in ex["candidate_ids"] if c != row["target"]]
        assert len(ex["candidate_ids"]) == 20 and len(set(ex["candidate_ids"])) == 20
        assert row["target"] in ex["candidate_ids"] and not seen & set(negatives)
    again = build_sft_examples(rows, scientific, tokenizer, seed=SEED)
    assert [e["prompt"] for e in again] == [e["prompt"] for e in examples]
    other = build_sft_examples(rows, scientific, tokenizer, seed=SEED + 1)
    assert data_hash(other) != data_hash(examples)

    positions: Counter[int] = Counter()
    for n in range(4000):
        candidates = sample_candidates(scientific, set(), "B00TNNWMXI", seed=SEED, user_id=f"u{n}", num_negatives=19)
        positions[candidates.index("B00TNNWMXI")] += 1
    # 200 expected per position; a binomial(4000, 0.05) stays within 200 +- 60 (4.4 sd) in practice.
    assert sorted(positions) == list(range(20)) and all(140 <= c <= 260 for c in positions.values()), positions


def test_loss_mask_covers_exactly_the_completion(rows: Any, scientific: Any, tokenizer: Any) -> None:
    ex = build_sft_examples(rows[:1], scientific, tokenizer, seed=SEED)[0]
    tokens = tokenize_example(tokenizer, ex["prompt"], ex["completion"])
    ids, labels = tokens["input_ids"], tokens["labels"]
    assert ids == tokenizer.encode(ex["prompt"] + ex["completion"], add_special_tokens=False)
    n_prompt = len(tokenizer.encode(ex["prompt"], add_special_tokens=False))
    assert labels[:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert labels[n_prompt:] == ids[n_prompt:] and IGNORE_INDEX not in labels[n_prompt:]
    assert tokenizer.decode(ids[n_prompt:]) == ex["completion"]
    # The last trained token is the answer label, exactly as ranking reads it after "Answer:".
    assert tokenizer.decode(labels[-1:]) == " " + ex["label"]


def test_padded_batch_loss_equals_the_loss_of_each_example_alone(
    rows: Any, scientific: Any, tokenizer: Any, smollm2_dir: Path
) -> None:
    from training.tiny_model import build_tiny_llama

    model, _ = build_tiny_llama(smollm2_dir)
    examples = build_sft_examples(rows[:3], scientific, tokenizer, seed=SEED, num_negatives=4, context_tokens=768)
    tokens = [tokenize_example(tokenizer, e["prompt"], e["completion"]) for e in examples]
    assert len({len(t["input_ids"]) for t in tokens}) > 1  # uneven lengths, so padding happens
    batch = sft.collate(tokenizer.pad_token_id)(tokens)
    labels = batch.pop("labels")
    with torch.no_grad():
        out = model(**batch)
        assert out.logits.shape[1] == batch["logits_to_keep"] < labels.shape[1]  # the prompt's logits are skipped
        batched = float(sft.completion_loss(out, labels))
        total = count = 0.0
        for t in tokens:
            alone = model(input_ids=torch.tensor([t["input_ids"]]), labels=torch.tensor([t["labels"]]))
            n = sum(x != IGNORE_INDEX for x in t["labels"])
            total, count = total + float(alone.loss) * n, count + n
    assert batched == pytest.approx(total / count, abs=1e-5)


@pytest.fixture(scope="module")
def scientific_bm25(scientific: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real BM25 index of the scientific catalog (the hybrid retriever's lexical half; seconds to build)."""
    from tools.search import open_bm25
    from tools.settings import RetrievalSettings

    return open_bm25(scientific, RetrievalSettings(data_dir=tmp_path_factory.mktemp("bm25")), progress=False)


def test_hard_negatives_are_the_retrievers_top_with_the_target_put_in(
    rows: Any, scientific: Any, tokenizer: Any, scientific_bm25: Any
) -> None:
    from tools.hard_negatives import history_query

    users = {u.user_id: u for u in scientific.users}
    accepted = [r for r in rows if r["accepted"]]
    stats: list[Any] = []
    hard = build_sft_examples(
        rows, scientific, tokenizer, seed=SEED, hard_negative_share=1.0, retriever=scientific_bm25, stats=stats
    )
    found = 0
    for row, ex in zip(accepted, hard, strict=True):
        own = set(users[row["user_id"]].all_items) | set(row["history"])
        top = scientific_bm25.search(
            history_query(row["history"], scientific.items), 20, exclude=own - {row["target"]}
        ).item_ids
        candidates = ex["candidate_ids"]
        assert len(candidates) == 20 and row["target"] in candidates and not (own - {row["target"]}) & set(candidates)
        if row["target"] in top:
            found += 1
            assert sorted(candidates) == sorted(top)
        else:  # the 20th hit made room for the target
            assert sorted(candidates) == sorted([*top[:19], row["target"]])
        assert candidates != [*top[:19], row["target"]]  # shuffled: retrieval order would name the target
    assert stats[0].hard_negatives == len(accepted) and stats[0].retriever_found == found
    # Hard negatives are harder: they match the history as BM25 sees it, random catalog items mostly do not.
    easy = build_sft_examples(rows, scientific, tokenizer, seed=SEED)

    def negative_score(ex: dict[str, Any]) -> float:
        negatives = [c for c in ex["candidate_ids"] if c != ex["target"]]
        query = history_query(next(r["history"] for r in accepted if r["target"] == ex["target"]), scientific.items)
        return float(scientific_bm25.score_candidates(query, negatives).mean())

    assert sum(map(negative_score, hard)) > 3 * sum(map(negative_score, easy))


def test_found_only_hard_negatives_keep_uniform_candidates_where_the_retriever_missed(
    rows: Any, scientific: Any, tokenizer: Any, scientific_bm25: Any
) -> None:
    put_in_stats: list[Any] = []
    put_in = build_sft_examples(
        rows, scientific, tokenizer, seed=SEED, hard_negative_share=1.0, retriever=scientific_bm25, stats=put_in_stats
    )
    stats: list[Any] = []
    found = build_sft_examples(
        rows,
        scientific,
        tokenizer,
        seed=SEED,
        hard_negative_share=1.0,
        retriever=scientific_bm25,
        found_only=True,
        stats=stats,
    )
    uniform = build_sft_examples(rows, scientific, tokenizer, seed=SEED)
    assert stats[0].hard_negatives == stats[0].retriever_found == put_in_stats[0].retriever_found
    assert 0 < stats[0].hard_negatives < len(found)  # the sample has both kinds
    for ex, hard, easy in zip(found, put_in, uniform, strict=True):
        # a found pair keeps the retriever's 20 (the target among them by merit), a missed one its uniform 20
        assert ex["candidate_ids"] in (hard["candidate_ids"], easy["candidate_ids"])
    assert sum(ex["candidate_ids"] == hard["candidate_ids"] for ex, hard in zip(found, put_in, strict=True)) == (
        stats[0].hard_negatives
    )


def test_hard_negative_share_is_a_seeded_coin_that_leaves_uniform_examples_alone(
    rows: Any, scientific: Any, tokenizer: Any, scientific_bm25: Any
) -> None:
    from training.sft_data import wants_hard_negatives

    uniform = build_sft_examples(rows, scientific, tokenizer, seed=SEED)
    none = build_sft_examples(
        rows, scientific, tokenizer, seed=SEED, hard_negative_share=0.0, retriever=scientific_bm25
    )
    assert data_hash(none) == data_hash(uniform)  # share 0: older recipes keep their data hash
    stats: list[Any] = []
    half = build_sft_examples(
        rows, scientific, tokenizer, seed=SEED, hard_negative_share=0.5, retriever=scientific_bm25, stats=stats
    )
    coins = [wants_hard_negatives(SEED, e["user_id"], e["target"], 0.5) for e in half]
    assert stats[0].hard_negatives == sum(coins)
    for ex, base, coin in zip(half, uniform, coins, strict=True):
        assert (ex["prompt"] == base["prompt"]) != coin  # the uniform half is byte-identical to share 0
    picked = sum(wants_hard_negatives(SEED, f"u{n}", "t", 0.3) for n in range(4000))
    assert 1080 <= picked <= 1320  # binomial(4000, 0.3): 1200 +- 4.1 sd
    with pytest.raises(ValueError, match="retriever"):
        build_sft_examples(rows, scientific, tokenizer, seed=SEED, hard_negative_share=0.5)


def test_answer_weight_counts_the_answer_label_that_many_times() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 11)
    labels = torch.full((2, 7), IGNORE_INDEX)
    labels[0, 3:7] = torch.tensor([1, 2, 3, 4])  # answer 4 at the end
    labels[1, 4:6] = torch.tensor([5, 6])  # right padding after the answer 6
    out = type("Out", (), {"logits": logits})()
    targets = labels[:, 2:]  # logits cover the last 6 positions; position t predicts t + 1
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, 11), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="none"
    ).view(2, 5)
    plain = ce.sum() / 6
    assert float(sft.completion_loss(out, labels)) == pytest.approx(float(plain), rel=1e-6)
    answers = ce[0, 4] + ce[1, 3]
    weighted = float(sft.completion_loss_fn(5.0)(out, labels))
    assert weighted == pytest.approx(float((ce.sum() + 4 * answers) / 6), rel=1e-6)
    assert float(sft.completion_loss_fn(5.0)(out, labels, num_items_in_batch=12)) == pytest.approx(weighted / 2)


def test_split_keeps_every_user_on_one_side() -> None:
    examples = [{"user_id": f"u{i % 30}", "prompt": str(i), "completion": ""} for i in range(90)]
    train, val = split_by_user(examples, val_share=0.2, seed=SEED)
    train_users, val_users = {e["user_id"] for e in train}, {e["user_id"] for e in val}
    assert not train_users & val_users and len(val_users) == 6 and len(train) + len(val) == 90
    assert split_by_user(examples, val_share=0.2, seed=SEED) == (train, val)
    assert split_by_user(examples, val_share=0.0, seed=SEED) == (examples, [])
    two_users = [e for e in examples if e["user_id"] in ("u1", "u2")]
    train, val = split_by_user(two_users, val_share=0.9, seed=SEED)
    assert len({e["user_id"] for e in train}) == len({e["user_id"] for e in val}) == 1


def test_an_evaluation_users_row_is_refused(rows: Any, scientific: Any, tokenizer: Any) -> None:
    assert not any(is_eval_user(r["user_id"], SEED) for r in rows)  # the shipped sample is training users only
    user = next(u for u in scientific.users if is_eval_user(u.user_id, SEED) and u.valid not in u.history)
    leak = dict(rows[0], user_id=user.user_id, history=list(user.history), target=user.valid)
    with pytest.raises(SFTDataError, match="evaluation users"):
        build_sft_examples([*rows, leak], scientific, tokenizer, seed=SEED, split_seed=SEED)
    # Rejected rows are checked too: an evaluation user should never have been annotated.
    with pytest.raises(SFTDataError, match=user.user_id):
        build_sft_examples([dict(leak, accepted=False)], scientific, tokenizer, seed=SEED, split_seed=SEED)
    # The split seed is the project's (LLMREC_SEED), not the recipe's: another training seed changes nothing.
    with pytest.raises(SFTDataError, match="evaluation users"):
        build_sft_examples([leak], scientific, tokenizer, seed=SEED + 1, split_seed=SEED)


def test_rows_of_unknown_items_or_another_domain_are_refused(rows: Any, scientific: Any, tokenizer: Any) -> None:
    with pytest.raises(SFTDataError, match="not in the scientific catalog"):
        build_sft_examples([dict(rows[0], target="NOT-AN-ITEM")], scientific, tokenizer, seed=SEED)
    with pytest.raises(SFTDataError, match="clothing"):
        build_sft_examples([dict(rows[0], domain="clothing")], scientific, tokenizer, seed=SEED)


# --- the recipe ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("lr=0.001", "lr: unknown key (did you mean learning_rate?)"),
        ("learning_rate=0", "learning_rate: Input should be greater than 0"),
        ("learning_rate=-1e-4", "learning_rate: Input should be greater than 0"),
        ("lora.rank=8", "lora.rank: unknown key"),
        ("max_steps=null", "give epochs or max_steps"),
        ("data.annotations=[/no/such/file.jsonl]", "/no/such/file.jsonl does not exist"),
        ("base_model=./no-such-model", "base_model:"),
        ("data.domains=[books]", "unknown domain 'books'"),
        ("batch_size=0", "batch_size: Input should be greater than or equal to 1"),
    ],
)
def test_an_impossible_recipe_is_refused_naming_the_key(override: str, named: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid SFT config") as err:
        load_config(TINY, [f"data.annotations=[{SAMPLE}]", f"output_dir={tmp_path}", override])
    assert named in str(err.value)


def test_the_shipped_recipes_are_valid(tmp_path: Path) -> None:
    for name in ("tiny", "cpu-default", "gpu"):
        raw = yaml.safe_load((ROOT / "training" / "configs" / f"{name}.yaml").read_text())
        raw["data"]["annotations"] = [str(SAMPLE)]  # the real annotation files are made by `train annotate`
        config = parse_config(raw, name)
        assert config.output_dir.parts[0] == "runs"
    for name in ("llmrec-135m", "gpu-smollm2", "cpu-evidence", "gpu-evidence", "cpu-dialog"):  # shipped data
        config = load_config(ROOT / "training" / "configs" / f"{name}.yaml", [])
        assert all(path.is_file() for path in config.data.annotations)


def test_the_shipped_annotations_hold_training_users_only() -> None:
    paths = sorted((ROOT / "training" / "data" / "annotations").glob("*.jsonl.gz"))
    rows = read_annotations(paths)
    assert {r["domain"] for r in rows} == {"scientific", "clothing"} and sum(r["accepted"] for r in rows) > 4000
    assert not any(is_eval_user(str(r["user_id"]), SEED) for r in rows)
    evidence = [r for r in rows if r["teacher"] == "evidence-writer-1"]
    # 2,000 drawn per domain for stage 1 (--limit 2000), 1,500 per domain for the dialog rows of stage 2
    assert len(evidence) == 2 * 2000 + 2 * 1500 and all(r["target"] in r["candidates"] for r in evidence)
    follow_ups = [r for r in evidence if r.get("dispute")]
    assert all(len(r["conversation"]) == 3 and r["conversation"][-1][1] == r["dispute"] for r in follow_ups)
    assert 1000 < len(follow_ups) < 2000  # half of 3,000 requests (--follow-up-share 0.5), less the undrawable


def test_a_bad_recipe_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_work(*args: object) -> None:
        raise AssertionError("training started despite an invalid config")

    monkeypatch.setattr(sft, "load_base", no_work)
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text() + "learning_rat: 0.1\n")
    app = typer.Typer()
    app.command()(sft.sft_command)
    result = CliRunner().invoke(app, ["--config", str(bad), "--set", f"output_dir={tmp_path / 'out'}"])
    assert result.exit_code == 2
    assert "learning_rat: unknown key (did you mean learning_rate?)" in result.output
    assert sft.main(["--config", str(bad)]) == 2
    assert not (tmp_path / "out").exists()


# --- training ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> sft.SFTResult:
    return sft.train(tiny_config(tmp_path_factory.mktemp("tiny") / "run"))


def test_tiny_recipe_trains_lora_and_leaves_the_base_alone(tiny_run: sft.SFTResult) -> None:
    from transformers import AutoModelForCausalLM

    out = tiny_run.output_dir
    base = AutoModelForCausalLM.from_pretrained(str(out / sft.TINY_BASE_DIR))
    trained = dict(tiny_run.model.named_parameters())
    lora_b = [v for k, v in trained.items() if "lora_B" in k]
    assert len(lora_b) == 2 * 4 + 1  # q, k, v, o in 2 layers, and lm_head
    assert all(v.abs().max() > 0 for v in lora_b)  # peft starts B at zero: nonzero means trained
    assert all(v.requires_grad for k, v in trained.items() if "lora_" in k)
    frozen = {
        k.removeprefix("base_model.model.").replace(".base_layer", ""): v
        for k, v in trained.items()
        if "lora_" not in k
    }
    assert frozen.keys() == dict(base.named_parameters()).keys()
    for name, weight in base.named_parameters():
        assert torch.equal(frozen[name].detach(), weight.detach()), name
        assert not frozen[name].requires_grad

    run = json.loads((out / sft.RUN_FILE).read_text())
    assert run["global_step"] == 3 and run["final_train_loss"] > 0 and run["final_val_loss"] > 0
    assert run["counts"]["examples"] == 40 and run["counts"]["train"] + run["counts"]["val"] == 40
    assert run["data_hash"] == tiny_run.run["data_hash"] and len(run["data_hash"]) == 64
    assert run["config"]["learning_rate"] == 5e-3 and run["versions"]["peft"]
    assert (out / "loss.png").stat().st_size > 1000
    meta = json.loads((tiny_run.adapter_dir / ADAPTER_META).read_text())
    assert meta["base_fingerprint"] == model_fingerprint(base.config)
    assert meta["base_model"] == str((out / sft.TINY_BASE_DIR).resolve()) and meta["labels"] == list(LABELS)
    assert (tiny_run.adapter_dir / "adapter_model.safetensors").is_file()


def test_loss_falls_on_a_memorised_batch(rows: Any, tmp_path: Path) -> None:
    two = write_rows(tmp_path / "two.jsonl", [r for r in rows if r["accepted"]][:2])
    steps = ("max_steps=20", "max_length=512", "learning_rate=0.01", "lr_scheduler=constant", "data.val_share=0")
    config = tiny_config(tmp_path / "run", two, *steps)
    result = sft.train(config)
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    assert len(losses) == 20
    # From ln(49152) = 10.8 (a random model) to about 3.9 in 20 steps: far enough to rule out noise, and a rank-8
    # lm_head update cannot memorise 88 completion tokens much further.
    assert losses[0] > 10 and losses[-1] < 0.5 * losses[0], losses
    assert result.run["counts"]["val"] == 0 and result.run["final_val_loss"] is None


def test_a_rerun_resumes_from_the_last_checkpoint(rows: Any, tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = sft.train(tiny_config(out, SAMPLE, "max_steps=2", "save_steps=2"))
    assert first.run["resumed_from"] is None and (out / "checkpoints" / "checkpoint-2").is_dir()
    second = sft.train(tiny_config(out, SAMPLE, "max_steps=4", "save_steps=2"))
    assert second.run["resumed_from"] == "checkpoint-2" and second.run["global_step"] == 4
    steps = [h["step"] for h in json.loads((out / sft.RUN_FILE).read_text())["loss_log"] if "loss" in h]
    assert steps == [1, 2, 3, 4]  # steps 1-2 restored from the checkpoint, 3-4 trained now

    with pytest.raises(ConfigError, match="resume is false"):
        sft.train(tiny_config(out, SAMPLE, "max_steps=6", "resume=false"))
    other = write_rows(tmp_path / "other.jsonl", rows[:10])
    with pytest.raises(ConfigError, match="other data_hash"):
        sft.train(tiny_config(out, other, "max_steps=6"))


def test_a_second_stage_starts_from_a_trained_adapter(tiny_run: sft.SFTResult, tmp_path: Path) -> None:
    # init_adapter: the LoRA weights start where the first run ended (not at peft's zero B), then train on.
    from safetensors.torch import load_file

    lora = tiny_config(tmp_path / "x").lora.model_dump()
    start = f"init_adapter={tiny_run.adapter_dir}"
    stage2 = sft.train(tiny_config(tmp_path / "stage2", SAMPLE, "max_steps=1", "learning_rate=1e-9", start))
    before = load_file(str(tiny_run.adapter_dir / "adapter_model.safetensors"))
    after = load_file(str(stage2.adapter_dir / "adapter_model.safetensors"))
    assert before.keys() == after.keys()
    lora_b = [k for k in before if "lora_B" in k]
    assert lora_b and all(after[k].abs().max() > 0 for k in lora_b)  # a fresh adapter's B is all zeros
    assert all(torch.allclose(before[k], after[k], atol=1e-5) for k in before)  # lr 1e-9: it stayed put
    assert json.loads((stage2.adapter_dir / ADAPTER_META).read_text())["init_adapter"] == str(tiny_run.adapter_dir)
    # A stage-1 adapter of another shape is refused before any step.
    with pytest.raises(ConfigError, match="init_adapter"):
        sft.train(tiny_config(tmp_path / "bad", SAMPLE, f"lora.r={lora['r'] * 2}", start))
    with pytest.raises(ConfigError, match=r"no adapter_config\.json"):
        tiny_config(tmp_path / "none", SAMPLE, f"init_adapter={tmp_path}")


def test_a_diverging_run_stops_at_the_first_nan_and_saves_no_adapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real Trainer and tiny model; only the loss turns NaN from the third step on, as bf16 at batch 16 did on
    # an H200 (the Trainer then logged "loss 0" for 330 steps and saved an adapter of NaNs).
    calls = {"n": 0}
    real_loss = sft.completion_loss_fn(1.0)

    def nan_from_step_3(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        calls["n"] += 1
        loss = real_loss(outputs, labels, num_items_in_batch)
        return loss * float("nan") if calls["n"] >= 3 else loss

    monkeypatch.setattr(sft, "completion_loss_fn", lambda answer_weight=1.0: nan_from_step_3)
    out = tmp_path / "run"
    config = tiny_config(out, SAMPLE, "max_steps=8", "data.val_share=0", "save_steps=100")
    with pytest.raises(sft.TrainingDivergedError, match=r"loss was nan at step 3, so no adapter was saved"):
        sft.train(config)
    assert calls["n"] == 3  # stopped at once, not after max_steps
    assert not (out / sft.ADAPTER_DIR).exists() and not (out / sft.RUN_FILE).exists()


def test_non_finite_weights_are_named() -> None:
    layer = torch.nn.Linear(2, 2)
    assert sft.non_finite_parameters(layer) == []
    with torch.no_grad():
        layer.bias[0] = float("inf")
    assert sft.non_finite_parameters(layer) == ["bias"]


def test_hard_negatives_without_the_retrieval_stack_say_what_to_install(
    scientific: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tools.search", None)  # as on a box with only torch, transformers and peft
    with pytest.raises(ConfigError, match=r"hard_negative_share > 0 needs the retrieval stack.*pip install -e \."):
        sft._open_retrievers(scientific)


def test_the_loss_unit_says_when_the_answer_is_weighted() -> None:
    from training.config import loss_unit

    assert loss_unit(1.0) == "nats per completion token"
    assert loss_unit(5.0) == "nats per completion token, answer label x5"
