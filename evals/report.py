"""Write a run's figures as `results.json`, a Markdown table `results.md` and a bar chart `ndcg.png`.

`results.json` always has `domain`, `protocol`, `users`, `seed` and `systems` ({name: {metric: mean}}, only
the protocol's metrics); the other top-level keys (`stderr`, `samples`, `created`...) are extra context.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from evals.errors import ReportWriteError
from evals.harness import EvalResult, MetricSummary
from evals.metrics import analytic_random_ndcg

METRIC_ORDER = (
    "ndcg@10",
    "hr@1",
    "hr@5",
    "hr@10",
    "mrr",
    "recall@1",
    "recall@5",
    "recall@10",
    "recall@20",
    "recall@50",
)
"""Column order of every report; a metric outside this list goes after these, in the protocol's order."""


@dataclass(frozen=True)
class ReportFiles:
    """The paths `write_report` wrote."""

    json: Path
    markdown: Path
    plot: Path


def ordered_metrics(result: EvalResult) -> list[str]:
    known = [m for m in METRIC_ORDER if m in result.metrics]
    return known + [m for m in result.metrics if m not in METRIC_ORDER]


def random_ndcg10(result: EvalResult) -> float | None:
    """NDCG@10 of random guessing when the protocol fixes the candidate count and has one target per query."""
    if result.num_candidates is None or result.samples != result.users:
        return None
    return analytic_random_ndcg(result.num_candidates, 10)


def results_dict(result: EvalResult) -> dict[str, Any]:
    metrics = ordered_metrics(result)
    out: dict[str, Any] = {
        "domain": result.domain,
        "protocol": result.protocol,
        "users": result.users,
        "seed": result.seed,
        "systems": {name: {m: summaries[m].mean for m in metrics} for name, summaries in result.systems.items()},
        "stderr": {name: {m: summaries[m].stderr for m in metrics} for name, summaries in result.systems.items()},
        "unit": result.unit,
        "samples": result.samples,
        "protocol_description": result.protocol_description,
        "candidates_per_user": result.num_candidates,
        "seconds": result.seconds,
        "rationales": result.rationales,
        "strata": {
            name: {
                k: {m: by_metric[m].mean if by_metric[m].n else None for m in metrics} for k, by_metric in per.items()
            }
            for name, per in result.strata.items()
        },
        "strata_stderr": {
            name: {k: {m: by_metric[m].stderr for m in metrics} for k, by_metric in per.items()}
            for name, per in result.strata.items()
        },
        "strata_samples": result.stratum_samples(),
        "strata_notes": result.strata_notes,
        "dropped_samples": result.dropped_samples,
        "dropped_units": result.dropped_units,
        "protocol_stats": result.protocol_stats,
        "paired": {pair: {m: asdict(summary) for m, summary in per.items()} for pair, per in result.paired.items()},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    random_ndcg = random_ndcg10(result)
    if random_ndcg is not None:
        out["analytic_random_ndcg@10"] = random_ndcg
    return out


def _cell(mean: float, stderr: float | None) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.4f}" if stderr is None else f"{mean:.4f} ± {stderr:.4f}"


