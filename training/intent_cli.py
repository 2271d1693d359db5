"""`llmrec train intent`: fit the learned readers of a message on the development part of a labelled understanding
file and save them where the agent finds them: the intent classifier (agent/intent_model.py,
adapters/intent/intent_model.json), the dispute kind classifier (agent/dispute_kind_model.py, fitted on the
disputes only, adapters/intent/dispute_kind_model.json), the fine-tuned reader averaged with both
(agent/reader_model.py, training/reader_fit.py, adapters/intent/reader.safetensors, about 5 minutes on 2 cores)
the pointer at the pick a message is about (agent/pick_model.py, adapters/intent/pick_model.json) and the word tagger
of a request's wanted phrases (agent/phrase_model.py, adapters/intent/phrase_model.json); these two read what the
two classifiers and the rules read of each message, so they are fitted last.

    llmrec train intent --messages tests/data/understanding.jsonl
    llmrec train intent --keep-readers    # only the pointer and the tagger, on the saved readers (~4 minutes)

Only lines of `--split` (default `dev`) are used, and every line of the training supplement (`--supplement`,
default training/data/understanding_supplement.jsonl: 2,418 development lines in families of their own;
training/data/README.md), which may hold no held-out line, family or message, so the held-out phrasing families stay
unseen and the `understanding` protocol's held-out figure is honest. With the supplement (4,179 lines, 2026-12-07)
the whole refit takes about 21 minutes on 2 cores, 15 of them fine-tuning the reader, 2 the tagger's reading of
every line.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from tqdm.auto import tqdm

from agent.dispute_kind_model import (
    DISPUTE_KIND_MODEL_PATH,
    DisputeKindModel,
    fit_dispute_kind_model,
    open_dispute_kind_model,
)
from agent.intent_model import INTENT_MODEL_PATH, IntentModel, fit_intent_model, open_intent_model
from agent.phrase_model import (
    PHRASE_ALPHA,
    PHRASE_HIDDEN,
    PHRASE_MODEL_PATH,
    PhraseModelError,
    fit_phrase_model,
    line_rows,
)
from agent.pick_model import PICK_L2, PICK_MODEL_PATH, fit_pick_model
from agent.reader_model import READER_PATH, Reader
from agent.understanding import pointer_case, read_lines, tagged_lines
from agent.understanding_set import Line, UnderstandingSetError, fitting_lines, load_lines
from tools.embeddings import Encoder
from tools.settings import RetrievalSettings
from training.reader_fit import EPOCHS, fit_reader

SUPPLEMENT_PATH = Path("training/data/understanding_supplement.jsonl")
"""Training lines written like the set's development part (training/data/README.md), fitted on with it."""


