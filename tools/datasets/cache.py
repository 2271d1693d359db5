"""The converted-dataset cache: `data_dir/datasets/<domain>/<key>/`, one canonical folder per source version.

The key hashes the source files' bytes, the loader's version and the seed, so editing a source file,
changing a loader or changing the seed each give a fresh folder. A `cache.json` written last holds the
sha256 of every canonical file: a folder without it, or whose files no longer match, is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path

from tools.catalog import Dataset
from tools.datasets.reader import file_digest
from tools.errors import DatasetFormatError

logger = logging.getLogger(__name__)

MANIFEST = "cache.json"


def cache_key(loader_version: int, seed: int, sources: list[Path]) -> str:
    digest = hashlib.sha256(f"loader={loader_version};seed={seed};".encode())
    digest.update(file_digest(sources).encode())
    return digest.hexdigest()[:16]


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_cached(folder: Path) -> Dataset | None:
    """The cached dataset in `folder`, or None when absent or corrupt (a corrupt folder is removed)."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        if folder.exists():
            logger.warning("incomplete dataset cache %s (no %s): rebuilding", folder, MANIFEST)
            shutil.rmtree(folder, ignore_errors=True)
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for name, expected in manifest["files"].items():
            if _file_sha256(folder / name) != expected:
                raise DatasetFormatError(folder / name, None, f"sha256 {expected} recorded in {MANIFEST}")
        return Dataset.load(folder)
    except (OSError, ValueError, KeyError, TypeError, DatasetFormatError) as exc:
        logger.warning("corrupt dataset cache %s (%s): rebuilding from the source files", folder, exc)
        shutil.rmtree(folder, ignore_errors=True)
        return None


def write_cached(folder: Path, dataset: Dataset) -> None:
    """Save `dataset` to `folder` atomically: a reader sees either nothing or the complete folder."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        dataset.save(tmp)
        files = {p.name: _file_sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        (tmp / MANIFEST).write_text(json.dumps({"files": files}, indent=2), encoding="utf-8")
        try:
            tmp.rename(folder)
        except OSError:
            if not (folder / MANIFEST).is_file():
                raise
            # Another process finished the same conversion first; its folder is as good as ours.
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