def markdown_table(result: EvalResult) -> str:
    """A header line naming the protocol and N, then one row per system, mean ± standard error."""
    metrics = ordered_metrics(result)
    lines = [
        f"## {result.domain}: {result.protocol} protocol, {result.users} {result.unit}",
        "",
        f"{result.protocol_description}; seed {result.seed}; mean ± standard error over {result.samples} samples.",
    ]
    random_ndcg = random_ndcg10(result)
    if random_ndcg is not None:
        lines[-1] += f" Random guessing expects ndcg@10 = {random_ndcg:.4f}."
    if result.dropped_samples:
        lines[-1] += f" {result.dropped_samples} samples dropped by the protocol"
        if result.dropped_units:
            lines[-1] += f" ({result.dropped_units} {result.unit} left with none, not scored)"
        lines[-1] += "."
    for key, value in result.protocol_stats.items():
        if isinstance(value, dict) and value:
            shown = ", ".join(f"{name} {share:.3f}" for name, share in value.items())
            lines[-1] += f" {key}: {shown}."
    lines += ["", *_metric_table(metrics, result.systems)]
    if result.paired:
        lines += [
            "",
            "Paired differences (the same samples on both sides; mean ± standard error of the difference):",
            "",
            *_metric_table(metrics, result.paired),
        ]
    if result.rationales:
        lines += [
            "",
            "Rationales (agent/trust.py), mean ± standard error: relational grounding (share of claims that tie a",
            "candidate to the user through a shown link and hold, over rationales with claims), copy rate (share of",
            "words in 8-word spans copied from the prompt), repeats (share of rationales with a repeated sentence or",
            "4-gram, in the text shown), loops stopped (share whose decoding was stopped where it began to repeat",
            "itself: the repeat is not shown), coverage (share whose committed top item is argued for by a true",
            "relational claim), and the old lexical score (share of claims whose words are anywhere in the evidence:",
            "it calls a copied line backed).",
            "",
            "| system | rationales | relational grounding | without claims | copy rate | repeats | loops stopped "
            "| coverage | lexical |",
            "|:--|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for name, row in result.rationales.items():
            mean, err, none = row["mean_grounding"], row["grounding_stderr"], row["no_claims_share"]
            shown = "n/a" if mean is None else _cell(float(mean), None if err is None else float(err))
            extra = []
            for key in ("copy_rate", "repeats", "stopped_repeat", "coverage", "lexical"):
                value, error = row.get(key), row.get(f"{key}_stderr")
                extra.append("n/a" if value is None else _cell(float(value), None if error is None else float(error)))
            lines.append(
                f"| {name} | {row['rationales']} | {shown} | {0.0 if none is None else float(none):.1%} | "
                + " | ".join(extra)
                + " |"
            )
    if result.strata:
        counts = result.stratum_samples()
        lines += ["", "By stratum (every metric over that stratum's samples only):", ""]
        lines += [f"- {k} ({counts.get(k, 0)} samples): {note}" for k, note in result.strata_notes.items()]
        for stratum in result.strata_notes:
            if not counts.get(stratum):
                continue
            per_system = {name: per[stratum] for name, per in result.strata.items()}
            lines += ["", f"### {stratum} ({counts[stratum]} samples)", "", *_metric_table(metrics, per_system)]
    return "\n".join(lines) + "\n"


def _metric_table(metrics: list[str], rows: dict[str, dict[str, MetricSummary]]) -> list[str]:
    lines = ["| system | " + " | ".join(metrics) + " |", "|:--|" + "--:|" * len(metrics)]
    for name, summaries in rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(summaries[m].mean, summaries[m].stderr) for m in metrics) + " |")
    return lines


def plot_ndcg(result: EvalResult, path: Path) -> None:
    """Bar chart of NDCG@10 per system with standard-error bars and, if defined, the random-guessing line."""
    names = list(result.systems)
    summaries = [result.systems[n].get("ndcg@10") for n in names]
    means = [s.mean if s is not None else 0.0 for s in summaries]
    errors = [s.stderr if s is not None and s.stderr is not None else 0.0 for s in summaries]
    # A Figure without pyplot renders with Agg and leaves no global state behind (safe in servers and tests).
    fig = Figure(figsize=(max(4.0, 1.2 * len(names) + 2.0), 3.6), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.bar(names, means, yerr=errors, capsize=4, color="#4C72B0")
    ax.bar_label(bars, labels=[f"{m:.3f}" for m in means], padding=3)
    random_ndcg = random_ndcg10(result)
    if random_ndcg is not None:
        ax.axhline(random_ndcg, color="#C44E52", linestyle="--", label=f"random, analytic ({random_ndcg:.4f})")
        ax.legend(loc="upper left")
    ax.set_ylabel("NDCG@10")
    ax.set_ylim(0, min(1.0, max([*means, random_ndcg or 0.0]) * 1.25 + 0.05))
    ax.set_title(f"{result.domain}, {result.protocol} protocol, {result.users} {result.unit}")
    fig.savefig(path, dpi=120)


def prepare_out_dir(out_dir: Path) -> None:
    """Create `out_dir` if missing and check it is writable; raises ReportWriteError saying why not."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportWriteError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from exc
    if not os.access(out_dir, os.W_OK):
        raise ReportWriteError(f"cannot write the report to {out_dir}: permission denied")


def write_report(result: EvalResult, out_dir: Path) -> ReportFiles:
    """Write results.json, results.md and ndcg.png into `out_dir` (created if missing)."""
    prepare_out_dir(out_dir)
    files = ReportFiles(json=out_dir / "results.json", markdown=out_dir / "results.md", plot=out_dir / "ndcg.png")
    try:
        files.json.write_text(json.dumps(results_dict(result), indent=2) + "\n", encoding="utf-8")
        files.markdown.write_text(markdown_table(result), encoding="utf-8")
        plot_ndcg(result, files.plot)
    except OSError as exc:
        raise ReportWriteError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from exc
    return files
