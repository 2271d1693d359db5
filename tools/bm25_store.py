"""The lexical index: BM25 over `tools.tokenize.tokenize`d catalog text, persisted under the data directory.

Two backends behind one interface (`BM25Backend`), both with k1 = 1.5 and b = 0.75:

- `rank_bm25` (rank-bm25's BM25Okapi, the library the product card names): pure Python, scores every
  document by looping over it for each query term.
- `bm25s`: the BM25 score of every (term, document) pair precomputed into a sparse matrix at index time, so a
  query is a sum of a few sparse columns.

`bm25s` is the default because only it meets the target "BM25 top-100 p50 <= 10 ms at 100k items". Measured
by benchmarks/retrieval.py on 2 CPU cores (AMD EPYC), catalogs built from the bundled domains' items, queries
of 2-5 title words (benchmarks/results/retrieval.json holds the exact figures and the machine):

    items   bm25s top-100 p50 (p95)   rank_bm25 top-100 p50 (p95)
    10k          0.21 ms (0.29)             7.0 ms (15)
    50k          0.19 ms (0.36)            24.7 ms (62)
    100k         0.20 ms (0.41)            46.8 ms (101)

rank_bm25 is about 200x slower at 100k because its cost grows with (query terms x documents) in Python; longer
queries (a user's history titles) make it slower still.
The two use different IDF variants (bm25s: Lucene's, never negative; rank_bm25: Robertson's with a floor), so
their scores differ slightly, but both rank by the same BM25 term-frequency saturation.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from tools.catalog import Item
from tools.errors import IndexCorruptError, IndexMissingError
from tools.index_meta import IndexManifest, build_hint, catalog_fingerprint, document_text, rebuild_hint
from tools.progress import progress_enabled
from tools.tokenize import TOKENIZER_VERSION, tokenize

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

K1 = 1.5
B = 0.75
DEFAULT_BACKEND = "bm25s"
_MANIFEST = "manifest.json"
_ITEM_IDS = "item_ids.json"


class BM25Backend(Protocol):
    """Scores documents (rows 0..num_docs-1) for a tokenised query."""

    name: ClassVar[str]

    @property
    def num_docs(self) -> int: ...

    def scores(self, query_tokens: Sequence[str]) -> FloatArray:
        """BM25 score of every document, in row order."""
        ...

    def scores_of(self, query_tokens: Sequence[str], rows: IntArray) -> FloatArray:
        """BM25 scores of the documents `rows`, in that order."""
        ...

    def save(self, folder: Path) -> None: ...


def _bm25s() -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG on import, which floods any application that logs at INFO.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class BM25sBackend:
    """bm25s: precomputed sparse score matrix (Lucene IDF)."""

    name: ClassVar[str] = "bm25s"

    def __init__(self, model: Any) -> None:
        self._model = model

    @classmethod
    def build(cls, corpus: Sequence[Sequence[str]], progress: bool = False) -> BM25sBackend:
        # No bm25s progress bars: indexing 100k tokenised items takes about 2 s, tokenising shows progress.
        model = _bm25s().BM25(k1=K1, b=B, method="lucene")
        model.index([list(doc) for doc in corpus], show_progress=False)
        return cls(model)

    @classmethod
    def load(cls, folder: Path) -> BM25sBackend:
        return cls(_bm25s().BM25.load(str(folder), mmap=False, show_progress=False))

    @property
    def num_docs(self) -> int:
        return int(self._model.scores["num_docs"])

    def scores(self, query_tokens: Sequence[str]) -> FloatArray:
        ids = self._model.get_tokens_ids(list(query_tokens))
        if not ids:
            return np.zeros(self.num_docs, dtype=np.float32)
        return np.asarray(self._model.get_scores_from_ids(ids), dtype=np.float32)

    def scores_of(self, query_tokens: Sequence[str], rows: IntArray) -> FloatArray:
        # One sparse pass over all documents costs about as much as gathering a few columns (1 ms at 100k).
        return self.scores(query_tokens)[rows]

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)


class RankBM25Backend:
    """rank-bm25's BM25Okapi; persisted as its tokenised corpus (JSON, not pickle) and rebuilt on load."""

    name: ClassVar[str] = "rank_bm25"
    _CORPUS = "corpus_tokens.json"

    def __init__(self, corpus: list[list[str]]) -> None:
        from rank_bm25 import BM25Okapi

        self._corpus = corpus
        # BM25Okapi divides by the average document length: an all-empty corpus needs one token somewhere.
        self._model = BM25Okapi([doc or [""] for doc in corpus], k1=K1, b=B)

    @classmethod
    def build(cls, corpus: Sequence[Sequence[str]], progress: bool = False) -> RankBM25Backend:
        return cls([list(doc) for doc in corpus])

    @classmethod
    def load(cls, folder: Path) -> RankBM25Backend:
        corpus = json.loads((folder / cls._CORPUS).read_text(encoding="utf-8"))
        if not isinstance(corpus, list):
            raise ValueError(f"{cls._CORPUS} does not hold a list of token lists")
        return cls(corpus)

    @property
    def num_docs(self) -> int:
        return len(self._corpus)

    def scores(self, query_tokens: Sequence[str]) -> FloatArray:
        if not query_tokens:
            return np.zeros(self.num_docs, dtype=np.float32)
        return np.asarray(self._model.get_scores(list(query_tokens)), dtype=np.float32)

    def scores_of(self, query_tokens: Sequence[str], rows: IntArray) -> FloatArray:
        if not query_tokens or len(rows) == 0:
            return np.zeros(len(rows), dtype=np.float32)
        if len(rows) > self.num_docs // 4:
            return self.scores(query_tokens)[rows]
        return np.asarray(self._model.get_batch_scores(list(query_tokens), rows.tolist()), dtype=np.float32)

    def save(self, folder: Path) -> None:
        (folder / self._CORPUS).write_text(json.dumps(self._corpus, ensure_ascii=False), encoding="utf-8")


