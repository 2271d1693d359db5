"""The fine-tuned reader (agent/reader_model.py, training/reader_fit.py): the encoder's lower states, a real fit
that learns, save and load in float16, the refusals (another encoder, another version, a file that is not a
reader), and the shipped classifiers averaging their probabilities with the shipped reader's."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from agent.dispute_kind_model import open_dispute_kind_model
from agent.intent_model import IntentModel, open_intent_model
from agent.learned import MAX_READ_TOKENS, message_vector, reader_text
from agent.reader_model import (
    FROZEN_LAYERS,
    READER_PATH,
    Reader,
    ReaderError,
    averaged,
    open_reader,
)
from agent.understanding_set import Line
from tools.embeddings import Encoder
from tools.settings import RetrievalSettings
from training.reader_fit import fit_reader

PICKS = [{"label": "A", "title": "Fluke 117 Multimeter"}]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder.from_settings(RetrievalSettings())


def _line(n: int, message: str, intent: str, kind: str | None = None, wanted: list[str] | None = None) -> Line:
    expected = {"intent": intent, "wanted": wanted or [], "unwanted": [], "dispute_kind": kind}
    previous = [] if intent == "request" else PICKS
    return Line(f"t-{n}", "dev", "test", "scientific", message, previous, "", expected)  # type: ignore[arg-type]


LINES = [
    _line(0, "I need a digital caliper", "request", wanted=["digital caliper"]),
    _line(1, "looking for nitrile gloves", "request", wanted=["nitrile gloves"]),
    _line(2, "show me a soldering iron", "request", wanted=["soldering iron"]),
    _line(3, "not the first one", "dispute", "item"),
    _line(4, "I already own A", "dispute", "owned"),
    _line(5, "I said no plastic", "dispute", "attribute"),
    _line(6, "why the first one?", "question"),
    _line(7, "is A waterproof?", "question"),
    _line(8, "great, I'll take A", "accept"),
    _line(9, "perfect, A it is", "accept"),
]


def test_the_readers_share_one_pass_of_the_encoders_own_layers(encoder: Encoder) -> None:
    text = reader_text("Is the second one waterproof?  ")
    model = encoder.model
    batch = model.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        hidden = model[0].auto_model(**batch, output_hidden_states=True).hidden_states[FROZEN_LAYERS][0].numpy()
    encoder.forget_queries()
    whole, offsets = encoder.token_states(text, MAX_READ_TOKENS)
    # Under bfloat16 autocast (where the CPU has it, as `encode_query` runs) the states agree to about 1%.
    tolerance = 0.05 if encoder.bfloat16 else 1e-5
    assert np.allclose(encoder.lower_states(text, FROZEN_LAYERS), hidden, atol=tolerance)
    # The sentence vector is the mean of the last layer's vectors, as sentence-transformers pools them.
    vector = message_vector(encoder, "Is the second one waterproof?  ")
    assert float(vector @ encoder.encode_query(text)) > 0.999
    # The word tagger's pass over the same text is the one the sentence vector came from: the same vectors.
    again, again_offsets = encoder.token_states(text, MAX_READ_TOKENS)
    assert again_offsets == offsets and np.array_equal(again, whole)
    long = "a multimeter " * 80  # 160+ word pieces: the readers read the first 128
    assert encoder.token_states(long, MAX_READ_TOKENS)[0].shape[0] == MAX_READ_TOKENS
    assert encoder.token_states(long)[0].shape[0] > MAX_READ_TOKENS
    assert reader_text("   ") == "(empty)" and reader_text("Isn't it") == "is not it"


def test_a_fit_learns_saves_in_float16_and_loads(encoder: Encoder, tmp_path: Path) -> None:
    reader = fit_reader(encoder, LINES, epochs=12, progress=False, fitted_on={"lines": len(LINES)})
    # Trained on these lines, it reads them back (the upper layers start from MiniLM's, so 12 epochs suffice).
    right = [
        max(out.intent, key=out.intent.__getitem__) == line.expected["intent"]
        for line in LINES
        for out in [reader.read(encoder, line.message, ("request", "dispute", "accept", "question", "other"))]
    ]
    assert sum(right) >= 8, right
    first = reader.read(encoder, "hello", ("request", "other"))
    assert set(first.intent) == {"request", "other"} and abs(sum(first.intent.values()) - 1) < 1e-9
    assert set(first.kind) == {"item", "attribute", "claim", "owned"}
    path = tmp_path / "reader.safetensors"
    reader.save(path)
    assert path.stat().st_size < 12_000_000  # float16, no word-tag head
    loaded = Reader.load(path)
    assert loaded.meta == json.loads(json.dumps(reader.meta))
    for message in ("is A waterproof?", "I said no plastic"):
        mine, theirs = reader.logits(encoder, message), loaded.logits(encoder, message)
        assert all(np.allclose(a, b, atol=0.05) for a, b in zip(mine, theirs, strict=True))


def test_a_reader_for_another_encoder_version_or_a_broken_file_is_refused(encoder: Encoder, tmp_path: Path) -> None:
    reader = open_reader()
    assert reader is not None, "the shipped reader is missing: run `llmrec train intent`"
    other = Reader(reader.net, {**reader.meta, "encoder": "another-encoder"})
    with pytest.raises(ReaderError, match="llmrec train intent"):
        other.read(encoder, "hello", ("request", "other"))
    old = tmp_path / "old.safetensors"
    Reader(reader.net, {**reader.meta, "version": 0}).save(old)
    with pytest.raises(ReaderError, match="version 0"):
        Reader.load(old)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(ReaderError, match="not a readable reader"):
        Reader.load(broken)
    assert open_reader(tmp_path / "missing.safetensors") is None


def test_the_shipped_classifiers_average_with_the_shipped_reader(encoder: Encoder, tmp_path: Path) -> None:
    intents = open_intent_model()
    kinds = open_dispute_kind_model()
    assert intents is not None and kinds is not None and READER_PATH.exists()
    assert intents.reader is open_reader() and kinds.reader is open_reader()
    alone = open_intent_model(reader=None)
    assert alone is not None and alone.reader is None
    message = "any chance B comes in navy?"
    both = intents.classify(encoder, message, True)[1]
    linear = alone.classify(encoder, message, True)[1]
    assert intents.reader is not None
    fine = intents.reader.read(encoder, message, ("request", "dispute", "accept", "question", "other")).intent
    mean = averaged({k: float(np.exp(v)) for k, v in linear.items()}, fine)
    assert {k: round(float(np.exp(v)), 6) for k, v in both.items()} == {k: round(v, 6) for k, v in mean.items()}
    # The reader is not part of the saved JSON: saved and loaded, the classifier is the same without it.
    intents.save(tmp_path / "intent.json")
    assert IntentModel.load(tmp_path / "intent.json") == replace(intents, reader=None)
    assert "reader" not in json.loads((tmp_path / "intent.json").read_text())
    assert kinds.classify(encoder, "I already own the second one")[0] == "owned"
    assert intents.classify(encoder, "is the second one waterproof?", True)[0] == "question"
