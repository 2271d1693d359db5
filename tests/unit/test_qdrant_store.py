"""Qdrant store in embedded mode: filters, persistence, idempotent re-indexing, staleness, bad locations."""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.retrievaldata import settings_for, small_catalog
from tools.catalog import Dataset
from tools.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    QdrantUnavailableError,
    StaleIndexError,
)
from tools.qdrant_store import QdrantStore, collection_name, expected_manifest, point_id

DIM = 8
MODEL = "test-model@0"


def _vectors(dataset: Dataset) -> np.ndarray:
    rng = np.random.default_rng(7)
    v = rng.standard_normal((len(dataset.items), DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _index(store: QdrantStore, dataset: Dataset, model: str = MODEL) -> np.ndarray:
    items = list(dataset.items.values())
    vectors = _vectors(dataset)
    store.recreate(DIM)
    store.upsert(items, vectors)
    store.write_manifest(expected_manifest(items, dataset.domain, model, DIM))
    return vectors


SERVER_URL = os.environ.get("LLMREC_TEST_QDRANT_URL")


@pytest.fixture(
    params=["embedded", pytest.param("server", marks=pytest.mark.allowed_skip("an external Qdrant server"))]
)
def indexed(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The small catalog indexed in embedded Qdrant, and on a server when LLMREC_TEST_QDRANT_URL names one."""
    dataset = small_catalog()
    if request.param == "server":
        if not SERVER_URL:
            pytest.skip("no Qdrant server: set LLMREC_TEST_QDRANT_URL (e.g. http://localhost:6333) to run")
        # A collection of its own, so that a shared server's real collections are never touched.
        domain = f"test_{uuid.uuid4().hex[:10]}"
        store = QdrantStore.connect(settings_for(tmp_path, qdrant_url=SERVER_URL), domain)
    else:
        store = QdrantStore.connect(settings_for(tmp_path), dataset.domain)
    vectors = _index(store, dataset)
    yield store, dataset, vectors
    if request.param == "server":
        store.client.delete_collection(store.collection)
    store.close()


def _ids(store: QdrantStore, dataset: Dataset, points: list[tuple[str, float]]) -> list[str]:
    by_point = {point_id(i): i for i in dataset.items}
    return [by_point[p] for p, _ in points]


def test_point_ids_are_deterministic() -> None:
    assert point_id("B0000223SI") == point_id("B0000223SI") != point_id("B0000223SK")
    assert collection_name("scientific") == "llmrec_scientific"


def test_nearest_neighbour_and_payload(indexed) -> None:  # type: ignore[no-untyped-def]
    store, dataset, vectors = indexed
    ids = list(dataset.items)
    hits = store.search(vectors[3], 5)
    assert _ids(store, dataset, hits)[0] == ids[3]
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)  # DOT of a unit vector with itself
    record = store.client.retrieve(store.collection, ids=[point_id(ids[3])], with_payload=True)[0]
    assert record.payload is not None
    assert record.payload["item_id"] == ids[3]
    assert record.payload["attributes"]["brand"] == dataset.items[ids[3]].attributes["brand"]


def test_attribute_filters(indexed) -> None:  # type: ignore[no-untyped-def]
    store, dataset, vectors = indexed
    query = vectors[0]
    got = _ids(store, dataset, store.search(query, 30, filters={"brand": "3M"}))
    assert sorted(got) == sorted(i for i, it in dataset.items.items() if it.attributes["brand"] == "3M")
    got = _ids(store, dataset, store.search(query, 30, filters={"brand": ["Neiko", "Fluke"]}))
    assert sorted(got) == ["B0002BBV4Q", "B000FP8B8K"]
    # A list-valued attribute matches when any of its values does; several filters must all match.
    got = _ids(store, dataset, store.search(query, 30, filters={"tags": "stainless", "category": "Fasteners"}))
    assert sorted(got) == ["B000NPPASE", "B0018LU2MO"]
    assert store.search(query, 30, filters={"brand": "No Such Brand"}) == []


def test_exclude_ids_small_and_large(indexed) -> None:  # type: ignore[no-untyped-def]
    store, dataset, vectors = indexed
    ids = list(dataset.items)
    got = _ids(store, dataset, store.search(vectors[0], 5, exclude=[ids[0], ids[1]]))
    assert len(got) == 5 and ids[0] not in got and ids[1] not in got
    # More than 256 excluded ids go to Qdrant as a filter instead of being dropped client-side.
    many = [ids[0], *(f"not-in-catalog-{n}" for n in range(300))]
    got = _ids(store, dataset, store.search(vectors[0], 5, exclude=many))
    assert len(got) == 5 and ids[0] not in got


def test_search_by_item_id_leaves_the_item_out(indexed) -> None:  # type: ignore[no-untyped-def]
    store, dataset, vectors = indexed
    ids = list(dataset.items)
    got = _ids(store, dataset, store.search(ids[2], 3))
    assert ids[2] not in got and len(got) == 3
    expected = np.argsort(-(vectors @ vectors[2]))[1:4]
    assert got == [ids[i] for i in expected]


def test_vectors_roundtrip(indexed) -> None:  # type: ignore[no-untyped-def]
    store, dataset, vectors = indexed
    ids = list(dataset.items)
    np.testing.assert_allclose(store.vectors([ids[5], ids[0]]), vectors[[5, 0]], atol=1e-6)
    with pytest.raises(KeyError):
        store.vectors(["not-an-item"])


def test_persistence_across_reopen(tmp_path: Path) -> None:
    dataset = small_catalog()
    settings = settings_for(tmp_path)
    store = QdrantStore.connect(settings, dataset.domain)
    vectors = _index(store, dataset)
    store.close()
    with QdrantStore.connect(settings, dataset.domain) as reopened:
        assert reopened.count() == len(dataset.items)
        reopened.check(expected_manifest(list(dataset.items.values()), dataset.domain, MODEL, DIM))
        assert reopened.search(vectors[4], 1)[0][0] == point_id(list(dataset.items)[4])


def test_reindexing_is_idempotent(indexed) -> None:  # type: ignore[no-untyped-def]
    store, dataset, vectors = indexed
    items = list(dataset.items.values())
    store.upsert(items, vectors)
    store.upsert(items[:5], vectors[:5])
    assert store.count() == len(items)
    assert store.item_ids() == set(dataset.items)
    store.delete_items([items[0].item_id])
    assert store.count() == len(items) - 1


def test_staleness(indexed) -> None:  # type: ignore[no-untyped-def]
    store, dataset, _ = indexed
    items = list(dataset.items.values())
    store.check(expected_manifest(items, "scientific", MODEL, DIM))
    with pytest.raises(StaleIndexError, match=r"embedding model test-model@0, configured other@1.*--rebuild`"):
        store.check(expected_manifest(items, "scientific", "other@1", DIM))
    with pytest.raises(StaleIndexError, match="8-d vectors, the model gives 384-d"):
        store.check(expected_manifest(items, "scientific", MODEL, 384))
    fewer = list(small_catalog(drop=("B0000223SI",)).items.values())
    with pytest.raises(StaleIndexError, match=r"different catalog \(24 items then, 23 now"):
        store.check(expected_manifest(fewer, "scientific", MODEL, DIM))


def test_interrupted_build_is_reported(tmp_path: Path) -> None:
    dataset = small_catalog()
    with QdrantStore.connect(settings_for(tmp_path), dataset.domain) as store:
        store.recreate(DIM)  # a build that stopped before writing its manifest
        with pytest.raises(StaleIndexError, match=r"incomplete.*--rebuild"):
            store.check(expected_manifest(list(dataset.items.values()), "scientific", MODEL, DIM))


def test_missing_collection(tmp_path: Path) -> None:
    dataset = small_catalog()
    with (
        QdrantStore.connect(settings_for(tmp_path), "scientific") as store,
        pytest.raises(IndexMissingError, match=r"run `llmrec index --domain scientific`"),
    ):
        store.check(expected_manifest(list(dataset.items.values()), "scientific", MODEL, DIM))


def test_locked_path_is_one_clear_sentence(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with (
        QdrantStore.connect(settings, "scientific"),
        pytest.raises(IndexLockedError, match="in use by another process") as info,
    ):
        QdrantStore.connect(settings, "scientific")
    assert "LLMREC_QDRANT_URL" in str(info.value)
    # Another domain has its own folder, so it is not locked.
    QdrantStore.connect(settings, "clothing").close()


def test_corrupt_embedded_store(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    QdrantStore.connect(settings, "scientific").close()
    (QdrantStore.embedded_path(tmp_path, "scientific") / "meta.json").write_text("{broken")
    with pytest.raises(IndexCorruptError, match="could not be read"):
        QdrantStore.connect(settings, "scientific")


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    settings = settings_for(tmp_path, qdrant_url=url, qdrant_timeout=1)
    started = time.perf_counter()
    with pytest.raises(QdrantUnavailableError, match=r"does not answer.*LLMREC_QDRANT_URL") as info:
        QdrantStore.connect(settings, "scientific")
    assert url in str(info.value)
    assert time.perf_counter() - started < 5
