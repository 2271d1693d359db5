"""BM25, dense and hybrid retrievers over a small catalog, with the real packaged MiniLM encoder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from tests.retrievaldata import settings_for, small_catalog
from tests.unit.test_qdrant_store import closed_port
from tools.embeddings import Encoder
from tools.errors import (
    EmptyQueryError,
    IndexLockedError,
    QdrantUnavailableError,
    StaleIndexError,
    UnknownItemError,
)
from tools.fusion import competition_ranks, rrf_scores
from tools.indexing import build_indexes
from tools.qdrant_store import QdrantStore
from tools.search import (
    CatalogRetrievers,
    DenseRetriever,
    HybridRetriever,
    SearchResult,
    catalog_retrievers,
)
from tools.settings import RetrievalSettings

CALIPERS = {"B0002BBV4Q", "B000GSLKIW", "B001C4ZNT8", "B0009XT6FC"}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    model = RetrievalSettings().embedding_model
    return Encoder(model, cache_dir=tmp_path_factory.mktemp("vectors"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("retrieval")


@pytest.fixture(scope="module")
def retrievers(data_dir: Path, encoder: Encoder) -> Iterator[CatalogRetrievers]:
    with catalog_retrievers(small_catalog(), settings_for(data_dir), progress=False, encoder=encoder) as r:
        yield r


@pytest.mark.parametrize("name", ["bm25", "dense", "hybrid"])
def test_each_retriever_finds_calipers(retrievers: CatalogRetrievers, name: str) -> None:
    result = retrievers.get(name).search("digital caliper", k=4)  # type: ignore[arg-type]
    assert isinstance(result, SearchResult) and result.warnings == ()
    assert len(result) == 4 and result.item_ids[0] in CALIPERS
    assert len(set(result.item_ids) & CALIPERS) >= 3
    scores = [hit.score for hit in result]
    assert scores == sorted(scores, reverse=True)
    if name == "hybrid":
        assert set(result[0].ranks) == {"dense", "bm25"}
    else:
        assert [hit.ranks[name] for hit in result] == [1, 2, 3, 4]


@pytest.mark.parametrize("name", ["bm25", "dense", "hybrid"])
def test_filters_and_exclude(retrievers: CatalogRetrievers, name: str) -> None:
    retriever = retrievers.get(name)  # type: ignore[arg-type]
    got = retriever.search("caliper", k=10, filters={"brand": ["Neiko", "Starrett"]}).item_ids
    assert set(got) <= {"B0002BBV4Q", "B0009XT6FC"} and "B0002BBV4Q" in got
    got = retriever.search("stainless steel", k=10, filters={"tags": "stainless", "category": "Fasteners"}).item_ids
    assert set(got) == {"B000NPPASE", "B0018LU2MO"}
    got = retriever.search("digital caliper", k=10, exclude=["B0002BBV4Q", "B000GSLKIW", "not-an-id"]).item_ids
    assert "B0002BBV4Q" not in got and "B000GSLKIW" not in got and got
    with pytest.raises(ValueError, match="filter 'brand' must be a string or a list"):
        retriever.search("caliper", k=3, filters={"brand": 3})  # type: ignore[dict-item]


@pytest.mark.parametrize("name", ["bm25", "dense", "hybrid"])
@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_a_clear_error(retrievers: CatalogRetrievers, name: str, query: str) -> None:
    retriever = retrievers.get(name)  # type: ignore[arg-type]
    with pytest.raises(EmptyQueryError, match="The search query is empty"):
        retriever.search(query, k=5)
    with pytest.raises(EmptyQueryError):
        retriever.score_candidates(query, ["B0002BBV4Q"])


def test_bm25_query_without_searchable_words_warns(retrievers: CatalogRetrievers) -> None:
    result = retrievers.bm25.search("the of and", k=5)
    assert len(result) == 0 and "no searchable words" in result.warnings[0]


@pytest.mark.parametrize("name", ["bm25", "dense", "hybrid"])
def test_similar_leaves_the_item_out(retrievers: CatalogRetrievers, name: str) -> None:
    result = retrievers.get(name).similar("B0002BBV4Q", k=3)  # type: ignore[arg-type]
    assert "B0002BBV4Q" not in result.item_ids and len(result) == 3
    assert len(set(result.item_ids) & CALIPERS) >= 2
    with pytest.raises(UnknownItemError, match="unknown item ids in the scientific catalog: NOPE"):
        retrievers.get(name).similar("NOPE", k=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["bm25", "dense", "hybrid"])
def test_unknown_candidates_are_reported(retrievers: CatalogRetrievers, name: str) -> None:
    with pytest.raises(UnknownItemError, match="X1, X2") as info:
        retrievers.get(name).score_candidates("caliper", ["B0002BBV4Q", "X1", "X2"])  # type: ignore[arg-type]
    assert info.value.item_ids == ["X1", "X2"]


def test_score_candidates(retrievers: CatalogRetrievers, encoder: Encoder) -> None:
    candidates = ["B0000223UV", "B000GSLKIW", "B0002BBV4Q", "B01DT3QKA6"]
    query = "digital caliper"
    bm25 = retrievers.bm25.score_candidates(query, candidates)
    full = retrievers.bm25.store.scores(query)
    np.testing.assert_allclose(bm25, [full[retrievers.bm25.store.row_of[c]] for c in candidates], rtol=1e-6)
    dense = retrievers.dense.score_candidates(query, candidates)
    vectors = encoder.encode([retrievers.dataset.items[c].text for c in candidates], progress=False)
    np.testing.assert_allclose(dense, vectors @ encoder.encode_query(query), atol=1e-2)
    hybrid = retrievers.hybrid.score_candidates(query, candidates)
    expected = rrf_scores([competition_ranks(dense), competition_ranks(bm25, present=bm25 > 0)], k=60)
    np.testing.assert_allclose(hybrid, expected)
    for scores in (bm25, dense, hybrid):
        assert scores.shape == (4,) and scores.dtype == np.float64
        assert int(np.argmax(scores)) in (1, 2)  # the two digital calipers


def test_full_ranking_reuses_the_catalog_tuple(retrievers: CatalogRetrievers) -> None:
    catalog = tuple(retrievers.dataset.items)
    first = retrievers.hybrid.score_candidates("glass beaker", catalog)
    second = retrievers.hybrid.score_candidates("sanding roll", catalog)
    assert first.shape == second.shape == (len(catalog),)
    assert catalog[int(np.argmax(first))] == "B00IHCNBAY"
    assert catalog[int(np.argmax(second))] in {"B0000223SI", "B0000223SK"}


def test_hybrid_falls_back_to_bm25_when_the_server_is_unreachable(
    retrievers: CatalogRetrievers, encoder: Encoder
) -> None:
    # A Qdrant server that went away after the retrievers were opened.
    url = f"http://127.0.0.1:{closed_port()}"
    store = QdrantStore(QdrantClient(url=url, timeout=1, check_compatibility=False), "scientific", url, False)
    dense = DenseRetriever(store, encoder, retrievers.dataset)
    hybrid = HybridRetriever(retrievers.bm25, dense)
    try:
        result = hybrid.search("digital caliper", k=4)
        assert result.item_ids == retrievers.bm25.search("digital caliper", k=4).item_ids
        assert len(result.warnings) == 1
        assert "keyword (BM25) results only" in result.warnings[0] and url in result.warnings[0]
        assert all(set(hit.ranks) == {"bm25"} for hit in result)
    finally:
        hybrid.close()


def test_catalog_retrievers_without_qdrant_server(data_dir: Path, encoder: Encoder) -> None:
    settings = settings_for(data_dir, qdrant_url=f"http://127.0.0.1:{closed_port()}", qdrant_timeout=1)
    with catalog_retrievers(small_catalog(), settings, progress=False, encoder=encoder) as r:
        assert isinstance(r.dense_error, QdrantUnavailableError)
        result = r.hybrid.search("glass beaker", k=3)
        assert result.item_ids[0] == "B00IHCNBAY"
        assert "does not answer" in result.warnings[0]
        with pytest.raises(QdrantUnavailableError):
            r.dense.search("glass beaker", k=3)
        with pytest.raises(QdrantUnavailableError):
            r.hybrid.score_candidates("glass beaker", ["B00IHCNBAY"])


def test_catalog_retrievers_with_locked_store(tmp_path: Path, encoder: Encoder) -> None:
    settings = settings_for(tmp_path)
    dataset = small_catalog()
    build_indexes(dataset, settings, progress=False, encoder=encoder)
    with (
        QdrantStore.connect(settings, "scientific"),  # another process holding the folder
        catalog_retrievers(dataset, settings, progress=False, encoder=encoder) as r,
    ):
        assert isinstance(r.dense_error, IndexLockedError)
        result = r.hybrid.search("nitrile gloves", k=2)
        assert result.item_ids[0] == "B01DT3QKA6"
        assert "in use by another process" in result.warnings[0]


def test_build_is_idempotent_and_follows_catalog_changes(tmp_path: Path, encoder: Encoder) -> None:
    settings = settings_for(tmp_path)
    first = build_indexes(small_catalog(), settings, progress=False, encoder=encoder)
    assert (first.bm25_status, first.dense.status) == ("built", "built")
    again = build_indexes(small_catalog(), settings, progress=False, encoder=encoder)
    assert (again.bm25_status, again.dense.status) == ("up to date", "up to date")
    smaller = small_catalog(drop=("B0000223UV",))
    # A changed catalog makes the indexes stale for search...
    with pytest.raises(StaleIndexError, match="--rebuild"):
        catalog_retrievers(smaller, settings, build_missing=False, progress=False, encoder=encoder)
    # ...and `llmrec index` without --rebuild brings them up to date, re-using cached vectors.
    updated = build_indexes(smaller, settings, progress=False, encoder=encoder)
    assert (updated.bm25_status, updated.dense.status) == ("updated", "updated")
    assert updated.dense.deleted == 1 and updated.dense.encoded == 0
    with QdrantStore.connect(settings, "scientific") as store:
        assert store.count() == len(smaller.items)
    rebuilt = build_indexes(smaller, settings, rebuild=True, progress=False, encoder=encoder)
    assert rebuilt.dense.status == "built" and rebuilt.dense.encoded == 0


def test_other_model_needs_rebuild(tmp_path: Path, encoder: Encoder) -> None:
    settings = settings_for(tmp_path)
    build_indexes(small_catalog(), settings, progress=False, encoder=encoder)
    other = Encoder(encoder.model_name, cache_dir=encoder.cache_root)
    other.__dict__["identity"] = "another-model@123"  # what a changed LLMREC_EMBEDDING_MODEL produces
    with pytest.raises(StaleIndexError, match=r"embedding model .*another-model@123.*--rebuild"):
        catalog_retrievers(small_catalog(), settings, progress=False, encoder=other)
    with pytest.raises(StaleIndexError, match="--rebuild"):
        build_indexes(small_catalog(), settings, progress=False, encoder=other)
    report = build_indexes(small_catalog(), settings, rebuild=True, progress=False, encoder=other)
    assert report.dense.status == "built"
