"""Fixtures of the reliability tests: a misbehaving vLLM stand-in, and agents wired to it or to the tiny Llama."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from agent.openai_backend import OpenAIRecommender
from agent.session import RecommenderAgent
from agent.settings import AgentSettings, ModelSettings
from tests.reliability.fake_vllm import FakeVLLM

SECRET_KEY = "sk-llmrec-test-0123456789abcdef-never-log-me"


@pytest.fixture(scope="module")
def fake_vllm() -> Iterator[FakeVLLM]:
    server = FakeVLLM()
    yield server
    server.close()


@pytest.fixture
def vllm(fake_vllm: FakeVLLM) -> FakeVLLM:
    fake_vllm.reset()
    return fake_vllm


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir))


def server_backend(url: str, tokenizer: Any, *, timeout_s: float = 2.0, retries: int = 1) -> OpenAIRecommender:
    """The real OpenAI backend, as `from_settings` builds it, against `url`."""
    client = openai.OpenAI(base_url=url, api_key=SECRET_KEY, timeout=timeout_s, max_retries=retries)
    return OpenAIRecommender(client, "llmrec", tokenizer, url)


@pytest.fixture
def make_agent(small_retrievers: Any, tmp_path: Path) -> Iterator[Any]:
    """Open agents of the 24-item catalog over a given model, sharing one SQLite checkpoint file in tmp_path."""
    opened: list[RecommenderAgent] = []

    def make(llm: Any, **settings: Any) -> RecommenderAgent:
        settings.setdefault("checkpoint_url", str(tmp_path / "checkpoints.sqlite"))
        agent = RecommenderAgent.open(
            "scientific",
            llm=llm,
            retrievers=small_retrievers,
            model_settings=ModelSettings(rationale_max_tokens=12),
            agent_settings=AgentSettings(**settings),
        )
        opened.append(agent)
        return agent

    yield make
    for agent in opened:
        agent.close()
