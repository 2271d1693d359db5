"""`llmrec serve`: the Chainlit web chat (ui/chainlit_app.py) on http://HOST:PORT.

    llmrec serve                                   # http://127.0.0.1:8000, the scientific catalog first
    llmrec serve --host 0.0.0.0 --port 8080 --domain clothing --headless
    llmrec serve --hash-password                   # a password hash for LLMREC_UI_USERS

Chainlit runs as `python -m chainlit run ui/chainlit_app.py` in a child process, with its app root (config,
translations, uploads) outside the checkout (ui/chainlit_home.py). Logins only when users are configured
(LLMREC_UI_USERS / LLMREC_UI_USERS_FILE); then CHAINLIT_AUTH_SECRET must be set (`openssl rand -hex 32`).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import typer

from tools.datasets import DOMAINS
from ui.chainlit_home import prepare_app_root
from ui.settings import WebSettings
from ui.web_auth import WebAuthError, configured_users, hash_password

APP = Path(__file__).resolve().parent / "chainlit_app.py"


def chainlit_command(host: str, port: int, *, headless: bool) -> list[str]:
    """The child process's command line."""
    command = [sys.executable, "-m", "chainlit", "run", str(APP), "--host", host, "--port", str(port)]
    return [*command, "--headless"] if headless else command


def serve_environment(domain: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: the first catalog, and an app root outside the working directory.

    Raises WebAuthError (a sentence) when the configured users cannot be read or logins lack their secret.
    """
    env = dict(os.environ if base is None else base)
    env["LLMREC_UI_DOMAIN"] = domain
    if configured_users(WebSettings(domain=domain)) and not env.get("CHAINLIT_AUTH_SECRET"):
        raise WebAuthError(
            "Users are configured (LLMREC_UI_USERS or LLMREC_UI_USERS_FILE), so logins are on, and Chainlit signs "
            "them with CHAINLIT_AUTH_SECRET: set it, e.g. export CHAINLIT_AUTH_SECRET=$(openssl rand -hex 32)."
        )
    env["CHAINLIT_APP_ROOT"] = str(prepare_app_root())
    return env


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="TCP port."),
    domain: str = typer.Option("scientific", "--domain", "-d", help=f"First catalog: {', '.join(DOMAINS)}."),
    headless: bool = typer.Option(False, "--headless", help="Do not open a browser."),
    hash_password_: bool = typer.Option(
        False, "--hash-password", help="Print a password hash for LLMREC_UI_USERS (prompts for it) and exit."
    ),
) -> None:
    """Serve the web chat (Chainlit): streamed rationale, item cards, a "That's wrong" button."""
    if hash_password_:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        typer.echo(hash_password(password))
        return
    if domain not in DOMAINS:
        typer.echo(f"Unknown catalog {domain!r}; known: {', '.join(DOMAINS)}.", err=True)
        raise typer.Exit(2)
    if importlib.util.find_spec("chainlit") is None:
        typer.echo("llmrec serve needs Chainlit, in the [serve] extra: pip install -e '.[serve]'.", err=True)
        raise typer.Exit(2)
    try:
        env = serve_environment(domain)
    except WebAuthError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"Serving the web chat on http://{host}:{port} (Ctrl-C stops it).", err=True)
    try:
        code = subprocess.call(chainlit_command(host, port, headless=headless), env=env)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)
