"""`pytest evals/`: the eval engineers' entry point. Options, shared fixtures and the report folder.

    pytest evals/                                    # quick: 200 users per domain (LLM systems: 15), minutes on CPU
    pytest evals/ --eval-users all --eval-llm-users all
    pytest evals/ --eval-domains clothing --eval-backend vllm   # LLM systems behind LLMREC_OPENAI_BASE_URL

Each test prints its table and writes its report under --eval-report-dir (default reports/evals). A missing
dataset or an unreachable model server skips the test with the reason; nothing passes silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

# Nothing may be downloaded from a hub during an evaluation either.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

QUICK_USERS = 200
"""Users per domain of the quick run: standard error of NDCG@10 about 0.02-0.03 (tools/splits.py)."""
QUICK_LLM_USERS = 15
"""Users per domain for the LLM systems in the quick run. A rationale-first ranking costs about 9 s a user on 2
CPU cores and a scripted dispute about 18 s, so 15 users keep the LLM part (quality in two protocols, disputes,
faithfulness, two domains) near 25 minutes; NDCG@10 then has a standard error near 0.07, so quick-run LLM figures
are a smoke test and `--eval-llm-users all` (hours on CPU, minutes on a GPU) gives the real ones."""


def _count(value: str) -> int | None:
    if value == "all":
        return None
    number = int(value)
    if number < 1:
        raise pytest.UsageError(f"user counts must be at least 1 or 'all', got {value}")
    return number


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmrec evals")
    group.addoption("--eval-users", default=str(QUICK_USERS), help="Users per domain, or 'all' (default 200).")
    group.addoption(
        "--eval-llm-users", default=str(QUICK_LLM_USERS), help="Users per domain for LLM systems, or 'all' (15)."
    )
    group.addoption("--eval-domains", default="scientific,clothing", help="Comma-separated domains.")
    group.addoption(
        "--eval-backend",
        default="local",
        choices=("local", "vllm"),
        help="Who serves the LLM systems: in-process transformers, or the vLLM server at LLMREC_OPENAI_BASE_URL.",
    )
    group.addoption("--eval-report-dir", default="reports/evals", help="Where reports are written.")
    group.addoption("--eval-seed", default="2026", help="Seed of samples and tie-breaks.")


@dataclass(frozen=True)
class EvalOptions:
    """The command line of one `pytest evals/` run."""

    users: int | None
    """Users per domain for non-LLM systems (None: every evaluation user)."""
    llm_users: int | None
    """Users per domain for LLM systems (None: every evaluation user)."""
    domains: tuple[str, ...]
    backend: str
    """`local` or `vllm`."""
    report_dir: Path
    seed: int


@pytest.fixture(scope="session")
def eval_options(request: pytest.FixtureRequest) -> EvalOptions:
    config = request.config
    domains = tuple(d.strip() for d in str(config.getoption("--eval-domains")).split(",") if d.strip())
    if not domains:
        raise pytest.UsageError("--eval-domains names no domain")
    report_dir = Path(str(config.getoption("--eval-report-dir")))
    report_dir.mkdir(parents=True, exist_ok=True)
    return EvalOptions(
        users=_count(str(config.getoption("--eval-users"))),
        llm_users=_count(str(config.getoption("--eval-llm-users"))),
        domains=domains,
        backend=str(config.getoption("--eval-backend")),
        report_dir=report_dir,
        seed=int(str(config.getoption("--eval-seed"))),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent.name == "evals":
            item.add_marker(pytest.mark.eval)
