"""Password login of the web app, only when users are configured: no user, no login; never a default password.

    LLMREC_UI_USERS="alice:pbkdf2:sha256:600000$<salt>$<hex>,bob:<bcrypt hash>"   # or, one `name:hash` a line:
    LLMREC_UI_USERS_FILE=/etc/llmrec/users
    llmrec serve --hash-password          # prints a pbkdf2 hash for a password typed at the prompt

Hashes: `pbkdf2:sha256:<iterations>$<salt>$<hex>` (werkzeug's format, Python's hashlib), a bcrypt hash `$2b$...`
(needs the `bcrypt` package), or `sha256:<hex>` (unsalted: tolerated for a quick demo, not for production).
Chainlit signs its login tokens with CHAINLIT_AUTH_SECRET, which must be set when users are (`openssl rand -hex 32`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import secrets

from ui.settings import WebSettings

log = logging.getLogger(__name__)

PBKDF2_ITERATIONS = 600_000
"""OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about 0.3 s a login on one core here."""

_NAME = re.compile(r"^[\w.@+-]{1,64}$")


class WebAuthError(ValueError):
    """The configured users cannot be read: a sentence naming the bad entry (never the hash)."""


def hash_password(password: str, *, iterations: int = PBKDF2_ITERATIONS, salt: str | None = None) -> str:
    """A `pbkdf2:sha256:<iterations>$<salt>$<hex>` hash of `password`, for LLMREC_UI_USERS."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2:sha256:{iterations}${salt}${digest}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (constant-time comparison; False for an unknown scheme)."""
    if stored.startswith("pbkdf2:sha256:"):
        try:
            spec, salt, digest = stored.split("$", 2)
            iterations = int(spec.rsplit(":", 1)[1])
        except ValueError:
            return False
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
        return hmac.compare_digest(computed, digest)
    if stored.startswith("sha256:"):
        return hmac.compare_digest(hashlib.sha256(password.encode()).hexdigest(), stored.removeprefix("sha256:"))
    if stored.startswith(("$2a$", "$2b$", "$2y$")):
        try:
            import bcrypt
        except ImportError:
            log.error("a bcrypt hash is configured but the bcrypt package is not installed")
            return False
        return bool(bcrypt.checkpw(password.encode(), stored.encode()))
    return False


def parse_users(text: str) -> dict[str, str]:
    """`name:hash` entries separated by commas or newlines (blank lines and # comments skipped) -> {name: hash}."""
    users: dict[str, str] = {}
    for number, raw in enumerate(re.split(r"[,\n]", text), start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        name, sep, stored = entry.partition(":")
        name, stored = name.strip(), stored.strip()
        if not sep or not _NAME.match(name) or not stored:
            raise WebAuthError(f"user entry {number} is not `name:hash` (name: letters, digits, . @ + - _).")
        if not stored.startswith(("pbkdf2:sha256:", "sha256:", "$2a$", "$2b$", "$2y$")):
            raise WebAuthError(
                f"user {name!r} has no recognised password hash; make one with `llmrec serve --hash-password`."
            )
        users[name] = stored
    return users


def configured_users(settings: WebSettings) -> dict[str, str]:
    """Every login from LLMREC_UI_USERS and LLMREC_UI_USERS_FILE (empty: the app runs without login)."""
    users = parse_users(settings.users.get_secret_value()) if settings.users else {}
    if settings.users_file is not None:
        try:
            text = settings.users_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise WebAuthError(f"cannot read LLMREC_UI_USERS_FILE {settings.users_file}: {exc.strerror}.") from exc
        users |= parse_users(text)
    return users


@functools.cache
def _dummy_hash() -> str:
    return hash_password("", salt="timing")


def check_login(users: dict[str, str], name: str, password: str) -> bool:
    """Whether `name` may log in with `password`; an unknown name costs the same hash as a known one."""
    stored = users.get(name)
    if stored is None:
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, stored)
