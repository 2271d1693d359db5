"""What a dataset module declares so that `load_dataset` can find, parse and cache it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.catalog import Dataset
from tools.datasets.reader import Location
from tools.settings import DataSettings


@dataclass(frozen=True)
class DatasetSpec:
    domain: str
    """The name users pass to `load_dataset` and `llmrec data stats --domain`."""
    version: int
    """Bump when the parser's output changes: it is part of the cache key."""
    files: tuple[str, ...]
    """Source file names; each may also be present gzip-compressed as `<name>.gz`."""
    locations: Callable[[DataSettings], list[Location]]
    """Folders to look in, in order, each with the `LLMREC_*` variable that moves it."""
    parse: Callable[[Mapping[str, Path], int], Dataset]
    """`parse(paths_by_file_name, seed)` -> the validated dataset."""
    description: str
