"""One search interface over a domain's catalog, three implementations: BM25, dense (Qdrant) and hybrid (RRF).

    retrievers = catalog_retrievers(load_dataset("scientific"))   # opens the indexes, builds missing ones
    result = retrievers.hybrid.search("digital caliper", k=10, exclude=history)
    for hit in result: print(hit.item_id, hit.score, hit.ranks)
    result.warnings     # e.g. dense search unavailable, BM25 results only

Every retriever also scores a given candidate list (`score_candidates`), which the evaluation harness uses for
the 20-candidate protocols and for full ranking (every item, for every user), so it is vectorised.

Filters map an attribute name to a value or a list of accepted values (any-of); several names must all match;
a list-valued attribute (e.g. categories) matches when any of its values does. `exclude` removes item ids
(the user's history, rejected items) from the results.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, overload

import numpy as np
import numpy.typing as npt

from tools.bm25_store import BM25Store
from tools.bm25_store import expected_manifest as bm25_manifest
from tools.catalog import Dataset, Item, UserHistory
from tools.embeddings import Encoder
from tools.errors import (
    EmptyQueryError,
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    QdrantUnavailableError,
    ToolsError,
    UnknownItemError,
)
from tools.fusion import RRF_K, competition_ranks, reciprocal_rank_fusion, rrf_scores
from tools.index_meta import document_text
from tools.qdrant_store import QdrantStore, point_id
from tools.qdrant_store import expected_manifest as qdrant_manifest
from tools.settings import RetrievalSettings
from tools.tokenize import tokenize

if TYPE_CHECKING:  # the sequential model loads torch and replay-rec: only when a caller asks for it
    from tools.cooccur import CoOccurrence
    from tools.seqrec import SeqRec

log = logging.getLogger(__name__)

Filters = Mapping[str, str | Sequence[str]]
ScoreArray = npt.NDArray[np.float64]
SystemName = Literal["bm25", "dense", "hybrid"]


@dataclass(frozen=True)
class SearchHit:
    """One retrieved item."""

    item_id: str
    score: float
    """The retriever's score: BM25 score, cosine similarity, or fused RRF score (higher is better)."""
    ranks: Mapping[str, int] = field(default_factory=dict)
    """1-based rank of the item in each source that returned it, e.g. {"bm25": 3, "dense": 1}."""


@dataclass(frozen=True)
class SearchResult(Sequence[SearchHit]):
    """The hits of one search, best first, and what the caller must be told about how they were found."""

    hits: tuple[SearchHit, ...] = ()
    warnings: tuple[str, ...] = ()
    """Degradations the user should see (e.g. dense search unavailable, BM25 results only)."""

    @overload
    def __getitem__(self, index: int) -> SearchHit: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[SearchHit]: ...
    def __getitem__(self, index: int | slice) -> SearchHit | Sequence[SearchHit]:
        return self.hits[index]

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[SearchHit]:
        return iter(self.hits)

    @property
    def item_ids(self) -> list[str]:
        return [hit.item_id for hit in self.hits]


class Retriever(Protocol):
    """What BM25, dense and hybrid search have in common."""

    name: str
    dataset: Dataset

    def search(self, query: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()) -> SearchResult:
        """The k best items for `query` that pass `filters` and are not in `exclude`."""
        ...

    def similar(
        self, item_id: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()
    ) -> SearchResult:
        """The k items most like `item_id` (which is left out)."""
        ...

    def score_candidates(self, query: str, candidate_ids: Sequence[str]) -> ScoreArray:
        """One score per candidate, in order, higher is better."""
        ...

    def close(self) -> None: ...


def check_query(query: str) -> str:
    """Return the stripped query; raise `EmptyQueryError` if nothing is left."""
    if not isinstance(query, str) or not query.strip():
        raise EmptyQueryError(
            "The search query is empty: describe what to look for, e.g. 'stainless steel digital caliper'."
        )
    return query.strip()


def check_filters(filters: Filters | None) -> dict[str, tuple[str, ...]]:
    """Validate filters into {attribute: accepted values}; raise ValueError with a readable message."""
    if not filters:
        return {}
    if not isinstance(filters, Mapping):
        raise ValueError(f"filters must map attribute names to a value or a list of values, not {filters!r}")
    out: dict[str, tuple[str, ...]] = {}
    for key, value in filters.items():
        if isinstance(value, str):
            out[str(key)] = (value,)
        elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            out[str(key)] = tuple(value)
        else:
            raise ValueError(f"filter {key!r} must be a string or a list of strings, got {value!r}")
    return out


