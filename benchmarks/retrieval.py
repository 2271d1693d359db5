"""Retrieval speed and scale: index build throughput and query latency of BM25, dense and hybrid search.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/retrieval.py                  # about 10-15 min on 2 cores
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/retrieval.py --sizes 10000 --queries 20 --out /tmp/r.json

Writes JSON (default benchmarks/results/retrieval.json) with the machine, the encoder's texts/s, the cold and
warm index build throughput of `llmrec index` on the Scientific catalog, and for catalogs of 10k, 50k and 100k
items the p50/p95 latency of: BM25 top-100 (bm25s and rank_bm25), dense top-50 (query encoding + embedded
Qdrant), hybrid top-50 (both concurrently + RRF), with and without 20 excluded ids, and peak RSS.

Catalogs: the union of the bundled domains' items (scientific, clothing, redial), then suffixed copies
("... Copy 3.") up to the size. A copy reuses the vector of its original's text (encoding 100k texts would
take 10-25 minutes here, and latency does not depend on what the vectors are), and its BM25 text differs by
the suffix only. Queries are the first words of item titles drawn with a fixed seed, each used once per
measurement, so the encoder's query cache never answers.

Targets (2-core machines, embedded mode): hybrid top-50 p50 <= 20 ms at 50k items; BM25 top-100 p50 <= 10 ms
at 100k items; indexing >= 150 items/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tools.bm25_store import BM25Store
from tools.catalog import Dataset, Item
from tools.embeddings import Encoder
from tools.index_meta import document_text
from tools.indexing import build_indexes
from tools.qdrant_store import QdrantStore, expected_manifest
from tools.search import BM25Retriever, DenseRetriever, HybridRetriever
from tools.settings import RetrievalSettings

BASE_DOMAINS = ("scientific", "clothing", "redial")
TARGETS = {
    "hybrid_top50_p50_ms_at_50k": 20.0,
    "bm25_top100_p50_ms_at_100k": 10.0,
    "index_items_per_s": 150.0,
}


def machine() -> dict[str, Any]:
    import torch

    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "avx512_bf16": "avx512_bf16" in flags,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("torch", "sentence-transformers", "qdrant-client", "bm25s", "rank-bm25", "numpy")
    return {name: version(name) for name in names}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "n": len(ms),
    }


def timed(fn: Callable[[Any], object], queries: Sequence[Any], warmup: int = 3) -> dict[str, float]:
    """Latency of `fn` on queries[warmup:], after running it on the first `warmup` (distinct) queries."""
    for q in queries[:warmup]:
        fn(q)
    samples = []
    for q in queries[warmup:]:
        started = time.perf_counter()
        fn(q)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def base_items() -> tuple[list[Item], dict[str, int]]:
    from tools.datasets import load_dataset

    items: dict[str, Item] = {}
    counts: dict[str, int] = {}
    for domain in BASE_DOMAINS:
        dataset = load_dataset(domain)
        counts[domain] = len(dataset.items)
        for item in dataset.items.values():
            items[f"{domain}:{item.item_id}"] = replace(item, item_id=f"{domain}:{item.item_id}")
    return list(items.values()), counts


def grow(base: list[Item], size: int) -> list[Item]:
    """The first `size` items of base + suffixed copies; copy c of item i is item i + c * len(base)."""
    out = list(base[:size])
    copy = 1
    while len(out) < size:
        for item in base[: size - len(out)]:
            suffix = f" Copy {copy}."
            out.append(
                replace(item, item_id=f"{item.item_id}~{copy}", title=item.title + suffix, text=item.text + suffix)
            )
        copy += 1
    return out


def make_queries(base: list[Item], n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(base), size=min(len(base), n * 4), replace=False)
    queries: list[str] = []
    seen: set[str] = set()
    for i in picks:
        words = base[int(i)].title.split()
        if len(words) < 2:
            continue
        q = " ".join(words[: int(rng.integers(2, 6))])
        if q.lower() not in seen:
            seen.add(q.lower())
            queries.append(q)
        if len(queries) == n:
            break
    return queries


def encoder_throughput(model: str, texts: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "texts": len(texts),
        "mean_chars": round(statistics.mean(len(t) for t in texts), 1),
    }
    for precision in ("float32", "bfloat16"):
        encoder = Encoder(model, precision=precision)
        encoder.encode(texts[:64], progress=False)  # load and warm up
        started = time.perf_counter()
        encoder.encode(texts, progress=False)
        out[f"{precision}_texts_per_s"] = round(len(texts) / (time.perf_counter() - started), 1)
    return out


def main(args: argparse.Namespace) -> dict[str, Any]:
    warnings.filterwarnings("ignore", message="Local mode is not recommended")
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="llmrec-bench-"))
    settings = RetrievalSettings(data_dir=work)
    result: dict[str, Any] = {
        "benchmark": "retrieval",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "versions": versions(),
        "load_average_start": os.getloadavg(),
        "targets": TARGETS,
        "settings": {"embedding_model": settings.embedding_model, "embedding_precision": "auto", "rrf_k": 60},
    }
    started_all = time.perf_counter()

    base, counts = base_items()
    texts = [document_text(i) for i in base]
    rng = np.random.default_rng(args.seed)
    sample = [texts[int(i)] for i in rng.choice(len(texts), size=min(args.encode_sample, len(texts)), replace=False)]
    print(f"encoder throughput on {len(sample)} texts...", flush=True)
    result["encoder"] = encoder_throughput(settings.embedding_model, sample)
    print(result["encoder"], flush=True)

    # `llmrec index` on Scientific with an empty vector cache (cold), then again with --rebuild (warm cache).
    from tools.datasets import load_dataset

    scientific = load_dataset("scientific")
    cold_cache = work / "cold-vectors"
    shutil.rmtree(cold_cache, ignore_errors=True)
    index_encoder = replace_cache(Encoder.from_settings(settings), cold_cache)
    builds = {}
    for label in ("cold", "warm"):
        report = build_indexes(scientific, settings, rebuild=True, progress=args.progress, encoder=index_encoder)
        builds[label] = {
            "items": report.items,
            "seconds": round(report.seconds, 2),
            "items_per_s": round(report.items_per_second, 1),
            "encoded": report.dense.encoded,
            "from_cache": report.dense.cached,
            "encoder_texts_per_s": round(report.texts_per_second, 1) if report.texts_per_second else None,
            "bm25_bytes": report.bm25_bytes,
            "qdrant_bytes": report.qdrant_bytes,
        }
        print(f"index scientific ({label}):", builds[label], flush=True)
    result["index_build_scientific"] = builds

    # The same cold build on the first 10k items of the benchmark catalog (shorter texts: 73 vs 184 chars).
    base_for_build, _ = base_items()
    ten_k = Dataset(domain="bench10k", items={i.item_id: i for i in base_for_build[:10_000]})
    shutil.rmtree(cold_cache, ignore_errors=True)
    report = build_indexes(
        ten_k,
        settings,
        rebuild=True,
        progress=args.progress,
        encoder=replace_cache(index_encoder, cold_cache),
    )
    result["index_build_10k_cold"] = {
        "items": report.items,
        "seconds": round(report.seconds, 2),
        "items_per_s": round(report.items_per_second, 1),
        "encoder_texts_per_s": round(report.texts_per_second, 1) if report.texts_per_second else None,
        "mean_text_chars": round(statistics.mean(len(document_text(i)) for i in ten_k.items.values()), 1),
    }
    print("index 10k (cold):", result["index_build_10k_cold"], flush=True)
    result["index_build_precision"] = "bfloat16" if index_encoder.bfloat16 else "float32"
    encoder = Encoder.from_settings(settings)

    # Vectors of every base text, once (cached), reused by the suffixed copies.
    print(f"encoding {len(texts)} base texts (cached after the first run)...", flush=True)
    base_vectors = encoder.encode(texts, progress=args.progress, desc="Embedding base catalog")
    result["catalog"] = {
        "base_domains": counts,
        "base_items": len(base),
        "construction": "union of the bundled domains' items, then suffixed copies ('<text> Copy c.');"
        " a copy reuses the vector of its original's text",
        "mean_text_chars": round(statistics.mean(len(t) for t in texts), 1),
    }

    queries = make_queries(base, args.queries, args.seed)
    result["queries"] = {
        "count": len(queries),
        "examples": queries[:5],
        "how": "2-5 first words of item titles",
    }
    store = QdrantStore.connect(settings, "bench")
    store.recreate(encoder.dimension)
    written = 0
    per_size: dict[str, Any] = {}
    for size in sorted(sizes):
        items = grow(base, size)
        dataset = Dataset(domain="bench", items={i.item_id: i for i in items})
        vectors = base_vectors[[n % len(base) for n in range(size)]]
        started = time.perf_counter()
        store.upsert(items[written:], vectors[written:], progress=args.progress)
        upsert_s = time.perf_counter() - started
        store.write_manifest(expected_manifest(items, "bench", encoder.identity, encoder.dimension))
        # Served as the app serves it: reopened from disk (local mode searches 3x faster on loaded points).
        store.close()
        started = time.perf_counter()
        store = QdrantStore.connect(settings, "bench")
        open_s = time.perf_counter() - started
        entry: dict[str, Any] = {
            "qdrant_upsert_items_per_s": round((size - written) / upsert_s, 1),
            "qdrant_open_s": round(open_s, 2),
            "qdrant_bytes": sum(p.stat().st_size for p in store_path(settings).rglob("*") if p.is_file()),
        }
        written = size
        print(f"--- {size:,} items (qdrant upsert {entry['qdrant_upsert_items_per_s']} items/s)", flush=True)
        entry |= measure(items, dataset, store, encoder, queries, base)
        per_size[str(size)] = entry
        print(json.dumps(entry, indent=1), flush=True)
    store.close()
    result["sizes"] = per_size
    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    result["load_average_end"] = os.getloadavg()
    result["total_seconds"] = round(time.perf_counter() - started_all, 1)
    result["findings"] = findings(result)
    if not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    return result


def measure(
    items: list[Item],
    dataset: Dataset,
    store: QdrantStore,
    encoder: Encoder,
    queries: list[str],
    base: list[Item],
) -> dict[str, Any]:
    """Latencies of one catalog size (the Qdrant collection already holds `items`)."""
    size = len(items)
    entry: dict[str, Any] = {}
    retrievers: dict[str, BM25Retriever] = {}
    for backend in ("bm25s", "rank_bm25"):
        started = time.perf_counter()
        bm25_store = BM25Store.build(items, "bench", backend)
        entry[f"{backend}_build_s"] = round(time.perf_counter() - started, 2)
        retrievers[backend] = BM25Retriever(bm25_store, dataset)
    bm25s, rank_bm25 = retrievers["bm25s"], retrievers["rank_bm25"]
    # rank_bm25 costs about 3 ms per 1k items per query: fewer queries keep the run short.
    slow_queries = queries[: max(8, min(len(queries), int(2_000_000 / size)))]
    entry["bm25s_top100"] = timed(lambda q: bm25s.search(q, 100), queries)
    entry["rank_bm25_top100"] = timed(lambda q: rank_bm25.search(q, 100), slow_queries, warmup=1)

    dense = DenseRetriever(store, encoder, dataset)
    hybrid = HybridRetriever(bm25s, dense)
    # The query-vector cache is emptied before each measurement, so every query is encoded.
    encoder.forget_queries()
    entry["query_encoding"] = timed(encoder.encode_query, queries)
    qvecs = [encoder.encode_query(q) for q in queries]
    entry["qdrant_search_top50"] = timed(lambda v: store.search(v, 50), qvecs)
    encoder.forget_queries()
    entry["dense_top50"] = timed(lambda q: dense.search(q, 50), queries)
    encoder.forget_queries()
    entry["hybrid_top50"] = timed(lambda q: hybrid.search(q, 50), queries)
    history = [i.item_id for i in items[:: max(1, size // 20)]][:20]
    encoder.forget_queries()
    entry["hybrid_top50_exclude20"] = timed(lambda q: hybrid.search(q, 50, exclude=history), queries)
    # Local mode evaluates payload filters point by point in Python: a few queries show the cost.
    brand_filter = {"brand": str(base[0].attributes.get("brand", ""))}
    entry["qdrant_search_top50_brand_filter"] = timed(
        lambda v: store.search(v, 50, filters=brand_filter), qvecs[:6], warmup=1
    )
    entry["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return entry


def replace_cache(encoder: Encoder, folder: Path) -> Encoder:
    """The same encoder settings with its vector cache in `folder`."""
    return Encoder(
        encoder.model_name,
        batch_size=encoder.batch_size,
        device=encoder.device,
        cache_dir=folder,
        precision=encoder.precision,
    )


def store_path(settings: RetrievalSettings) -> Path:
    return QdrantStore.embedded_path(settings.data_dir, "bench")


def findings(result: dict[str, Any]) -> dict[str, Any]:
    sizes = result["sizes"]
    out: dict[str, Any] = {}
    hybrid = {int(n): e["hybrid_top50"]["p50_ms"] for n, e in sizes.items()}
    meets = [n for n, p in sorted(hybrid.items()) if p <= TARGETS["hybrid_top50_p50_ms_at_50k"]]
    fails = [n for n, p in sorted(hybrid.items()) if p > TARGETS["hybrid_top50_p50_ms_at_50k"]]
    out["hybrid_p50_ms_by_size"] = hybrid
    out["embedded_qdrant_meets_hybrid_target_up_to"] = max(meets) if meets else None
    out["embedded_qdrant_misses_hybrid_target_from"] = min(fails) if fails else None
    if "50000" in sizes:
        out["hybrid_target_met_at_50k"] = sizes["50000"]["hybrid_top50"]["p50_ms"] <= 20.0
    if "100000" in sizes:
        out["bm25s_target_met_at_100k"] = sizes["100000"]["bm25s_top100"]["p50_ms"] <= 10.0
        out["rank_bm25_target_met_at_100k"] = sizes["100000"]["rank_bm25_top100"]["p50_ms"] <= 10.0
    cold = result["index_build_scientific"]["cold"]["items_per_s"]
    out["index_cold_items_per_s_scientific"] = cold
    out["index_target_met_cold_scientific"] = cold >= TARGETS["index_items_per_s"]
    cold_10k = result["index_build_10k_cold"]["items_per_s"]
    out["index_cold_items_per_s_10k"] = cold_10k
    out["index_target_met_cold_10k"] = cold_10k >= TARGETS["index_items_per_s"]
    out["index_warm_items_per_s_scientific"] = result["index_build_scientific"]["warm"]["items_per_s"]
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results/retrieval.json", help="JSON file to write")
    parser.add_argument("--sizes", default="10000,50000,100000", help="catalog sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=60, help="distinct queries per measurement")
    parser.add_argument("--encode-sample", type=int, default=1000, help="texts for the encoder throughput")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--work-dir", default=None, help="keep indexes and vector cache here (default: temp)")
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    report = main(arguments)
    out = Path(arguments.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report["findings"], indent=2))
    print(f"wrote {out}")
