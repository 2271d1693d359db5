"""Datasets named by configuration: every LLMREC_CONVERSATIONAL_DATASETS entry is a ReDial-format domain of its own.

    LLMREC_CONVERSATIONAL_DATASETS=inspired=/data/inspired,redial-train=/data/redial-train

Each name gets its own canonical cache (`data_dir/datasets/<name>/`), BM25 folder (`data_dir/indexes/<name>/`) and
Qdrant collection (`llmrec_<name>`), so building or rebuilding one never touches redial's or another's.

Also here: the warning for a ReDial-format folder put where nothing reads it. LLMREC_EXTERNAL_DATA_DIR serves the
datasets that may not be bundled (citeulike/, movielens-100k/); domain `redial` reads its bundled copy first, so
another ReDial-format folder given there was silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tools.datasets import redial
from tools.datasets.reader import find_file, read_bytes
from tools.datasets.spec import DatasetSpec
from tools.errors import DatasetConfigError, DatasetFormatError
from tools.settings import CONVERSATIONAL_DATASETS_VARIABLE, DataSettings


def conversational_specs(settings: DataSettings, builtin: Mapping[str, DatasetSpec]) -> dict[str, DatasetSpec]:
    """One spec per configured conversational dataset; a name taken by a built-in domain is a DatasetConfigError."""
    specs: dict[str, DatasetSpec] = {}
    for name, folder in settings.conversational_datasets.items():
        if name in builtin:
            raise DatasetConfigError(
                f"{CONVERSATIONAL_DATASETS_VARIABLE} names {name!r}, which is a built-in domain"
                f" ({', '.join(builtin)}): give the dataset at {folder} another name, e.g. {name}-2={folder}"
            )
        specs[name] = redial.conversational_spec(name, folder)
    return specs


def _redial_files(folder: Path) -> list[Path] | None:
    found = [find_file(folder, name) for name in redial.FILES]
    return None if any(path is None for path in found) else [path for path in found if path is not None]


def _same_content(ours: list[Path], theirs: list[Path]) -> bool:
    # Compared decompressed: the bundled copy is gzipped, the shared original is not (about 5 MB, 30 ms).
    try:
        return all(read_bytes(a) == read_bytes(b) for a, b in zip(ours, theirs, strict=True))
    except (OSError, DatasetFormatError):
        return False


def ignored_redial_warning(settings: DataSettings) -> str | None:
    """What to do when LLMREC_EXTERNAL_DATA_DIR holds a ReDial-format dataset that no domain reads; else None."""
    external = settings.external_data_dir
    if external is None:
        return None
    configured = {folder.resolve() for folder in settings.conversational_datasets.values()}
    hint = f"name it as a domain of its own with {CONVERSATIONAL_DATASETS_VARIABLE}=NAME=" + "{folder}"
    if _redial_files(external) is not None and external.resolve() not in configured:
        return (
            f"LLMREC_EXTERNAL_DATA_DIR ({external}) holds a ReDial-format dataset that no domain reads (that variable"
            f" serves citeulike/ and movielens-100k/, and domain 'redial' reads its bundled copy): "
            + hint.format(folder=external)
        )
    sub = external / redial.DOMAIN
    theirs = _redial_files(sub)
    bundled = _redial_files(settings.bundled_data_dir / redial.DOMAIN)
    if theirs is None or bundled is None or sub.resolve() in configured or _same_content(bundled, theirs):
        return None
    return (
        f"{sub} (under LLMREC_EXTERNAL_DATA_DIR) differs from the bundled ReDial copy, which domain 'redial' reads"
        f" instead: to use it, " + hint.format(folder=sub)
    )
