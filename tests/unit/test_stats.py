"""`tools.stats` against hand-computed figures, and `llmrec data stats` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.test_datasets_scientific import SEQUENCES, scientific_files, write_files
from tools.catalog import Dataset, DialogueTurn, Item, UserHistory
from tools.cli import app
from tools.stats import Distribution, dataset_stats


def test_distribution_by_hand() -> None:
    # 1 2 3 4 10: p25 at rank 1 -> 2, median 3, p75 at rank 3 -> 4, mean 20 / 5.
    assert Distribution.of([10, 1, 4, 2, 3]) == Distribution(1.0, 2.0, 3.0, 4.0, 4.0, 10.0)
    # 1 2 3 4: p25 at rank 0.75 -> 1.75, median 2.5, p75 at rank 2.25 -> 3.25.
    assert Distribution.of([4, 3, 2, 1]) == Distribution(1.0, 1.75, 2.5, 2.5, 3.25, 4.0)
    assert Distribution.of([7]) == Distribution(7.0, 7.0, 7.0, 7.0, 7.0, 7.0)
    assert Distribution.of([]) is None


def test_dataset_stats() -> None:
    items = {i: Item(i, f"t{i}", f"t{i}") for i in "abcdef"}
    ds = Dataset(
        domain="demo",
        items=items,
        users=[
            UserHistory("u1", ("a", "b"), "c", "d"),  # sees 3 items when predicting d
            UserHistory("u2", ("a",), "e", "f"),  # sees 2
            UserHistory("u3", ("a", "b", "c")),  # no held-out items: sees 3
        ],
        turns=[
            DialogueTurn("d1", "1", ("hi",), ("a",)),
            DialogueTurn("d1", "2", ("hi", "x", "y"), ("b", "c")),
        ],
        notes={"z": 1, "a": "first"},
    )
    stats = dataset_stats(ds)
    assert (stats.items, stats.users, stats.test_users, stats.interactions) == (6, 3, 2, 10)
    assert (stats.turns, stats.dialogues) == (2, 1)
    assert stats.history_length == Distribution(2.0, 2.5, 3.0, 8 / 3, 3.0, 3.0)
    assert stats.context_length == Distribution(1.0, 1.5, 2.0, 2.0, 2.5, 3.0)
    assert list(stats.notes) == ["a", "z"]
    assert json.loads(json.dumps(stats.to_dict()))["history_length"]["median"] == 3.0


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Only scientific is present (synthetic); every other domain is missing."""
    write_files(tmp_path / "bundled" / "scientific", scientific_files(SEQUENCES), gz=True)
    (tmp_path / "external").mkdir()
    monkeypatch.setenv("LLMREC_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LLMREC_BUNDLED_DATA_DIR", str(tmp_path / "bundled"))
    monkeypatch.setenv("LLMREC_EXTERNAL_DATA_DIR", str(tmp_path / "external"))
    return tmp_path


def test_stats_json_for_one_domain(configured: Path) -> None:
    result = CliRunner().invoke(app, ["stats", "--domain", "scientific", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scientific"]["users"] == 3 and report["scientific"]["items"] == 66
    assert report["scientific"]["history_length"]["max"] == 59


def test_stats_all_domains_skips_unconfigured_ones(configured: Path) -> None:
    result = CliRunner().invoke(app, ["stats"])
    assert result.exit_code == 0, result.output
    assert "scientific" in result.stdout and "users with a test item" in result.stdout
    for domain in ("clothing", "redial", "citeulike", "movielens"):
        assert f"{domain}: skipped." in result.output
    assert "LLMREC_EXTERNAL_DATA_DIR" in result.output


def test_stats_all_domains_json_records_errors(configured: Path) -> None:
    result = CliRunner().invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scientific"]["users"] == 3
    assert "not found" in report["movielens"]["error"]


def test_stats_requested_missing_domain_fails(configured: Path) -> None:
    result = CliRunner().invoke(app, ["stats", "--domain", "movielens"])
    assert result.exit_code == 1
    assert "movielens: skipped." in result.output and "LLMREC_EXTERNAL_DATA_DIR" in result.output


def test_stats_unknown_domain_is_a_usage_error(configured: Path) -> None:
    result = CliRunner().invoke(app, ["stats", "--domain", "books"])
    assert result.exit_code == 2
    assert "unknown domain 'books'" in result.output


def test_stats_format_error_fails_with_file_and_line(configured: Path) -> None:
    target = configured / "bundled" / "scientific"
    (target / "Scientific.user2index.gz").unlink()
    (target / "Scientific.user2index").write_text("U1 0\n")
    result = CliRunner().invoke(app, ["stats", "--domain", "scientific"])
    assert result.exit_code == 1
    assert "Scientific.user2index, line 1: expected 2 tab-separated fields" in result.output.replace("\n", "")
