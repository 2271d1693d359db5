"""Retrieval at 10k, 50k and 200k items: where one process's embedded Qdrant should give way to a Qdrant server.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.scale                           # 10k, 50k, 200k items
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.scale --sizes 10000 --queries 20 --out /tmp/scale.json

(Run it as a module, like benchmarks.agent.) The catalog is the one of benchmarks/retrieval.py: the bundled
domains' items, then suffixed copies, a copy reusing its original's vector (latency does not depend on what the
vectors are; encoding 200k texts would take 18 minutes here). Per size, measured as the app meets it:
the embedded store's start-up (reopening the folder loads every point into memory, then the point count that
`QdrantStore.check` verifies), its disk and the resident memory it adds, BM25 (bm25s) build time, and p50/p95 of
BM25 top-100, Qdrant top-50, dense top-50 (query encoding included) and hybrid top-50 with 20 excluded ids.
rank_bm25 is left out (benchmarks/retrieval.py shows it misses its target from 100k items).
Writes JSON (default reports/benchmarks/scale.json) with the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import psutil

from benchmarks.retrieval import base_items, grow, machine, make_queries, peak_rss_mib, timed, versions
from tools.bm25_store import BM25Store
from tools.catalog import Dataset
from tools.embeddings import Encoder
from tools.index_meta import document_text
from tools.qdrant_store import QdrantStore, expected_manifest
from tools.search import BM25Retriever, DenseRetriever, HybridRetriever
from tools.settings import RetrievalSettings

HYBRID_TARGET_MS = 20.0  # p50 of hybrid top-50, the target of benchmarks/retrieval.py
STARTUP_TARGET_S = 30.0  # an app (or a restarted container) should answer within this after start


def rss_mib() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def main(args: argparse.Namespace) -> dict[str, Any]:
    warnings.filterwarnings("ignore", message="Local mode is not recommended")
    started_all = time.perf_counter()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="llmrec-scale-"))
    settings = RetrievalSettings(data_dir=work)
    result: dict[str, Any] = {
        "benchmark": "scale",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "python -m benchmarks.scale " + " ".join(args.argv),
        "machine": machine(),
        "versions": versions(),
        "load_average_start": os.getloadavg(),
        "conditions": args.note,
        "targets": {"hybrid_top50_p50_ms": HYBRID_TARGET_MS, "startup_s": STARTUP_TARGET_S},
    }
    base, counts = base_items()
    if args.base_items:
        base = base[: args.base_items]
    # The vectors of the base texts come from the user's vector cache (filled by `llmrec index`), so a run
    # encodes only what was never indexed.
    encoder = Encoder.from_settings(RetrievalSettings())
    print(f"encoding {len(base)} base texts (cached after the first run)...", flush=True)
    base_vectors = encoder.encode([document_text(i) for i in base], progress=args.progress)
    queries = make_queries(base, args.queries, args.seed)
    result["catalog"] = {"base_domains": counts, "base_items": len(base), "queries": len(queries)}

    store = QdrantStore.connect(settings, "scale")
    store.recreate(encoder.dimension)
    written = 0
    per_size: dict[str, Any] = {}
    for size in sizes:
        items = grow(base, size)
        dataset = Dataset(domain="scale", items={i.item_id: i for i in items})
        vectors = base_vectors[[n % len(base) for n in range(size)]]
        t0 = time.perf_counter()
        store.upsert(items[written:], vectors[written:], progress=args.progress)
        upsert_s = time.perf_counter() - t0
        store.write_manifest(expected_manifest(items, "scale", encoder.identity, encoder.dimension))
        store.close()
        gc.collect()
        before = rss_mib()
        t0 = time.perf_counter()
        store = QdrantStore.connect(settings, "scale")
        open_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.check(expected_manifest(items, "scale", encoder.identity, encoder.dimension))
        check_s = time.perf_counter() - t0
        entry: dict[str, Any] = {
            "qdrant_upsert_items_per_s": round((size - written) / upsert_s, 1),
            "qdrant_open_s": round(open_s, 2),
            "qdrant_check_s": round(check_s, 2),
            "qdrant_rss_added_mib": round(rss_mib() - before, 1),
            "qdrant_disk_mib": round(
                sum(p.stat().st_size for p in QdrantStore.embedded_path(work, "scale").rglob("*") if p.is_file())
                / 2**20,
                1,
            ),
        }
        written = size
        entry |= latencies(items, dataset, store, encoder, queries)
        entry["startup_s"] = round(open_s + check_s + entry["bm25s_build_s"], 2)
        per_size[str(size)] = entry
        print(f"--- {size:,} items", json.dumps(entry), flush=True)
    store.close()
    result["sizes"] = per_size
    result["findings"] = findings(per_size)
    result["load_average_end"] = os.getloadavg()
    result["total_seconds"] = round(time.perf_counter() - started_all, 1)
    if not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    return result


def latencies(
    items: list[Any], dataset: Dataset, store: QdrantStore, encoder: Encoder, queries: list[str]
) -> dict[str, Any]:
    """BM25 build time and search latencies of one size (the store already holds `items`)."""
    entry: dict[str, Any] = {}
    t0 = time.perf_counter()
    bm25 = BM25Retriever(BM25Store.build(items, "scale", "bm25s"), dataset)
    entry["bm25s_build_s"] = round(time.perf_counter() - t0, 2)
    dense = DenseRetriever(store, encoder, dataset)
    hybrid = HybridRetriever(bm25, dense)
    history = [i.item_id for i in items[:: max(1, len(items) // 20)]][:20]
    entry["bm25s_top100"] = timed(lambda q: bm25.search(q, 100), queries)
    qvecs = [encoder.encode_query(q) for q in queries]
    entry["qdrant_search_top50"] = timed(lambda v: store.search(v, 50), qvecs)
    encoder.forget_queries()  # every query is encoded in the timed calls
    entry["dense_top50"] = timed(lambda q: dense.search(q, 50), queries)
    encoder.forget_queries()
    entry["hybrid_top50_exclude20"] = timed(lambda q: hybrid.search(q, 50, exclude=history), queries)
    entry["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return entry


def findings(sizes: dict[str, Any]) -> dict[str, Any]:
    """The smallest measured size at which embedded Qdrant misses a target: where a server should take over."""
    slow = [int(n) for n, e in sizes.items() if e["hybrid_top50_exclude20"]["p50_ms"] > HYBRID_TARGET_MS]
    late = [int(n) for n, e in sizes.items() if e["startup_s"] > STARTUP_TARGET_S]
    return {
        "hybrid_p50_ms_by_size": {n: e["hybrid_top50_exclude20"]["p50_ms"] for n, e in sizes.items()},
        "startup_s_by_size": {n: e["startup_s"] for n, e in sizes.items()},
        "rss_added_mib_by_size": {n: e["qdrant_rss_added_mib"] for n, e in sizes.items()},
        "hybrid_target_missed_from": min(slow) if slow else None,
        "startup_target_missed_from": min(late) if late else None,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000,200000", help="catalog sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=40, help="distinct queries per measurement")
    parser.add_argument("--base-items", type=int, default=0, help="use only this many base items (0: all)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--work-dir", default=None, help="keep the index here (default: a temporary folder)")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--note", default="", help="what else ran on the machine (recorded with the figures)")
    parser.add_argument("--out", type=Path, default=Path("reports/benchmarks/scale.json"))
    args = parser.parse_args(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    return args


if __name__ == "__main__":
    arguments = parse_args()
    output = main(arguments)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(output, indent=2))
    print(json.dumps(output["findings"], indent=2))
