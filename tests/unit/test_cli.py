"""The `llmrec` root command mounts the sub-commands the packages contribute through entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from ui import cli


def test_help_lists_the_stable_commands() -> None:
    result = CliRunner().invoke(cli.app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("data", "eval", "index", "chat", "ask"):
        assert command in result.output
        assert "(unavailable" not in result.output.split(command, 1)[1].splitlines()[0]


def test_console_script_runs() -> None:
    # The installed console script, not just the Typer object: catches a broken [project.scripts] entry.
    script = Path(sys.executable).parent / "llmrec"
    assert script.exists(), "console script missing: pip install -e ."
    proc = subprocess.run(
        [str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "llmrec" in proc.stdout


def test_unimportable_plugin_explains_itself() -> None:
    root = typer.Typer()

    @root.callback()
    def _cb() -> None:
        pass

    exc = ModuleNotFoundError("No module named 'slack_bolt'")
    root.command("slack")(cli._unavailable("slack", exc))
    result = CliRunner().invoke(root, ["slack"])
    assert result.exit_code == 2
    assert "slack_bolt" in result.output
    assert "Traceback" not in result.output
