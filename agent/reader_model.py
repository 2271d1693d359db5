"""A fine-tuned reader of a message's intent and dispute kind: the packaged MiniLM's upper 3 layers, fine-tuned on the
development part of the labelled understanding set, over its frozen lower 3 layers.

Why: the linear classifiers over the frozen sentence vector (agent/intent_model.py, agent/dispute_kind_model.py) read
held-out phrasing families at 0.863 (intent) and 0.880 (dispute kind), far from issue 18's 0.95. Fine-tuning lets the
encoder learn what a turn does ("any chance B comes in navy?" asks about a pick, "B is grand" settles on it) rather
than what it is about. Measured on the 757 held-out lines of tests/data/understanding.jsonl (2,282 lines; an
experiment with the same recipe, README "Understanding what the user says"): intent 0.898 fine-tuned, 0.910 averaged
with the linear classifier, dispute kind 0.935 against 0.880. A full fine-tune of all 6 layers read intent no
better (0.893, one seed, 689 held-out lines) and would ship 45 MB; the upper 3 layers are 5.3 M parameters, 11 MB in
float16.

Served as: each classifier's probabilities averaged with the reader's (agent/intent_model.py `IntentModel.classify`,
agent/dispute_kind_model.py `DisputeKindModel.classify`), then the same rules as before. One pass per message serves
both (a cache of the last 256 messages): the lower layers (`Encoder.lower_states`, shared with the sentence vector and
the word tagger: agent/learned.py) and the upper 3 on one thread.

Trained by `llmrec train intent` (training/reader_fit.py, about 5 minutes on 2 cores) with a word-tag head as a
second task (which words are wanted and ruled-out phrases; not served: the word tagger of agent/phrase_model.py reads
those as well on held-out lines). Saved as one safetensors file (weights only, no pickle) with the encoder it was
fitted for in its metadata; a reader for another encoder is refused.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from agent.learned import (
    MAX_READ_TOKENS,
    LearnedModelError,
    LowerStatesEncoder,
    check_encoder,
    reader_text,
    softmax,
)
from agent.records import INTENTS
from tools.embeddings import SHARED_LAYERS, one_torch_thread
from tools.settings import REPO_ROOT

if TYPE_CHECKING:
    import torch

READER_PATH = REPO_ROOT / "adapters" / "intent" / "reader.safetensors"
READER_VERSION = 1
FROZEN_LAYERS = SHARED_LAYERS
"""The packaged encoder's layers read as they are (3); the reader has its own copies of the layers above."""
KINDS = ("item", "attribute", "claim", "owned")
WORD_TAGS = ("O", "B-W", "I-W", "B-U", "I-U")
_CONFIG_KEYS = (
    "hidden_size",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "layer_norm_eps",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
)
_CACHE = 256
_TRAIN = "llmrec train intent"


class ReaderError(LearnedModelError):
    """The saved reader does not fit this encoder or version, or cannot be read."""


