"""The `vllm serve` command line that agent/vllm_server.py starts: LoRA rank sized from the adapters it serves."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.vllm_server import VLLMServer, _stop_on_term, max_lora_rank, vllm_command

ROOT = Path(__file__).resolve().parents[2]


def adapter(folder: Path, r: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": r, "peft_type": "LORA"}), encoding="utf-8")
    return folder


def test_the_max_lora_rank_fits_the_largest_adapter_in_a_value_vllm_accepts(tmp_path: Path) -> None:
    assert max_lora_rank([ROOT / "adapters" / "llmrec"]) == 16  # the shipped adapter: r=16
    assert max_lora_rank([adapter(tmp_path / "a", 4)]) == 8  # vLLM's smallest accepted value
    assert max_lora_rank([adapter(tmp_path / "b", 16), adapter(tmp_path / "c", 8)]) == 16
    assert max_lora_rank([adapter(tmp_path / "d", 24)]) == 32  # rounded up to an accepted value
    assert max_lora_rank([tmp_path / "missing"]) == 8


def test_the_command_serves_the_adapters_with_that_rank(tmp_path: Path) -> None:
    cmd = vllm_command(
        "/models/base", port=8011, adapters={"llmrec": adapter(tmp_path / "rec", 16)}, python=Path("/usr/bin/python3")
    )
    assert cmd[cmd.index("--max-lora-rank") + 1] == "16"
    assert cmd[cmd.index("--lora-modules") + 1] == f"llmrec={tmp_path / 'rec'}"
    assert "--enable-lora" not in vllm_command("/models/base", port=8011, python=Path("/usr/bin/python3"))


def test_a_merged_model_is_served_under_the_llmrec_name_and_a_folder_without_one_is_refused(tmp_path: Path) -> None:
    server = VLLMServer("/models/merged", port=8011, served_name="llmrec")
    assert server.command[-2:] == ["--served-model-name", "llmrec"]
    assert server.command[server.command.index("--model") + 1] == "/models/merged"
    (tmp_path / "empty").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "agent.vllm_server", "--merged", str(tmp_path / "empty")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2 and "llmrec train export --merge" in done.stderr


def test_sigterm_stops_the_launcher_as_ctrl_c_does() -> None:
    with pytest.raises(KeyboardInterrupt):
        _stop_on_term(signal.SIGTERM, None)
