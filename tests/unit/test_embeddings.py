"""The sentence-transformers encoder (the packaged all-MiniLM-L6-v2, loaded offline) and its vector cache."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from tools.embeddings import Encoder, VectorCache, model_identity, text_key
from tools.errors import EmbeddingModelError
from tools.settings import RetrievalSettings

TEXTS = [
    "Neiko 01407A Electronic Digital Caliper, Stainless Steel, 0-6 Inches",
    "Mitutoyo Absolute Digital Caliper, 0 to 6 Inch",
    "Gorilla Original Gorilla Glue, Waterproof Polyurethane Glue, 8 ounce Bottle",
]


@pytest.fixture(scope="module")
def model_path() -> str:
    return RetrievalSettings().embedding_model


def test_default_model_is_the_packaged_folder(model_path: str) -> None:
    assert Path(model_path).is_dir() and (Path(model_path) / "modules.json").exists()


def test_real_minilm_encodes_offline(model_path: str, tmp_path: Path) -> None:
    encoder = Encoder(model_path, cache_dir=tmp_path)
    vectors = encoder.encode(TEXTS, progress=False)
    assert encoder.dimension == 384
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2  # two calipers are closer than a caliper and glue
    query = encoder.encode_query("digital caliper")
    assert query.shape == (384,) and int(np.argmax(vectors @ query)) in (0, 1)


def test_vectors_are_cached_on_disk(model_path: str, tmp_path: Path) -> None:
    encoder = Encoder(model_path, cache_dir=tmp_path)
    first = encoder.encode([*TEXTS, TEXTS[0]], progress=False)
    assert (encoder.last_stats.encoded, encoder.last_stats.cached) == (3, 0)  # the duplicate is encoded once
    np.testing.assert_array_equal(first[0], first[3])
    again = Encoder(model_path, cache_dir=tmp_path)  # a new process reads the same cache
    second = again.encode(list(reversed(TEXTS)), progress=False)
    assert (again.last_stats.encoded, again.last_stats.cached) == (0, 3)
    np.testing.assert_array_equal(second, first[[2, 1, 0]])
    again.encode([*TEXTS, "Corning Pyrex Glass Beaker"], progress=False)
    assert (again.last_stats.encoded, again.last_stats.cached) == (1, 3)


def test_bfloat16_and_float32_give_the_same_neighbours(model_path: str) -> None:
    a = Encoder(model_path, precision="float32").encode(TEXTS, progress=False)
    b = Encoder(model_path, precision="bfloat16").encode(TEXTS, progress=False)
    assert float(np.min(np.sum(a * b, axis=1))) > 0.999


def test_cache_keys_with_trailing_zero_bytes(tmp_path: Path) -> None:
    # numpy's bytes dtype strips trailing NULs; about 1 key in 256 ends with one.
    text = next(t for t in (f"text {n}" for n in itertools.count()) if text_key(t).endswith(b"\x00"))
    cache = VectorCache(tmp_path)
    cache.put([text_key(text)], np.ones((1, 4), dtype=np.float32))
    vectors, found = VectorCache(tmp_path).get([text_key(text)], 4)
    assert found.tolist() == [True] and vectors[0].tolist() == [1.0] * 4


def test_cache_ignores_interrupted_shards(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path)
    cache.put([text_key("a")], np.ones((1, 4), dtype=np.float32))
    np.save(tmp_path / "half-written.vecs.npy", np.ones((1, 4), dtype=np.float32))  # keys never written
    (tmp_path / "broken.keys.npy").write_bytes(b"not numpy")
    assert len(VectorCache(tmp_path)) == 1


def test_model_identity_follows_content_not_location(tmp_path: Path) -> None:
    for folder in (tmp_path / "a" / "model", tmp_path / "b" / "model"):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text('{"hidden_size": 384}')
        (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    a, b = (model_identity(str(tmp_path / x / "model")) for x in ("a", "b"))
    assert a.split("@")[1] == b.split("@")[1]
    assert a.startswith("a/model@")
    (tmp_path / "b" / "model" / "config.json").write_text('{"hidden_size": 768}')
    assert model_identity(str(tmp_path / "b" / "model")).split("@")[1] != a.split("@")[1]
    assert model_identity("some-org/not-cached-model") == "some-org/not-cached-model"


def test_unloadable_model_is_a_clear_error(tmp_path: Path) -> None:
    encoder = Encoder(str(tmp_path / "no-such-model"))
    with pytest.raises(EmbeddingModelError, match="LLMREC_EMBEDDING_MODEL"):
        encoder.encode(["x"], progress=False)
