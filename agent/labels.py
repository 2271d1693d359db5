"""Candidate labels as single tokens: the precondition of ranking all candidates with one forward pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from agent.errors import LabelTokenError
from agent.prompts import ANSWER_PREFIX


class Encoder(Protocol):
    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...


def label_token_ids(tokenizer: Encoder, labels: Sequence[str], model_name: str = "the model") -> list[int]:
    """The token id of each label as it follows ANSWER_PREFIX ("Answer: A").

    Tokenizers merge across boundaries, so a label is checked in context: encoding the prefix plus " A" must give the
    prefix's tokens plus exactly one more. Raises LabelTokenError naming the model when that fails for any label.
    """
    prefix = tokenizer.encode(ANSWER_PREFIX, add_special_tokens=False)
    ids: list[int] = []
    bad: list[str] = []
    for label in labels:
        full = tokenizer.encode(f"{ANSWER_PREFIX} {label}", add_special_tokens=False)
        if len(full) != len(prefix) + 1 or full[: len(prefix)] != prefix:
            bad.append(label)
            continue
        ids.append(full[-1])
    if bad:
        raise LabelTokenError(
            f"{model_name}: the labels {', '.join(bad)} are not single tokens after {ANSWER_PREFIX!r} for its "
            "tokenizer, so one-pass ranking cannot work; choose another model."
        )
    if len(set(ids)) != len(ids):
        raise LabelTokenError(f"{model_name}: two candidate labels map to the same token.")
    return ids
