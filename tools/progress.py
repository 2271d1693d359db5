"""One switch for every progress bar a command can draw: ours and those of the libraries we call.

    from tools.progress import disable_progress_bars, progress_enabled
    disable_progress_bars()                       # what `llmrec eval --no-progress` and `llmrec index --no-progress` do
    tqdm(..., disable=not progress_enabled(progress))

Our bars (dataset reading, tokenizing, encoding, indexing, the evaluation loop) ask `progress_enabled`, so a caller
that passes `progress=True` deep inside (the retrievers an evaluation opens) is still silenced. The libraries' bars
are silenced through their own switches: huggingface_hub's `disable_progress_bars` (downloads), which transformers
reads when it is imported, and transformers' `disable_progress_bar` when it already was ("Loading weights", which
sentence-transformers and the agent's model loader both go through). sentence-transformers' encode bar and bm25s'
indexing bars are off at every call site (`show_progress_bar=False`, `show_progress=False`). The environment
variables set here reach subprocesses, whose tqdm reads TQDM_* defaults at import.
"""

from __future__ import annotations

import os
import sys

_ENVIRONMENT = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
_enabled = True
_saved_environment: dict[str, str | None] = {}


def progress_enabled(requested: bool = True) -> bool:
    """Whether a bar the caller asked for (`requested`) may be drawn: never after `disable_progress_bars()`."""
    return requested and _enabled


def disable_progress_bars() -> None:
    """Silence every progress bar of this process (and of the subprocesses it starts) from now on."""
    global _enabled
    # Imported before the environment changes: huggingface_hub reads HF_HUB_DISABLE_PROGRESS_BARS once, at import,
    # and would then refuse `enable_progress_bars()` for the rest of the process.
    from huggingface_hub.utils.tqdm import disable_progress_bars as disable_hub_bars

    disable_hub_bars()
    transformers_logging = sys.modules.get("transformers.utils.logging")
    if transformers_logging is not None:
        transformers_logging.disable_progress_bar()
    if _enabled:
        _saved_environment.update({name: os.environ.get(name) for name in _ENVIRONMENT})
    _enabled = False
    os.environ.update(_ENVIRONMENT)


def enable_progress_bars() -> None:
    """Undo `disable_progress_bars()` (for tests and long-lived processes that switch back)."""
    global _enabled
    _enabled = True
    for name, value in _saved_environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved_environment.clear()
    from huggingface_hub.utils.tqdm import enable_progress_bars as enable_hub_bars

    enable_hub_bars()
    transformers_logging = sys.modules.get("transformers.utils.logging")
    if transformers_logging is not None:
        transformers_logging.enable_progress_bar()