def intent_command(
    messages: Annotated[Path, typer.Option(help="Labelled messages (JSONL, tests/data/UNDERSTANDING.md).")] = Path(
        "tests/data/understanding.jsonl"
    ),
    split: Annotated[str, typer.Option(help="The part of the file to fit on.")] = "dev",
    supplement: Annotated[
        Path | None,
        typer.Option(help="Training-only labelled messages fitted on too (all of the fitted split); none if absent."),
    ] = SUPPLEMENT_PATH,
    c: Annotated[float, typer.Option("--c", help="Inverse L2 strength of the intent classifier.")] = 4.0,
    out: Annotated[Path, typer.Option(help="Where to save the intent model.")] = INTENT_MODEL_PATH,
    kind_c: Annotated[
        float, typer.Option("--kind-c", help="Inverse L2 strength of the dispute kind classifier.")
    ] = 4.0,
    kind_out: Annotated[Path, typer.Option(help="Where to save the dispute kind model.")] = DISPUTE_KIND_MODEL_PATH,
    phrase_alpha: Annotated[float, typer.Option(help="L2 strength of the phrase tagger.")] = PHRASE_ALPHA,
    phrase_hidden: Annotated[int, typer.Option(help="Hidden units of the phrase tagger.")] = PHRASE_HIDDEN,
    phrase_out: Annotated[Path, typer.Option(help="Where to save the phrase tagger.")] = PHRASE_MODEL_PATH,
    reader_epochs: Annotated[
        int, typer.Option(help="Epochs of the fine-tuned reader; 0 fits none (the classifiers then read alone).")
    ] = EPOCHS,
    reader_out: Annotated[Path, typer.Option(help="Where to save the fine-tuned reader.")] = READER_PATH,
    pick_l2: Annotated[float, typer.Option("--pick-l2", help="Ridge penalty of the pick pointer.")] = PICK_L2,
    pick_out: Annotated[Path, typer.Option(help="Where to save the pick pointer.")] = PICK_MODEL_PATH,
    keep_readers: Annotated[
        bool,
        typer.Option(
            help="Refit only the pick pointer and the word tagger, on what the saved intent and dispute kind "
            "classifiers and reader read (about 4 minutes instead of 21)."
        ),
    ] = False,
) -> None:
    """Fit the intent and dispute kind classifiers, the fine-tuned reader, the pick pointer and the word tagger on
    labelled messages and save them for the agent."""
    try:
        extra = load_lines(supplement) if supplement is not None and supplement.is_file() else None
        lines = fitting_lines(load_lines(messages), split, extra)
    except UnderstandingSetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    source: dict[str, object] = {"messages": messages.name, "split": split}
    if extra and supplement is not None:
        source |= {"supplement": supplement.name, "supplement_lines": len(extra)}
        typer.echo(f"fitting on {len(lines) - len(extra)} {split} lines of {messages} and {len(extra)} of {supplement}")
    if len({line.expected["intent"] for line in lines}) < 2:
        typer.echo(f"error: {messages} has fewer than two intents in split {split!r}", err=True)
        raise typer.Exit(2)
    encoder = Encoder.from_settings(RetrievalSettings())
    if keep_readers:
        model, kinds = open_intent_model(out, reader_out), open_dispute_kind_model(kind_out, reader_out)
        if model is None:
            typer.echo(f"error: --keep-readers needs a saved intent model at {out}", err=True)
            raise typer.Exit(2)
    else:
        model, kinds = _fit_readers(
            encoder,
            lines,
            source,
            split,
            messages,
            c=c,
            out=out,
            kind_c=kind_c,
            kind_out=kind_out,
            reader_epochs=reader_epochs,
            reader_out=reader_out,
        )
    read = read_lines(lines, intent_model=model, dispute_kind_model=kinds, encoder=encoder)
    cases = [case for case in map(pointer_case, read) if case is not None]
    if cases:
        pointer = fit_pick_model(cases, l2=pick_l2, fitted_on={**source, "lines": len(cases), "l2": pick_l2})
        pointer.save(pick_out)
        typer.echo(f"saved {pick_out}: {len(cases)} {split} messages after picks")
    rows = [row for row in (line_rows(encoder, line) for line in tqdm(tagged_lines(read), desc="Tagging words")) if row]
    try:
        tagger = fit_phrase_model(
            encoder.identity,
            rows,
            alpha=phrase_alpha,
            hidden=phrase_hidden,
            fitted_on={**source, "alpha": phrase_alpha, "hidden": phrase_hidden},
        )
    except PhraseModelError as exc:
        typer.echo(f"no phrase tagger: {exc}", err=True)
        return
    tagger.save(phrase_out)
    typer.echo(f"saved {phrase_out}: {tagger.fitted_on['lines']} {split} messages whose phrases align onto words")


def _fit_readers(
    encoder: Encoder,
    lines: list[Line],
    source: dict[str, object],
    split: str,
    messages: Path,
    *,
    c: float,
    out: Path,
    kind_c: float,
    kind_out: Path,
    reader_epochs: int,
    reader_out: Path,
) -> tuple[IntentModel, DisputeKindModel | None]:
    """Fit and save the intent and dispute kind classifiers and the fine-tuned reader; the two classifiers, each
    with the saved reader."""
    model = fit_intent_model(
        encoder,
        [line.message for line in lines],
        [bool(line.previous) for line in lines],
        [line.expected["intent"] for line in lines],
        c=c,
        fitted_on={**source, "lines": len(lines), "c": c},
    )
    model.save(out)
    typer.echo(f"saved {out}: {len(lines)} {split} messages, intents {', '.join(model.intents)}")
    disputes = [line for line in lines if line.expected["intent"] == "dispute" and line.expected.get("dispute_kind")]
    kinds = None
    if len({line.expected["dispute_kind"] for line in disputes}) < 2:
        typer.echo(f"no dispute kind model: {messages} has fewer than two dispute kinds in split {split!r}", err=True)
    else:
        kinds = fit_dispute_kind_model(
            encoder,
            [line.message for line in disputes],
            [line.expected["dispute_kind"] for line in disputes],
            c=kind_c,
            fitted_on={**source, "lines": len(disputes), "c": kind_c},
        )
        kinds.save(kind_out)
        typer.echo(f"saved {kind_out}: {len(disputes)} {split} disputes, kinds {', '.join(kinds.kinds)}")
    if reader_epochs > 0:
        # Fitted after the classifiers, before the tagger: the tagger reads the intent and kind as served.
        reader = fit_reader(
            encoder,
            lines,
            epochs=reader_epochs,
            fitted_on={**source, "lines": len(lines)},
        )
        reader.save(reader_out)
        typer.echo(f"saved {reader_out}: the upper layers fine-tuned on {len(lines)} {split} messages")
        # The pointer and the tagger are fitted on what the agent will read: the saved reader (float16), not the
        # one in memory (float32), whose readings of a few borderline lines differ.
        reader = Reader.load(reader_out)
        model = replace(model, reader=reader)
        kinds = replace(kinds, reader=reader) if kinds is not None else None
    elif reader_out.exists():
        reader_out.unlink()  # a reader fitted on other lines would be averaged with these classifiers
        typer.echo(f"removed {reader_out}: no reader fitted")
    return model, kinds
