"""`llmrec eval`: the command on small in-memory datasets, its one-line errors, and one real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evals import cli
from evals.metrics import analytic_random_ndcg
from tests.evaldata import chats, shop
from tools.catalog import Dataset
from tools.errors import DatasetNotFoundError
from tools.settings import DataSettings

FAKE = {"tiny": shop(), "chat": chats(), "one": shop(num_users=1, domain="one")}  # u000: a training user


def _app() -> typer.Typer:
    # Mounted the way ui/cli.py mounts the `llmrec.commands` entry point.
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    app.command("eval")(cli.eval_command)
    return app


@pytest.fixture
def fake_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(domain: str, settings: DataSettings | None = None) -> Dataset:
        if domain == "unconfigured":
            raise DatasetNotFoundError("dataset 'unconfigured' not found under /nowhere: set LLMREC_DATA_DIR")
        return FAKE[domain]

    monkeypatch.setattr(cli, "known_domains", lambda settings=None: (*FAKE, "unconfigured"))
    monkeypatch.setattr(cli, "load_dataset", load)


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(_app(), ["eval", *args, "--no-progress"])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("fake_datasets")
def test_eval_writes_the_report_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "report"
    code, stdout, _ = _invoke(
        "--domain", "tiny", "--protocol", "candidates", "--systems", "random, popularity", "--users", "30",
        "--seed", "7", "--out", str(out),
    )  # fmt: skip
    assert code == 0, stdout
    data = json.loads((out / "results.json").read_text())
    assert (data["domain"], data["protocol"], data["users"], data["seed"]) == ("tiny", "candidates", 30, 7)
    assert list(data["systems"]) == ["random", "popularity"]
    assert (out / "results.md").is_file() and (out / "ndcg.png").is_file()
    assert "popularity" in stdout and "ndcg@10" in stdout
    assert f"wrote {out / 'results.json'}" in stdout


@pytest.mark.usefixtures("fake_datasets")
def test_seed_defaults_to_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMREC_SEED", "11")
    code, stdout, _ = _invoke(
        "--domain", "chat", "--protocol", "conversational", "--systems", "popularity", "--out", str(tmp_path)
    )  # fmt: skip
    assert code == 0, stdout
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["seed"] == 11
    assert set(data["systems"]["popularity"]) == {
        "recall@1",
        "recall@5",
        "recall@10",
        "recall@20",
        "recall@50",
        "ndcg@10",
        "mrr",
    }
    assert set(data["strata"]["popularity"]) == {"mentioned", "new"}


@pytest.mark.usefixtures("fake_datasets")
def test_exclude_mentioned_drops_the_mentioned_gold_items(tmp_path: Path) -> None:
    args = ("--domain", "chat", "--protocol", "conversational", "--systems", "popularity")
    code, stdout, _ = _invoke(*args, "--out", str(tmp_path / "all"))
    assert code == 0, stdout
    code, stdout, _ = _invoke(*args, "--exclude-mentioned", "--out", str(tmp_path / "new"))
    assert code == 0, stdout
    everything = json.loads((tmp_path / "all" / "results.json").read_text())
    new = json.loads((tmp_path / "new" / "results.json").read_text())
    mentioned = everything["strata_samples"]["mentioned"]
    assert mentioned > 0
    assert new["dropped_samples"] == mentioned
    assert new["samples"] == everything["strata_samples"]["new"] == everything["samples"] - mentioned
    assert "samples dropped by the protocol" in (tmp_path / "new" / "results.md").read_text()
    assert "dropped" in stdout


@pytest.mark.usefixtures("fake_datasets")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tiny", "candidates", "random,bm99"), "unknown system 'bm99'; known systems: agent, bm25, "),
        (("tiny", "loo", "random"), "unknown protocol 'loo'"),
        (("tiny", "conversational", "random"), "needs dialogue turns"),
        (("chat", "candidates", "random"), "needs users with a held-out test item"),
        (("one", "candidates", "random"), "domain 'one' has no evaluation users"),
        (("books", "candidates", "random"), "unknown domain 'books'"),
        (("unconfigured", "full", "random"), "not found under /nowhere"),
        (("tiny", "full", " , "), "names no system"),
        (("tiny", "full", "random,random"), "listed twice"),
        (("tiny", "candidates", "random", "--exclude-mentioned"), "no option exclude_mentioned"),
    ],
)
def test_errors_are_one_line_and_exit_2(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    domain, protocol, systems, *extra = args
    out = str(tmp_path / "never")
    code, stdout, stderr = _invoke(
        "--domain", domain, "--protocol", protocol, "--systems", systems, "--out", out, *extra
    )  # fmt: skip
    assert code == 2
    assert stderr.startswith("error: ")
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stdout + stderr
    assert not (tmp_path / "never").exists()


@pytest.mark.usefixtures("fake_datasets")
def test_users_must_be_positive(tmp_path: Path) -> None:
    code, _, stderr = _invoke(
        "--domain", "tiny", "--protocol", "full", "--systems", "random", "--users", "0",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 2
    assert "--users" in stderr


@pytest.mark.usefixtures("fake_datasets")
def test_unwritable_out_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, stderr = _invoke(
        "--domain", "tiny", "--protocol", "candidates", "--systems", "random", "--out", str(blocker / "sub")
    )  # fmt: skip
    assert code == 2
    assert stderr.startswith(f"error: cannot write the report to {blocker / 'sub'}")


@pytest.mark.integration
def test_real_scientific_candidates_run(tmp_path: Path) -> None:
    """The README's first eval on the real Amazon Scientific data: 2000 users, random vs popularity."""
    out = tmp_path / "scientific-candidates"
    code, stdout, stderr = _invoke(
        "--domain", "scientific", "--protocol", "candidates", "--systems", "random,popularity",
        "--users", "2000", "--out", str(out),
    )  # fmt: skip
    assert code == 0, stdout + stderr
    data = json.loads((out / "results.json").read_text())
    assert data["users"] == 2000
    for means in data["systems"].values():
        assert set(means) == {"ndcg@10", "hr@1", "hr@5", "hr@10", "mrr"}
        assert all(0.0 <= v <= 1.0 for v in means.values())
    random_ndcg, random_se = data["systems"]["random"]["ndcg@10"], data["stderr"]["random"]["ndcg@10"]
    assert abs(random_ndcg - analytic_random_ndcg(20, 10)) < 4 * random_se
    popularity_ndcg, popularity_se = (
        data["systems"]["popularity"]["ndcg@10"],
        data["stderr"]["popularity"]["ndcg@10"],
    )
    assert popularity_ndcg - random_ndcg > 4 * (random_se**2 + popularity_se**2) ** 0.5
    assert (out / "results.md").read_text().startswith("## scientific: candidates protocol, 2000 users")
    assert (out / "ndcg.png").stat().st_size > 5000


class _Broken:
    name = "broken"

    def fit(self, dataset: Dataset) -> None:
        pass

    def score(self, query: object, candidate_ids: object) -> list[float]:
        raise cli.EvalConfigError("broken cannot score")


@pytest.mark.usefixtures("fake_datasets")
def test_a_run_that_fails_leaves_no_empty_report_folder(tmp_path: Path) -> None:
    from evals.systems import register_system

    register_system("broken", lambda ctx: _Broken(), replace=True)
    out = tmp_path / "never"
    code, _, stderr = _invoke("--domain", "tiny", "--protocol", "candidates", "--systems", "broken", "--out", str(out))
    assert code == 2 and "broken cannot score" in stderr
    assert not out.exists()
    kept = tmp_path / "kept"
    (kept / "notes.txt").parent.mkdir()
    (kept / "notes.txt").write_text("mine")
    _invoke("--domain", "tiny", "--protocol", "candidates", "--systems", "broken", "--out", str(kept))
    assert (kept / "notes.txt").read_text() == "mine"  # a folder the user had stays, with what it held