class _Catalog:
    """Row bookkeeping shared by the retrievers: ids <-> rows, unknown-id checks, attribute masks."""

    def __init__(self, dataset: Dataset, item_ids: Sequence[str]) -> None:
        self.dataset = dataset
        self.item_ids = list(item_ids)
        self.row_of = {item_id: row for row, item_id in enumerate(self.item_ids)}
        self._attribute_rows: dict[str, dict[str, npt.NDArray[np.int64]]] | None = None
        self._rows_cache: tuple[Sequence[str], npt.NDArray[np.int64]] | None = None

    def rows(self, candidate_ids: Sequence[str]) -> npt.NDArray[np.int64]:
        """Rows of `candidate_ids`; raises `UnknownItemError` listing the ids not in the catalog."""
        cached = self._rows_cache
        # Full ranking passes the same catalog tuple for every user: translate it once.
        if cached is not None and cached[0] is candidate_ids:
            return cached[1]
        row_of = self.row_of
        n = len(candidate_ids)
        rows = np.fromiter((row_of.get(i, -1) for i in candidate_ids), dtype=np.int64, count=n)
        if (rows < 0).any():
            unknown: list[int] = np.flatnonzero(rows < 0).tolist()
            raise UnknownItemError([candidate_ids[i] for i in unknown], self.dataset.domain)
        self._rows_cache = (candidate_ids, rows)
        return rows

    def item(self, item_id: str) -> Item:
        try:
            return self.dataset.items[item_id]
        except KeyError:
            raise UnknownItemError([item_id], self.dataset.domain) from None

    def _attribute_index(self) -> dict[str, dict[str, npt.NDArray[np.int64]]]:
        if self._attribute_rows is None:
            index: dict[str, dict[str, list[int]]] = {}
            for row, item_id in enumerate(self.item_ids):
                for key, value in self.dataset.items[item_id].attributes.items():
                    values = [value] if isinstance(value, str) else value
                    by_value = index.setdefault(key, {})
                    for v in values:
                        by_value.setdefault(str(v), []).append(row)
            self._attribute_rows = {
                key: {v: np.asarray(rows, dtype=np.int64) for v, rows in by_value.items()}
                for key, by_value in index.items()
            }
        return self._attribute_rows

    def allowed(self, filters: Filters | None, exclude: Collection[str]) -> npt.NDArray[np.bool_] | None:
        """Mask of rows that pass `filters` and are not excluded; None when nothing is filtered."""
        wanted = check_filters(filters)
        if not wanted and not exclude:
            return None
        mask = np.ones(len(self.item_ids), dtype=bool)
        index = self._attribute_index() if wanted else {}
        for key, values in wanted.items():
            by_value = index.get(key, {})
            key_mask = np.zeros(len(self.item_ids), dtype=bool)
            for v in values:
                key_mask[by_value.get(v, np.zeros(0, dtype=np.int64))] = True
            mask &= key_mask
        excluded = [self.row_of[i] for i in exclude if i in self.row_of]
        mask[excluded] = False
        return mask


class BM25Retriever:
    """Lexical search over a `BM25Store`."""

    name = "bm25"

    def __init__(self, store: BM25Store, dataset: Dataset) -> None:
        self.store = store
        self.dataset = dataset
        self.catalog = _Catalog(dataset, store.item_ids)

    def _hits(self, pairs: list[tuple[str, float]]) -> tuple[SearchHit, ...]:
        return tuple(SearchHit(i, s, {self.name: r}) for r, (i, s) in enumerate(pairs, start=1))

    def ranked(
        self, query: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()
    ) -> list[tuple[str, float]]:
        """(item id, BM25 score) of the k best items; items with score 0 (no query term) are left out."""
        return self.store.top(check_query(query), k, self.catalog.allowed(filters, exclude))

    def search(self, query: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()) -> SearchResult:
        pairs = self.ranked(query, k, filters, exclude)
        warnings: tuple[str, ...] = ()
        if not pairs and not tokenize(query):
            warnings = (f"The query {query.strip()!r} has no searchable words (only stopwords or symbols).",)
        return SearchResult(self._hits(pairs), warnings)

    def similar(
        self, item_id: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()
    ) -> SearchResult:
        item = self.catalog.item(item_id)
        pairs = self.ranked(document_text(item), k, filters, {*exclude, item_id})
        return SearchResult(self._hits(pairs))

    def score_candidates(self, query: str, candidate_ids: Sequence[str]) -> ScoreArray:
        rows = self.catalog.rows(candidate_ids)
        return self.store.scores_of(check_query(query), rows).astype(np.float64)

    def close(self) -> None:
        return None


