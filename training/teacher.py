"""The teacher of self-annotation: which model writes the rationales, read from `--teacher SETTINGS`.

    --teacher default                   the model configured for serving (LLMREC_* variables, else SmolLM2-135M)
    --teacher teachers/qwen7b.yaml      a YAML or JSON file whose keys are `agent.settings.ModelSettings` fields

A teacher file, for a larger model behind vLLM:

    model_backend: openai
    openai_base_url: http://gpu:8000/v1
    openai_model: Qwen/Qwen2.5-7B-Instruct
    model: Qwen/Qwen2.5-7B-Instruct     # the tokenizer whose chat template renders the prompt (local cache or folder)

Fields the file leaves out come from the LLMREC_* variables as usual (so an API key can stay in the environment).
A file with an unknown key or an invalid value fails with `TeacherConfigError` before any model is loaded.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.runtime import Recommender, load_recommender
from agent.settings import ModelSettings

log = logging.getLogger(__name__)

DEFAULT_TEACHER = "default"


class TeacherConfigError(ValueError):
    """`--teacher` names a file that is missing, unreadable, not a mapping, or not valid ModelSettings."""


def teacher_settings(spec: str) -> ModelSettings:
    """The ModelSettings that `spec` (`default` or a YAML/JSON path) describes; raises TeacherConfigError."""
    if spec == DEFAULT_TEACHER:
        return _validated({}, "the LLMREC_* settings")
    path = Path(spec)
    if not path.is_file():
        raise TeacherConfigError(
            f"--teacher {spec!r} is neither 'default' nor an existing YAML or JSON file of model settings"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TeacherConfigError(f"cannot read the teacher settings {path}: {exc}") from exc
    data = _parse(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TeacherConfigError(
            f"{path} must hold a mapping of ModelSettings fields (e.g. model_backend: openai), "
            f"not a {type(data).__name__}"
        )
    known = set(ModelSettings.model_fields)
    unknown = sorted(str(key) for key in data if key not in known)
    if unknown:
        raise TeacherConfigError(
            f"{path}: unknown teacher setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return _validated(data, str(path))


def _parse(text: str, path: Path) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise TeacherConfigError(f"{path} is not valid JSON: {exc}") from exc
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:  # pyyaml comes with the [dev] extra
        raise TeacherConfigError(f"reading {path} needs PyYAML (pip install pyyaml), or write it as .json") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TeacherConfigError(f"{path} is not valid YAML: {exc}") from exc


def _validated(data: dict[str, Any], where: str) -> ModelSettings:
    try:
        return ModelSettings(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise TeacherConfigError(f"invalid teacher setting {field} in {where}: {first['msg']}") from exc


def describe_teacher(settings: ModelSettings, spec: str) -> dict[str, Any]:
    """What the dataset card records about the teacher: its settings as JSON, the API key left out."""
    fields = settings.model_dump(mode="json", exclude={"openai_api_key"})
    if settings.model_backend == "local":
        for key in [k for k in fields if k.startswith("openai_")]:
            del fields[key]
    return {"spec": spec, "settings": fields}


def load_teacher(spec: str) -> tuple[Recommender, dict[str, Any]]:
    """(the teacher model, a JSON-able description for the dataset card). Settings are checked before loading."""
    settings = teacher_settings(spec)
    info = describe_teacher(settings, spec)
    teacher = load_recommender(settings)
    info["name"] = teacher.name
    log.info("teacher %s from %s", teacher.name, spec)
    return teacher, info
