"""Retrieval systems and the rerank protocol in the evaluation harness, on a small real-looking catalog."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from evals.harness import run_eval
from evals.protocols import make_protocol
from evals.queries import DIALOGUE_CHARS, HISTORY_TITLES, query_text
from evals.report import markdown_table, results_dict
from evals.rerank import RerankProtocol
from evals.systems import Query, make_system
from tests.retrievaldata import small_catalog
from tools.catalog import Dataset, Item
from tools.splits import is_eval_user


@pytest.fixture(scope="module")
def catalog() -> Dataset:
    # A domain name of its own: shared retrievers are cached per domain for the whole process.
    ds = small_catalog(domain="evalrerank")
    return replace(ds, items={k: replace(v, domain="evalrerank") for k, v in ds.items.items()})


@pytest.fixture(scope="module")
def split_seed(catalog: Dataset) -> int:
    """A split seed that puts both of the catalog's two users on the evaluation side (the project seed puts none)."""
    return next(s for s in range(1000) if all(is_eval_user(u.user_id, s) for u in catalog.users))


def test_query_text_uses_recent_titles_most_recent_first() -> None:
    items = {f"i{n}": Item(f"i{n}", f"title {n}", "") for n in range(15)}
    text = query_text(Query("u", tuple(items)), items)
    assert text.startswith("title 14 title 13")
    assert text.count("title") == HISTORY_TITLES


def test_query_text_for_dialogues_keeps_the_latest_context() -> None:
    context = ("x" * 5000, "I loved Alien (1979)")
    text = query_text(Query("d", (), context=context), {})
    assert len(text) == DIALOGUE_CHARS and text.endswith("I loved Alien (1979)")
    assert query_text(Query("d", ()), {}) == ""


def test_rerank_cases_hold_the_retrieved_top_20_and_the_target(catalog: Dataset, split_seed: int) -> None:
    protocol = make_protocol("rerank", split_seed=split_seed)
    assert isinstance(protocol, RerankProtocol)
    ids = protocol.unit_ids(catalog)
    assert ids == ["u1", "u2"]
    cases = list(protocol.cases(catalog, ids, seed=7))
    again = list(make_protocol("rerank", split_seed=split_seed).cases(catalog, ids, seed=7))
    assert [c.candidates for c in cases] == [c.candidates for c in again]  # deterministic
    users = {u.user_id: u for u in catalog.users}
    for case in cases:
        user = users[case.query.user_id]
        assert len(case.candidates) == 20 == len(set(case.candidates))
        assert user.test in case.candidates
        assert not set(user.test_history) & set(case.candidates)
    assert protocol.first_stage_total == len(ids)
    assert sum(c.stratum == "found" for c in cases) == protocol.first_stage_hits
    assert {c.stratum for c in cases} <= set(protocol.strata) == {"found", "put_in"}
    assert "retriever found the held-out item" in protocol.describe()


@pytest.mark.parametrize("name", ["bm25", "dense", "hybrid"])
def test_retrieval_system_scores_the_named_item_highest(catalog: Dataset, name: str) -> None:
    system = make_system(name)
    system.fit(catalog)
    target = "B0002BBV4Q"  # the Neiko digital caliper
    others = [i for i in catalog.items if i != target][:9]
    scores = np.asarray(system.score(Query("q", (target,), domain=catalog.domain), [*others, target]))
    assert scores.shape == (10,)
    assert int(np.argmax(scores)) == 9


def test_empty_query_ties_every_candidate(catalog: Dataset) -> None:
    system = make_system("bm25")
    system.fit(catalog)
    scores = np.asarray(system.score(Query("q", ()), list(catalog.items)[:5]))
    assert (scores == 0).all()


def test_rerank_runs_through_the_harness(catalog: Dataset, split_seed: int) -> None:
    protocol = make_protocol("rerank", split_seed=split_seed)
    result = run_eval(catalog, protocol, ["random", "popularity", "bm25", "hybrid"], seed=3, progress=False)
    assert result.users == 2
    for metrics in result.systems.values():
        for stat in metrics.values():
            assert 0.0 <= stat.mean <= 1.0
    # The strata split the same samples: counts add up, and for every metric the weighted means give the overall one.
    counts = result.stratum_samples()
    assert set(counts) == {"found", "put_in"} and sum(counts.values()) == result.samples
    for name, per in result.strata.items():
        assert set(per) == {"found", "put_in"}
        for metric, overall in result.systems[name].items():
            weighted = sum(per[k][metric].mean * counts[k] for k in per if counts[k]) / result.samples
            assert weighted == pytest.approx(overall.mean)
    assert set(result.strata) == {"random", "popularity", "bm25", "hybrid"}
    table = markdown_table(result)
    assert "By stratum" in table
    shown = [k for k in ("found", "put_in") if counts[k]]
    for k in shown:
        assert "| hybrid |" in table.split(f"### {k} ({counts[k]} samples)")[1]
    assert results_dict(result)["strata"]["bm25"].keys() == {"found", "put_in"}
    assert set(results_dict(result)["strata"]["bm25"]["put_in"]) == set(protocol.metrics)
    assert make_protocol("candidates").strata == {}  # no groups, no table
