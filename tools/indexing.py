"""Building a domain's search indexes: BM25 files and the Qdrant collection (what `llmrec index` runs).

Building is idempotent: an index whose manifest matches the catalog and settings is left alone; a dense index
of the same model but an older catalog is updated in place (changed items overwritten by their deterministic
point ids, removed items deleted); anything else stale needs `rebuild=True`. Vectors come from the encoder's
on-disk cache when the text was encoded before, so a rebuild of an unchanged catalog encodes nothing.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tqdm.auto import tqdm

from tools.bm25_store import BM25Store, folder_size
from tools.bm25_store import expected_manifest as bm25_manifest
from tools.catalog import Dataset, Item
from tools.embeddings import Encoder
from tools.errors import IndexCorruptError, IndexMissingError, StaleIndexError
from tools.index_meta import document_text
from tools.progress import progress_enabled
from tools.qdrant_store import QdrantStore
from tools.qdrant_store import expected_manifest as qdrant_manifest
from tools.settings import RetrievalSettings

log = logging.getLogger(__name__)

_CHUNK = 1024

Status = Literal["built", "updated", "up to date"]


@dataclass
class DenseBuild:
    status: Status
    encoded: int = 0
    """Texts run through the model (the rest came from the vector cache)."""
    cached: int = 0
    encode_seconds: float = 0.0
    written: int = 0
    """Points upserted."""
    deleted: int = 0


@dataclass
class IndexReport:
    """What `build_indexes` did, for the CLI summary."""

    domain: str
    items: int
    seconds: float
    bm25_status: Status
    bm25_backend: str
    bm25_bytes: int
    dense: DenseBuild
    qdrant_location: str
    qdrant_bytes: int | None
    """Bytes of the embedded store on disk; None for a server."""
    model: str

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("inf")

    @property
    def texts_per_second(self) -> float | None:
        d = self.dense
        return d.encoded / d.encode_seconds if d.encoded and d.encode_seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["items_per_second"] = self.items_per_second
        out["texts_per_second"] = self.texts_per_second
        return out


def build_bm25_index(
    dataset: Dataset, settings: RetrievalSettings, *, rebuild: bool = False, progress: bool = True
) -> tuple[BM25Store, Status]:
    """Build and save the BM25 index unless a fresh one exists (always, with `rebuild`)."""
    items = list(dataset.items.values())
    backend = settings.bm25_backend
    folder = BM25Store.folder_for(settings.data_dir, dataset.domain, backend)
    existed = (folder / "manifest.json").exists()
    if not rebuild:
        try:
            return BM25Store.open(folder, bm25_manifest(items, dataset.domain, backend)), "up to date"
        except (IndexMissingError, StaleIndexError, IndexCorruptError) as exc:
            log.info("rebuilding the BM25 index: %s", exc)
    store = BM25Store.build(items, dataset.domain, backend, progress=progress)
    store.save(folder)
    return store, "updated" if existed else "built"


def build_dense_index(
    dataset: Dataset,
    store: QdrantStore,
    encoder: Encoder,
    *,
    rebuild: bool = False,
    progress: bool = True,
) -> DenseBuild:
    """Encode the catalog and write it to the domain's Qdrant collection (see the module docstring)."""
    items = list(dataset.items.values())
    existing = store.exists()
    stored = store.stored_manifest() if existing else None
    # Checked before the model loads (about 3 s), so an up-to-date index costs nothing to "rebuild".
    unloaded = qdrant_manifest(items, dataset.domain, encoder.identity, None)
    if stored is not None and not rebuild and not unloaded.differences(stored):
        return DenseBuild("up to date")
    expected = qdrant_manifest(items, dataset.domain, encoder.identity, encoder.dimension)
    # A collection without a manifest holds an interrupted build: nothing in it is worth keeping.
    update = existing and stored is not None and not rebuild
    if update:
        assert stored is not None
        if not expected.differences(stored):
            return DenseBuild("up to date")
        same_layout = (stored.model, stored.dimension, stored.schema) == (
            expected.model,
            expected.dimension,
            expected.schema,
        )
        if not same_layout:
            expected.check(stored, "Qdrant index")  # raises: replacing another model's index needs --rebuild
    else:
        store.recreate(encoder.dimension)

    encoded, cached, encode_seconds = _encode_and_write(items, store, encoder, dataset.domain, progress)
    deleted = 0
    if update:
        gone = store.item_ids() - set(dataset.items)
        store.delete_items(gone)
        deleted = len(gone)
    # Written last: a run cut short leaves a collection without a manifest, which opening reports.
    store.write_manifest(expected)
    status: Status = "updated" if update else "built"
    return DenseBuild(status, encoded, cached, encode_seconds, len(items), deleted)


def _encode_and_write(
    items: list[Item], store: QdrantStore, encoder: Encoder, domain: str, progress: bool
) -> tuple[int, int, float]:
    """Encode chunk i+1 while chunk i is written, and return (encoded, cached, encoding seconds).

    Embedded Qdrant commits every point to SQLite on its own (about 1.1 ms each, 700-850 points/s, mostly
    waiting on the disk), so writing beside the CPU-bound encoder hides most of that time.
    """
    encoded = cached = 0
    seconds = 0.0
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmrec-qdrant-writer") as writer,
        tqdm(total=len(items), desc=f"Indexing {domain}", unit="item", disable=not progress_enabled(progress)) as bar,
    ):
        pending: Future[None] | None = None
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            vectors = encoder.encode([document_text(i) for i in chunk], progress=False)
            stats = encoder.last_stats
            encoded, cached, seconds = encoded + stats.encoded, cached + stats.cached, seconds + stats.seconds
            if pending is not None:
                pending.result()
                bar.update(_CHUNK)
            pending = writer.submit(store.upsert, chunk, vectors)
        if pending is not None:
            pending.result()
        bar.n = len(items)
        bar.refresh()
    return encoded, cached, seconds


def build_indexes(
    dataset: Dataset,
    settings: RetrievalSettings | None = None,
    *,
    rebuild: bool = False,
    progress: bool = True,
    encoder: Encoder | None = None,
) -> IndexReport:
    """Build (or bring up to date) both indexes of `dataset`'s domain."""
    settings = settings or RetrievalSettings()
    encoder = encoder or Encoder.from_settings(settings)
    started = time.perf_counter()
    _, bm25_status = build_bm25_index(dataset, settings, rebuild=rebuild, progress=progress)
    with QdrantStore.connect(settings, dataset.domain) as store:
        dense = build_dense_index(dataset, store, encoder, rebuild=rebuild, progress=progress)
        location = store.location
        embedded = store.embedded
    seconds = time.perf_counter() - started
    bm25_folder = BM25Store.folder_for(settings.data_dir, dataset.domain, settings.bm25_backend)
    qdrant_folder = QdrantStore.embedded_path(settings.data_dir, dataset.domain)
    qdrant_bytes = folder_size(qdrant_folder) if embedded else None
    return IndexReport(
        domain=dataset.domain,
        items=len(dataset.items),
        seconds=seconds,
        bm25_status=bm25_status,
        bm25_backend=settings.bm25_backend,
        bm25_bytes=folder_size(bm25_folder),
        dense=dense,
        qdrant_location=location,
        qdrant_bytes=qdrant_bytes,
        model=encoder.identity,
    )
