"""Reports: the results.json contract, the Markdown table and the NDCG plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.errors import ReportWriteError
from evals.harness import EvalResult, MetricSummary, run_eval
from evals.metrics import analytic_random_ndcg
from evals.protocols import ConversationalProtocol
from evals.report import markdown_table, results_dict, write_report
from tests.evaldata import chats, shop, three_turns

REQUIRED = {"domain", "protocol", "users", "seed", "systems"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _hand_made() -> EvalResult:
    def summary(mean: float, se: float | None) -> MetricSummary:
        return MetricSummary(mean=mean, stderr=se, n=4)

    metrics = ("ndcg@10", "hr@1", "hr@5", "hr@10", "mrr")
    return EvalResult(
        domain="scientific",
        protocol="candidates",
        protocol_description="1 held-out item + 19 sampled negatives per user",
        unit="users",
        users=4,
        samples=4,
        seed=2026,
        metrics=metrics,
        num_candidates=20,
        systems={
            "random": {m: summary(0.123456, 0.01) for m in metrics},
            "popularity": {m: summary(0.5, None) for m in metrics},
        },
    )


def test_results_json_contract(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "report"
    files = write_report(_hand_made(), out)
    assert files.json == out / "results.json"
    data = json.loads(files.json.read_text())
    assert set(data) >= REQUIRED
    assert (data["domain"], data["protocol"], data["users"], data["seed"]) == (
        "scientific",
        "candidates",
        4,
        2026,
    )
    assert data["systems"] == {
        "random": {
            "ndcg@10": 0.123456,
            "hr@1": 0.123456,
            "hr@5": 0.123456,
            "hr@10": 0.123456,
            "mrr": 0.123456,
        },
        "popularity": {"ndcg@10": 0.5, "hr@1": 0.5, "hr@5": 0.5, "hr@10": 0.5, "mrr": 0.5},
    }
    assert data["stderr"]["random"]["mrr"] == 0.01
    assert data["stderr"]["popularity"]["mrr"] is None
    assert data["analytic_random_ndcg@10"] == pytest.approx(analytic_random_ndcg(20, 10))
    assert data["candidates_per_user"] == 20


def test_markdown_table(tmp_path: Path) -> None:
    text = markdown_table(_hand_made())
    lines = text.splitlines()
    assert lines[0] == "## scientific: candidates protocol, 4 users"
    assert "seed 2026" in lines[2]
    assert "0.2272" in lines[2]
    assert lines[4] == "| system | ndcg@10 | hr@1 | hr@5 | hr@10 | mrr |"
    assert lines[6] == "| random | " + " | ".join(["0.1235 ± 0.0100"] * 5) + " |"
    assert lines[7] == "| popularity | " + " | ".join(["0.5000"] * 5) + " |"
    assert (write_report(_hand_made(), tmp_path).markdown).read_text() == text


def test_plot_is_a_png(tmp_path: Path) -> None:
    files = write_report(_hand_made(), tmp_path)
    blob = files.plot.read_bytes()
    assert files.plot.name == "ndcg.png"
    assert blob.startswith(PNG_MAGIC)
    assert len(blob) > 5000


def test_full_protocol_report_keeps_only_its_metrics(tmp_path: Path) -> None:
    result = run_eval(shop(), "full", ["random", "popularity"], users=30, progress=False)
    data = results_dict(result)
    assert set(data["systems"]["popularity"]) == {"ndcg@10", "hr@10", "mrr", "recall@20", "recall@50"}
    assert list(data["systems"]["popularity"]) == ["ndcg@10", "hr@10", "mrr", "recall@20", "recall@50"]
    assert "analytic_random_ndcg@10" not in data
    assert data["candidates_per_user"] is None
    write_report(result, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"results.json", "results.md", "ndcg.png"}


def test_conversational_report_adds_recall_at_1_and_10() -> None:
    result = run_eval(chats(), "conversational", ["random", "popularity"], progress=False)
    data = results_dict(result)
    assert list(data["systems"]["random"]) == [
        "ndcg@10",
        "mrr",
        "recall@1",
        "recall@5",
        "recall@10",
        "recall@20",
        "recall@50",
    ]
    assert data["unit"] == "turns"
    assert data["samples"] > data["users"]
    assert "turns" in markdown_table(result).splitlines()[0]
    assert json.loads(json.dumps(data)) == data  # plain JSON: no NaN, no numpy types


def test_every_metric_per_stratum_in_json_and_markdown(tmp_path: Path) -> None:
    data, scorer = three_turns()
    result = run_eval(data, "conversational", [scorer], progress=False)
    out = results_dict(result)
    assert out["strata_samples"] == {"mentioned": 2, "new": 2}
    assert set(out["strata_notes"]) == {"mentioned", "new"}
    mentioned, new = out["strata"]["scripted"]["mentioned"], out["strata"]["scripted"]["new"]
    assert list(mentioned) == list(out["systems"]["scripted"])  # the same metrics, in the same order
    assert (mentioned["recall@5"], new["recall@5"], new["recall@10"]) == (1.0, 0.0, 0.5)  # see test_harness
    assert out["strata_stderr"]["scripted"]["new"]["recall@10"] == pytest.approx(0.5)  # sd 0.7071 over 2 samples
    assert (out["dropped_samples"], out["dropped_units"]) == (0, 0)
    table = markdown_table(result)
    assert "- mentioned (2 samples): the gold item was already mentioned" in table
    section = table.split("### new (2 samples)")[1]
    assert "| system | ndcg@10 | mrr | recall@1 | recall@5 | recall@10 | recall@20 | recall@50 |" in section
    assert (
        "| scripted | 0.1667 ± 0.1667 | 0.0881 ± 0.0548 | 0.0000 ± 0.0000 | 0.0000 ± 0.0000 | 0.5000 ± 0.5000"
        in section
    )
    assert json.loads(json.dumps(out)) == out


def test_dropped_samples_are_reported(tmp_path: Path) -> None:
    data, scorer = three_turns()
    result = run_eval(data, ConversationalProtocol(exclude_mentioned=True), [scorer], progress=False)
    out = results_dict(result)
    assert (out["users"], out["samples"], out["dropped_samples"], out["dropped_units"]) == (2, 2, 2, 1)
    assert out["strata"] == {} and out["strata_samples"] == {}
    table = markdown_table(result)
    assert table.splitlines()[0] == "## hand: conversational protocol, 2 turns"
    assert "new items only" in table
    assert "2 samples dropped by the protocol (1 turns left with none, not scored)." in table
    assert "By stratum" not in table


def test_unwritable_folder_is_a_report_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ReportWriteError, match=r"cannot write the report to .*a-file/out"):
        write_report(_hand_made(), blocker / "out")