class DenseRetriever:
    """Embedding search over a domain's Qdrant collection."""

    name = "dense"

    def __init__(self, store: QdrantStore, encoder: Encoder, dataset: Dataset) -> None:
        self.store = store
        self.encoder = encoder
        self.dataset = dataset
        self.catalog = _Catalog(dataset, list(dataset.items))
        self._item_of_point = {point_id(i): i for i in dataset.items}
        self._matrix: npt.NDArray[np.float32] | None = None

    def _map(self, points: list[tuple[str, float]]) -> list[tuple[str, float]]:
        # A point whose id is not in the catalog can only come from a stale index, which `check` rejects.
        return [(self._item_of_point[p], s) for p, s in points if p in self._item_of_point]

    def ranked(
        self, query: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()
    ) -> list[tuple[str, float]]:
        """(item id, cosine similarity) of the k nearest items."""
        vector = self.encoder.encode_query(check_query(query))
        return self._map(self.store.search(vector, k, check_filters(filters), exclude))

    def search(self, query: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()) -> SearchResult:
        pairs = self.ranked(query, k, filters, exclude)
        return SearchResult(tuple(SearchHit(i, s, {self.name: r}) for r, (i, s) in enumerate(pairs, start=1)))

    def ranked_similar(
        self, item_id: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()
    ) -> list[tuple[str, float]]:
        self.catalog.item(item_id)
        return self._map(self.store.search(item_id, k, check_filters(filters), exclude))

    def similar(
        self, item_id: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()
    ) -> SearchResult:
        pairs = self.ranked_similar(item_id, k, filters, exclude)
        return SearchResult(tuple(SearchHit(i, s, {self.name: r}) for r, (i, s) in enumerate(pairs, start=1)))

    def vectors(self) -> npt.NDArray[np.float32]:
        """Every catalog item's stored vector, in `catalog.item_ids` order (fetched from Qdrant once)."""
        if self._matrix is None:
            try:
                self._matrix = self.store.vectors(self.catalog.item_ids)
            except KeyError as exc:
                raise IndexMissingError(
                    f"Item {exc.args[0]} has no vector in the Qdrant index of '{self.dataset.domain}':"
                    f" run `llmrec index --domain {self.dataset.domain} --rebuild`."
                ) from exc
        return self._matrix

    def score_candidates(self, query: str, candidate_ids: Sequence[str]) -> ScoreArray:
        rows = self.catalog.rows(candidate_ids)
        vector = self.encoder.encode_query(check_query(query))
        return (self.vectors()[rows] @ vector).astype(np.float64)

    def close(self) -> None:
        self.store.close()


def _dense_warning(error: ToolsError) -> str:
    return f"Dense (embedding) search is unavailable, so these are keyword (BM25) results only: {error}"


