"""`llmrec train intent --keep-readers` refits the pick pointer and the word tagger on what the shipped readers read
of a labelled file, writing only where it is told, and refuses clearly when there is no intent model to keep."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.phrase_model import PhraseModel, RulesReading
from agent.pick_model import PickModel
from tools.embeddings import Encoder
from tools.settings import REPO_ROOT, RetrievalSettings
from ui import cli

SET = REPO_ROOT / "tests" / "data" / "understanding.jsonl"


def _small_set(path: Path) -> Path:
    """The first 60 development requests and the first 60 development lines after picks."""
    rows = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines()]
    dev = [row for row in rows if row["split"] == "dev"]
    chosen = [r for r in dev if not r["previous"]][:60] + [r for r in dev if r["previous"]][:60]
    path.write_text("".join(json.dumps(row) + "\n" for row in chosen), encoding="utf-8")
    return path


def test_keep_readers_refits_the_pointer_and_the_tagger_only(tmp_path: Path) -> None:
    messages = _small_set(tmp_path / "small.jsonl")
    pick_out, phrase_out = tmp_path / "pick.json", tmp_path / "phrase.json"
    result = CliRunner().invoke(
        cli.app,
        ["train", "intent", "--messages", str(messages), "--supplement", str(tmp_path / "none.jsonl"),
         "--keep-readers", "--pick-out", str(pick_out), "--phrase-out", str(phrase_out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "saved" in result.output and "intent_model.json" not in result.output  # the classifiers are kept
    assert PickModel.load(pick_out).fitted_on["lines"] > 0
    tagger = PhraseModel.load(phrase_out)
    assert tagger.fitted_on["alpha"] == 0.01 and len(tagger.hidden[0]) == 3 * 128  # three seeds' networks as one
    wanted, _ = tagger.phrases(
        Encoder.from_settings(RetrievalSettings()),
        "I need a digital caliper",
        RulesReading("request", ["digital caliper"], []),
    )
    assert wanted, "a tagger fitted on 120 lines reads nothing of a plain request"


def test_keep_readers_without_an_intent_model_is_a_clear_error(tmp_path: Path) -> None:
    messages = _small_set(tmp_path / "small.jsonl")
    result = CliRunner().invoke(
        cli.app,
        ["train", "intent", "--messages", str(messages), "--supplement", str(tmp_path / "none.jsonl"),
         "--keep-readers", "--out", str(tmp_path / "missing.json"), "--pick-out", str(tmp_path / "p.json"),
         "--phrase-out", str(tmp_path / "t.json")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--keep-readers needs a saved intent model" in result.output
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "t.json").exists()
