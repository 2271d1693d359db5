"""A stand-in for Slack in tests: a Web API server on 127.0.0.1 that records calls, and signed Slack payloads.

with SlackApi() as api:                       # WebClient(base_url=api.url) talks to it
    api.rate_limit("chat.postMessage")        # its next call answers 429 with Retry-After: 1
    posts = api.wait_for("chat.postMessage", 1)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-1111-2222-SeCrEtBoTtOkEn"
APP_TOKEN = "xapp-1-A111-3333-SeCrEtApPtOkEn"
SIGNING_SECRET = "s1gn1ng-SeCrEt-0123456789abcdef"
TEAM = "T0TEAM"
BOT_USER = "UBOT"
USER = "UHUMAN"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    authorization: str


class SlackApi:
    """Records every Web API call; answers {"ok": true, ...} (auth.test with the bot's identity)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._throttle: dict[str, int] = {}
        self._lock = threading.Condition()
        self._ts = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw) if raw else {}
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                method = self.path.rsplit("/", 1)[-1]
                status, body, headers = api._answer(method, params, self.headers.get("Authorization") or "")
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/api/"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> SlackApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def rate_limit(self, method: str, times: int = 1) -> None:
        with self._lock:
            self._throttle[method] = self._throttle.get(method, 0) + times

    def _answer(self, method: str, params: dict[str, Any], auth: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            if self._throttle.get(method):
                self._throttle[method] -= 1
                self.calls.append(Call(method, params, 429, auth))
                self._lock.notify_all()
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
            self._ts += 1
            ts = f"{1_700_000_000 + self._ts}.{self._ts:06d}"
            self.calls.append(Call(method, params, 200, auth))
            self._lock.notify_all()
        if method == "auth.test":
            return 200, {"ok": True, "team_id": TEAM, "user_id": BOT_USER, "bot_id": "BBOT", "team": "t"}, {}
        if method == "chat.postMessage":
            message = {"ts": ts, "text": params.get("text"), "blocks": params.get("blocks")}
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            return 200, {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}, {}
        return 200, {"ok": True}, {}

    def answered(self, method: str = "chat.postMessage") -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def wait_for(self, method: str, count: int, timeout: float = 120.0) -> list[Call]:
        """The first `count` successful calls of `method`, waiting up to `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                done = [c for c in self.calls if c.method == method and c.status == 200]
                if len(done) >= count:
                    return done[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(done)} of {count} {method} calls after {timeout} s: {self.calls}")
                self._lock.wait(left)


def signed_headers(body: str, content_type: str, *, secret: str = SIGNING_SECRET, age_s: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age_s)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


_event_counter = 0


def event_body(
    text: str,
    *,
    channel: str = "C0CHAN",
    ts: str | None = None,
    thread_ts: str | None = None,
    kind: str = "app_mention",
    channel_type: str = "channel",
    user: str = USER,
    **extra: Any,
) -> str:
    """An Events API callback (app_mention or message) as Slack would POST it."""
    global _event_counter
    _event_counter += 1
    event: dict[str, Any] = {
        "type": kind,
        "user": user,
        "text": text,
        "ts": ts or f"1700001{_event_counter:03d}.000100",
        "channel": channel,
        "event_ts": ts or f"1700001{_event_counter:03d}.000100",
        **extra,
    }
    if kind == "message":
        event["channel_type"] = channel_type
    if thread_ts:
        event["thread_ts"] = thread_ts
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "A0APP",
            "event": event,
            "event_id": f"Ev{_event_counter:08d}",
            "event_time": 1_700_000_000,
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        }
    )


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The "That's wrong" buttons of a posted message, in item order."""
    return [b["accessory"] for b in blocks if b.get("type") == "section" and "accessory" in b]


def action_body(post: Call, n: int, *, value: str | None = None, user: str = USER) -> str:
    """A click on the n-th (1-based) button of a message the bot posted: form-encoded `payload=`, as Slack sends."""
    button = buttons(post.params["blocks"])[n - 1]
    channel = post.params["channel"]
    thread_ts = post.params.get("thread_ts")
    message_ts = "1700009999.000001"
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "t"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0APP",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
            "thread_ts": thread_ts,
        },
        "channel": {"id": channel, "name": "recs"},
        "message": {"ts": message_ts, "thread_ts": thread_ts, "blocks": post.params["blocks"], "type": "message"},
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "b",
                "value": button["value"] if value is None else value,
                "action_ts": "1700009999.100000",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})
