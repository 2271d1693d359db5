"""What the learned readers of a message share (agent/intent_model.py, agent/dispute_kind_model.py): the message's
sentence vector, encoded once per message and read by each of them, and the check that saved weights belong to the
encoder at hand.

One pass per message: every reader reads `reader_text(message)`, cut at `MAX_READ_TOKENS` word pieces, through the
encoder's shared pass (tools/embeddings.py `token_states`: MiniLM's lower 3 layers, which the fine-tuned reader goes on
from with its own upper layers, then MiniLM's upper 3, whose mean is the sentence vector and whose word-piece vectors
the word tagger reads), remembered for the last 64 texts. Reading a message took 30.9 ms at the median and 62.6 ms at
the 95th percentile when the sentence vector was a separate pass over 256 word pieces; 17.9 and 43.9 ms since
(`python -m benchmarks.understanding`, 2-core AMD EPYC, 2,586 messages; 30.4 and 63.9 ms with the old code over them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from agent.errors import AgentError
from agent.language import prepare

MAX_READ_TOKENS = 128
"""The word pieces the learned readers read of a message: a long message's story is cut (15 of the labelled set's
132 long messages have more than 128; the longest has 143), and the readers of a message share one pass of MiniLM's
layers over them (about 45 ms a long message before, reading 256 word pieces for the sentence vector apart)."""
EARLY_STOPPING_ROWS = 2000
"""`fit_mlp_softmax` stops early, judged by a tenth of the rows, from this many rows on."""
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


def reader_text(message: str) -> str:
    """The text the learned readers read of a message: its first 2,000 characters, as agent/language.py `prepare`s
    them (lower case, one kind of apostrophe and dash), as the word tagger's words are read."""
    return prepare(message_text(message)) or "(empty)"


def message_vector(encoder: TokenEncoder, message: str) -> npt.NDArray[np.float64]:
    """The message's sentence vector (unit length), as float64 for the linear models: the mean of the encoder's
    last-layer vectors of the first `MAX_READ_TOKENS` word pieces of `reader_text` (sentence-transformers' mean
    pooling), from the pass the fine-tuned reader and the word tagger share (tools/embeddings.py `token_states`)."""
    states, _ = encoder.token_states(reader_text(message), MAX_READ_TOKENS)
    vector = np.asarray(states, dtype=np.float64).mean(axis=0)
    norm = float(np.linalg.norm(vector))
    return np.asarray(vector / norm if norm > 0 else vector, dtype=np.float64)


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


def fit_mlp_softmax(
    x: npt.NDArray[np.float64], labels: Sequence[str], *, hidden: int, alpha: float, seeds: Sequence[int] = (0,)
) -> dict[str, Any]:
    """The fields of one-hidden-layer ReLU networks with a softmax over `labels` (scikit-learn's `MLPClassifier`,
    Adam, L2 `alpha`, early stopping on a tenth of the rows), one per seed, fitted on standardised `x` and written as
    one network whose logits are the mean of theirs (their hidden units side by side, each output layer divided by
    their number: the mean of their log-probabilities up to a constant per row, which no decoding of one row's
    best tag depends on): `hidden` [features x units] and `hidden_intercept` with the standardisation folded in (so
    they read `x` as it is), then `coef` [classes x units] and `intercept` as `fit_softmax` writes them; rounded to
    6 decimals for plain JSON (a feature's scale rounded on its own was 0 for the rarest one-hot features)."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    classes = sorted(set(labels))
    scaler = StandardScaler().fit(x)
    standard = scaler.transform(x)
    y = np.array([classes.index(label) for label in labels])
    # Early stopping judges by a tenth of the rows (6,500 words of the tagger's 65,435; at most 40 epochs, which some
    # of evals/phrase_tagger.py's fits use up), but only a few words of a small fit, which then runs 200 epochs.
    judged = len(x) >= EARLY_STOPPING_ROWS
    nets = [
        MLPClassifier(
            hidden_layer_sizes=(hidden,),
            alpha=alpha,
            batch_size=min(256, len(x)),
            max_iter=40 if judged else 200,
            early_stopping=judged,
            random_state=seed,
        ).fit(standard, y)
        for seed in seeds
    ]

    def rounded(values: Any) -> Any:
        return np.round(np.asarray(values, dtype=np.float64), 6).tolist()

    def output(net: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        # [classes x units] and [classes]; two classes are one logistic unit, i.e. the logits (0, z).
        coef, intercept = np.asarray(net.coefs_[1]).T, np.asarray(net.intercepts_[1])
        if len(coef) == 1:
            return np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        return coef, intercept

    weights = np.hstack([np.asarray(net.coefs_[0]) for net in nets]) / scaler.scale_[:, None]
    outputs = [output(net) for net in nets]
    return {
        "tags": [classes[int(k)] for k in nets[0].classes_],
        "hidden": rounded(weights),
        "hidden_intercept": rounded(np.concatenate([net.intercepts_[0] for net in nets]) - scaler.mean_ @ weights),
        "coef": rounded(np.hstack([coef for coef, _ in outputs]) / len(nets)),
        "intercept": rounded(np.mean([intercept for _, intercept in outputs], axis=0)),
    }


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
