"""`llmrec train seqrec`: train the domain's sequential recommender (SASRec, tools/seqrec.py) and refit its prior.

    llmrec train seqrec --domain scientific          # about 3 minutes on 2 cores; clothing about 1
    llmrec train seqrec --domain clothing --epochs 30
    llmrec train seqrec --domain clothing --prior-only  # refit the prior over the saved model

The model is saved beside the indexes (LLMREC_DATA_DIR/seqrec/<domain>/) with the fingerprint of what it was trained
on; the agent and the evals train it on first use the same way, so this command is for retraining (a changed catalog,
other settings) and for seeing the figures. The prior (agent/prior.py) depends on the model, so it is refitted too.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated

import typer

from agent.prior_fit import fit_prior, prior_path
from tools.datasets import load_dataset
from tools.errors import ToolsError
from tools.progress import disable_progress_bars
from tools.search import catalog_retrievers
from tools.seqrec import SeqRec, SeqRecConfig, expected_manifest, folder_for, train_seqrec
from tools.settings import RetrievalSettings

log = logging.getLogger(__name__)


def seqrec_command(
    domain: Annotated[str, typer.Option(help="Dataset domain with interaction histories (scientific, clothing...).")],
    epochs: Annotated[int | None, typer.Option(min=1, help="Training epochs (default: SeqRecConfig's 20).")] = None,
    prior_only: Annotated[
        bool, typer.Option(help="Keep the saved model (trained with the current settings) and refit the prior only.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars on stderr.")] = True,
) -> None:
    """Train the sequential recommender of a domain on its training interactions, then refit the prior."""
    if not progress:
        disable_progress_bars()
    try:
        settings = RetrievalSettings()
        dataset = load_dataset(domain, settings)
        config = SeqRecConfig(seed=settings.seed, epochs=settings.seqrec_epochs)
        if epochs is not None:
            config = replace(config, epochs=epochs)
        if prior_only:
            model = SeqRec.load(folder_for(settings.data_dir, domain), expected_manifest(dataset, config))
        else:
            model = train_seqrec(dataset, config, progress=progress)
            model.save(folder_for(settings.data_dir, domain))
        with catalog_retrievers(dataset, settings, progress=progress) as retrievers:
            retrievers.use_sequential(model)
            prior = fit_prior(retrievers, seed=settings.seed, progress=progress)
        prior.save(prior_path(settings, domain))
    except (ToolsError, OSError) as exc:
        log.debug("llmrec train seqrec failed", exc_info=exc)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    trained = model.manifest.trained
    typer.echo(
        f"trained SASRec on {domain}: {model.manifest.num_sequences:,} histories, {len(model.item_ids):,} items, "
        f"{trained['seconds']} s, loss {trained['loss_per_epoch'][0]} -> {trained['loss_per_epoch'][-1]}"
    )
    typer.echo(f"saved {folder_for(settings.data_dir, domain)}; prior weights {prior.weights}")
