"""The dense index: one Qdrant collection per domain (`llmrec_<domain>`), embedded or on a server.

- Embedded (default): `QdrantClient(path=<data_dir>/qdrant/<domain>)`, persisted on disk. Qdrant's local mode
  allows one client per folder (it takes a file lock), hence one folder per domain: the app can serve one
  domain while `llmrec index` builds another. Local mode searches by brute force in numpy.
- Server: `QdrantClient(url=..., api_key=...)` when `LLMREC_QDRANT_URL` is set (docker-compose runs one).

Points have deterministic ids (`point_id(item_id)`, a UUID5), so re-indexing overwrites instead of
duplicating. The payload is the item's fields. The collection's metadata holds the `IndexManifest` (model
identity, dimension, catalog fingerprint), written last, so a stale or half-built index is detected on open.
Vectors are L2-normalised, so the collection uses the DOT distance (cosine without re-normalising every
stored vector on each local-mode query).
"""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
import threading
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from tools.catalog import Item
from tools.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    QdrantUnavailableError,
)
from tools.index_meta import IndexManifest, build_hint, catalog_fingerprint, document_text, rebuild_hint
from tools.progress import progress_enabled

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

    from tools.settings import RetrievalSettings

log = logging.getLogger(__name__)

FloatMatrix = npt.NDArray[np.float32]
Filters = Mapping[str, str | Sequence[str]]

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "llmrec:item")
_UPSERT_BATCH = 256
_OVERFETCH_LIMIT = 256  # up to this many excluded ids are dropped client-side from a deeper result list


def collection_name(domain: str) -> str:
    return f"llmrec_{domain}"


def point_id(item_id: str) -> str:
    """The Qdrant point id of an item: the same on every machine and every run."""
    return str(uuid.uuid5(_NAMESPACE, item_id))


def payload_of(item: Item) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "title": item.title,
        "text": document_text(item),
        "attributes": {k: (v if isinstance(v, str) else list(v)) for k, v in item.attributes.items()},
        "domain": item.domain,
    }


def expected_manifest(items: Sequence[Item], domain: str, model: str, dimension: int | None) -> IndexManifest:
    """The manifest a dense index of `items` built now with `model` would carry."""
    return IndexManifest(
        kind="qdrant",
        domain=domain,
        catalog=catalog_fingerprint(items),
        num_items=len(items),
        model=model,
        dimension=dimension,
    )


def _connection_errors() -> tuple[type[BaseException], ...]:
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException

    errors: list[type[BaseException]] = [ResponseHandlingException, httpx.TransportError, ConnectionError]
    try:
        import grpc

        errors.append(grpc.RpcError)
    except ImportError:  # pragma: no cover - grpcio comes with qdrant-client
        pass
    return tuple(errors)


