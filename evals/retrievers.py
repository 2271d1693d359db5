"""One set of open retrievers per domain per process, shared by the retrieval systems and the rerank protocol.

Embedded Qdrant locks its folder per client, so two `catalog_retrievers` over the same domain in one process
would refuse each other; the indexes are also expensive to open (the encoder alone takes seconds).
"""

from __future__ import annotations

import atexit
import threading

from tools.catalog import Dataset
from tools.search import CatalogRetrievers, catalog_retrievers
from tools.settings import RetrievalSettings

_lock = threading.Lock()
_open: dict[str, CatalogRetrievers] = {}


def shared_retrievers(dataset: Dataset, *, progress: bool = True) -> CatalogRetrievers:
    """The domain's retrievers, opened (or built when missing) on first use and closed at exit."""
    with _lock:
        retrievers = _open.get(dataset.domain)
        if retrievers is None:
            retrievers = catalog_retrievers(dataset, RetrievalSettings(), progress=progress)
            _open[dataset.domain] = retrievers
        return retrievers


def close_all() -> None:
    with _lock:
        for retrievers in _open.values():
            retrievers.close()
        _open.clear()


atexit.register(close_all)