BACKENDS: dict[str, type[BM25sBackend] | type[RankBM25Backend]] = {
    BM25sBackend.name: BM25sBackend,
    RankBM25Backend.name: RankBM25Backend,
}


def _backend_class(name: str) -> type[BM25sBackend] | type[RankBM25Backend]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown BM25 backend {name!r}; choose one of {', '.join(BACKENDS)}") from None


def expected_manifest(items: Sequence[Item], domain: str, backend: str) -> IndexManifest:
    """The manifest a BM25 index of `items` built now would carry."""
    return IndexManifest(
        kind=backend,
        domain=domain,
        catalog=catalog_fingerprint(items),
        num_items=len(items),
        tokenizer=TOKENIZER_VERSION,
    )


class BM25Store:
    """A BM25 index of one domain's catalog: the backend, the row -> item id map and the manifest."""

    def __init__(self, backend: BM25Backend, item_ids: list[str], manifest: IndexManifest) -> None:
        if backend.num_docs != len(item_ids):
            raise ValueError(f"BM25 index has {backend.num_docs} documents but {len(item_ids)} item ids")
        self.backend = backend
        self.item_ids = item_ids
        self.manifest = manifest
        self.row_of = {item_id: row for row, item_id in enumerate(item_ids)}

    @staticmethod
    def folder_for(data_dir: Path, domain: str, backend: str) -> Path:
        return data_dir / "indexes" / domain / f"bm25-{backend}"

    @classmethod
    def build(
        cls, items: Sequence[Item], domain: str, backend: str = DEFAULT_BACKEND, progress: bool = False
    ) -> BM25Store:
        """Tokenise and index `items` (in memory; `save` persists)."""
        backend_cls = _backend_class(backend)
        corpus = [
            tokenize(document_text(item))
            for item in tqdm(items, desc="Tokenizing", unit="item", disable=not progress_enabled(progress))
        ]
        return cls(
            backend_cls.build(corpus, progress=progress),
            [item.item_id for item in items],
            expected_manifest(items, domain, backend),
        )

    def save(self, folder: Path) -> None:
        """Write the index to `folder`, replacing what was there only once the new files are complete."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
        tmp.mkdir()
        try:
            self.backend.save(tmp)
            (tmp / _ITEM_IDS).write_text(json.dumps(self.item_ids, ensure_ascii=False), encoding="utf-8")
            (tmp / _MANIFEST).write_text(json.dumps(self.manifest.to_dict(), indent=2), encoding="utf-8")
            old = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
            if folder.exists():
                folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def open(cls, folder: Path, expected: IndexManifest) -> BM25Store:
        """Load the index in `folder`; raise a one-sentence error if it is missing, unreadable or stale."""
        what = f"BM25 index ({expected.kind})"
        manifest_path = folder / _MANIFEST
        if not manifest_path.exists():
            raise IndexMissingError(
                f"No {what} for domain '{expected.domain}' at {folder}: {build_hint(expected.domain)}."
            )
        try:
            stored = IndexManifest.from_dict(json.loads(manifest_path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise IndexCorruptError(
                f"The {what} at {folder} has an unreadable manifest ({exc}): {rebuild_hint(expected.domain)}."
            ) from exc
        expected.check(stored, what)
        try:
            backend = _backend_class(expected.kind).load(folder)
            item_ids = json.loads((folder / _ITEM_IDS).read_text(encoding="utf-8"))
            return cls(backend, [str(x) for x in item_ids], stored)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"The {what} at {folder} could not be read ({type(exc).__name__}: {exc}):"
                f" {rebuild_hint(expected.domain)}."
            ) from exc

    def __len__(self) -> int:
        return len(self.item_ids)

    def scores(self, query: str) -> FloatArray:
        """BM25 score of every item (row order = `item_ids`) for a raw query string."""
        return self.backend.scores(tokenize(query))

    def scores_of(self, query: str, rows: IntArray) -> FloatArray:
        return self.backend.scores_of(tokenize(query), rows)

    def top(self, query: str, k: int, allowed: npt.NDArray[np.bool_] | None = None) -> list[tuple[str, float]]:
        """The k best items with a positive score, best first; `allowed` masks rows out (False = excluded).

        Equal scores keep row order, so results repeat exactly.
        """
        scores = self.scores(query)
        candidates = scores > 0
        if allowed is not None:
            candidates &= allowed
        rows = np.flatnonzero(candidates)
        if len(rows) == 0 or k <= 0:
            return []
        if len(rows) > k:
            # argpartition keeps the k largest in O(n); the sort below orders only those.
            part = np.argpartition(-scores[rows], k - 1)[:k]
            rows = rows[part]
        order = np.lexsort((rows, -scores[rows]))
        return [(self.item_ids[r], float(scores[r])) for r in rows[order]]


def folder_size(folder: Path) -> int:
    """Bytes on disk under `folder` (0 when it does not exist)."""
    if not folder.exists():
        return 0
    if folder.is_file():
        return folder.stat().st_size
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
