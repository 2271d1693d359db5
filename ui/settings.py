"""Deployment settings of the front ends, read once at entry points from `LLMREC_*` variables or `.env`.

Every variable is listed in `.env.example`; tests/unit/test_settings.py keeps the two in sync.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SlackMode = Literal["socket", "http"]


class SlackSettings(BaseSettings):
    """The Slack bot (`llmrec slack`): its credentials, how Slack reaches it, and which catalog it serves.

    Socket Mode (the default) needs the bot token and an app-level token and no public URL; HTTP mode needs the
    bot token and the signing secret, and a public HTTPS URL that forwards to `host:port` + `/slack/events`.
    """

    model_config = SettingsConfigDict(
        env_prefix="LLMREC_SLACK_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    bot_token: SecretStr | None = Field(default=None, description="Bot User OAuth Token (xoxb-...).")
    signing_secret: SecretStr | None = Field(
        default=None, description="Signing secret that HTTP requests from Slack are verified with (HTTP mode)."
    )
    app_token: SecretStr | None = Field(
        default=None, description="App-level token with the connections:write scope (xapp-..., Socket Mode)."
    )
    mode: SlackMode = Field(default="socket", description="`socket`: Socket Mode; `http`: the Events API over HTTP.")
    host: str = Field(default="127.0.0.1", description="Interface the HTTP mode server binds (0.0.0.0 in a container).")
    port: int = Field(default=3000, ge=1, le=65535, description="Port of the HTTP mode server.")
    domain: str = Field(default="scientific", description="Catalog the bot recommends from.")
    rate_limit_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of a Web API call that Slack rate-limited (HTTP 429)."
    )
    max_retry_after_s: int = Field(
        default=30, ge=1, le=600, description="A 429 asking to wait longer than this fails instead of waiting."
    )

    health_file: Path | None = Field(
        default=None,
        description="A file the bot touches every 15 s while it is connected to Slack (a container healthcheck).",
    )

    def missing(self, mode: SlackMode | None = None) -> list[str]:
        """The variables `mode` needs that are unset, by their environment names."""
        mode = mode or self.mode
        needed = {"bot_token": self.bot_token}
        if mode == "socket":
            needed["app_token"] = self.app_token
        else:
            needed["signing_secret"] = self.signing_secret
        return [f"LLMREC_SLACK_{name.upper()}" for name, value in needed.items() if not _present(value)]

    def misplaced(self) -> list[str]:
        """Tokens that are set but of the wrong kind (a common paste mistake); never quotes the token."""
        wrong = []
        if _present(self.bot_token) and not _secret(self.bot_token).startswith("xoxb-"):
            wrong.append("LLMREC_SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-)")
        if _present(self.app_token) and not _secret(self.app_token).startswith("xapp-"):
            wrong.append("LLMREC_SLACK_APP_TOKEN must be an app-level token (it starts with xapp-)")
        return wrong


def _present(value: SecretStr | None) -> bool:
    return value is not None and bool(value.get_secret_value().strip())


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


class WebSettings(BaseSettings):
    """The web app's deployment settings (`llmrec serve`)."""

    model_config = SettingsConfigDict(env_prefix="LLMREC_UI_", env_file=".env", env_ignore_empty=True, extra="ignore")

    domain: str = Field(default="scientific", description="The catalog a new web conversation starts with.")
    users: SecretStr | None = Field(
        default=None, description="Comma-separated `name:hash` logins; unset (and no file): no login."
    )
    users_file: Path | None = Field(default=None, description="A file of `name:hash` lines, read with LLMREC_UI_USERS.")
