"""docker-compose.yml has the services and flags the runtime relies on (no Docker engine runs here to try it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_services_have_images_and_healthchecks(compose: dict[str, Any]) -> None:
    for name in ("vllm", "qdrant"):
        service = compose["services"][name]
        assert ":" in service["image"] and not service["image"].endswith(":latest"), "pin image versions"
        assert service["healthcheck"]["test"]


def test_vllm_serves_the_adapter_with_the_flags_ranking_needs(compose: dict[str, Any]) -> None:
    vllm = compose["services"]["vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai:")
    args = vllm["command"]
    assert "--enable-lora" in args
    assert "--lora-modules=llmrec=/adapters/llmrec" in args
    assert "--logprobs-mode=processed_logprobs" in args
    max_logprobs = next(a for a in args if a.startswith("--max-logprobs="))
    assert int(max_logprobs.split("=")[1]) >= 20
    assert any(v.endswith(":/adapters/llmrec:ro") for v in vllm["volumes"])
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in declared, f"volume {source} is not declared"
