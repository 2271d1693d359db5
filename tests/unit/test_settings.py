"""Every LLMREC_ variable the code reads is documented in .env.example, and nothing stale is listed there."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from tools.settings import DataSettings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tools", "agent", "training", "ui", "evals")


def _settings_classes() -> list[type[BaseSettings]]:
    # Convention: each package keeps its pydantic-settings classes in `<package>/settings.py`.
    found: list[type[BaseSettings]] = []
    for package in PACKAGES:
        if not (ROOT / package / "settings.py").exists():
            continue
        module = importlib.import_module(f"{package}.settings")
        for value in vars(module).values():
            is_settings = isinstance(value, type) and issubclass(value, BaseSettings)
            if is_settings and value.__module__ == module.__name__:
                found.append(value)
    return found


def _env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {(prefix + name).upper() for name in cls.model_fields}


def _documented() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def compose_variables() -> set[str]:
    """Every ${VAR} or ${VAR:-default} that docker-compose.yml interpolates."""
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))


def test_env_example_lists_every_setting() -> None:
    classes = _settings_classes()
    assert DataSettings in classes
    read = set().union(*(_env_names(c) for c in classes)) | compose_variables()
    documented = _documented()
    assert read - documented == set(), "add these to .env.example"
    assert documented - read == set(), "these in .env.example are read by nothing"


def test_settings_read_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLMREC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LLMREC_SEED", "7")
    settings = DataSettings()
    assert settings.data_dir == tmp_path
    assert settings.seed == 7


def test_empty_variable_means_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # A copied .env.example leaves variables empty: that must mean "default", not Path("").
    monkeypatch.setenv("LLMREC_BUNDLED_DATA_DIR", "")
    assert DataSettings().bundled_data_dir == ROOT / "data"


def test_bad_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMREC_SEED", "not-a-number")
    with pytest.raises(ValueError, match="seed"):
        DataSettings()


def test_the_default_model_takes_the_shipped_adapter_unless_told_none(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.settings import SHIPPED_ADAPTER, ModelSettings

    monkeypatch.delenv("LLMREC_ADAPTER_PATH", raising=False)
    monkeypatch.delenv("LLMREC_MODEL", raising=False)
    monkeypatch.setenv("LLMREC_MODEL_BACKEND", "local")
    assert (SHIPPED_ADAPTER / "adapter_config.json").is_file()
    assert ModelSettings().adapter_path == SHIPPED_ADAPTER
    assert ModelSettings().identity.endswith("+llmrec")
    monkeypatch.setenv("LLMREC_ADAPTER_PATH", "")  # empty is unset
    assert ModelSettings().adapter_path == SHIPPED_ADAPTER
    for base in ("none", "None", "base"):
        monkeypatch.setenv("LLMREC_ADAPTER_PATH", base)
        assert ModelSettings().adapter_path is None
    monkeypatch.delenv("LLMREC_ADAPTER_PATH")
    assert ModelSettings(model="HuggingFaceTB/SmolLM2-360M-Instruct").adapter_path is None  # trained for another base
    assert ModelSettings(model_backend="openai").adapter_path is None  # the server's LoRA module picks it there
