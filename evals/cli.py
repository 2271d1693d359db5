"""`llmrec eval`: systems side by side on one dataset and protocol, written as JSON, Markdown and a plot.

    llmrec eval --domain scientific --protocol candidates --systems random,popularity --users 2000 \\
        --out reports/scientific-candidates
    llmrec eval --domain redial --protocol conversational --systems popularity,hybrid --exclude-mentioned \\
        --no-progress --out reports/redial-new-items

`eval_command` is a plain typer-annotated function; ui/cli.py mounts it through the `llmrec.commands` entry
point. Any error a user can fix (unknown domain, system or protocol, a protocol the domain cannot support, a
dataset that is not configured) prints one line and exits with code 2; the cause is logged with `-v`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markdown import Markdown

from evals.errors import EvalConfigError, EvalError
from evals.harness import run_eval
from evals.protocols import known_protocols, make_protocol
from evals.report import markdown_table, prepare_out_dir, write_report
from evals.systems import SystemContext, make_system
from tools.datasets import DOMAINS, dataset_warnings, known_domains, load_dataset
from tools.errors import ToolsError, UnknownDomainError
from tools.progress import disable_progress_bars
from tools.settings import CONVERSATIONAL_DATASETS_VARIABLE, DataSettings, settings_error

logger = logging.getLogger(__name__)


def _system_names(systems: str) -> list[str]:
    names = [s.strip() for s in systems.split(",") if s.strip()]
    if not names:
        raise EvalConfigError("--systems names no system; give a comma-separated list, e.g. random,popularity")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise EvalConfigError(f"system {repeated[0]!r} is listed twice; each system runs once per report")
    return names


def _fail(exc: Exception) -> typer.Exit:
    logger.debug("llmrec eval failed", exc_info=exc)
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def eval_command(
    protocol: Annotated[
        str, typer.Option(help=f"Evaluation protocol: {' | '.join([*known_protocols(), 'understanding'])}.")
    ],
    systems: Annotated[str, typer.Option(help="Comma-separated system names, e.g. random,popularity.")],
    out: Annotated[Path, typer.Option(help="Folder for results.json, results.md and ndcg.png (created if missing).")],
    domain: Annotated[
        str | None,
        typer.Option(
            help=f"Dataset domain: {', '.join(DOMAINS)}, or a name from {CONVERSATIONAL_DATASETS_VARIABLE}. "
            "Required except for --protocol understanding (its lines name their catalogs)."
        ),
    ] = None,
    messages: Annotated[
        Path | None,
        typer.Option(help="--protocol understanding: a labelled JSONL file (format: tests/data/UNDERSTANDING.md)."),
    ] = None,
    users: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Evaluate N evaluation users (dialogue turns on ReDial) chosen by the seed; the same N and seed "
            "always give the same users. Default: all.",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed for negatives, subsampling and tie-breaks. Default: LLMREC_SEED, else 2026."),
    ] = None,
    exclude_mentioned: Annotated[
        bool,
        typer.Option(
            "--exclude-mentioned",
            help="Conversational protocol: exclude items mentioned in the dialogue from the ranking and drop gold "
            "items already mentioned (the CIKM'23 'new items only' setting); the report says how many.",
        ),
    ] = False,
    progress: Annotated[
        bool, typer.Option(help="Show progress bars on stderr; --no-progress silences all of them.")
    ] = True,
) -> None:
    """Evaluate systems side by side on one dataset and protocol; write JSON, Markdown and an NDCG plot."""
    if not progress:
        disable_progress_bars()  # before any model or index is opened: their loaders draw bars too
    if protocol == "understanding":
        _understanding(messages, systems, out, progress=progress)
        return
    try:
        if domain is None:
            raise EvalConfigError(f"--domain is required for --protocol {protocol}")
        settings = DataSettings()
        run_seed = settings.seed if seed is None else seed
        proto = make_protocol(protocol, **({"exclude_mentioned": True} if exclude_mentioned else {}))
        context = SystemContext(seed=run_seed, settings=settings)
        scorers = [make_system(name, context) for name in _system_names(systems)]
        domains = known_domains(settings)
        if domain not in domains:
            raise UnknownDomainError(f"unknown domain {domain!r}; known domains: {', '.join(domains)}")
        for warning in dataset_warnings(settings):
            typer.echo(f"warning: {warning}", err=True)
        dataset = load_dataset(domain, settings)
        proto.unit_ids(dataset)  # a protocol that does not fit the domain fails before any folder is made
        made = not out.exists()
        prepare_out_dir(out)  # and an unusable --out fails before a run that may take hours
        try:
            result = run_eval(dataset, proto, scorers, users=users, seed=run_seed, progress=progress)
        except BaseException:
            if made and not any(out.iterdir()):
                out.rmdir()  # a failed run leaves no empty report folder behind
            raise
        files = write_report(result, out)
    except (EvalError, ToolsError) as exc:
        raise _fail(exc) from exc
    except ValidationError as exc:
        raise _fail(ValueError(settings_error(exc))) from exc
    except OSError as exc:  # e.g. a dataset file that exists but cannot be read
        raise _fail(exc) from exc
    console = Console()
    console.print(Markdown(markdown_table(result)))
    for path in (files.json, files.markdown, files.plot):
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)


def _understanding(messages: Path | None, systems: str, out: Path, *, progress: bool) -> None:
    """`--protocol understanding`: read every labelled message with each system, write the report."""
    from agent.understanding_set import UnderstandingSetError, load_lines
    from evals.understanding import markdown_report, run_understanding, write_understanding

    try:
        if messages is None:
            raise EvalConfigError(
                "--protocol understanding needs --messages FILE.jsonl (e.g. tests/data/understanding.jsonl)"
            )
        lines = load_lines(messages)
        results = run_understanding(lines, _system_names(systems), progress=progress)
        files = write_understanding(results, out, messages.name)
    except (EvalError, ToolsError, UnderstandingSetError) as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        raise _fail(exc) from exc
    console = Console()
    console.print(Markdown(markdown_report(results, messages.name)))
    for path in files:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