class HybridRetriever:
    """Dense and BM25 search run concurrently, fused by reciprocal rank fusion.

    If dense search fails (Qdrant unavailable, locked or unreadable), results come from BM25 alone and the
    `SearchResult` carries a warning saying so.
    """

    name = "hybrid"

    def __init__(
        self,
        bm25: BM25Retriever,
        dense: DenseRetriever | None,
        *,
        rrf_k: int = RRF_K,
        dense_error: ToolsError | None = None,
        depth: int = 50,
    ) -> None:
        if dense is None and dense_error is None:
            raise ValueError("a hybrid retriever without dense search needs the error that explains why")
        self.bm25 = bm25
        self.dense = dense
        self.dataset = bm25.dataset
        self.rrf_k = rrf_k
        self.dense_error = dense_error
        self.depth = depth
        """Each source contributes at least this many ranked items to the fusion."""
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="llmrec-hybrid")
        return self._pool

    def _fuse(
        self, lexical: Future[list[tuple[str, float]]], dense: Future[list[tuple[str, float]]] | None, k: int
    ) -> SearchResult:
        bm25_pairs = lexical.result()
        warnings: list[str] = []
        dense_pairs: list[tuple[str, float]] = []
        if dense is None:
            assert self.dense_error is not None
            warnings.append(_dense_warning(self.dense_error))
        else:
            try:
                dense_pairs = dense.result()
            except ToolsError as exc:
                log.warning("dense search failed; falling back to BM25", exc_info=exc)
                warnings.append(_dense_warning(exc))
        bm25_ids = [i for i, _ in bm25_pairs]
        dense_ids = [i for i, _ in dense_pairs]
        fused = reciprocal_rank_fusion([dense_ids, bm25_ids], k=self.rrf_k)[:k]
        bm25_rank = {i: r for r, i in enumerate(bm25_ids, start=1)}
        dense_rank = {i: r for r, i in enumerate(dense_ids, start=1)}
        hits = []
        for item_id, score in fused:
            ranks = {}
            if item_id in dense_rank:
                ranks["dense"] = dense_rank[item_id]
            if item_id in bm25_rank:
                ranks["bm25"] = bm25_rank[item_id]
            hits.append(SearchHit(item_id, score, ranks))
        return SearchResult(tuple(hits), tuple(warnings))

    def search(self, query: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()) -> SearchResult:
        query = check_query(query)
        check_filters(filters)
        depth = max(k, self.depth)
        pool = self._executor()
        lexical = pool.submit(self.bm25.ranked, query, depth, filters, exclude)
        dense = pool.submit(self.dense.ranked, query, depth, filters, exclude) if self.dense else None
        return self._fuse(lexical, dense, k)

    def similar(
        self, item_id: str, k: int, filters: Filters | None = None, exclude: Collection[str] = ()
    ) -> SearchResult:
        item = self.bm25.catalog.item(item_id)
        check_filters(filters)
        depth = max(k, self.depth)
        excluded = {*exclude, item_id}
        pool = self._executor()
        lexical = pool.submit(self.bm25.ranked, document_text(item), depth, filters, excluded)
        dense = None
        if self.dense is not None:
            dense = pool.submit(self.dense.ranked_similar, item_id, depth, filters, excluded)
        return self._fuse(lexical, dense, k)

    def score_candidates(self, query: str, candidate_ids: Sequence[str], *, bm25_fallback: bool = False) -> ScoreArray:
        """RRF over the candidates' BM25 and dense rankings (ties share a rank; BM25 score 0 = unranked).

        Raises the dense error rather than silently scoring by BM25 alone (an array has no room for a warning),
        unless `bm25_fallback`: a caller that already says in the turn's notes that dense search is down (the agent's
        prior) gets the BM25 half of the fusion instead.
        """
        return self.candidate_scores(query, candidate_ids, bm25_fallback=bm25_fallback)["text"]

    def candidate_scores(
        self, query: str, candidate_ids: Sequence[str], *, bm25_fallback: bool = False
    ) -> dict[str, ScoreArray]:
        """Each half's raw scores of the candidates ("bm25", "dense") and their fusion ("text", as
        `score_candidates`), each computed once; "dense" is missing when dense search is down and `bm25_fallback`."""
        query = check_query(query)
        if self.dense is None and bm25_fallback:
            bm25_only = self.bm25.score_candidates(query, candidate_ids)
            fused = rrf_scores([competition_ranks(bm25_only, present=bm25_only > 0)], k=self.rrf_k)
            return {"bm25": bm25_only, "text": fused}
        if self.dense is None:
            assert self.dense_error is not None
            raise self.dense_error
        lexical = self._executor().submit(self.bm25.score_candidates, query, candidate_ids)
        dense_scores = self.dense.score_candidates(query, candidate_ids)
        bm25_scores = lexical.result()
        fused = rrf_scores(
            [competition_ranks(dense_scores), competition_ranks(bm25_scores, present=bm25_scores > 0)],
            k=self.rrf_k,
        )
        return {"bm25": bm25_scores, "dense": dense_scores, "text": fused}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self.dense is not None:
            self.dense.close()


