"""The summary of one `pytest evals/` session: every run's headline metric, systems x domains, per protocol.

Writes `summary.json` (every run's `results_dict` plus the tables), `summary.md` (one table per section: NDCG@10 ±
standard error, Recall@10 on the conversational protocol) and `ndcg_by_system.png` (grouped bars, one panel per
section) into the report folder. A section is a protocol, or a protocol with a suffix such as `candidates-llm` for
the LLM systems' run, which evaluates fewer users and must not share cells with the full-size run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from evals.errors import ReportWriteError
from evals.harness import EvalResult, MetricSummary
from evals.report import prepare_out_dir, results_dict

HEADLINE_METRICS: dict[str, str] = {"conversational": "recall@10"}
"""Protocol -> the metric its summary table shows; every other protocol shows ndcg@10."""
DEFAULT_HEADLINE = "ndcg@10"


@dataclass(frozen=True)
class SuiteEntry:
    """One run of the session and the section of the summary it belongs to."""

    section: str
    result: EvalResult


@dataclass(frozen=True)
class SummaryTable:
    """One section: systems (rows, in first-seen order) x domains (columns, in first-seen order)."""

    section: str
    metric: str
    domains: tuple[str, ...]
    units: dict[str, str]
    """Domain -> e.g. "50 users" (the run's N), for the column header."""
    cells: dict[str, dict[str, MetricSummary]]
    """System -> domain -> summary; a domain missing for a system was not run for it."""


@dataclass(frozen=True)
class SummaryFiles:
    json: Path
    markdown: Path
    plot: Path


@dataclass
class SuiteReport:
    """Runs collected during one session; a later run of the same (section, domain) replaces the earlier one."""

    entries: list[SuiteEntry] = field(default_factory=list)

    def add(self, result: EvalResult, section: str | None = None) -> None:
        entry = SuiteEntry(section=section or result.protocol, result=result)
        self.entries = [e for e in self.entries if (e.section, e.result.domain) != (entry.section, entry.result.domain)]
        self.entries.append(entry)


def headline_metric(result: EvalResult) -> str:
    return HEADLINE_METRICS.get(result.protocol, DEFAULT_HEADLINE)


def summary_tables(entries: list[SuiteEntry]) -> list[SummaryTable]:
    """One table per section, sections in first-seen order."""
    sections: dict[str, list[SuiteEntry]] = {}
    for entry in entries:
        sections.setdefault(entry.section, []).append(entry)
    tables = []
    for section, group in sections.items():
        metric = headline_metric(group[0].result)
        mixed = {headline_metric(e.result) for e in group} - {metric}
        if mixed:
            raise ValueError(f"section {section!r} mixes protocols with headline metrics {metric} and {sorted(mixed)}")
        domains: list[str] = []
        units: dict[str, str] = {}
        cells: dict[str, dict[str, MetricSummary]] = {}
        for entry in group:
            result = entry.result
            domains.append(result.domain)
            units[result.domain] = f"{result.users} {result.unit}"
            for system, summaries in result.systems.items():
                if metric in summaries:
                    cells.setdefault(system, {})[result.domain] = summaries[metric]
        tables.append(SummaryTable(section, metric, tuple(domains), units, cells))
    return tables


def format_cell(summary: MetricSummary | None) -> str:
    if summary is None:
        return "–"
    if math.isnan(summary.mean):
        return "n/a"
    return f"{summary.mean:.4f}" if summary.stderr is None else f"{summary.mean:.4f} ± {summary.stderr:.4f}"


def table_markdown(table: SummaryTable) -> str:
    header = [f"{d} ({table.units[d]})" for d in table.domains]
    lines = [
        f"## {table.section}: {table.metric}",
        "",
        "| system | " + " | ".join(header) + " |",
        "|:--|" + "--:|" * len(header),
    ]
    for system, per_domain in table.cells.items():
        lines.append(f"| {system} | " + " | ".join(format_cell(per_domain.get(d)) for d in table.domains) + " |")
    return "\n".join(lines) + "\n"


def summary_markdown(tables: list[SummaryTable]) -> str:
    intro = "# Evaluation summary\n\nMean ± standard error per system and domain; one table per protocol.\n"
    return "\n".join([intro, *(table_markdown(t) for t in tables)])


def summary_dict(report: SuiteReport) -> dict[str, Any]:
    tables = summary_tables(report.entries)
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": [
            {
                "section": t.section,
                "metric": t.metric,
                "domains": list(t.domains),
                "units": t.units,
                "systems": {
                    system: {d: {"mean": s.mean, "stderr": s.stderr, "n": s.n} for d, s in per.items()}
                    for system, per in t.cells.items()
                },
            }
            for t in tables
        ],
        "runs": [{"section": e.section, **results_dict(e.result)} for e in report.entries],
    }


def plot_summary(tables: list[SummaryTable], path: Path) -> None:
    """Grouped bars (systems on the x axis, one bar per domain) with standard-error bars, one panel per table."""
    panels = max(1, len(tables))
    widest = max((len(t.cells) for t in tables), default=1)
    fig = Figure(figsize=(max(5.0, 1.1 * widest + 2.0), 3.2 * panels), layout="constrained")
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    for ax, table in zip(axes, tables, strict=False):
        systems = list(table.cells)
        width = 0.8 / max(1, len(table.domains))
        for j, domain in enumerate(table.domains):
            summaries = [table.cells[s].get(domain) for s in systems]
            means = [s.mean if s is not None and not math.isnan(s.mean) else 0.0 for s in summaries]
            errors = [s.stderr if s is not None and s.stderr is not None else 0.0 for s in summaries]
            xs = [i + (j - (len(table.domains) - 1) / 2) * width for i in range(len(systems))]
            ax.bar(xs, means, width=width, yerr=errors, capsize=3, label=f"{domain} ({table.units[domain]})")
        ax.set_xticks(range(len(systems)), systems)
        ax.set_ylabel(table.metric)
        ax.set_ylim(0, 1)
        ax.set_title(table.section)
        ax.legend(loc="upper left", fontsize="small")
    if not tables:
        axes[0].set_title("no runs")
    fig.savefig(path, dpi=110)


def write_summary(report: SuiteReport, out_dir: Path) -> SummaryFiles:
    """Write summary.json, summary.md and ndcg_by_system.png into `out_dir`, replacing earlier ones."""
    prepare_out_dir(out_dir)
    files = SummaryFiles(
        json=out_dir / "summary.json", markdown=out_dir / "summary.md", plot=out_dir / "ndcg_by_system.png"
    )
    tables = summary_tables(report.entries)
    try:
        files.json.write_text(json.dumps(summary_dict(report), indent=2) + "\n", encoding="utf-8")
        files.markdown.write_text(summary_markdown(tables), encoding="utf-8")
        plot_summary(tables, files.plot)
    except OSError as exc:
        raise ReportWriteError(f"cannot write the summary to {out_dir}: {exc.strerror or exc}") from exc
    return files
