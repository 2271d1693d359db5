"""Export: the adapter reloads through the local backend to the same logits, merges exactly, keeps peft's format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
import typer
from safetensors.torch import load_file
from typer.testing import CliRunner

from agent.errors import AdapterMismatchError
from agent.local_backend import ADAPTER_META, LocalRecommender, attach_adapter
from agent.prompts import LABELS, RecRequest, render_prompt
from agent.settings import ModelSettings
from tools.datasets import load_dataset
from training import sft
from training.config import load_config
from training.export import MERGED_DIR, ExportError, export_adapter, export_command, shown_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> sft.SFTResult:
    out = tmp_path_factory.mktemp("export") / "run"
    sample = ROOT / "training" / "data" / "scientific_sample.jsonl"
    overrides = [f"output_dir={out}", f"data.annotations=[{sample}]", "data.num_negatives=4", "max_length=512"]
    return sft.train(load_config(ROOT / "training" / "configs" / "tiny.yaml", [*overrides, "max_steps=3"]))


@pytest.fixture(scope="module")
def prompt(run: sft.SFTResult) -> str:
    """A real serving prompt, up to "Answer:", where ranking reads the label log-probabilities."""
    ds = load_dataset("scientific")
    user = ds.users[0]
    request = RecRequest(
        history=[ds.items[i] for i in user.history], candidates=list(ds.items.values())[:20], domain="scientific"
    )
    return render_prompt(_tokenizer(run), request).with_rationale("The user buys 3D printing filament.")


def _tokenizer(run: sft.SFTResult) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(run.output_dir / sft.TINY_BASE_DIR))


def _logits(model: Any, tokenizer: Any, text: str) -> torch.Tensor:
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        return model.eval()(input_ids=ids).logits[0, -1].float()


def _base(run: sft.SFTResult) -> Any:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(run.output_dir / sft.TINY_BASE_DIR))


def test_exported_adapter_reloads_to_identical_logits(run: sft.SFTResult, prompt: str, tmp_path: Path) -> None:
    tokenizer = _tokenizer(run)
    result = export_adapter(run.adapter_dir, tmp_path / "llmrec")
    trained = _logits(run.model, tokenizer, prompt)

    reloaded = attach_adapter(_base(run), result.out)
    assert torch.equal(_logits(reloaded, tokenizer, prompt), trained)
    assert not torch.allclose(_logits(_base(run), tokenizer, prompt), trained, atol=1e-3)  # the adapter matters

    # And through the local backend, as LLMREC_MODEL=<base> LLMREC_ADAPTER_PATH=<out> loads it.
    meta = json.loads((result.out / ADAPTER_META).read_text())
    local = LocalRecommender.from_settings(
        ModelSettings(model=meta["base_model"], adapter_path=result.out, device="cpu")
    )
    in_memory = LocalRecommender(run.model, tokenizer, name="trained")
    # The local backend merges the adapter into the weights (float32 sums: equal to 1e-5, not bit for bit).
    assert not any("lora" in name for name, _ in local.model.named_parameters())
    served, trained_scores = local.label_logprobs(prompt, LABELS), in_memory.label_logprobs(prompt, LABELS)
    assert max(abs(served[k] - trained_scores[k]) for k in LABELS) <= 1e-5


def test_merged_model_gives_the_logits_of_base_plus_adapter(run: sft.SFTResult, prompt: str, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = export_adapter(run.adapter_dir, tmp_path / "llmrec", merge=True)
    assert result.merged == tmp_path / "llmrec" / MERGED_DIR
    assert result.merged_max_diff is not None and result.merged_max_diff <= 1e-4
    merged = AutoModelForCausalLM.from_pretrained(str(result.merged))
    assert not any("lora" in name for name, _ in merged.named_parameters())
    tokenizer = AutoTokenizer.from_pretrained(str(result.merged))  # the tokenizer travels with the merged model
    expected = _logits(attach_adapter(_base(run), result.out), tokenizer, prompt)
    torch.testing.assert_close(_logits(merged, tokenizer, prompt), expected, atol=1e-4, rtol=0)
    # LLMREC_MODEL=OUT/merged loads it through the local backend.
    local = LocalRecommender.from_settings(ModelSettings(model=str(result.merged), device="cpu"))
    scores = local.label_logprobs(prompt, LABELS)
    adapter_scores = LocalRecommender(attach_adapter(_base(run), result.out), tokenizer, "adapter").label_logprobs(
        prompt, LABELS
    )
    assert max(abs(scores[k] - adapter_scores[k]) for k in LABELS) <= 1e-4


def test_export_keeps_peft_format_that_vllm_loads(run: sft.SFTResult, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model

    result = export_adapter(run.adapter_dir, tmp_path / "llmrec")
    config = json.loads((result.out / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 8
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "lm_head"}
    # Same tensor names as an adapter made the way tests/integration/test_vllm_backend.py makes the one vLLM serves.
    reference = get_peft_model(_base(run), LoraConfig(r=8, target_modules=config["target_modules"]))
    reference.save_pretrained(str(tmp_path / "reference"), save_embedding_layers=False)
    assert (
        load_file(str(result.out / "adapter_model.safetensors")).keys()
        == load_file(str(tmp_path / "reference" / "adapter_model.safetensors")).keys()
    )

    card = (result.out / "README.md").read_text()
    meta = json.loads((result.out / ADAPTER_META).read_text())
    assert f"LLMREC_ADAPTER_PATH={result.out.resolve()}" in card
    assert f"--lora-modules llmrec={result.out.resolve()} --max-lora-rank 8" in card
    assert meta["data_hash"] in card and shown_path(meta["base_model_path"]) in card
    assert str(Path.home()) not in card  # the base weights under ~/.cache read as ~/.cache on any machine
    assert json.loads((result.out / "run.json").read_text())["global_step"] == 3
    assert not (tmp_path / "llmrec.tmp").exists()


def test_an_adapter_for_another_base_is_refused_and_nothing_is_written(run: sft.SFTResult, tmp_path: Path) -> None:
    other = tmp_path / "other-adapter"
    shutil.copytree(run.adapter_dir, other)
    meta = json.loads((other / ADAPTER_META).read_text())
    meta["base_fingerprint"]["hidden_size"] = 576  # as if trained on SmolLM2, loaded onto the tiny base
    (other / ADAPTER_META).write_text(json.dumps(meta))
    with pytest.raises(AdapterMismatchError, match="trained for another base model"):
        export_adapter(other, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.tmp").exists()


def test_unusable_folders_are_refused(run: sft.SFTResult, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(ExportError, match="not empty"):
        export_adapter(run.adapter_dir, tmp_path / "taken")
    with pytest.raises(ExportError, match=r"lacks adapter_config\.json"):
        export_adapter(tmp_path / "taken", tmp_path / "out")
    app = typer.Typer()
    app.command()(export_command)
    result = CliRunner().invoke(app, ["--adapter", str(tmp_path / "taken"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "not an adapter written by `llmrec train sft`" in result.output


def test_card_paths_read_right_on_another_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    home = Path.home()
    assert shown_path(tmp_path / "adapters" / "llmrec") == "adapters/llmrec"  # the repository: relative
    assert shown_path(home / ".cache" / "llmrec" / "models" / "m") == "~/.cache/llmrec/models/m"
    assert shown_path("/opt/models/m") == "/opt/models/m" and shown_path("adapters/x") == "adapters/x"
    assert shown_path(tmp_path) == "."


def test_a_second_stage_card_names_where_it_started() -> None:
    from training.export import model_card

    meta = {"base_model": "m", "base_model_path": "/opt/m", "data_hash": "h"}
    config = {"r": 16, "lora_alpha": 32, "target_modules": ["q_proj"]}
    first = model_card(Path("adapters/x"), config, meta, None, merged=False)
    second = model_card(Path("adapters/x"), config, meta | {"init_adapter": "adapters/llmrec-stage1"}, None, False)
    assert "Started from" not in first
    assert "Started from the trained adapter `adapters/llmrec-stage1`" in second
