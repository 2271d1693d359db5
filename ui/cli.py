"""The `llmrec` command line.

Sub-commands are contributed by the packages that own them through the `llmrec.commands` entry-point group
(pyproject.toml), so this module never imports evals/ or training/ and the DESIGN.md layering holds.
An entry point names either a `typer.Typer` (mounted as a command group) or a plain function (one command).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from importlib.metadata import entry_points

import typer

if not sys.stderr.isatty():
    # Progress bars redraw about 10 times a second; in a log file (CI, nohup) every redraw is kept, so one
    # evaluation wrote megabytes of bars. tqdm reads TQDM_* defaults when it is imported: before the plugins below.
    os.environ.setdefault("TQDM_MININTERVAL", "30")

app = typer.Typer(
    name="llmrec",
    help="A conversational recommender that explains itself.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_ENTRY_POINT_GROUP = "llmrec.commands"


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _mount_plugins(root: typer.Typer) -> None:
    for ep in sorted(entry_points(group=_ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            target = ep.load()
        except ImportError as exc:
            # An optional extra (e.g. [slack]) that is not installed must not break the other commands.
            root.command(ep.name, help=f"(unavailable: {exc})")(_unavailable(ep.name, exc))
            continue
        if isinstance(target, typer.Typer):
            root.add_typer(target, name=ep.name)
        elif callable(target):
            root.command(ep.name)(target)
        else:
            raise TypeError(f"entry point {ep.name}={ep.value} is neither a typer.Typer nor a function")


def _unavailable(name: str, exc: ImportError) -> Callable[[], None]:
    def command() -> None:
        logging.getLogger(__name__).debug("llmrec %s failed to import", name, exc_info=exc)
        typer.echo(
            f"llmrec {name} is unavailable: {exc}. Install the extra it needs, e.g. pip install -e '.[dev]'.",
            err=True,
        )
        raise typer.Exit(2)

    return command


_mount_plugins(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
