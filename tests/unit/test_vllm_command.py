"""The `vllm serve` command line that agent/vllm_server.py starts: LoRA rank sized from the adapters it serves."""

from __future__ import annotations

import json
from pathlib import Path

from agent.vllm_server import max_lora_rank, vllm_command

ROOT = Path(__file__).resolve().parents[2]


def adapter(folder: Path, r: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": r, "peft_type": "LORA"}), encoding="utf-8")
    return folder


def test_the_max_lora_rank_fits_the_largest_adapter_in_a_value_vllm_accepts(tmp_path: Path) -> None:
    assert max_lora_rank([ROOT / "adapters" / "llmrec"]) == 8  # the shipped adapter: r=8
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
