"""BM25 index: both backends, persistence across reopen, staleness, corruption."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.retrievaldata import small_catalog
from tools.bm25_store import BACKENDS, BM25Store, expected_manifest, folder_size
from tools.errors import IndexCorruptError, IndexMissingError, StaleIndexError

BACKEND_NAMES = sorted(BACKENDS)


def _store(backend: str) -> BM25Store:
    dataset = small_catalog()
    return BM25Store.build(list(dataset.items.values()), "scientific", backend)


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_relevant_items_rank_first(backend: str) -> None:
    store = _store(backend)
    top = [i for i, _ in store.top("digital caliper", 3)]
    assert set(top[:2]) == {"B0002BBV4Q", "B000GSLKIW"}  # the two "Digital Caliper" titles
    assert [i for i, _ in store.top("gorilla glue", 1)] == ["B0000223UV"]
    # A shopper's "10 yd" finds the catalog's "10yd" (shared tokenizer).
    assert {i for i, _ in store.top("sanding roll 10 yd", 2)} == {"B0000223SI", "B0000223SK"}


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_only_matching_items_and_scores_descend(backend: str) -> None:
    store = _store(backend)
    hits = store.top("multimeter", 10)
    assert {i for i, _ in hits} == {"B000FP8B8K", "B00C7LOR3Q"}
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert store.top("zzzz unknownword", 5) == []
    assert store.top("the of and", 5) == []


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_allowed_mask_and_scores_of(backend: str) -> None:
    store = _store(backend)
    allowed = np.ones(len(store), dtype=bool)
    allowed[store.row_of["B0002BBV4Q"]] = False
    assert "B0002BBV4Q" not in [i for i, _ in store.top("digital caliper", 5, allowed)]
    rows = np.array([store.row_of["B000GSLKIW"], store.row_of["B0000223UV"]])
    sub = store.scores_of("digital caliper", rows)
    full = store.scores("digital caliper")
    np.testing.assert_allclose(sub, full[rows], rtol=1e-5)
    assert sub[0] > 0 and sub[1] == 0


def test_backends_agree_on_ranking_of_clear_matches() -> None:
    a, b = (_store(name) for name in BACKEND_NAMES)
    for query in ("dial caliper", "glass beaker", "nitrile gloves", "electrical tape"):
        assert a.top(query, 1)[0][0] == b.top(query, 1)[0][0], query


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_persistence_across_reopen(backend: str, tmp_path: Path) -> None:
    store = _store(backend)
    folder = BM25Store.folder_for(tmp_path, "scientific", backend)
    store.save(folder)
    items = list(small_catalog().items.values())
    reopened = BM25Store.open(folder, expected_manifest(items, "scientific", backend))
    assert reopened.item_ids == store.item_ids
    np.testing.assert_allclose(reopened.scores("stainless steel"), store.scores("stainless steel"), rtol=1e-6)
    assert folder_size(folder) > 0
    # Saving again replaces the folder whole: no temporary or old folders are left behind.
    store.save(folder)
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


def test_missing_index_says_what_to_run(tmp_path: Path) -> None:
    items = list(small_catalog().items.values())
    with pytest.raises(IndexMissingError, match=r"llmrec index --domain scientific`"):
        BM25Store.open(tmp_path / "nowhere", expected_manifest(items, "scientific", "bm25s"))


def test_stale_index_changed_catalog(tmp_path: Path) -> None:
    folder = tmp_path / "bm25"
    _store("bm25s").save(folder)
    changed = list(small_catalog(drop=("B0000223UV",)).items.values())
    with pytest.raises(StaleIndexError, match=r"different catalog .*--rebuild"):
        BM25Store.open(folder, expected_manifest(changed, "scientific", "bm25s"))
    retitled = list(small_catalog(retitle={"B0000223UV": "Gorilla Glue, 4 ounce"}).items.values())
    with pytest.raises(StaleIndexError, match="different catalog"):
        BM25Store.open(folder, expected_manifest(retitled, "scientific", "bm25s"))


def test_stale_index_tokenizer_version(tmp_path: Path) -> None:
    folder = tmp_path / "bm25"
    _store("bm25s").save(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tokenizer"] = 0
    (folder / "manifest.json").write_text(json.dumps(manifest))
    items = list(small_catalog().items.values())
    with pytest.raises(StaleIndexError, match="tokenizer version 0"):
        BM25Store.open(folder, expected_manifest(items, "scientific", "bm25s"))


def test_corrupt_files_are_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "bm25"
    _store("rank_bm25").save(folder)
    items = list(small_catalog().items.values())
    (folder / "corpus_tokens.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match=r"could not be read.*--rebuild"):
        BM25Store.open(folder, expected_manifest(items, "scientific", "rank_bm25"))
    (folder / "manifest.json").write_text("[1, 2")
    with pytest.raises(IndexCorruptError, match="unreadable manifest"):
        BM25Store.open(folder, expected_manifest(items, "scientific", "rank_bm25"))


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown BM25 backend"):
        BM25Store.build(list(small_catalog().items.values()), "scientific", "lucene")
