"""The OpenAI-compatible backend's failure handling, against real HTTP servers on 127.0.0.1.

The happy path runs against a real vLLM server in tests/integration/test_vllm_backend.py; here a small
http.server answers with failures a real deployment produces: refused connections, 5xx, garbage, missing logprobs.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest

from agent.errors import ModelOutputError, ModelServerError, ModelServerUnavailableError
from agent.openai_backend import OpenAIRecommender
from agent.prompts import LABELS


class _Server:
    def __init__(self, status: int, body: bytes, delay_s: float = 0.0) -> None:
        self.status, self.body, self.requests, self.delay_s = status, body, 0, delay_s
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.requests += 1
                outer.received.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
                time.sleep(outer.delay_s)
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir))


def _backend(url: str, tokenizer: Any, retries: int = 1) -> OpenAIRecommender:
    client = openai.OpenAI(base_url=url, api_key="x", timeout=2.0, max_retries=retries)
    return OpenAIRecommender(client, "llmrec", tokenizer, url)


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[_Server] = []

    def start(status: int, body: bytes, delay_s: float = 0.0) -> _Server:
        servers.append(_Server(status, body, delay_s))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_down(tokenizer: Any) -> None:
    backend = _backend(f"http://127.0.0.1:{_closed_port()}/v1", tokenizer)
    with pytest.raises(ModelServerUnavailableError, match="does not answer"):
        list(backend.generate("hi", 4))
    with pytest.raises(ModelServerUnavailableError, match="LLMREC_MODEL_BACKEND=local"):
        backend.label_logprobs("hi", LABELS[:3])


def test_slow_server_times_out_with_bounded_retries(serve: Any, tokenizer: Any) -> None:
    server = serve(200, b"{}", delay_s=1.5)
    client = openai.OpenAI(base_url=server.url, api_key="x", timeout=0.5, max_retries=1)
    backend = OpenAIRecommender(client, "llmrec", tokenizer, server.url)
    start = time.monotonic()
    with pytest.raises(ModelServerUnavailableError, match="APITimeoutError"):
        list(backend.generate("hi", 4))
    assert server.requests == 2
    assert time.monotonic() - start < 10


def test_5xx_is_retried_then_reported(serve: Any, tokenizer: Any) -> None:
    server = serve(503, b'{"error": {"message": "overloaded"}}')
    with pytest.raises(ModelServerError, match="HTTP 503"):
        list(_backend(server.url, tokenizer, retries=2).generate("hi", 4))
    assert server.requests == 3  # bounded: one try plus two retries


def test_malformed_json(serve: Any, tokenizer: Any) -> None:
    server = serve(200, b"<html>definitely not json")
    with pytest.raises(ModelServerError):
        list(_backend(server.url, tokenizer).generate("hi", 4))


def test_completion_without_text(serve: Any, tokenizer: Any) -> None:
    server = serve(200, json.dumps({"id": "x", "choices": [{"index": 0, "text": None}]}).encode())
    with pytest.raises(ModelOutputError, match="not text"):
        list(_backend(server.url, tokenizer).generate("hi", 4))


def test_missing_label_logprobs_explain_the_server_flag(serve: Any, tokenizer: Any) -> None:
    # What vLLM returns without --logprobs-mode processed_logprobs: the raw top tokens, not the biased labels.
    body = {
        "id": "x",
        "object": "text_completion",
        "created": 0,
        "model": "llmrec",
        "choices": [
            {
                "index": 0,
                "text": " the",
                "finish_reason": "length",
                "logprobs": {"tokens": ["token_id:260"], "top_logprobs": [{"token_id:260": -0.1}]},
            }
        ],
    }
    server = serve(200, json.dumps(body).encode())
    with pytest.raises(ModelOutputError, match="processed_logprobs"):
        _backend(server.url, tokenizer).label_logprobs("hi", LABELS[:3])


def test_logprobs_are_renormalised_over_labels(serve: Any, tokenizer: Any) -> None:
    backend = _backend("http://127.0.0.1:1/v1", tokenizer)
    ids = backend._label_ids
    top = {f"token_id:{ids['A']}": -0.5, f"token_id:{ids['B']}": -1.5, f"token_id:{ids['C']}": -2.5}
    body = {
        "id": "x",
        "object": "text_completion",
        "created": 0,
        "model": "llmrec",
        "choices": [{"index": 0, "text": " A", "finish_reason": "length", "logprobs": {"top_logprobs": [top]}}],
    }
    server = serve(200, json.dumps(body).encode())
    scores = _backend(server.url, tokenizer).label_logprobs("hi", ["A", "B", "C"])
    assert scores["A"] > scores["B"] > scores["C"]
    assert sum(2.718281828459045**v for v in scores.values()) == pytest.approx(1.0)


def test_more_labels_than_the_api_returns(tokenizer: Any) -> None:
    with pytest.raises(ValueError, match="at most 20"):
        _backend("http://127.0.0.1:1/v1", tokenizer).label_logprobs("hi", [*LABELS, "A"])


def test_banned_tokens_go_to_the_server_as_the_lowest_logit_bias(serve: Any, tokenizer: Any) -> None:
    body = {"id": "x", "object": "text_completion", "created": 0, "model": "llmrec",
            "choices": [{"index": 0, "text": " fine", "finish_reason": "length"}]}  # fmt: skip
    server = serve(200, json.dumps(body).encode())
    backend = _backend(server.url, tokenizer)
    assert "".join(backend.generate("hi", 4, banned=[1463, 3760])) == " fine"
    assert server.received[-1]["logit_bias"] == {"1463": -100, "3760": -100}
    list(backend.generate("hi", 4))
    assert "logit_bias" not in server.received[-1]  # nothing banned: the request is as before
