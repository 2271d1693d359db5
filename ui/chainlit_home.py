"""Where Chainlit keeps its files: an app root outside the checkout, prepared before `chainlit` is imported.

Chainlit writes into its app root (CHAINLIT_APP_ROOT, else the working directory) as soon as it is imported:
`.chainlit/config.toml`, 20-odd translation files, `.files/` for uploads, and `chainlit.md` at start-up. Left to
itself it would litter whatever folder `llmrec serve` is started from. The app root defaults to
`<cache>/llmrec/chainlit` (LLMREC_DATA_DIR does not move it: it holds no data), and our own config and welcome text
are written there on each start; a CHAINLIT_APP_ROOT set by the operator is used as it is, its files kept.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_ROOT_ENV = "CHAINLIT_APP_ROOT"

# Chainlit refuses a config whose [meta] generated_by is "0.3.0" or older; any later version reads the same keys.
CONFIG_TOML = """\
# Written by llmrec (ui/chainlit_home.py) on every start of `llmrec serve`; edits here are overwritten.
[project]
session_timeout = 3600
user_session_timeout = 1296000
cache = false

[features]
unsafe_allow_html = false
latex = false
user_message_markdown = false
# An edited message would re-run a turn that the checkpointed conversation already holds.
edit_message = false

[features.spontaneous_file_upload]
enabled = false

[features.audio]
enabled = false

[features.mcp]
enabled = false

[UI]
name = "llmrec"
description = "A conversational recommender that explains itself."
cot = "full"
default_theme = "light"
default_sidebar_state = "closed"
confirm_new_chat = false

[meta]
generated_by = "2.12.0"
"""

WELCOME_MD = """\
# llmrec

A conversational recommender that explains itself. Say what you are looking for ("a digital caliper for a
beginner"). The agent searches the catalog, writes its rationale first (watch it stream), then commits to catalog
items only. Every claim is checked against the catalog: ✓ backed, ✗ not.

Press **That's wrong** on an item or on the rationale, or just say what is wrong ("I already own that", "no
stainless"), and it revises. The catalog is chosen in the chat settings; a conversation is kept: open
`/?thread=<id>` to come back to it.
"""


def default_app_root() -> Path:
    return Path(platformdirs.user_cache_dir("llmrec")) / "chainlit"


def prepare_app_root(root: Path | None = None) -> Path:
    """Choose the app root (argument, CHAINLIT_APP_ROOT, or the default), export it, write our files into it.

    Must run before `chainlit` is first imported: Chainlit reads CHAINLIT_APP_ROOT once, at import.
    """
    if root is None and "chainlit.config" in sys.modules:
        # Imported already (under `chainlit run`): its root is chosen and its config read; nothing to do.
        from chainlit.config import APP_ROOT

        return Path(APP_ROOT)
    operator_root = None if root is not None else os.environ.get(APP_ROOT_ENV)
    chosen = root or (Path(operator_root) if operator_root else default_app_root())
    chosen.mkdir(parents=True, exist_ok=True)
    os.environ[APP_ROOT_ENV] = str(chosen)
    for relative, text in ((Path(".chainlit") / "config.toml", CONFIG_TOML), (Path("chainlit.md"), WELCOME_MD)):
        path = chosen / relative
        if operator_root is None or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return chosen
