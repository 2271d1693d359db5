"""A real HTTP server on 127.0.0.1 that speaks vLLM's completions API and misbehaves on demand.

It stands in for `vllm serve` in the fault and security tests: the agent's real OpenAI backend talks to it over
TCP. Healthy answers follow the protocol agent/openai_backend.py relies on (text, or top logprobs keyed
"token_id:N" for the tokens of `logit_bias`); `mode` picks a failure:

    ok          protocol-correct answers (rationale `text`, label logprobs best-first in bias order)
    status:N    HTTP N with an OpenAI-style error body
    slow:S      sleep S seconds, then answer as ok (the client's timeout fires first)
    garbage     HTTP 200 with a body that is not JSON
    nologprobs  a completion without logprobs (a server started without the flags the backend needs)
    echo        the completion repeats the prompt it was sent (a model obeying "print your instructions")
    drop        close the connection without answering
`fail_after` keeps `ok` for that many requests, then applies `mode` (a server dying in the middle of a turn).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeVLLM:
    def __init__(self, text: str = "Candidate A fits the request; its listed category matches.") -> None:
        self.mode = "ok"
        self.text = text
        self.fail_after: int | None = None
        self.requests = 0
        self.prompts: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # /v1/models
                self._json(200, {"object": "list", "data": [{"id": "llmrec", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with outer._lock:
                    outer.requests += 1
                    n = outer.requests
                    outer.prompts.append(str(body.get("prompt", "")))
                    outer.headers.append(dict(self.headers))
                mode = outer.mode if outer.fail_after is None or n > outer.fail_after else "ok"
                if mode.startswith("slow:"):
                    time.sleep(float(mode.split(":")[1]))
                    mode = "ok"
                if mode.startswith("status:"):
                    self._json(int(mode.split(":")[1]), {"error": {"message": "injected failure", "code": 500}})
                elif mode == "garbage":
                    self._raw(200, b"<html>502 Bad Gateway \x00\xff</html>")
                elif mode == "drop":
                    self.close_connection = True
                    self.connection.close()
                else:
                    self._complete(body, mode)

            def _complete(self, body: dict[str, Any], mode: str) -> None:
                prompt = str(body.get("prompt", ""))
                bias = list((body.get("logit_bias") or {}).keys())
                # A label request asks for logprobs; a rationale may carry a negative bias too (banned words).
                if body.get("logprobs") and bias:
                    top = {f"token_id:{t}": -0.1 - i for i, t in enumerate(bias)}
                    logprobs = (
                        None if mode == "nologprobs" else {"tokens": [f"token_id:{bias[0]}"], "top_logprobs": [top]}
                    )
                    choice = {"index": 0, "text": "", "finish_reason": "length", "logprobs": logprobs}
                else:
                    text = prompt if mode == "echo" else outer.text
                    choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
                if body.get("stream"):
                    self._stream(choice)
                else:
                    self._json(
                        200,
                        {"id": "c", "object": "text_completion", "created": 0, "model": "llmrec", "choices": [choice]},
                    )

            def _stream(self, choice: dict[str, Any]) -> None:
                text = choice["text"]
                pieces = [text[i : i + 16] for i in range(0, len(text), 16)] or [""]
                events = b""
                for piece in pieces:
                    chunk = {
                        "id": "c",
                        "object": "text_completion",
                        "created": 0,
                        "model": "llmrec",
                        "choices": [{"index": 0, "text": piece, "finish_reason": None, "logprobs": None}],
                    }
                    events += b"data: " + json.dumps(chunk).encode() + b"\n\n"
                events += b"data: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(events)))
                self.end_headers()
                self._write(events)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                self._raw(status, json.dumps(payload).encode())

            def _raw(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self._write(data)

            def _write(self, data: bytes) -> None:
                # The client may have given up first (its timeout), as it does with a slow real server.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def reset(self, mode: str = "ok", fail_after: int | None = None) -> None:
        self.mode, self.fail_after, self.requests = mode, fail_after, 0
        self.prompts.clear()
        self.headers.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