def reader_net(config: dict[str, Any], upper_layers: int) -> torch.nn.Module:
    """The reader's network: `upper_layers` BERT layers of `config` and its three heads (intent, dispute kind, word
    tags), read by `ReaderNet.forward(states, mask)`."""
    import torch
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertLayer

    bert = BertConfig(**{key: config[key] for key in _CONFIG_KEYS})
    bert._attn_implementation = "sdpa"  # as the packaged encoder runs (transformers' default)
    width = int(config["hidden_size"])

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList([BertLayer(bert) for _ in range(upper_layers)])  # type: ignore[no-untyped-call]
            self.intent = torch.nn.Linear(width, len(INTENTS))
            self.kind = torch.nn.Linear(width, len(KINDS))
            self.tag = torch.nn.Linear(width, len(WORD_TAGS))
            self.dropout = torch.nn.Dropout(0.1)

        def forward(self, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            """Intent, dispute kind and word-tag logits of lower states [batch, tokens, width] (mask: real tokens)."""
            hidden = states
            additive = (1.0 - mask[:, None, None, :].float()) * -1e9
            for layer in self.layers:
                out = layer(hidden, attention_mask=additive)
                hidden = out[0] if isinstance(out, tuple) else out
            weights = mask.unsqueeze(-1).float()
            pooled = self.dropout((hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0))
            return self.intent(pooled), self.kind(pooled), self.tag(self.dropout(hidden))

    return ReaderNet()


@dataclass(frozen=True)
class ReaderOutput:
    intent: dict[str, float]
    """Probability of each intent allowed (those that need picks only when there are picks)."""
    kind: dict[str, float]
    """Probability of each dispute kind, were the message a dispute."""


class Reader:
    """A loaded reader: its network in evaluation mode and what it was fitted on."""

    def __init__(self, net: torch.nn.Module, meta: dict[str, Any]) -> None:
        self.net = net.eval()
        self.meta = meta
        self.encoder: str = meta["encoder"]
        self._cache: OrderedDict[tuple[str, str], tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def logits(self, encoder: LowerStatesEncoder, message: str) -> tuple[npt.NDArray[np.float64], ...]:
        """(intent logits in `INTENTS` order, dispute kind logits in `KINDS` order) of one message."""
        import torch

        check_encoder(self.encoder, encoder, "fine-tuned reader", _TRAIN, ReaderError)
        text = reader_text(message)
        key = (encoder.identity, text)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        states = torch.from_numpy(encoder.lower_states(text, FROZEN_LAYERS, MAX_READ_TOKENS))[None]
        with torch.inference_mode(), one_torch_thread():  # one short text, as `Encoder.encode_query` reads it
            intent, kind, _ = self.net(states, torch.ones(states.shape[:2], dtype=torch.bool))
        out = (intent[0].double().numpy(), kind[0].double().numpy())
        with self._lock:
            self._cache[key] = out
            if len(self._cache) > _CACHE:
                self._cache.popitem(last=False)
        return out

    def forget(self) -> None:
        """Empty the cache of read messages (benchmarks measure reading, not the cache)."""
        with self._lock:
            self._cache.clear()

    def read(self, encoder: LowerStatesEncoder, message: str, allowed: tuple[str, ...]) -> ReaderOutput:
        intent, kind = self.logits(encoder, message)
        masked = np.where([i in allowed for i in INTENTS], intent, -np.inf)
        p_intent, p_kind = softmax(masked), softmax(kind)
        return ReaderOutput(
            {i: float(p) for i, p in zip(INTENTS, p_intent, strict=True) if i in allowed},
            {k: float(p) for k, p in zip(KINDS, p_kind, strict=True)},
        )

    def save(self, path: Path) -> None:
        """One safetensors file: the upper layers and the intent and kind heads in float16, the metadata as JSON."""
        from safetensors.torch import save_file

        tensors = {
            name: value.detach().to("cpu").half().contiguous()
            for name, value in self.net.state_dict().items()
            if not name.startswith("tag.")  # the word-tag head is a training task only
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path), metadata={"llmrec": json.dumps(self.meta)})

    @classmethod
    def load(cls, path: Path) -> Reader:
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                meta = json.loads((handle.metadata() or {}).get("llmrec", "{}"))
                tensors = {name: handle.get_tensor(name).float() for name in handle.keys()}  # noqa: SIM118
        except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
            raise ReaderError(f"{path} is not a readable reader ({exc}): run `{_TRAIN}`") from exc
        if meta.get("version") != READER_VERSION or meta.get("frozen_layers") != FROZEN_LAYERS:
            raise ReaderError(f"{path} is reader version {meta.get('version')}: run `{_TRAIN}`")
        net = reader_net(meta["config"], int(meta["upper_layers"]))
        missing, unexpected = net.load_state_dict(tensors, strict=False)
        if unexpected or any(not name.startswith("tag.") for name in missing):
            raise ReaderError(f"{path} does not hold the reader's weights: run `{_TRAIN}`")
        return cls(net, meta)


def reader_meta(
    encoder: str, config: dict[str, Any], upper_layers: int, fitted_on: dict[str, object]
) -> dict[str, Any]:
    return {
        "version": READER_VERSION,
        "encoder": encoder,
        "frozen_layers": FROZEN_LAYERS,
        "upper_layers": upper_layers,
        "config": {key: config[key] for key in _CONFIG_KEYS},
        "intents": list(INTENTS),
        "kinds": list(KINDS),
        "fitted_on": fitted_on,
    }


def open_reader(path: Path = READER_PATH) -> Reader | None:
    """The shipped reader (loaded once per process and path), or None when there is none: the linear classifiers
    then read alone."""
    return _load(path.resolve()) if path.exists() else None


@lru_cache(maxsize=4)
def _load(path: Path) -> Reader:
    return Reader.load(path)


def averaged(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    """The mean of two probability tables over the same keys."""
    return {key: (first[key] + second[key]) / 2 for key in first}
