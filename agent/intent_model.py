"""A learned intent classifier: a multinomial logistic regression over the packaged MiniLM sentence embedding of the
message, the cue rules' votes (agent/intent.py) and whether there are picks to react to.

Why: measured on the labelled understanding set (tests/data/understanding.jsonl, held-out phrasing families), the cue
rules read 59% of intents right and never "question" (the 135M model's label scores add nothing: it gives the four
labels nearly the same log-probability whatever the message). A linear model on sentence embeddings learns
"question about a pick", chit-chat and reactions from the development families; its held-out figure is in the README
(`llmrec eval --protocol understanding`). It is trained by `llmrec train intent` on the development part only, in
seconds, and saved as plain JSON weights (no pickle) with the encoder it was fitted for; a saved model for another
encoder is refused.

Intents that need picks (dispute, accept, question) are masked out when there are none, as for the rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from agent.errors import AgentError
from agent.intent import allowed_intents, cue_prior
from agent.records import INTENTS
from tools.settings import REPO_ROOT

INTENT_MODEL_PATH = REPO_ROOT / "adapters" / "intent" / "intent_model.json"
INTENT_MODEL_VERSION = 1
_QUESTION = re.compile(r"\?\s*$")


class IntentModelError(AgentError):
    """The saved intent model does not fit this encoder or version."""


class QueryEncoder(Protocol):
    @property
    def identity(self) -> str: ...

    def encode_query(self, text: str) -> npt.NDArray[np.float32]: ...


def side_features(message: str, has_picks: bool) -> npt.NDArray[np.float64]:
    """The features beside the embedding: one vote per intent from the cue rules, picks shown, a question mark."""
    votes = cue_prior(message, INTENTS, 1.0)
    return np.array(
        [*(votes[i] for i in INTENTS), float(has_picks), float(bool(_QUESTION.search(message)))], dtype=np.float64
    )


def _only_other_cue(message: str, has_picks: bool) -> bool:
    votes = cue_prior(message, allowed_intents(has_picks), 1.0)
    return {intent for intent, vote in votes.items() if vote >= 1.0} == {"other"}


def features(encoder: QueryEncoder, message: str, has_picks: bool) -> npt.NDArray[np.float64]:
    text = message.strip()[:2000] or "(empty)"
    vector = np.asarray(encoder.encode_query(text), dtype=np.float64).reshape(-1)
    return np.concatenate([vector, side_features(message, has_picks)])


@dataclass(frozen=True)
class IntentModel:
    encoder: str
    """Identity of the sentence encoder the weights were fitted on (tools/embeddings.py `model_identity`)."""
    intents: list[str]
    coef: list[list[float]]
    intercept: list[float]
    fitted_on: dict[str, object]
    version: int = INTENT_MODEL_VERSION

    def probabilities(self, x: npt.NDArray[np.float64], has_picks: bool) -> dict[str, float]:
        logits = np.asarray(self.coef) @ x + np.asarray(self.intercept)
        allowed = set(allowed_intents(has_picks))
        logits = np.where([i in allowed for i in self.intents], logits, -np.inf)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return {intent: float(v) for intent, v in zip(self.intents, p, strict=True) if intent in allowed}

    def classify(self, encoder: QueryEncoder, message: str, has_picks: bool) -> tuple[str, dict[str, float]]:
        """(intent, log-probability of each allowed intent)."""
        if encoder.identity != self.encoder:
            raise IntentModelError(
                f"the intent model was fitted on encoder {self.encoder}, not {encoder.identity}: run "
                "`llmrec train intent` for this encoder"
            )
        probs = self.probabilities(features(encoder, message, has_picks), has_picks)
        best = max(probs, key=lambda i: (probs[i], -INTENTS.index(i)))
        if _only_other_cue(message, has_picks):
            # Greetings, thanks and acknowledgements ("thanks!", "got it", "........"): when the cue rules see
            # nothing but chit-chat they decide. Leave-family-out cross-validation on the 465 development lines:
            # intent 0.935 by the classifier alone, 0.955 with this rule (chit-chat 0.44 -> 0.72); a family of
            # thanks unseen in training read as disputes, since short messages after picks mostly are.
            best = "other"
        return best, {i: float(np.log(max(v, 1e-12))) for i, v in probs.items()}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self)) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        model = cls(**json.loads(path.read_text(encoding="utf-8")))
        if model.version != INTENT_MODEL_VERSION:
            raise IntentModelError(f"{path} is intent model version {model.version}: run `llmrec train intent`")
        return model


def fit_intent_model(
    encoder: QueryEncoder,
    messages: Sequence[str],
    has_picks: Sequence[bool],
    labels: Sequence[str],
    *,
    c: float = 4.0,
    fitted_on: dict[str, object] | None = None,
) -> IntentModel:
    """Fit the classifier on labelled messages (C = inverse L2 strength, scikit-learn's convention)."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([features(encoder, m, p) for m, p in zip(messages, has_picks, strict=True)])
    model = LogisticRegression(C=c, max_iter=5000).fit(x, list(labels))
    classes = [str(k) for k in model.classes_]
    coef = model.coef_ if len(classes) > 2 else np.vstack([-model.coef_[0], model.coef_[0]])
    intercept = model.intercept_ if len(classes) > 2 else np.array([-model.intercept_[0], model.intercept_[0]])
    return IntentModel(
        encoder=encoder.identity,
        intents=classes,
        coef=[[round(float(v), 6) for v in row] for row in coef],
        intercept=[round(float(v), 6) for v in intercept],
        fitted_on=fitted_on or {},
    )


def open_intent_model(path: Path = INTENT_MODEL_PATH) -> IntentModel | None:
    """The shipped intent model, or None when there is none (the agent then reads intents as before)."""
    return IntentModel.load(path) if path.exists() else None
