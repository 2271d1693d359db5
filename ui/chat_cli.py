"""`llmrec chat` (a terminal chat) and `llmrec ask` (one turn, JSON for scripts): thin adapters over agent/.

    llmrec chat --domain scientific --user A3OXHLG6DIBRW8
    llmrec ask --domain scientific --message "a digital caliper" --thread t1 --json
    llmrec ask --domain scientific --message "that's not for beginners" --thread t1 --json

In `chat`, `/dispute N` says "that's wrong" about item N of the last answer (like the UIs' button), `/quit` ends.
Input may be piped: one message per line.
"""

from __future__ import annotations

import json
import sys
import uuid
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.errors import AgentError, ConversationError, TurnFailedError
from agent.session import Event, RecommenderAgent, TurnResult
from tools.errors import ToolsError
from ui.turn_format import grounding_summary, rationale_labels, tool_call_text

_OPEN_ERRORS = (AgentError, ToolsError, OSError)


def _new_thread() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


@contextmanager
def _agent(domain: str, console: Console) -> Any:
    console.print(f"[dim]Loading the {domain} catalog, its indexes and the model...[/dim]")
    try:
        agent = RecommenderAgent.open(domain)
    except _OPEN_ERRORS as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    with agent:
        yield agent


def _print_items(console: Console, result: TurnResult) -> None:
    if not result.items:
        return
    table = Table(show_lines=False, expand=False)
    table.add_column("#", justify="right")
    table.add_column("item")
    table.add_column("id", style="dim")
    table.add_column("why")
    table.add_column("grounded", justify="center")
    for n, item in enumerate(result.items, start=1):
        table.add_row(
            str(n),
            escape(item["title"]),
            escape(item["item_id"]),
            escape(item["reason"]),
            # "no" read as "not true" beside a true reason: the reason is then the item's computed links, not a
            # claim of the rationale (the web chat and Slack say "from its links" too)
            "yes" if item["grounded"] else "links",
        )
    console.print(table)
    if not all(item["grounded"] for item in result.items):
        console.print(
            "[dim]grounded: yes = a true claim of the rationale argues for it; links = the why is its computed "
            "links[/dim]"
        )


def _print_result(console: Console, result: TurnResult, streamed: str = "") -> None:
    if result.revision is not None:
        console.print(f"[bold]{escape(result.revision['summary'])}[/bold]")
    if result.items:
        _print_items(console, result)
        labels = rationale_labels(result)
        if labels is not None:
            console.print(f"[dim]{escape(labels)}[/dim]")
        summary = grounding_summary(result)
        if summary is not None:
            console.print(f"[dim]{summary}[/dim]")
    else:
        # A reply streamed as it was written is not printed again: only what follows it ("Tell me what you are looking
        # for ..."); printed whole, a chit-chat reply appeared twice.
        answer = result.answer
        if streamed.strip() and answer.startswith(streamed.strip()):
            answer = answer[len(streamed.strip()) :].lstrip("\n")
        if answer:
            console.print(answer, markup=False)
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")