@dataclass
class CatalogRetrievers:
    """The three retrievers of one domain, sharing one BM25 index and one Qdrant client."""

    dataset: Dataset
    bm25: BM25Retriever
    hybrid: HybridRetriever
    dense_or_none: DenseRetriever | None
    dense_error: ToolsError | None = None
    """Why dense search is unavailable (Qdrant unavailable, locked or unreadable), if it is."""
    settings: RetrievalSettings | None = None
    """Where the sequential model is saved (its `data_dir`); None: the configured default."""

    def __post_init__(self) -> None:
        self._users: dict[str, UserHistory] = {u.user_id: u for u in self.dataset.users}
        self._seqrec: SeqRec | None = None
        self._seqrec_opened = False
        self._cooccur: CoOccurrence | None = None

    def sequential(self, *, progress: bool = True) -> SeqRec | None:
        """The domain's sequential model, opened (trained and saved first when missing) on first use; None for a
        domain without interaction histories."""
        if not self._seqrec_opened:
            from tools.seqrec import open_seqrec

            self._seqrec = open_seqrec(self.dataset, self.settings, progress=progress)
            self._seqrec_opened = True
        return self._seqrec

    def use_sequential(self, model: SeqRec | None) -> None:
        """Use `model` (just trained, say) as the domain's sequential model from now on."""
        self._seqrec, self._seqrec_opened = model, True

    def cooccurrence(self) -> CoOccurrence:
        """Item-to-item co-occurrence and popularity over the training interactions, counted on first use."""
        if self._cooccur is None:
            from tools.cooccur import CoOccurrence

            self._cooccur = CoOccurrence.of(self.dataset)
        return self._cooccur

    @property
    def domain(self) -> str:
        return self.dataset.domain

    @property
    def dense(self) -> DenseRetriever:
        """The dense retriever; raises the error that made it unavailable."""
        if self.dense_or_none is None:
            assert self.dense_error is not None
            raise self.dense_error
        return self.dense_or_none

    def get(self, name: SystemName) -> BM25Retriever | DenseRetriever | HybridRetriever:
        if name == "bm25":
            return self.bm25
        if name == "dense":
            return self.dense
        if name == "hybrid":
            return self.hybrid
        raise ValueError(f"unknown retriever {name!r}: choose bm25, dense or hybrid")

    def user(self, user_id: str) -> UserHistory | None:
        return self._users.get(user_id)

    def close(self) -> None:
        self.hybrid.close()

    def __enter__(self) -> CatalogRetrievers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_bm25(
    dataset: Dataset, settings: RetrievalSettings, *, build_missing: bool = True, progress: bool = True
) -> BM25Retriever:
    """Open the domain's BM25 index (building it when missing and `build_missing`)."""
    items = list(dataset.items.values())
    backend = settings.bm25_backend
    folder = BM25Store.folder_for(settings.data_dir, dataset.domain, backend)
    expected = bm25_manifest(items, dataset.domain, backend)
    try:
        store = BM25Store.open(folder, expected)
    except IndexMissingError:
        if not build_missing:
            raise
        log.info("building the missing BM25 index of %s", dataset.domain)
        store = BM25Store.build(items, dataset.domain, backend, progress=progress)
        store.save(folder)
    return BM25Retriever(store, dataset)


def open_dense(
    dataset: Dataset,
    settings: RetrievalSettings,
    *,
    build_missing: bool = True,
    progress: bool = True,
    encoder: Encoder | None = None,
) -> DenseRetriever:
    """Open the domain's Qdrant index (building it when missing and `build_missing`)."""
    from tools.indexing import build_dense_index

    encoder = encoder or Encoder.from_settings(settings)
    store = QdrantStore.connect(settings, dataset.domain)
    try:
        expected = qdrant_manifest(list(dataset.items.values()), dataset.domain, encoder.identity, None)
        try:
            store.check(expected)
        except IndexMissingError:
            if not build_missing:
                raise
            log.info("building the missing Qdrant index of %s", dataset.domain)
            build_dense_index(dataset, store, encoder, progress=progress)
            if store.embedded:
                # Local mode searches 3x faster after a reload: points written in this process stay float32
                # and are upcast on every query, loaded ones are float64 (6 vs 21 ms per query at 30k points).
                store.close()
                store = QdrantStore.connect(settings, dataset.domain)
    except BaseException:
        store.close()
        raise
    return DenseRetriever(store, encoder, dataset)


def catalog_retrievers(
    dataset: Dataset,
    settings: RetrievalSettings | None = None,
    *,
    build_missing: bool = True,
    progress: bool = True,
    encoder: Encoder | None = None,
) -> CatalogRetrievers:
    """Open (or build when missing, with progress bars) the BM25 and Qdrant indexes of `dataset`'s domain.

    A stale index raises `StaleIndexError` (telling the user to rebuild). If Qdrant is unavailable, locked
    by another process or unreadable, dense search is left out: `hybrid` then answers from BM25 with a
    warning on every result, and `dense` raises that error. Pass `encoder` to share one loaded model
    between domains.
    """
    settings = settings or RetrievalSettings()
    bm25 = open_bm25(dataset, settings, build_missing=build_missing, progress=progress)
    dense: DenseRetriever | None = None
    dense_error: ToolsError | None = None
    try:
        dense = open_dense(dataset, settings, build_missing=build_missing, progress=progress, encoder=encoder)
    except (QdrantUnavailableError, IndexLockedError, IndexCorruptError) as exc:
        log.warning("dense search unavailable for %s: %s", dataset.domain, exc)
        dense_error = exc
    hybrid = HybridRetriever(bm25, dense, rrf_k=settings.rrf_k, dense_error=dense_error)
    return CatalogRetrievers(dataset, bm25, hybrid, dense, dense_error, settings=settings)
