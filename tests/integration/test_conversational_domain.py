"""A slice of the real ReDial files named as a domain of its own (LLMREC_CONVERSATIONAL_DATASETS), end to end:
`llmrec index` builds its own BM25 folder and Qdrant collection, a stale-index rebuild touches no other domain, the
conversational evaluation and the agent run on it under its name, and `--no-progress` silences every progress bar
of `llmrec index` and `llmrec eval` (checked in subprocesses, as a user runs them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from agent.session import RecommenderAgent
from agent.settings import AgentSettings, ModelSettings
from evals.harness import run_eval
from evals.report import write_report
from tests.redial_slice import write_redial_slice
from tools.datasets import load_dataset
from tools.errors import StaleIndexError
from tools.index_cli import index_command
from tools.qdrant_store import QdrantStore, collection_name
from tools.search import catalog_retrievers
from tools.settings import REPO_ROOT, RetrievalSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIABLE = "LLMREC_CONVERSATIONAL_DATASETS"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conversational-domain")


@pytest.fixture(scope="module")
def folders(root: Path) -> dict[str, Path]:
    return {
        "mini": write_redial_slice(root / "mini", 200),
        "other": write_redial_slice(root / "other", 120, skip=200, compress=True),
    }


def _variable(folders: dict[str, Path]) -> str:
    return ",".join(f"{name}={folder}" for name, folder in folders.items())


@pytest.fixture(scope="module")
def settings(root: Path, folders: dict[str, Path]) -> RetrievalSettings:
    return RetrievalSettings(data_dir=root / "data", conversational_datasets=folders)


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")}


def _index(domain: str, *extra: str) -> str:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    app.command("index")(index_command)
    result = CliRunner().invoke(app, ["index", "--domain", domain, "--no-progress", *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def indexed(settings: RetrievalSettings, folders: dict[str, Path]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMREC_DATA_DIR", str(settings.data_dir))
        patch.setenv(VARIABLE, _variable(folders))
        for name in folders:
            assert f"indexed {name}: " in _index(name)
    yield


@pytest.mark.usefixtures("indexed")
def test_each_configured_domain_has_its_own_indexes(settings: RetrievalSettings) -> None:
    data = settings.data_dir
    for name in ("mini", "other"):
        manifest = json.loads((data / "indexes" / name / "bm25-bm25s" / "manifest.json").read_text())
        assert (manifest["domain"], manifest["num_items"]) == (name, len(load_dataset(name, settings).items))
        with QdrantStore.connect(settings, name) as store:
            assert store.collection == collection_name(name) == f"llmrec_{name}"
            stored = store.stored_manifest()
            assert stored is not None and stored.domain == name and stored.num_items == manifest["num_items"]
    assert not (data / "indexes" / "redial").exists() and not (data / "qdrant" / "redial").exists()


@pytest.mark.usefixtures("indexed")
def test_following_the_rebuild_advice_leaves_other_domains_alone(
    settings: RetrievalSettings, root: Path, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    changing = write_redial_slice(root / "changing", 100, skip=320)
    monkeypatch.setenv("LLMREC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv(VARIABLE, _variable({**folders, "changing": changing}))
    _index("changing")
    others = {name: _files(settings.data_dir / kind / name) for name in folders for kind in ("indexes", "qdrant")}
    write_redial_slice(changing, 150, skip=320)  # 50 more turns: a larger catalog, so its indexes are stale
    grown = settings.model_copy(update={"conversational_datasets": {**folders, "changing": changing}})
    dataset = load_dataset("changing", grown)
    with pytest.raises(
        StaleIndexError, match=r"domain 'changing' is stale .*`llmrec index --domain changing --rebuild`"
    ):
        catalog_retrievers(dataset, grown, build_missing=False, progress=False)
    assert "built" in _index("changing", "--rebuild")
    with catalog_retrievers(dataset, grown, build_missing=False, progress=False) as retrievers:
        assert retrievers.hybrid.search("a scary movie", k=5).item_ids
    assert {name: _files(settings.data_dir / kind / name) for name in folders for kind in ("indexes", "qdrant")} == (
        others
    )


def test_conversational_eval_reports_under_the_domains_name(
    folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The retrieval systems open their indexes in the session's data dir: a domain name no other test opens there.
    monkeypatch.setenv(VARIABLE, f"minieval={folders['mini']}")
    dataset = load_dataset("minieval")
    systems = ["random", "popularity", "bm25", "dense", "hybrid"]
    result = run_eval(dataset, "conversational", systems, progress=False)
    assert (result.domain, result.users, result.unit) == ("minieval", 200, "turns")
    assert result.samples == sum(len(set(t.gold)) for t in dataset.turns)
    counts = result.stratum_samples()
    assert counts["mentioned"] + counts["new"] == result.samples and counts["mentioned"] > 0
    for name in systems:
        for metric, summary in result.systems[name].items():
            assert 0.0 <= summary.mean <= 1.0, (name, metric)
    assert result.means("hybrid")["recall@50"] > result.means("random")["recall@50"]
    data = json.loads(write_report(result, tmp_path).json.read_text())
    assert data["domain"] == "minieval"
    assert set(data["strata"]["hybrid"]) == {"mentioned", "new"}


@pytest.mark.usefixtures("indexed")
def test_the_agent_recommends_from_the_domain(
    settings: RetrievalSettings,
    folders: dict[str, Path],
    tiny_llm: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VARIABLE, _variable(folders))
    with RecommenderAgent.open(
        "mini",
        llm=tiny_llm,
        model_settings=ModelSettings(rationale_max_tokens=8),
        agent_settings=AgentSettings(checkpoint_url=str(tmp_path / "checkpoints.sqlite")),
        retrieval_settings=settings,
        progress=False,
    ) as agent:
        assert agent.context.retrievers.domain == "mini"
        result = agent.turn("t1", "I loved Police Academy, any other comedy like it?")
    catalog = load_dataset("mini", settings).items
    assert result.items and all(item["item_id"] in catalog for item in result.items)


# --- --no-progress, as a user runs it ------------------------------------------------------------------------


def _run(args: list[str], data_dir: Path, folders: dict[str, Path]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS")}
    env |= {
        "LLMREC_DATA_DIR": str(data_dir),
        VARIABLE: _variable(folders),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _bars(stderr: str) -> bool:
    return "%|" in stderr or "\r" in stderr


def test_no_progress_silences_every_bar(root: Path, folders: dict[str, Path]) -> None:
    eval_args = ["eval", "--domain", "mini", "--protocol", "conversational", "--systems", "popularity,bm25,hybrid"]
    eval_args += ["--users", "5"]
    # Cold runs (fresh data dirs), so tokenizing, model loading and indexing all happen under the flag.
    index = _run(["index", "--domain", "mini", "--no-progress"], root / "quiet-index", folders)
    assert "indexed mini: " in index.stdout
    assert not _bars(index.stderr), index.stderr[-2000:]
    quiet = _run([*eval_args, "--out", str(root / "quiet-out"), "--no-progress"], root / "quiet-eval", folders)
    assert "wrote " in quiet.stdout
    assert not _bars(quiet.stderr), quiet.stderr[-2000:]
    loud = _run([*eval_args, "--out", str(root / "loud-out")], root / "loud-eval", folders)
    assert _bars(loud.stderr)
    for bar in ("Tokenizing", "Loading weights", "Indexing mini", "conversational on mini"):
        assert f"{bar}:" in loud.stderr, f"no {bar!r} bar: the quiet run proves less than it should"
