"""Dataset loaders: public files in ../shared/data (or bundled .gz copies) -> `tools.catalog.Dataset`.

    from tools.datasets import DOMAINS, load_dataset
    ds = load_dataset("scientific")          # settings=None reads DataSettings() from LLMREC_* variables

The first call parses the source files and saves the canonical form under
`data_dir/datasets/<domain>/<key>/`; later calls read that folder (see `tools.datasets.cache`).
Bundled: scientific, clothing, redial (data/<domain>/*.gz, see data/SOURCES.md). External, never bundled:
citeulike, movielens (LLMREC_EXTERNAL_DATA_DIR). Configured: any ReDial-format folder named in
LLMREC_CONVERSATIONAL_DATASETS is a domain of that name (`known_domains(settings)` lists them all).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from tools.catalog import Dataset
from tools.datasets import citeulike, clothing, movielens, redial, scientific
from tools.datasets.cache import cache_key, read_cached, write_cached
from tools.datasets.configured import conversational_specs, ignored_redial_warning
from tools.datasets.reader import locate
from tools.datasets.spec import DatasetSpec
from tools.errors import UnknownDomainError
from tools.settings import CONVERSATIONAL_DATASETS_VARIABLE, DataSettings

__all__ = [
    "DOMAINS",
    "REGISTRY",
    "DatasetSpec",
    "dataset_cache_dir",
    "dataset_warnings",
    "known_domains",
    "load_dataset",
    "registry",
]

logger = logging.getLogger(__name__)

REGISTRY: dict[str, DatasetSpec] = {
    spec.domain: spec for spec in (scientific.SPEC, clothing.SPEC, redial.SPEC, citeulike.SPEC, movielens.SPEC)
}
"""The built-in domains; `registry(settings)` adds the configured ones."""
DOMAINS: tuple[str, ...] = tuple(REGISTRY)
"""The built-in domain names; `known_domains(settings)` adds the configured ones."""


def registry(settings: DataSettings | None = None) -> dict[str, DatasetSpec]:
    """Built-in domains, then those named in LLMREC_CONVERSATIONAL_DATASETS (a built-in name there is an error)."""
    settings = settings or DataSettings()
    return {**REGISTRY, **conversational_specs(settings, REGISTRY)}


def known_domains(settings: DataSettings | None = None) -> tuple[str, ...]:
    """Every domain `load_dataset` accepts under `settings`, built-in first."""
    return tuple(registry(settings))


def dataset_warnings(settings: DataSettings | None = None) -> list[str]:
    """Settings that are valid but probably not what the user meant, each one sentence saying what to do."""
    warning = ignored_redial_warning(settings or DataSettings())
    return [warning] if warning else []


def _spec(domain: str, settings: DataSettings) -> DatasetSpec:
    specs = registry(settings)
    try:
        return specs[domain]
    except KeyError:
        raise UnknownDomainError(
            f"unknown dataset domain {domain!r}; known: {', '.join(specs)}"
            f" (a ReDial-format folder becomes a domain with {CONVERSATIONAL_DATASETS_VARIABLE}=NAME=FOLDER)"
        ) from None


def dataset_cache_dir(domain: str, settings: DataSettings | None = None) -> Path:
    """The folder where `load_dataset(domain, settings)` caches the canonical form of the current sources."""
    settings = settings or DataSettings()
    spec = _spec(domain, settings)
    paths = locate(domain, spec.locations(settings), spec.files)
    key = cache_key(spec.version, settings.seed, [paths[name] for name in spec.files])
    return settings.data_dir / "datasets" / domain / key


def load_dataset(domain: str, settings: DataSettings | None = None, *, use_cache: bool = True) -> Dataset:
    """Load a domain's catalog, histories and turns.

    Raises `UnknownDomainError` for a domain not in `known_domains(settings)`, `DatasetConfigError` when
    LLMREC_CONVERSATIONAL_DATASETS reuses a built-in name, `DatasetNotFoundError` (saying which
    folders were searched and which LLMREC_* variable to set) when the files are missing, and
    `DatasetFormatError` (file, line, what was expected) when a file does not parse.
    """
    settings = settings or DataSettings()
    spec = _spec(domain, settings)
    paths = locate(domain, spec.locations(settings), spec.files)
    key = cache_key(spec.version, settings.seed, [paths[name] for name in spec.files])
    folder = settings.data_dir / "datasets" / domain / key
    if use_cache:
        cached = read_cached(folder)
        if cached is not None:
            return cached
    started = time.perf_counter()
    dataset = spec.parse(paths, settings.seed)
    logger.info("parsed %s from %s in %.1f s", domain, paths[spec.files[0]].parent, time.perf_counter() - started)
    if use_cache:
        try:
            write_cached(folder, dataset)
        except OSError as exc:
            logger.warning("could not cache %s under %s (%s); it will be parsed again next time", domain, folder, exc)
    return dataset
