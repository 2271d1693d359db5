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

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markdown import Markdown

from evals.cot import cot_changes, cot_summary, pass_cases
from evals.errors import EvalConfigError, EvalError, ReportWriteError
from evals.faithfulness import markdown_table as faithfulness_table
from evals.harness import run_eval
from evals.llm_systems import LLMScorer
from evals.protocols import known_protocols, make_protocol
from evals.report import markdown_table, prepare_out_dir, write_report
from evals.systems import Scorer, SystemContext, make_system
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
    cot: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated LLM systems of --systems (e.g. llm-rec) whose evaluated passes get the "
            "chain-of-thought tests (evals/cot.py: the ranking re-read after the same, a truncated, another user's "
            "and no rationale); written to cot.json and cot.md. One forward pass per user and perturbation."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Cases an LLM system behind a vLLM server (LLMREC_MODEL_BACKEND=openai) scores at a time; vLLM "
            "batches them. The figures do not depend on it. The in-process model always scores one at a time.",
        ),
    ] = 1,
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
        cot_scorers = _cot_systems(cot, scorers)
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
            result = run_eval(dataset, proto, scorers, users=users, seed=run_seed, progress=progress, workers=workers)
        except BaseException:
            if made and not any(out.iterdir()):
                out.rmdir()  # a failed run leaves no empty report folder behind
            raise
        files = write_report(result, out)
        cot_files = write_cot(cot_scorers, out, progress=progress) if cot_scorers else []
    except (EvalError, ToolsError) as exc:
        raise _fail(exc) from exc
    except ValidationError as exc:
        raise _fail(ValueError(settings_error(exc))) from exc
    except OSError as exc:  # e.g. a dataset file that exists but cannot be read
        raise _fail(exc) from exc
    console = Console()
    console.print(Markdown(markdown_table(result)))
    for path in cot_files[1:]:
        console.print(Markdown(path.read_text(encoding="utf-8")))
    for path in (files.json, files.markdown, files.plot, *cot_files):
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)


def _cot_systems(cot: str | None, scorers: list[Scorer]) -> list[LLMScorer]:
    """The scorers named by --cot: LLM systems of this run that write a rationale."""
    if cot is None:
        return []
    by_name = {s.name: s for s in scorers}
    chosen: list[LLMScorer] = []
    for name in _system_names(cot):
        scorer = by_name.get(name)
        if scorer is None:
            raise EvalConfigError(f"--cot names {name!r}, which is not among --systems")
        if not isinstance(scorer, LLMScorer) or not scorer.rationale_tokens:
            raise EvalConfigError(f"--cot needs an LLM system that writes a rationale; {name!r} does not")
        chosen.append(scorer)
    return chosen


def write_cot(scorers: list[LLMScorer], out: Path, *, progress: bool) -> list[Path]:
    """Run the chain-of-thought tests on each scorer's evaluated passes; write cot.json and cot.md."""
    report: dict[str, object] = {}
    sections: list[str] = []
    for scorer in scorers:
        cases = pass_cases(scorer.passes)
        started = time.perf_counter()
        changes = cot_changes(scorer.llm, cases, progress=progress, desc=f"chain-of-thought tests of {scorer.name}")
        rows = cot_summary(changes)
        report[scorer.name] = {
            "summary": rows,
            "per_user": [vars(c) for c in changes],
            "seconds": round(time.perf_counter() - started, 1),
        }
        sections.append(faithfulness_table(f"Chain-of-thought tests of {scorer.name} (vs its own ranking)", rows))
    json_path, md_path = out / "cot.json", out / "cot.md"
    try:
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        md_path.write_text("\n".join(sections), encoding="utf-8")
    except OSError as exc:
        raise ReportWriteError(f"cannot write the chain-of-thought report to {out}: {exc.strerror or exc}") from exc
    return [json_path, md_path]


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
