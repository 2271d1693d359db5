"""What the learned readers of a message share (agent/intent_model.py, agent/dispute_kind_model.py): the message's
sentence vector, encoded once per message and read by each of them, and the check that saved weights belong to the
encoder at hand.

One text per message: every reader encodes `message_text(message)`, so the encoder's in-memory query cache (the last
1,024 queries, tools/embeddings.py) answers the second and third reader of a turn without running MiniLM again (about
13 ms a message on one thread; the intent and the dispute kind of a turn cost one encoding).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from agent.errors import AgentError

MAX_ENCODED_CHARS = 2000
"""A message is encoded from its first 2,000 characters (MiniLM reads 256 word pieces; a pasted page is not slower)."""


class LearnedModelError(AgentError):
    """A saved learned model does not fit this encoder or version."""


class Identified(Protocol):
    @property
    def identity(self) -> str: ...


class QueryEncoder(Identified, Protocol):
    def encode_query(self, text: str) -> npt.NDArray[np.float32]: ...


class TokenEncoder(Identified, Protocol):
    def token_states(
        self, text: str, max_tokens: int = 256
    ) -> tuple[npt.NDArray[np.float32], list[tuple[int, int]]]: ...


class LowerStatesEncoder(Identified, Protocol):
    def lower_states(self, text: str, layers: int, max_tokens: int = 128) -> npt.NDArray[np.float32]: ...


class MessageEncoder(QueryEncoder, TokenEncoder, LowerStatesEncoder, Protocol):
    """The packaged sentence encoder as the learned readers use it: whole messages, single words, and the states
    of its lower layers for the fine-tuned reader (agent/reader_model.py)."""


def message_text(message: str) -> str:
    """The text a message is encoded from (the same for every reader, so one encoding serves them all)."""
    return message.strip()[:MAX_ENCODED_CHARS] or "(empty)"


def message_vector(encoder: QueryEncoder, message: str) -> npt.NDArray[np.float64]:
    """The message's sentence vector (unit length), as float64 for the linear models."""
    return np.asarray(encoder.encode_query(message_text(message)), dtype=np.float64).reshape(-1)


def check_encoder(
    fitted_on: str, encoder: Identified, what: str, command: str, error: type[LearnedModelError] = LearnedModelError
) -> None:
    """Refuse weights fitted on another encoder: their features would mean something else."""
    if encoder.identity != fitted_on:
        raise error(
            f"the {what} was fitted on encoder {fitted_on}, not {encoder.identity}: run `{command}` for this encoder"
        )


def softmax(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Probabilities of finite logits; -inf (a masked class) gets 0."""
    p = np.exp(logits - logits.max())
    out: npt.NDArray[np.float64] = p / p.sum()
    return out


def fit_softmax(
    x: npt.NDArray[np.float64], labels: Sequence[str], c: float
) -> tuple[list[str], list[list[float]], list[float]]:
    """(classes, coefficients, intercepts) of an L2 multinomial logistic regression (scikit-learn's, C = inverse
    strength), rounded to 6 decimals for plain JSON; two classes are written as two rows, like more."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000).fit(x, list(labels))
    classes = [str(k) for k in model.classes_]
    coef = model.coef_ if len(classes) > 2 else np.vstack([-model.coef_[0], model.coef_[0]])
    intercept = model.intercept_ if len(classes) > 2 else np.array([-model.intercept_[0], model.intercept_[0]])
    return (
        classes,
        [[round(float(v), 6) for v in row] for row in coef],
        [round(float(v), 6) for v in intercept],
    )


def save_weights(fields: dict[str, Any], path: Path) -> None:
    """Write a model's fields as one line of plain JSON (no pickle: a weights file runs no code)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fields) + "\n", encoding="utf-8")


def read_weights(path: Path, version: int, what: str, error: type[LearnedModelError]) -> dict[str, Any]:
    """A saved model's fields; a file of another version is refused (its features mean something else)."""
    fields: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if fields.get("version") != version:
        raise error(f"{path} is {what} version {fields.get('version')}: run `llmrec train intent`")
    return fields
