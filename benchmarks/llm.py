"""LLM serving benchmark: the local backend and a real vLLM server on the same prompts, side by side in one run.

    .venv/bin/python benchmarks/llm.py --users 5 --out benchmarks/results/llm.json

Per backend: time to first token (streamed), decode tokens/s, ranking latency for 20 candidates (one pass over the
prompt with an empty rationale, right after generating from that prompt: both backends reuse the cached prompt
prefix, vLLM through its prefix cache, the local backend through its KV cache), the rationale-then-rank turn the
agent runs, and peak RSS (for vLLM: the server's whole process tree). Prompts are real: scientific test users, their
histories, 20 candidates of the candidate protocol. Medians over the users; the machine is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from agent.model_store import converted_default_model
from agent.prompts import RecRequest, answer_prompt
from agent.ranking import run_pass, show
from agent.runtime import Recommender, load_recommender
from agent.settings import ModelSettings
from agent.vllm_server import VLLMServer
from tools.datasets import load_dataset


def _requests(n: int, seed: int) -> list[RecRequest]:
    ds = load_dataset("scientific")
    rng = random.Random(seed)
    users = rng.sample(ds.test_users(), n)
    catalog = sorted(ds.items)
    out = []
    for user in users:
        assert user.test is not None  # test_users() only returns users with a test item
        negatives = rng.sample([i for i in catalog if i not in set(user.all_items)], 19)
        candidates = [user.test, *negatives]
        rng.shuffle(candidates)
        out.append(
            RecRequest(
                history=[ds.items[i] for i in user.test_history],
                candidates=[ds.items[i] for i in candidates],
                domain="scientific",
            )
        )
    return out


class _PeakRSS:
    """Samples the RSS of a process tree every 50 ms: vLLM's memory lives in its engine and worker processes."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.05)

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _measure(llm: Recommender, requests: list[RecRequest], gen_tokens: int) -> dict[str, Any]:
    context = ModelSettings().context_tokens
    ttft, tps, rank, turn, prompt_tokens = [], [], [], [], []
    for req in requests:
        shown = show(llm.tokenizer, req, context_tokens=context, rationale_tokens=gen_tokens)
        prompt_tokens.append(shown["num_tokens"])
        start = time.perf_counter()
        first = None
        pieces = []
        for chunk in llm.generate(shown["prompt"], gen_tokens, stream=True):
            if first is None:
                first = time.perf_counter()
            pieces.append(chunk)
        end = time.perf_counter()
        n_tokens = len(llm.tokenizer.encode("".join(pieces), add_special_tokens=False))
        if first is not None and n_tokens > 1 and end > first:
            ttft.append(first - start)
            tps.append((n_tokens - 1) / (end - first))
        t = time.perf_counter()
        llm.label_logprobs(answer_prompt(shown["prompt"], ""), shown["labels"])
        rank.append(time.perf_counter() - t)
        t = time.perf_counter()
        # The whole pass a served turn runs: render, rationale through the leak guard, rank, check.
        run_pass(llm, req, rationale_tokens=gen_tokens, context_tokens=context)
        turn.append(time.perf_counter() - t)
    return {
        "prompt_tokens_median": statistics.median(prompt_tokens),
        "ttft_s_median": statistics.median(ttft),
        "decode_tokens_per_s_median": statistics.median(tps),
        "rank20_s_median": statistics.median(rank),
        "rationale_then_rank_s_median": statistics.median(turn),
        "samples": len(requests),
    }


def main(args: argparse.Namespace) -> None:
    requests = _requests(args.users, args.seed)
    model_dir = str(converted_default_model(ModelSettings().model_cache_dir))
    results: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
        },
        "model": "SmolLM2-135M-Instruct (float32)",
        "rationale_tokens": args.gen_tokens,
        "users": args.users,
        "seed": args.seed,
        "backends": {},
    }
    # vLLM first, so the local model's memory is not yet held while the server measures its own.
    log_file = Path(tempfile.gettempdir()) / "llmrec-bench-vllm.log"
    with VLLMServer(model_dir, log_file=log_file) as server:
        remote = load_recommender(ModelSettings(model_backend="openai", openai_base_url=server.base_url))
        _measure(remote, requests[:1], 8)  # warm-up: vLLM compiles its first shapes lazily
        with _PeakRSS(server.pid) as peak:
            results["backends"]["vllm-cpu"] = _measure(remote, requests, args.gen_tokens)
        results["backends"]["vllm-cpu"] |= {"peak_rss_mib": round(peak.peak / 2**20), "startup_s": server.startup_s}
    local = load_recommender(ModelSettings(model_backend="local"))
    _measure(local, requests[:1], 8)
    results["backends"]["local"] = _measure(local, requests, args.gen_tokens)
    # ru_maxrss is in KiB on Linux; it covers this process, which held only the local model and the client.
    results["backends"]["local"]["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    local_turn = results["backends"]["local"]["rationale_then_rank_s_median"]
    vllm_turn = results["backends"]["vllm-cpu"]["rationale_then_rank_s_median"]
    results["ratio_local_over_vllm_turn"] = round(local_turn / vllm_turn, 2)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--gen-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", default="benchmarks/results/llm.json")
    main(parser.parse_args())
