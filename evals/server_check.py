"""`--eval-backend vllm`: point the LLM systems at the OpenAI-compatible server, or skip the test saying why."""

from __future__ import annotations

import pytest

from agent.settings import ModelSettings


def vllm_models(monkeypatch: pytest.MonkeyPatch) -> tuple[ModelSettings, list[str]]:
    """(settings of the openai backend, the model names the server lists); skips when the server does not answer."""
    monkeypatch.setenv("LLMREC_MODEL_BACKEND", "openai")
    settings = ModelSettings()
    import openai

    client = openai.OpenAI(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key.get_secret_value(),
        timeout=10.0,
        max_retries=0,
    )
    try:
        return settings, [m.id for m in client.models.list()]
    except openai.APIError as exc:
        pytest.skip(f"vLLM server at {settings.openai_base_url} unreachable: {exc}; start it with `make vllm-serve`")
