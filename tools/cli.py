"""`llmrec data ...`: dataset commands, mounted by ui/cli.py through the `llmrec.commands` entry point.

llmrec data stats                      # every domain; unconfigured ones say how to configure them
llmrec data stats --domain clothing --json
LLMREC_CONVERSATIONAL_DATASETS=mine=/data/mine llmrec data stats --domain mine   # a ReDial-format folder
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tools.datasets import DOMAINS, dataset_warnings, known_domains, load_dataset
from tools.errors import DatasetConfigError, DatasetFormatError, DatasetNotFoundError
from tools.settings import CONVERSATIONAL_DATASETS_VARIABLE, DataSettings, settings_error
from tools.stats import DatasetStats, Distribution, dataset_stats

app = typer.Typer(
    help="Datasets: load, convert and inspect the catalogs and histories the recommender uses.",
    no_args_is_help=True,
)


@app.callback()
def data() -> None:
    """Datasets: load, convert and inspect the catalogs and histories the recommender uses."""


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _distribution(dist: Distribution | None) -> str:
    if dist is None:
        return "-"
    return (
        f"min {_number(dist.min)} · p25 {_number(dist.p25)} · median {_number(dist.median)} · "
        f"mean {_number(dist.mean)} · p75 {_number(dist.p75)} · max {_number(dist.max)}"
    )


def _table(stats: DatasetStats) -> Table:
    table = Table(title=f"[bold]{stats.domain}[/bold]", show_header=False, title_justify="left")
    table.add_column("what", style="cyan")
    table.add_column("value", overflow="fold")
    table.add_row("items", _number(stats.items))
    if stats.users:
        table.add_row("users", _number(stats.users))
        table.add_row("users with a test item", _number(stats.test_users))
        table.add_row("interactions", _number(stats.interactions))
        table.add_row("history length (test)", _distribution(stats.history_length))
    if stats.turns:
        table.add_row("dialogue turns", _number(stats.turns))
        table.add_row("dialogues", _number(stats.dialogues))
        table.add_row("context utterances", _distribution(stats.context_length))
        table.add_row("gold items per turn", _distribution(stats.gold_per_turn))
    for key, value in stats.notes.items():
        shown = _number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
        table.add_row(f"[dim]{key.replace('_', ' ')}[/dim]", shown)
    return table


@app.command()
def stats(
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            "-d",
            help=f"One of: {', '.join(DOMAINS)}, or a name from {CONVERSATIONAL_DATASETS_VARIABLE}."
            " Default: all of them.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Users, items, interactions, turns, history lengths and loading notes per dataset."""
    errors = Console(stderr=True)
    try:
        settings = DataSettings()
        domains = known_domains(settings)
    except ValidationError as exc:
        typer.echo(f"error: {settings_error(exc)}", err=True)
        raise typer.Exit(code=2) from None
    except DatasetConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if domain is not None and domain not in domains:
        raise typer.BadParameter(f"unknown domain {domain!r}; known: {', '.join(domains)}", param_hint="--domain")
    for warning in dataset_warnings(settings):
        typer.echo(f"warning: {warning}", err=True)
    console = Console()
    report: dict[str, Any] = {}
    failed = False
    for name in [domain] if domain else list(domains):
        try:
            result = dataset_stats(load_dataset(name, settings))
        except DatasetNotFoundError as exc:
            failed = failed or domain is not None
            report[name] = {"error": str(exc)}
            if not as_json:
                errors.print(f"[yellow]{name}: skipped.[/yellow] {exc}", highlight=False)
            continue
        except DatasetFormatError as exc:
            failed = True
            report[name] = {"error": str(exc)}
            if not as_json:
                errors.print(f"[red]{name}: cannot be read.[/red] {exc}", highlight=False)
            continue
        report[name] = result.to_dict()
        if not as_json:
            console.print(_table(result))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    if failed:
        raise typer.Exit(code=1)
