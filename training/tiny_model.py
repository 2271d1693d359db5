"""A tiny random Llama with the real SmolLM2 tokenizer: real forward passes and LoRA steps in well under a second.

Unit tests use it where the default model's quality does not matter; the `tiny` SFT recipe (`base_model: tiny`)
trains a LoRA adapter on it end to end in about a minute on 2 CPU cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def build_tiny_llama(tokenizer_dir: str | Path, seed: int = 0) -> tuple[Any, Any]:
    """(model, tokenizer): about 3.2M parameters, 49,152-token vocabulary shared with SmolLM2."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=False,  # tied, a random tiny model just repeats its last input token
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model: Any = LlamaForCausalLM(config)
    return model.eval(), tokenizer
