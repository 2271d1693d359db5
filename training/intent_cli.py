"""`llmrec train intent`: fit the learned intent classifier (agent/intent_model.py) on the development part of a
labelled understanding file and save it where the agent finds it (adapters/intent/intent_model.json).

    llmrec train intent --messages tests/data/understanding.jsonl

Only lines of `--split` (default `dev`) are used, so the held-out phrasing families stay unseen and the
`understanding` protocol's held-out figure is honest. Encoding about 330 messages with MiniLM takes about 10 s on 2
cores; the fit under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.intent_model import INTENT_MODEL_PATH, fit_intent_model
from agent.understanding_set import UnderstandingSetError, load_lines
from tools.embeddings import Encoder
from tools.settings import RetrievalSettings


def intent_command(
    messages: Annotated[Path, typer.Option(help="Labelled messages (JSONL, tests/data/UNDERSTANDING.md).")] = Path(
        "tests/data/understanding.jsonl"
    ),
    split: Annotated[str, typer.Option(help="The part of the file to fit on.")] = "dev",
    c: Annotated[float, typer.Option("--c", help="Inverse L2 strength of the logistic regression.")] = 4.0,
    out: Annotated[Path, typer.Option(help="Where to save the model.")] = INTENT_MODEL_PATH,
) -> None:
    """Fit the intent classifier on labelled messages and save it for the agent."""
    try:
        lines = [line for line in load_lines(messages) if line.split == split]
    except UnderstandingSetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if len({line.expected["intent"] for line in lines}) < 2:
        typer.echo(f"error: {messages} has fewer than two intents in split {split!r}", err=True)
        raise typer.Exit(2)
    encoder = Encoder.from_settings(RetrievalSettings())
    model = fit_intent_model(
        encoder,
        [line.message for line in lines],
        [bool(line.previous) for line in lines],
        [line.expected["intent"] for line in lines],
        c=c,
        fitted_on={"messages": messages.name, "split": split, "lines": len(lines), "c": c},
    )
    model.save(out)
    typer.echo(f"saved {out}: {len(lines)} {split} messages, intents {', '.join(model.intents)}")
