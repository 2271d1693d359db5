"""The session summary of `pytest evals/`: tables built from hand-made runs, and the files written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.harness import EvalResult, MetricSummary
from evals.suite_report import (
    SuiteEntry,
    SuiteReport,
    format_cell,
    summary_markdown,
    summary_tables,
    write_summary,
)


def _result(domain: str, protocol: str, systems: dict[str, float], users: int = 4) -> EvalResult:
    metric = "recall@10" if protocol == "conversational" else "ndcg@10"
    return EvalResult(
        domain=domain,
        protocol=protocol,
        protocol_description=f"hand-made {protocol}",
        unit="turns" if protocol == "conversational" else "users",
        users=users,
        samples=users,
        seed=1,
        metrics=(metric, "mrr"),
        num_candidates=20 if protocol == "candidates" else None,
        systems={
            name: {metric: MetricSummary(mean, 0.01, users), "mrr": MetricSummary(mean / 2, 0.02, users)}
            for name, mean in systems.items()
        },
    )


def test_one_table_per_section_systems_by_domains() -> None:
    entries = [
        SuiteEntry("candidates", _result("scientific", "candidates", {"random": 0.2, "hybrid": 0.5})),
        SuiteEntry("full", _result("scientific", "full", {"bm25": 0.1})),
        SuiteEntry("candidates", _result("clothing", "candidates", {"random": 0.25, "bm25": 0.4}, users=7)),
        SuiteEntry("conversational", _result("redial", "conversational", {"popularity": 0.03})),
    ]
    tables = summary_tables(entries)
    assert [t.section for t in tables] == ["candidates", "full", "conversational"]
    cand = tables[0]
    assert cand.metric == "ndcg@10"
    assert cand.domains == ("scientific", "clothing")
    assert cand.units == {"scientific": "4 users", "clothing": "7 users"}
    assert list(cand.cells) == ["random", "hybrid", "bm25"]
    assert cand.cells["random"]["clothing"].mean == 0.25
    assert "clothing" not in cand.cells["hybrid"]
    assert tables[2].metric == "recall@10"
    assert tables[2].cells["popularity"]["redial"].mean == 0.03


def test_markdown_cells_and_missing_runs() -> None:
    entries = [
        SuiteEntry("candidates", _result("scientific", "candidates", {"random": 0.2, "hybrid": 0.5})),
        SuiteEntry("candidates", _result("clothing", "candidates", {"random": 0.25})),
    ]
    text = summary_markdown(summary_tables(entries))
    assert "## candidates: ndcg@10" in text
    assert "| system | scientific (4 users) | clothing (4 users) |" in text
    assert "| random | 0.2000 ± 0.0100 | 0.2500 ± 0.0100 |" in text
    assert "| hybrid | 0.5000 ± 0.0100 | – |" in text


def test_format_cell() -> None:
    assert format_cell(None) == "–"
    assert format_cell(MetricSummary(0.5, None, 1)) == "0.5000"
    assert format_cell(MetricSummary(float("nan"), None, 0)) == "n/a"


def test_sections_keep_llm_runs_apart_and_rerun_replaces() -> None:
    report = SuiteReport()
    report.add(_result("scientific", "candidates", {"hybrid": 0.5}))
    report.add(_result("scientific", "candidates", {"hybrid": 0.4, "llm-base": 0.3}, users=3), "candidates-llm")
    report.add(_result("scientific", "candidates", {"hybrid": 0.6}))
    tables = summary_tables(report.entries)
    assert [t.section for t in tables] == ["candidates-llm", "candidates"]
    assert tables[1].cells["hybrid"]["scientific"].mean == 0.6
    assert tables[0].units["scientific"] == "3 users"


def test_mixed_headline_metrics_in_one_section_are_refused() -> None:
    entries = [
        SuiteEntry("x", _result("scientific", "candidates", {"random": 0.2})),
        SuiteEntry("x", _result("redial", "conversational", {"random": 0.0})),
    ]
    with pytest.raises(ValueError, match="mixes protocols"):
        summary_tables(entries)


def test_write_summary_files(tmp_path: Path) -> None:
    report = SuiteReport()
    report.add(_result("scientific", "candidates", {"random": 0.2, "hybrid": 0.5}))
    report.add(_result("redial", "conversational", {"bm25": 0.05}))
    files = write_summary(report, tmp_path / "out")
    data = json.loads(files.json.read_text(encoding="utf-8"))
    assert [t["section"] for t in data["tables"]] == ["candidates", "conversational"]
    assert data["tables"][0]["systems"]["hybrid"]["scientific"] == {"mean": 0.5, "stderr": 0.01, "n": 4}
    assert [r["domain"] for r in data["runs"]] == ["scientific", "redial"]
    assert data["runs"][0]["section"] == "candidates"
    assert files.markdown.read_text(encoding="utf-8").startswith("# Evaluation summary")
    assert files.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_summary_with_no_runs(tmp_path: Path) -> None:
    files = write_summary(SuiteReport(), tmp_path)
    assert json.loads(files.json.read_text(encoding="utf-8"))["tables"] == []
    assert files.plot.exists()
