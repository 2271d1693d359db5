"""`llmrec slack`: run the Slack bot (ui/slack_bot.py) in Socket Mode or over HTTP.

    LLMREC_SLACK_BOT_TOKEN=xoxb-... LLMREC_SLACK_APP_TOKEN=xapp-... llmrec slack
    LLMREC_SLACK_BOT_TOKEN=xoxb-... LLMREC_SLACK_SIGNING_SECRET=... llmrec slack --mode http --port 3000

Options override the LLMREC_SLACK_* variables (ui/settings.py, .env.example).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError

from agent.errors import AgentError
from agent.session import RecommenderAgent
from tools.errors import ToolsError
from ui.settings import SlackMode, SlackSettings

log = logging.getLogger(__name__)


def _fail(sentence: str) -> typer.Exit:
    typer.echo(sentence, err=True)
    return typer.Exit(2)


def slack_command(
    mode: str | None = typer.Option(
        None, "--mode", help="socket (Socket Mode, no public URL) or http (Events API at /slack/events)."
    ),
    port: int | None = typer.Option(None, "--port", help="HTTP mode port (default 3000, LLMREC_SLACK_PORT)."),
    host: str | None = typer.Option(None, "--host", help="HTTP mode interface (default 127.0.0.1)."),
    domain: str | None = typer.Option(None, "--domain", "-d", help="Catalog: scientific (default), clothing, ..."),
) -> None:
    """Run the Slack bot: one conversation per Slack thread, a "That's wrong" button on every item."""
    given: dict[str, Any] = {"mode": mode, "port": port, "host": host, "domain": domain}
    overrides = {k: v for k, v in given.items() if v is not None}
    try:
        settings = SlackSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        raise _fail(f"The Slack settings are invalid ({problems}).") from None
    missing = settings.missing()
    if missing:
        raise _fail(
            f"llmrec slack --mode {settings.mode} needs {' and '.join(missing)}: set them in the environment or "
            ".env (see .env.example)."
        )
    wrong = settings.misplaced()
    if wrong:
        raise _fail("; ".join(wrong) + ".")
    _run(settings, settings.mode)


def _heartbeat(path: Path, alive: Callable[[], bool], every_s: float = 15.0) -> threading.Thread:
    """Touch `path` every `every_s` seconds while `alive()`: a healthcheck reads its age (docker-compose.yml)."""

    def beat() -> None:
        while True:
            try:
                if alive():
                    path.touch()
            except OSError as exc:
                log.warning("cannot touch the health file %s: %s", path, exc)
            time.sleep(every_s)

    thread = threading.Thread(target=beat, name="slack-heartbeat", daemon=True)
    thread.start()
    return thread


def _run(settings: SlackSettings, mode: SlackMode) -> None:
    from ui.slack_bot import build_app, http_server, web_client

    client = web_client(settings)
    try:
        client.auth_test()  # a bad token fails now, not after the catalog and the model have loaded
    except SlackApiError as exc:
        raise _fail(
            f"Slack refused the bot token ({exc.response.get('error')}); check LLMREC_SLACK_BOT_TOKEN."
        ) from exc
    except OSError as exc:
        raise _fail(f"Cannot reach Slack's Web API: {exc}.") from exc
    typer.echo(f"Loading the {settings.domain} catalog, its indexes and the model...", err=True)
    try:
        agent = RecommenderAgent.open(settings.domain)
    except (AgentError, ToolsError, OSError) as exc:
        raise _fail(str(exc)) from exc
    with agent:
        app = build_app(settings, agent, client=client)
        if mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert settings.app_token is not None
            handler = SocketModeHandler(app, settings.app_token.get_secret_value())
            if settings.health_file is not None:
                _heartbeat(settings.health_file, lambda: bool(handler.client.is_connected()))
            typer.echo("Connecting to Slack in Socket Mode; mention the bot or send it a message.", err=True)
            handler.start()  # type: ignore[no-untyped-call]
            return
        server = http_server(app, settings.host, settings.port)
        if settings.health_file is not None:
            _heartbeat(settings.health_file, lambda: True)
        typer.echo(f"Listening on http://{settings.host}:{server.server_port}/slack/events", err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
