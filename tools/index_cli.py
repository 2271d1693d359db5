"""`llmrec index --domain D [--rebuild] [--no-progress]`: build a domain's BM25 and Qdrant indexes, print a summary.

A domain named in LLMREC_CONVERSATIONAL_DATASETS has indexes of its own (`indexes/<name>/`, `qdrant/<name>/`,
collection `llmrec_<name>`): rebuilding it never touches redial's.

Registered as the `index` entry point of the `llmrec.commands` group (pyproject.toml). torch,
sentence-transformers and qdrant-client are imported when the command runs, so `llmrec --help` stays fast.
"""

from __future__ import annotations

import logging

import typer

log = logging.getLogger(__name__)


def _size(n: int | None) -> str:
    if n is None:
        return "on the server"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{n} B"
        size /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def index_command(
    domain: str = typer.Option(..., "--domain", "-d", help="Dataset domain to index, e.g. scientific."),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Drop and rebuild both indexes (needed after changing the embedding model)."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show progress bars on stderr (--no-progress silences all of them)."
    ),
) -> None:
    """Build the search indexes (BM25 and Qdrant) of a domain's catalog."""
    from pydantic import ValidationError

    from tools.datasets import dataset_warnings, load_dataset
    from tools.errors import ToolsError
    from tools.indexing import build_indexes
    from tools.progress import disable_progress_bars
    from tools.settings import RetrievalSettings, settings_error

    if not progress:
        disable_progress_bars()
    try:
        settings = RetrievalSettings()
        for warning in dataset_warnings(settings):
            typer.echo(f"warning: {warning}", err=True)
        dataset = load_dataset(domain, settings)
        report = build_indexes(dataset, settings, rebuild=rebuild, progress=progress)
    except (ToolsError, ValidationError) as exc:
        log.debug("llmrec index failed", exc_info=exc)
        message = settings_error(exc) if isinstance(exc, ValidationError) else str(exc)
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1) from None
    dense = report.dense
    speed = report.texts_per_second
    encoded = f"{dense.encoded:,} encoded" + (f" at {speed:.0f} texts/s" if speed else "")
    typer.echo(
        "\n".join(
            [
                f"indexed {report.domain}: {report.items:,} items in {report.seconds:.1f} s"
                f" ({report.items_per_second:,.0f} items/s)",
                f"  bm25 ({report.bm25_backend}): {report.bm25_status}, {_size(report.bm25_bytes)}",
                f"  qdrant ({report.qdrant_location}): {dense.status}, {_size(report.qdrant_bytes)};"
                f" vectors: {encoded}, {dense.cached:,} from cache",
                f"  model: {report.model}",
            ]
        )
    )
