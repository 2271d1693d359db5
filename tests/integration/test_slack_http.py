"""The Slack bot over real HTTP: signed events and button clicks POSTed to the Bolt app served on 127.0.0.1, the
real agent behind it (the default SmolLM2-135M, the real Scientific catalog, BM25 and embedded Qdrant), and its Web
API calls answered by a stand-in for Slack on 127.0.0.1 (tests/slack_capture.py) that rate-limits one of them.

Three real turns (two requests, one dispute): about 30 s on two idle cores, after the indexes are built (shared with
tests/integration/test_agent_real.py through the session's data dir).
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.session import RecommenderAgent
from agent.settings import AgentSettings
from tests.slack_capture import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM,
    Call,
    SlackApi,
    action_body,
    buttons,
    event_body,
    signed_headers,
)
from ui.settings import SlackSettings
from ui.slack_blocks import parse_dispute_value
from ui.slack_bot import EVENTS_PATH, build_app, http_server, web_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def agent(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = AgentSettings(checkpoint_url=str(tmp_path_factory.mktemp("slack") / "checkpoints.sqlite"))
    with RecommenderAgent.open("scientific", agent_settings=settings, progress=False) as opened:
        yield opened


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackApi]:
    with SlackApi() as api:
        yield api


@pytest.fixture(scope="module")
def bot_url(agent: Any, slack: SlackApi) -> Iterator[str]:
    settings = SlackSettings(
        bot_token=BOT_TOKEN,  # type: ignore[arg-type]
        signing_secret=SIGNING_SECRET,  # type: ignore[arg-type]
        app_token=APP_TOKEN,  # type: ignore[arg-type]
        mode="http",
    )
    app = build_app(settings, agent, client=web_client(settings, base_url=slack.url))
    server = http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}{EVENTS_PATH}"
    server.shutdown()
    server.server_close()


def post(url: str, body: str, content_type: str = JSON, **signing: Any) -> tuple[int, float]:
    """(status, seconds until Slack would have had its answer)."""
    request = urllib.request.Request(
        url, data=body.encode(), headers=signed_headers(body, content_type, **signing), method="POST"
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, time.monotonic() - started


def answers_in(slack: SlackApi, thread_ts: str, count: int) -> list[Call]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found = [c for c in slack.answered() if c.params.get("thread_ts") == thread_ts]
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {count} answers in thread {thread_ts}: {slack.calls}")


def items_of(call: Call) -> list[tuple[str, str]]:
    return [parse_dispute_value(b["value"]) for b in buttons(call.params["blocks"])]


def test_two_threads_answer_revise_and_never_share_state(
    bot_url: str, slack: SlackApi, agent: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack.rate_limit("chat.postMessage")  # the first answer meets a 429 with Retry-After: 1, and is retried

    status, took = post(bot_url, event_body("<@UBOT> I need a digital caliper for a beginner", ts="1700100001.000100"))
    assert status == 200 and took < 3  # acknowledged long before the turn ends
    (a1,) = answers_in(slack, "1700100001.000100", 1)
    status, _ = post(
        bot_url,
        event_body("a soldering iron", kind="message", channel="D0DM", channel_type="im", ts="1700100002.000200"),
    )
    assert status == 200
    (b1,) = answers_in(slack, "1700100002.000200", 1)
    assert [c.status for c in slack.calls if c.method == "chat.postMessage"][:2] == [429, 200]

    thread_a, thread_b = f"slack:{TEAM}:C0CHAN:1700100001.000100", f"slack:{TEAM}:D0DM:1700100002.000200"
    assert a1.params["channel"] == "C0CHAN" and b1.params["channel"] == "D0DM"
    assert "*Rationale:*" in a1.params["blocks"][0]["text"]["text"]
    a_items, b_items = items_of(a1), items_of(b1)
    assert a_items and {t for t, _ in a_items} == {thread_a}
    assert b_items and {t for t, _ in b_items} == {thread_b}
    assert [i for _, i in a_items] == [p["item_id"] for p in agent.values(thread_a)["picks"]]
    assert a1.params["blocks"] != b1.params["blocks"]
    b_before = agent.values(thread_b)

    disputed = a_items[0][1]
    status, took = post(bot_url, action_body(a1, 1), FORM)
    assert status == 200 and took < 3
    a2 = answers_in(slack, "1700100001.000100", 2)[1]
    revised = [i for _, i in items_of(a2)]
    assert revised and disputed not in revised
    assert a2.params["blocks"][0]["text"]["text"].startswith("*You said")  # what changed comes first
    assert disputed in agent.values(thread_a)["revisions"][-1]["removed"]

    assert agent.values(thread_b) == b_before  # the dispute in A left B alone
    assert len(answers_in(slack, "1700100002.000200", 1)) == 1

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "chat.postMessage" in logged
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in logged and secret[-12:] not in logged


def test_forged_and_stale_signatures_are_refused(bot_url: str, slack: SlackApi) -> None:
    before = len(slack.calls)
    body = event_body("<@UBOT> a caliper", ts="1700100009.000100")
    assert post(bot_url, body, secret="forged-secret")[0] == 401
    assert post(bot_url, body, age_s=5 * 60 + 30)[0] == 401
    time.sleep(0.5)
    assert len(slack.calls) == before
