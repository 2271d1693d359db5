"""Labels must be single tokens after the answer prefix, or start-up fails naming the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import LabelTokenError
from agent.labels import label_token_ids
from agent.prompts import LABELS


def test_smollm2_labels_are_single_distinct_tokens(smollm2_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_dir))
    ids = label_token_ids(tokenizer, LABELS, "smollm2")
    assert len(ids) == 20 and len(set(ids)) == 20
    assert [tokenizer.decode([i]).strip() for i in ids] == list(LABELS)


class _CharTokenizer:
    """Encodes every character as its own token, so " A" after the prefix is two tokens (space, A)."""

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [ord(c) for c in text]


class _SameTokenTokenizer:
    """Maps every label to one unknown-token id."""

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [1, 2] if text.endswith(":") else [1, 2, 0]


def test_multi_token_labels_name_the_model() -> None:
    with pytest.raises(LabelTokenError, match="char-model: the labels A, B"):
        label_token_ids(_CharTokenizer(), ["A", "B"], "char-model")


def test_colliding_labels_are_refused() -> None:
    with pytest.raises(LabelTokenError, match="same token"):
        label_token_ids(_SameTokenTokenizer(), ["A", "B"], "unk-model")