class QdrantStore:
    """One domain's collection on an open client. Use `connect`; close it (or use `with`) when done."""

    def __init__(self, client: QdrantClient, domain: str, location: str, embedded: bool) -> None:
        self.client = client
        self.domain = domain
        self.collection = collection_name(domain)
        self.location = location
        self.embedded = embedded
        # Local mode is plain Python over numpy arrays and SQLite: one caller at a time.
        self._lock = threading.RLock()

    @staticmethod
    def embedded_path(data_dir: Path, domain: str) -> Path:
        return data_dir / "qdrant" / domain

    @classmethod
    def connect(cls, settings: RetrievalSettings, domain: str) -> QdrantStore:
        """Open the configured Qdrant (server when `qdrant_url` is set, else embedded) for `domain`.

        Raises `QdrantUnavailableError` (server does not answer), `IndexLockedError` (embedded folder held by
        another process) or `IndexCorruptError` (embedded files unreadable), each with one clear sentence.
        """
        from qdrant_client import QdrantClient

        if settings.qdrant_url:
            url = settings.qdrant_url
            key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
            client = QdrantClient(url=url, api_key=key, timeout=settings.qdrant_timeout, check_compatibility=False)
            store = cls(client, domain, url, embedded=False)
            with store._server_errors():
                client.get_collections()
            return store
        path = cls.embedded_path(settings.data_dir, domain)
        path.mkdir(parents=True, exist_ok=True)
        try:
            client = QdrantClient(path=str(path), force_disable_check_same_thread=True)
        except RuntimeError as exc:
            if "already accessed by another instance" in str(exc):
                raise IndexLockedError(
                    f"The embedded Qdrant store {path} is in use by another process (an app or an"
                    " `llmrec index` run): stop that process, or run a Qdrant server and set"
                    " LLMREC_QDRANT_URL so that several processes can share it."
                ) from exc
            raise
        except (ValueError, KeyError, TypeError, EOFError, sqlite3.Error, pickle.UnpicklingError) as exc:
            raise IndexCorruptError(
                f"The embedded Qdrant store {path} could not be read ({type(exc).__name__}: {exc}): delete it"
                f" and {build_hint(domain)}."
            ) from exc
        return cls(client, domain, str(path), embedded=True)

    @contextmanager
    def _server_errors(self) -> Iterator[None]:
        """Map connection failures and HTTP errors of a server to `QdrantUnavailableError`."""
        if self.embedded:
            with self._lock:
                yield
            return
        from qdrant_client.http.exceptions import UnexpectedResponse

        try:
            yield
        except _connection_errors() as exc:
            raise QdrantUnavailableError(
                f"The Qdrant server at {self.location} does not answer ({exc}): start it"
                " (`docker compose up -d qdrant`) or unset LLMREC_QDRANT_URL to use the embedded store."
            ) from exc
        except UnexpectedResponse as exc:
            if exc.status_code in (401, 403):
                raise QdrantUnavailableError(
                    f"The Qdrant server at {self.location} refused the request (HTTP {exc.status_code}):"
                    " check LLMREC_QDRANT_API_KEY."
                ) from exc
            raise

    def close(self) -> None:
        with self._lock:
            self.client.close()

    def __enter__(self) -> QdrantStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- collection and manifest ---------------------------------------------------------------

    def exists(self) -> bool:
        with self._server_errors():
            return bool(self.client.collection_exists(self.collection))

    def stored_manifest(self) -> IndexManifest | None:
        """The manifest in the collection's metadata; None if it has none (a build was cut short)."""
        with self._server_errors():
            info = self.client.get_collection(self.collection)
        metadata = info.config.metadata or {}
        raw = metadata.get("llmrec")
        if raw is None:
            return None
        try:
            return IndexManifest.from_dict(json.loads(raw) if isinstance(raw, str) else raw)
        except (ValueError, TypeError) as exc:
            raise IndexCorruptError(
                f"The Qdrant collection {self.collection} at {self.location} has an unreadable manifest"
                f" ({exc}): {rebuild_hint(self.domain)}."
            ) from exc

    def check(self, expected: IndexManifest) -> None:
        """Raise `IndexMissingError` or `StaleIndexError` unless the collection matches `expected`."""
        if not self.exists():
            raise IndexMissingError(
                f"No Qdrant index for domain '{self.domain}' at {self.location}: {build_hint(self.domain)}."
            )
        expected.check(self.stored_manifest(), "Qdrant index")
        with self._server_errors():
            points = self.client.count(self.collection, exact=True).count
        if points != expected.num_items:
            # The manifest lives in the collection's config, the points in their own files: a lost or emptied
            # points file leaves a valid manifest over missing vectors, which would silently search nothing.
            raise IndexCorruptError(
                f"The Qdrant index of '{self.domain}' at {self.location} holds {points} vectors for"
                f" {expected.num_items} items (its files lost data): {rebuild_hint(self.domain)}."
            )

    def recreate(self, dimension: int) -> None:
        """Drop the collection if it exists and create it empty, without a manifest."""
        from qdrant_client import models

        with self._server_errors():
            if self.client.collection_exists(self.collection):
                self.client.delete_collection(self.collection)
            self.client.create_collection(
                self.collection,
                vectors_config=models.VectorParams(size=dimension, distance=models.Distance.DOT),
            )

    def vector_size(self) -> int:
        with self._server_errors():
            info = self.client.get_collection(self.collection)
        vectors = info.config.params.vectors
        if isinstance(vectors, dict):
            raise IndexCorruptError(
                f"The Qdrant collection {self.collection} has named vectors, not llmrec's layout:"
                f" {rebuild_hint(self.domain)}."
            )
        assert vectors is not None
        return int(vectors.size)

    def write_manifest(self, manifest: IndexManifest) -> None:
        # The metadata value is a JSON string: local mode merges metadata dicts key by key.
        with self._server_errors():
            metadata = {"llmrec": json.dumps(manifest.to_dict())}
            self.client.update_collection(self.collection, metadata=metadata)

    # --- points --------------------------------------------------------------------------------

    def upsert(self, items: Sequence[Item], vectors: FloatMatrix, progress: bool = False) -> None:
        """Write items with their vectors; an existing point with the same item id is overwritten."""
        from qdrant_client import models

        if len(items) != len(vectors):
            raise ValueError(f"{len(items)} items but {len(vectors)} vectors")
        with tqdm(
            total=len(items), desc="Writing to Qdrant", unit="item", disable=not progress_enabled(progress)
        ) as bar:
            for start in range(0, len(items), _UPSERT_BATCH):
                batch = items[start : start + _UPSERT_BATCH]
                points = [
                    models.PointStruct(id=point_id(item.item_id), vector=vector.tolist(), payload=payload_of(item))
                    for item, vector in zip(batch, vectors[start : start + _UPSERT_BATCH], strict=True)
                ]
                with self._server_errors():
                    self.client.upsert(self.collection, points=points, wait=True)
                bar.update(len(batch))

    def item_ids(self) -> set[str]:
        """Item ids of every point in the collection."""
        ids: set[str] = set()
        offset: Any = None
        while True:
            with self._server_errors():
                records, offset = self.client.scroll(
                    self.collection, limit=1024, offset=offset, with_payload=["item_id"], with_vectors=False
                )
            ids.update(str((r.payload or {}).get("item_id")) for r in records)
            if offset is None:
                return ids

    def delete_items(self, item_ids: Collection[str]) -> None:
        from qdrant_client import models

        if not item_ids:
            return
        with self._server_errors():
            self.client.delete(
                self.collection,
                points_selector=models.PointIdsList(points=[point_id(i) for i in item_ids]),
                wait=True,
            )

    def count(self) -> int:
        with self._server_errors():
            return int(self.client.count(self.collection, exact=True).count)

    def vectors(self, item_ids: Sequence[str]) -> FloatMatrix:
        """Stored vectors of `item_ids`, in that order; raises KeyError naming an id that has no point."""
        out: list[FloatMatrix] = []
        for start in range(0, len(item_ids), 1024):
            batch = list(item_ids[start : start + 1024])
            with self._server_errors():
                records = self.client.retrieve(
                    self.collection, ids=[point_id(i) for i in batch], with_vectors=True, with_payload=False
                )
            by_id = {str(r.id): r.vector for r in records}
            for item_id in batch:
                vector = by_id.get(point_id(item_id))
                if vector is None:
                    raise KeyError(item_id)
                out.append(np.asarray(vector, dtype=np.float32))
        if not out:
            return np.zeros((0, self.vector_size()), dtype=np.float32)
        return np.stack(out)

    def search(
        self,
        query: FloatMatrix | str,
        limit: int,
        filters: Filters | None = None,
        exclude: Collection[str] = (),
    ) -> list[tuple[str, float]]:
        """The `limit` nearest items as (point id, score), best first.

        `query` is a vector, or an item id whose stored vector is the query (that item is then left out).
        `filters` map an attribute name to a value or a list of accepted values (any-of); several names must
        all match. Excluded item ids never appear: up to 256 are dropped client-side from a deeper list
        (local mode evaluates payload filters point by point in Python, about 15 us per point), more are sent
        as a filter.
        """
        from qdrant_client import models

        if limit <= 0:
            return []
        must: list[models.Condition] = [_attribute_condition(k, v) for k, v in (filters or {}).items()]
        excluded = {point_id(i) for i in exclude}
        query_input: Any
        if isinstance(query, str):
            query_input = point_id(query)
            excluded.discard(query_input)  # Qdrant already leaves the query point out
        else:
            query_input = np.asarray(query, dtype=np.float32)
        must_not: list[models.Condition] = []
        fetch = limit
        if len(excluded) > _OVERFETCH_LIMIT:
            must_not.append(models.HasIdCondition(has_id=list(excluded)))
        else:
            fetch += len(excluded)
        query_filter = None
        if must or must_not:
            query_filter = models.Filter(must=must or None, must_not=must_not or None)
        with self._server_errors():
            response = self.client.query_points(
                self.collection,
                query=query_input,
                limit=fetch,
                query_filter=query_filter,
                with_payload=False,
                with_vectors=False,
            )
        hits = [(str(p.id), float(p.score)) for p in response.points if str(p.id) not in excluded]
        return hits[:limit]


def _attribute_condition(key: str, value: str | Sequence[str]) -> Any:
    from qdrant_client import models

    field = f"attributes.{key}"
    if isinstance(value, str):
        return models.FieldCondition(key=field, match=models.MatchValue(value=value))
    return models.FieldCondition(key=field, match=models.MatchAny(any=[str(v) for v in value]))
