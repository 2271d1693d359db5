"""The local backend on a tiny random Llama: real forward passes, streaming, stop strings, prefix cache, adapters."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from agent.errors import AdapterMismatchError, ModelLoadError
from agent.local_backend import ADAPTER_META, LocalRecommender, attach_adapter, model_fingerprint
from agent.prompts import LABELS, RecRequest, render_prompt
from agent.ranking import run_pass
from agent.settings import ModelSettings
from tests.tiny_models import build_tiny_llama
from tools.catalog import Item

PROMPT = "<|im_start|>user\nRecommend a microscope<|im_end|>\n<|im_start|>assistant\nRationale:"


def _items(n: int, start: int = 0) -> list[Item]:
    return [Item(f"I{i}", f"Widget {i}", "", {"brand": f"B{i % 4}"}, "t") for i in range(start, start + n)]


def test_label_logprobs_are_normalised_over_labels(tiny_llm: LocalRecommender) -> None:
    scores = tiny_llm.label_logprobs(PROMPT, LABELS[:5])
    assert list(scores) == list(LABELS[:5])
    assert math.isclose(math.log(sum(math.exp(v) for v in scores.values())), 0.0, abs_tol=1e-5)


def test_stream_equals_non_stream(tiny_llm: LocalRecommender) -> None:
    whole = "".join(tiny_llm.generate(PROMPT, 24))
    streamed = list(tiny_llm.generate(PROMPT, 24, stream=True))
    assert "".join(streamed) == whole
    assert len(whole) > 0


def test_stop_string_is_never_emitted(tiny_llm: LocalRecommender) -> None:
    whole = "".join(tiny_llm.generate(PROMPT, 32))
    stop = whole[len(whole) // 2 : len(whole) // 2 + 4]
    assert stop.strip(), "the tiny model produced only whitespace; pick another seed"
    expected = whole[: whole.index(stop)]
    assert "".join(tiny_llm.generate(PROMPT, 32, stop=[stop], stream=True)) == expected
    assert "".join(tiny_llm.generate(PROMPT, 32, stop=[stop])) == expected


def test_a_banned_token_is_never_generated(tiny_llm: LocalRecommender) -> None:
    """The ban is a real decoding constraint: the token greedy decoding picks first is never picked once banned."""
    free = tiny_llm.tokenizer.encode("".join(tiny_llm.generate(PROMPT, 8)), add_special_tokens=False)
    banned = [free[0]]
    for stream in (False, True):
        constrained = "".join(tiny_llm.generate(PROMPT, 8, stream=stream, banned=banned))
        assert constrained
        assert free[0] not in tiny_llm.tokenizer.encode(constrained, add_special_tokens=False)


def test_zero_tokens_generates_nothing(tiny_llm: LocalRecommender) -> None:
    assert list(tiny_llm.generate(PROMPT, 0)) == []


def test_prefix_cache_gives_the_same_logprobs(tiny_llm: LocalRecommender) -> None:
    rationale = "".join(tiny_llm.generate(PROMPT, 16))
    assert tiny_llm._cached is not None  # the generation left its KV cache for the ranking pass
    follow = PROMPT + rationale + "\nAnswer:"
    cached = tiny_llm.label_logprobs(follow, LABELS)  # reuses the generation's KV cache
    assert tiny_llm._cached is None  # consumed once, never reused for an unrelated prompt
    fresh = tiny_llm.label_logprobs(follow, LABELS)
    assert max(abs(cached[k] - fresh[k]) for k in LABELS) < 1e-4


def test_the_pass_only_orders_candidates(tiny_llm: LocalRecommender) -> None:
    candidates = _items(20, start=100)
    request = RecRequest(history=_items(3), candidates=candidates)
    chunks: list[str] = []
    ranking = run_pass(tiny_llm, request, rationale_tokens=12, context_tokens=2048, on_token=chunks.append)
    assert sorted(ranking.order) == sorted(c.item_id for c in candidates)
    assert ranking.rationale == "".join(chunks).strip()
    assert set(ranking.logprobs) == {c.item_id for c in candidates}
    # The order follows the logprobs.
    values = [ranking.logprobs[i] for i in ranking.order]
    assert values == sorted(values, reverse=True)


def test_no_rationale_ablation(tiny_llm: LocalRecommender) -> None:
    request = RecRequest(history=_items(2), candidates=_items(4, start=10))
    ranking = run_pass(tiny_llm, request, rationale_tokens=0, context_tokens=2048)
    assert ranking.rationale == ""
    direct = tiny_llm.label_logprobs(render_prompt(tiny_llm.tokenizer, request).with_rationale(""), LABELS[:4])
    assert ranking.logprobs["I10"] == pytest.approx(direct["A"], abs=1e-5)


def _save_adapter(model: Any, folder: Path) -> Path:
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(str(folder))
    return folder


def test_adapter_for_another_base_is_refused(smollm2_dir: Path, tmp_path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    model, tokenizer = build_tiny_llama(smollm2_dir)
    adapter = _save_adapter(model, tmp_path / "adapter")
    bigger = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=48,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
        )
    )
    with pytest.raises(AdapterMismatchError, match="does not fit"):
        attach_adapter(bigger, adapter)


def test_adapter_fingerprint_is_checked_first(smollm2_dir: Path, tmp_path: Path) -> None:
    model, _ = build_tiny_llama(smollm2_dir)
    adapter = _save_adapter(model, tmp_path / "adapter")
    other = model_fingerprint(model.config) | {"num_hidden_layers": 30}
    (adapter / ADAPTER_META).write_text(json.dumps({"base_fingerprint": other}))
    fresh, _ = build_tiny_llama(smollm2_dir)
    with pytest.raises(AdapterMismatchError, match="trained for another base model"):
        attach_adapter(fresh, adapter)


def test_adapter_changes_the_output(smollm2_dir: Path, tmp_path: Path) -> None:
    import torch

    model, tokenizer = build_tiny_llama(smollm2_dir)
    adapter = _save_adapter(model, tmp_path / "adapter")
    # A freshly initialised LoRA is a no-op (B = 0): give it weights so it must change the logits.
    from safetensors.torch import load_file, save_file

    weights = load_file(str(adapter / "adapter_model.safetensors"))
    save_file({k: torch.randn_like(v) for k, v in weights.items()}, str(adapter / "adapter_model.safetensors"))
    base = LocalRecommender(build_tiny_llama(smollm2_dir)[0], tokenizer, "base").label_logprobs(PROMPT, LABELS)
    tuned_model = attach_adapter(build_tiny_llama(smollm2_dir)[0], adapter)
    tuned = LocalRecommender(tuned_model, tokenizer, "tuned").label_logprobs(PROMPT, LABELS)
    assert max(abs(base[k] - tuned[k]) for k in LABELS) > 1e-3


def test_not_an_adapter_folder(tmp_path: Path, smollm2_dir: Path) -> None:
    model, _ = build_tiny_llama(smollm2_dir)
    with pytest.raises(ModelLoadError, match="not a PEFT adapter"):
        attach_adapter(model, tmp_path)


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelLoadError, match="not a Hugging Face model folder"):
        LocalRecommender.from_settings(ModelSettings(model=str(tmp_path / "m")))


def test_unknown_hub_id_is_a_clear_error() -> None:
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE"):
        LocalRecommender.from_settings(ModelSettings(model="nobody/no-such-model-xyz"))
