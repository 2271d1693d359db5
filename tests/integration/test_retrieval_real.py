"""Retrieval on the real Scientific catalog (4,385 items) with the packaged MiniLM: build, search, CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tools.catalog import Dataset
from tools.datasets import load_dataset
from tools.embeddings import Encoder
from tools.indexing import IndexReport, build_indexes
from tools.langchain_tools import catalog_tools
from tools.search import CatalogRetrievers, catalog_retrievers
from tools.settings import RetrievalSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def scientific() -> Dataset:
    return load_dataset("scientific")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this module's own: the build measured here is a cold one, whatever other modules built."""
    return tmp_path_factory.mktemp("retrieval-real")


@pytest.fixture(scope="module")
def settings(index_dir: Path) -> RetrievalSettings:
    return RetrievalSettings(data_dir=index_dir)


@pytest.fixture(scope="module")
def report(scientific: Dataset, settings: RetrievalSettings) -> IndexReport:
    return build_indexes(scientific, settings, progress=False, encoder=Encoder.from_settings(settings))


@pytest.fixture(scope="module")
def retrievers(scientific: Dataset, settings: RetrievalSettings, report: IndexReport) -> Iterator[CatalogRetrievers]:
    with catalog_retrievers(scientific, settings, build_missing=False, progress=False) as r:
        yield r


def test_index_report(report: IndexReport) -> None:
    assert report.items == 4385
    assert report.bm25_bytes > 0 and (report.qdrant_bytes or 0) > 0
    assert report.dense.written == 4385
    assert report.dense.encoded + report.dense.cached >= 4300  # 16 texts are duplicates


# The CLI tests run before any test opens `retrievers`: embedded Qdrant allows one client per folder.


def test_cli_index_reports_up_to_date(report: IndexReport, index_dir: Path) -> None:
    from ui.cli import app

    result = CliRunner().invoke(app, ["index", "--domain", "scientific"], env={"LLMREC_DATA_DIR": str(index_dir)})
    assert result.exit_code == 0, result.output
    assert "indexed scientific: 4,385 items" in result.output
    assert "bm25 (bm25s): up to date" in result.output
    assert re.search(r"qdrant \(.*\): up to date", result.output), result.output


def test_cli_unknown_domain_is_one_line(session_data_dir: Path) -> None:
    from ui.cli import app

    result = CliRunner().invoke(app, ["index", "--domain", "nope"], env={"LLMREC_DATA_DIR": str(session_data_dir)})
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:")


@pytest.mark.parametrize("name", ["bm25", "dense", "hybrid"])
def test_search_finds_what_was_asked(retrievers: CatalogRetrievers, name: str) -> None:
    result = retrievers.get(name).search("digital caliper", k=10)  # type: ignore[arg-type]
    titles = [retrievers.dataset.items[i].title.lower() for i in result.item_ids]
    assert len(titles) == 10 and result.warnings == ()
    assert sum("caliper" in t for t in titles) >= 7, titles


def test_filter_by_brand(retrievers: CatalogRetrievers) -> None:
    brand = retrievers.dataset.items["B0000223SI"].attributes["brand"]
    result = retrievers.hybrid.search("sanding", k=5, filters={"brand": brand})
    assert result.item_ids and all(retrievers.dataset.items[i].attributes["brand"] == brand for i in result.item_ids)


def test_history_query_beats_random_on_candidates(retrievers: CatalogRetrievers) -> None:
    # The candidate protocol in miniature: held-out item + 19 random negatives, query = history titles.
    rng = np.random.default_rng(0)
    catalog = np.array(list(retrievers.dataset.items))
    users = [u for u in retrievers.dataset.users if u.test is not None][:200]
    reciprocal = {"bm25": [], "dense": [], "hybrid": []}
    for user in users:
        seen = set(user.all_items)
        negatives = [i for i in rng.choice(catalog, 40, replace=False) if i not in seen][:19]
        candidates = [user.test, *negatives]
        query = " ".join(retrievers.dataset.items[i].title for i in user.test_history[-5:])
        for name, values in reciprocal.items():
            scores = retrievers.get(name).score_candidates(query, candidates)  # type: ignore[arg-type]
            values.append(1.0 / (1 + int(np.sum(scores > scores[0]))))
    mrr = {name: float(np.mean(v)) for name, v in reciprocal.items()}
    assert all(value > 0.3 for value in mrr.values()), mrr  # random is about 0.18


def test_full_ranking_scores_every_item(retrievers: CatalogRetrievers) -> None:
    catalog = tuple(retrievers.dataset.items)
    scores = retrievers.hybrid.score_candidates("stainless steel hex bolts", catalog)
    assert scores.shape == (4385,) and np.isfinite(scores).all()
    best = retrievers.dataset.items[catalog[int(np.argmax(scores))]].title.lower()
    assert "bolt" in best or "stainless" in best


def test_tools_on_the_real_catalog(retrievers: CatalogRetrievers) -> None:
    search = catalog_tools(retrievers)[0]
    text = search.invoke({"query": "nitrile gloves", "k": 3})
    assert text.startswith("3 items for 'nitrile gloves':")
    assert all(line[3] == "[" for line in text.splitlines()[1:])