class _Streamer:
    """Prints the rationale as it is written, and each tool call as it is made."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.writing = False
        self.reply = ""
        """The reply as streamed (a chit-chat answer), so that it is not printed twice."""

    def __call__(self, event: Event) -> None:
        kind, payload = event
        if kind == "tool_call":
            self.console.print(f"[dim]-> {escape(tool_call_text(payload['name'], payload['args']))}[/dim]")
        elif kind in ("token", "reply"):
            if not self.writing:
                self.console.print("[bold]Rationale:[/bold] " if kind == "token" else "", end="")
                self.writing = True
            self.console.print(payload, end="", markup=False, highlight=False)
            if kind == "reply":
                self.reply += payload
        elif kind == "node" and self.writing and payload in ("reason", "respond"):
            self.console.print()
            self.writing = False


def chat_command(
    domain: str = typer.Option("scientific", "--domain", "-d", help="Catalog: scientific, clothing, redial, ..."),
    user: str | None = typer.Option(None, "--user", "-u", help="A user id of that catalog, to use their history."),
    thread: str | None = typer.Option(None, "--thread", "-t", help="Resume (or name) a conversation."),
) -> None:
    """Chat with the recommender in the terminal: it streams its rationale, then shows the items it commits to."""
    console = Console(highlight=False)
    thread = thread or _new_thread()
    with _agent(domain, console) as agent:
        if agent.thread_exists(thread):
            console.print(f"[dim]Resuming conversation {thread}:[/dim]")
            for role, text in agent.transcript(thread)[-6:]:
                console.print(f"[dim]{role}: {escape(text.splitlines()[0] if text else '')}[/dim]")
        else:
            console.print(f"[dim]New conversation {thread} (resume it with --thread {thread}).[/dim]")
        console.print("Say what you are looking for. '/dispute N' disputes item N, '/quit' ends.")
        last: TurnResult | None = None
        interactive = sys.stdin.isatty()
        while True:
            try:
                line = console.input("[bold green]you> [/bold green]") if interactive else input()
            except EOFError:
                break
            if not interactive:
                console.print(f"[bold green]you>[/bold green] {line}")
            if line.strip() in ("/quit", "/exit"):
                break
            dispute_item = None
            if line.strip().startswith("/dispute"):
                dispute_item, line = _button_dispute(line, last, console)
                if dispute_item is None:
                    continue
            try:
                streamer = _Streamer(console)
                last = agent.turn(thread, line, user_id=user, dispute_item=dispute_item, on_event=streamer)
            except (ConversationError, TurnFailedError) as exc:
                console.print(f"\n[red]{escape(str(exc))}[/red]")
                continue
            _print_result(console, last, streamer.reply)
        console.print(f"[dim]Conversation {thread} saved; resume it with --thread {thread}.[/dim]")


def _button_dispute(line: str, last: TurnResult | None, console: Console) -> tuple[str | None, str]:
    parts = line.split(maxsplit=2)
    if last is None or not last.items:
        console.print("[red]There is no recommendation to dispute yet.[/red]")
        return None, line
    try:
        index = int(parts[1]) - 1 if len(parts) > 1 else 0
        item = last.items[index]
    except (ValueError, IndexError):
        console.print(f"[red]Use /dispute N with N from 1 to {len(last.items)}.[/red]")
        return None, line
    return item["item_id"], parts[2] if len(parts) > 2 else "That's wrong."


def ask_command(
    message: str = typer.Option(..., "--message", "-m", help="The user's message."),
    domain: str = typer.Option("scientific", "--domain", "-d", help="Catalog: scientific, clothing, redial, ..."),
    user: str | None = typer.Option(None, "--user", "-u", help="A user id of that catalog."),
    thread: str | None = typer.Option(None, "--thread", "-t", help="Continue this conversation (or start it)."),
    dispute_item: str | None = typer.Option(None, "--dispute-item", help="Dispute this item of the last answer."),
    as_json: bool = typer.Option(False, "--json", help="Print the turn as JSON."),
) -> None:
    """Run one turn and print it (as JSON with --json): thread, intent, rationale, items, grounding, revision."""
    console = Console(stderr=True, highlight=False)
    thread = thread or _new_thread()
    with _agent(domain, console) as agent:
        try:
            result = agent.turn(thread, message, user_id=user, dispute_item=dispute_item)
        except (ConversationError, TurnFailedError) as exc:
            if as_json:
                typer.echo(json.dumps({"thread": thread, "error": str(exc)}))
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    out = Console(highlight=False)
    out.print(f"[dim]thread {result.thread} | intent {result.intent}[/dim]")
    if result.rationale:
        out.print(f"[bold]Rationale:[/bold] {escape(result.rationale)}")
    _print_result(out, result)
