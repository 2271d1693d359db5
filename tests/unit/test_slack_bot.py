"""The Slack bot's formatting and routing, with a fake agent and a local stand-in for Slack's Web API.

The real agent behind real signed HTTP requests is tests/integration/test_slack_http.py.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import BoltContext
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from typer.testing import CliRunner

from agent.errors import TurnFailedError
from agent.messages import clean_message
from agent.session import TurnResult
from tests.slack_capture import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    SlackApi,
    action_body,
    buttons,
    event_body,
    signed_headers,
)
from ui.settings import SlackSettings
from ui.slack_blocks import (
    BadPayloadError,
    answer_message,
    dispute_value,
    message_text,
    parse_dispute_value,
    where,
)
from ui.slack_bot import (
    BAD_BUTTON,
    EVENTS_PATH,
    EXPIRED,
    MAX_BODY_BYTES,
    SORRY,
    STALE_ITEM,
    SlackBot,
    build_app,
    http_server,
    web_client,
)

CATALOG = {
    f"I{n}": {"title": f"Caliper <{n}> & co", "attributes": {"brand": f"Brand{n}", "category": "Calipers"}}
    for n in range(1, 10)
}


class FakeAgent:
    """Recommends the next three catalog items per turn; a dispute drops the disputed one. Records its turns."""

    def __init__(self) -> None:
        self.picks: dict[str, list[str]] = {}
        self.turns: list[tuple[str, str, str | None]] = []

    def turn(self, thread: str, message: str, *, dispute_item: str | None = None) -> TurnResult:
        text, notes = clean_message(message, 100)
        self.turns.append((thread, text, dispute_item))
        if text == "boom":
            raise RuntimeError("Traceback (most recent call last): internals")
        if text == "fail":
            raise TurnFailedError("Sorry, this turn failed and was undone, so you can simply try again: timeout")
        old = self.picks.get(thread, [])
        kept = [i for i in old if i != dispute_item]
        fresh = [i for i in CATALOG if i not in old and i != dispute_item]
        picks = (kept + fresh)[:3]
        self.picks[thread] = picks
        revision = None
        if dispute_item:
            revision = {
                "turn": 1,
                "dispute": {},
                "removed": [dispute_item],
                "added": [],
                "kept": kept,
                "summary": "Removed it.",
            }
        items = [
            {"item_id": i, "title": CATALOG[i]["title"], "reason": f"why {i}", "grounded": n == 0, "label": "ABC"[n]}
            for n, i in enumerate(picks)
        ]
        claims = [{"text": "c", "item_ids": [], "supported": True, "support": 1.0, "missing": [], "relational": True}]
        return TurnResult(
            thread=thread,
            intent="dispute" if dispute_item else "request",
            answer="I recommend these.",
            rationale=f"Rationale for {text}",
            items=items,
            grounding=1.0,
            revision=revision,  # type: ignore[arg-type]
            claims=claims,  # type: ignore[arg-type]
            notes=notes,
        )

    def thread_exists(self, thread: str) -> bool:
        return thread in self.picks

    def values(self, thread: str) -> dict[str, Any]:
        return {"picks": [{"item_id": i} for i in self.picks[thread]]} if thread in self.picks else {}


def attributes(item_id: str) -> dict[str, Any]:
    return CATALOG[item_id]["attributes"] if item_id in CATALOG else {}


def settings(**kw: Any) -> SlackSettings:
    base = {"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET, "app_token": APP_TOKEN, "mode": "http"}
    return SlackSettings(**(base | kw))


@pytest.fixture
def api() -> Iterator[SlackApi]:
    with SlackApi() as running:
        yield running


@pytest.fixture
def client(api: SlackApi) -> WebClient:
    return web_client(settings(), base_url=api.url)


@pytest.fixture
def agent() -> FakeAgent:
    return FakeAgent()


@pytest.fixture
def bot(agent: FakeAgent) -> SlackBot:
    return SlackBot(agent, attributes)


CONTEXT = BoltContext({"bot_user_id": BOT_USER, "team_id": TEAM})


def mention(bot: SlackBot, client: WebClient, text: str, **kw: Any) -> None:
    bot.answer_mention(json.loads(event_body(text, **kw)), CONTEXT, client)


def message(bot: SlackBot, client: WebClient, text: str, **kw: Any) -> None:
    bot.answer_message(json.loads(event_body(text, kind="message", **kw)), CONTEXT, client)


def click(bot: SlackBot, client: WebClient, post: Any, n: int, **kw: Any) -> None:
    from urllib.parse import parse_qs

    bot.answer_dispute(json.loads(parse_qs(action_body(post, n, **kw))["payload"][0]), client)


def texts(api: SlackApi) -> list[str]:
    return [c.params["text"] for c in api.answered()]


# --- formatting ---------------------------------------------------------------------------------------------------


def test_thread_ids_are_deterministic_and_distinct() -> None:
    a = where("T1", "C1", "1700000000.000100").thread
    assert a == where("T1", "C1", "1700000000.000100").thread == "slack:T1:C1:1700000000.000100"
    others = {where("T1", "C1", "1700000000.000200").thread, where("T1", "C2", "1700000000.000100").thread}
    others.add(where("T2", "C1", "1700000000.000100").thread)
    assert a not in others and len(others) == 3


@pytest.mark.parametrize(
    "parts", [("T1", None, "1.2"), ("T1", "C1", "not-a-ts"), ("T1", "C1:x", "1.2"), ("T", 5, "1.2")]
)
def test_malformed_thread_parts_are_refused(parts: tuple[Any, Any, Any]) -> None:
    with pytest.raises(BadPayloadError):
        where(*parts)


def test_message_text_drops_the_bot_mention_and_slack_markup() -> None:
    text = "<@UBOT> a caliper &lt;6 inch&gt; &amp; <https://x.org|this> for <@UOTHER>"
    assert message_text(text, "UBOT") == "a caliper <6 inch> & this for @UOTHER"
    assert message_text(None, "UBOT") == ""


def test_answer_lists_rationale_then_items_with_buttons_and_marks(agent: FakeAgent) -> None:
    result = agent.turn("slack:T:C:1.1", "a caliper")
    text, blocks = answer_message(result, attributes)
    assert text == "I recommend these."
    assert blocks[0]["text"]["text"] == "*Rationale:* Rationale for a caliper"
    cards = [b for b in blocks if "accessory" in b]
    assert len(cards) == 3
    first = cards[0]["text"]["text"]
    assert "Caliper &lt;1&gt; &amp; co" in first  # mrkdwn's control characters escaped
    assert "brand: Brand1 · category: Calipers" in first
    assert "_Why:_ why I1" in first and ":white_check_mark: grounded" in first
    assert ":grey_question: not grounded" in cards[1]["text"]["text"]
    assert len({c["accessory"]["action_id"] for c in cards}) == 3
    assert [parse_dispute_value(c["accessory"]["value"]) for c in cards] == [
        ("slack:T:C:1.1", i) for i in ("I1", "I2", "I3")
    ]
    assert blocks[-1]["type"] == "context" and "grounding 100%: 1 of 1" in blocks[-1]["elements"][0]["text"]


def test_the_candidates_the_rationale_names_are_placed_under_it(agent: FakeAgent) -> None:
    result = agent.turn("slack:T:C:1.1", "a caliper")
    result.rationale = "Option H has <caliper>. Candidate " + result.items[0]["label"] + " also links to you."
    _, blocks = answer_message(result, attributes)
    assert blocks[0]["text"]["text"].startswith("*Rationale:* Option H has &lt;caliper&gt;.")
    placed = blocks[1]
    assert placed["type"] == "context"
    assert placed["elements"][0]["text"] == f"in the rationale: H was not picked, {result.items[0]['label']} is #1"
    result.rationale = "Rationale for a caliper"  # names no candidate: no line
    assert answer_message(result, attributes)[1][1] == {"type": "divider"}


def test_revision_summary_comes_first_and_long_text_is_cut(agent: FakeAgent) -> None:
    agent.turn("slack:T:C:1.1", "a caliper")
    result = agent.turn("slack:T:C:1.1", "x" * 90, dispute_item="I1")
    result.rationale = "long " * 2000
    text, blocks = answer_message(result, attributes)
    assert text == "Removed it." and blocks[0]["text"]["text"] == "*Removed it.*"
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if "text" in b)
    assert len(blocks) <= 50


@pytest.mark.parametrize(
    "value", [None, "", "{", "[]", '{"thread": 1, "item": "I1"}', '{"thread": "x", "item": "I1"}', "x" * 3000]
)
def test_damaged_button_values_are_refused(value: Any) -> None:
    with pytest.raises(BadPayloadError):
        parse_dispute_value(value)
    assert parse_dispute_value(dispute_value("slack:T:C:1.1", "I1")) == ("slack:T:C:1.1", "I1")


# --- routing ------------------------------------------------------------------------------------------------------


def test_a_mention_is_answered_in_its_thread(bot: SlackBot, client: WebClient, api: SlackApi, agent: FakeAgent) -> None:
    mention(bot, client, "<@UBOT> a caliper", ts="1700000001.000100")
    (post,) = api.answered()
    assert post.params["channel"] == "C0CHAN" and post.params["thread_ts"] == "1700000001.000100"
    assert agent.turns == [(f"slack:{TEAM}:C0CHAN:1700000001.000100", "a caliper", None)]
    assert len(buttons(post.params["blocks"])) == 3
    assert post.authorization == f"Bearer {BOT_TOKEN}"


def test_a_reply_in_a_thread_continues_its_conversation(
    bot: SlackBot, client: WebClient, api: SlackApi, agent: FakeAgent
) -> None:
    mention(bot, client, "<@UBOT> a caliper", ts="1700000001.000100")
    mention(bot, client, "<@UBOT> cheaper", ts="1700000002.000100", thread_ts="1700000001.000100")
    message(bot, client, "and smaller", ts="1700000003.000100", thread_ts="1700000001.000100")
    assert {t[0] for t in agent.turns} == {f"slack:{TEAM}:C0CHAN:1700000001.000100"}
    assert len(agent.turns) == 3
    assert all(p.params["thread_ts"] == "1700000001.000100" for p in api.answered())


def test_channel_chatter_other_bots_and_edits_are_ignored(
    bot: SlackBot, client: WebClient, api: SlackApi, agent: FakeAgent
) -> None:
    message(bot, client, "hello all", ts="1700000001.000100")  # not in a thread of ours
    message(bot, client, "hi", ts="1700000002.000100", thread_ts="1700000000.000100")  # a thread we never joined
    message(bot, client, "<@UBOT> x", ts="1700000003.000100", channel_type="im", user=BOT_USER)  # ourselves
    message(bot, client, "x", ts="1700000004.000100", channel_type="im", bot_id="BOTHER")
    message(bot, client, "x", ts="1700000005.000100", channel_type="im", subtype="message_changed")
    assert agent.turns == [] and api.answered() == []


def test_a_direct_message_is_answered_once_even_when_slack_retries(
    bot: SlackBot, client: WebClient, api: SlackApi, agent: FakeAgent
) -> None:
    for _ in range(2):
        message(bot, client, "a caliper", channel="D0DM", ts="1700000001.000100", channel_type="im")
    assert len(agent.turns) == 1
    assert api.answered()[0].params["thread_ts"] == "1700000001.000100"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@UBOT>", "Please type a message"),
        ("<@UBOT> fail", "this turn failed and was undone"),
        ("<@UBOT> boom", SORRY),
    ],
)
def test_bad_turns_get_a_sentence_in_the_thread_never_a_traceback(
    bot: SlackBot, client: WebClient, api: SlackApi, text: str, expected: str
) -> None:
    mention(bot, client, text, ts="1700000001.000100")
    (post,) = api.answered()
    assert expected in post.params["text"] and "Traceback" not in json.dumps(post.params)
    assert post.params["thread_ts"] == "1700000001.000100"


def test_an_oversized_message_is_read_in_part_with_a_note(
    bot: SlackBot, client: WebClient, api: SlackApi, agent: FakeAgent
) -> None:
    mention(bot, client, "<@UBOT> " + "caliper " * 5000, ts="1700000001.000100")
    assert len(agent.turns[0][1]) <= 100
    assert "I read the first 100" in json.dumps(api.answered()[0].params["blocks"])


def test_a_button_disputes_its_item_in_its_thread(
    bot: SlackBot, client: WebClient, api: SlackApi, agent: FakeAgent
) -> None:
    mention(bot, client, "<@UBOT> a caliper", ts="1700000001.000100")
    click(bot, client, api.answered()[0], 2)
    thread = f"slack:{TEAM}:C0CHAN:1700000001.000100"
    assert agent.turns[-1] == (thread, "That's wrong.", "I2")
    revised = api.answered()[1]
    assert revised.params["thread_ts"] == "1700000001.000100"
    assert "I2" not in [parse_dispute_value(b["value"])[1] for b in buttons(revised.params["blocks"])]


def test_button_refusals(bot: SlackBot, client: WebClient, api: SlackApi, agent: FakeAgent) -> None:
    mention(bot, client, "<@UBOT> a caliper", ts="1700000001.000100")
    mention(bot, client, "<@UBOT> a scale", ts="1700000002.000100")
    first, second = api.answered()
    click(bot, client, first, 1)  # removes I1
    click(bot, client, first, 1)  # the same stale button again
    click(bot, client, first, 2, value="not json")
    click(bot, client, first, 2, value=dispute_value(f"slack:{TEAM}:C0CHAN:1700000002.000100", "I5"))  # other thread
    agent.picks.clear()  # the checkpoints are gone
    click(bot, client, second, 1)
    assert texts(api)[3:] == [STALE_ITEM, BAD_BUTTON, BAD_BUTTON, EXPIRED]
    assert [t[2] for t in agent.turns] == [None, None, "I1"]


def test_a_click_without_a_place_to_answer_is_dropped(bot: SlackBot, client: WebClient, api: SlackApi) -> None:
    bot.answer_dispute({"type": "block_actions", "actions": [{"value": "x"}]}, client)
    assert api.answered() == []


# --- the Bolt app: signatures, lazy listeners, rate limits, secrets -------------------------------------------------


def dispatch(app: Any, body: str, content_type: str = "application/json", **kw: Any) -> Any:
    return app.dispatch(BoltRequest(body=body, headers=signed_headers(body, content_type, **kw)))


def test_the_app_acks_at_once_and_answers_later(api: SlackApi, client: WebClient, agent: FakeAgent) -> None:
    app = build_app(settings(), agent, client=client, attributes=attributes)
    started = time.monotonic()
    response = dispatch(app, event_body("<@UBOT> a caliper", ts="1700000001.000100"))
    assert response.status == 200 and time.monotonic() - started < 1
    (post,) = api.wait_for("chat.postMessage", 1)
    response = dispatch(app, action_body(post, 1), "application/x-www-form-urlencoded")
    assert response.status == 200
    api.wait_for("chat.postMessage", 2)
    assert agent.turns[-1][2] == "I1"


def post(url: str, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_http_server_refuses_what_is_not_a_signed_slack_payload(
    api: SlackApi, client: WebClient, agent: FakeAgent
) -> None:
    app = build_app(settings(), agent, client=client, attributes=attributes)
    server = http_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}{EVENTS_PATH}"
    form = "application/x-www-form-urlencoded"
    try:
        body = event_body("<@UBOT> x")
        assert post(url, body, signed_headers(body, "application/json", secret="forged")) == 401
        assert post(url, body, signed_headers(body, "application/json", age_s=6 * 60)) == 401
        for bad, kind in (("{not json", "application/json"), ("[]", "application/json"), ("payload=x", form)):
            assert post(url, bad, signed_headers(bad, kind)) == 400
        big = "x" * (MAX_BODY_BYTES + 1)
        assert post(url, big, signed_headers(big, "application/json")) == 413
        assert post(url.replace("/slack/events", "/other"), body, signed_headers(body, "application/json")) == 404
        weird = json.dumps({"type": "event_callback", "team_id": TEAM, "event": {"type": "app_mention"}})
        assert post(url, weird, signed_headers(weird, "application/json")) == 200  # acked; nothing to answer
        time.sleep(0.3)
        assert agent.turns == [] and api.answered() == []
    finally:
        server.shutdown()
        server.server_close()


def test_rate_limited_calls_wait_and_retry_within_bounds(api: SlackApi) -> None:
    client = web_client(settings(rate_limit_retries=1), base_url=api.url)
    api.rate_limit("chat.postMessage")
    started = time.monotonic()
    client.chat_postMessage(channel="C1", text="hi")
    assert time.monotonic() - started >= 1  # Retry-After: 1
    assert [c.status for c in api.calls if c.method == "chat.postMessage"] == [429, 200]
    api.rate_limit("chat.postMessage", 2)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="hi")
    assert [c.status for c in api.calls if c.method == "chat.postMessage"][2:] == [429, 429]


def test_a_long_retry_after_is_not_waited_for(api: SlackApi) -> None:
    client = web_client(settings(max_retry_after_s=1), base_url=api.url)
    api.rate_limit("chat.postMessage")
    client.retry_handlers[-1].max_wait_s = 0  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="hi")
    assert time.monotonic() - started < 1


def test_tokens_are_never_logged(
    api: SlackApi, client: WebClient, agent: FakeAgent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = build_app(settings(), agent, client=client, attributes=attributes)
    dispatch(app, event_body("<@UBOT> a caliper"))
    api.wait_for("chat.postMessage", 1)
    client.apps_connections_open(app_token=APP_TOKEN)  # what Socket Mode calls, with the app token as a parameter
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "chat.postMessage" in logged  # the client did log at DEBUG
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in logged and secret[-12:] not in logged


# --- settings and the command -------------------------------------------------------------------------------------


def test_settings_say_which_variables_a_mode_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_TOKEN", "SIGNING_SECRET", "APP_TOKEN"):
        monkeypatch.delenv(f"LLMREC_SLACK_{name}", raising=False)
    empty = SlackSettings(_env_file=None)  # type: ignore[call-arg]
    assert empty.missing("socket") == ["LLMREC_SLACK_BOT_TOKEN", "LLMREC_SLACK_APP_TOKEN"]
    assert empty.missing("http") == ["LLMREC_SLACK_BOT_TOKEN", "LLMREC_SLACK_SIGNING_SECRET"]
    assert settings().missing() == [] and settings().misplaced() == []
    swapped = settings(bot_token=APP_TOKEN, app_token=BOT_TOKEN)
    assert len(swapped.misplaced()) == 2 and BOT_TOKEN not in repr(swapped) + str(swapped.misplaced())


def test_the_command_refuses_without_tokens_in_one_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from ui.cli import app

    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("BOT_TOKEN", "SIGNING_SECRET", "APP_TOKEN"):
        monkeypatch.delenv(f"LLMREC_SLACK_{name}", raising=False)
    result = CliRunner().invoke(app, ["slack", "--mode", "http"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "LLMREC_SLACK_BOT_TOKEN and LLMREC_SLACK_SIGNING_SECRET" in lines[0]
    result = CliRunner().invoke(app, ["slack", "--mode", "carrier-pigeon"])
    assert result.exit_code == 2 and "mode" in result.output


def test_the_command_has_help() -> None:
    from ui.cli import app

    result = CliRunner().invoke(app, ["slack", "--help"])
    assert result.exit_code == 0
    assert "--mode" in result.output and "--port" in result.output and "--domain" in result.output


def test_the_heartbeat_touches_its_file_only_while_connected(tmp_path: Any) -> None:
    from ui.slack_cli import _heartbeat

    up, down = tmp_path / "up", tmp_path / "down"
    _heartbeat(up, lambda: True, every_s=0.05)
    _heartbeat(down, lambda: False, every_s=0.05)
    time.sleep(0.3)
    assert up.exists() and not down.exists()


def test_socket_mode_uses_the_apps_client(api: SlackApi, client: WebClient, agent: FakeAgent) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    app = build_app(settings(mode="socket"), agent, client=client, attributes=attributes)
    handler = SocketModeHandler(app, APP_TOKEN)  # connects only on start()
    # so its apps.connections.open call goes through the redacting logger and the rate-limit retries
    assert handler.client.web_client is app.client
    assert handler.client.web_client.logger is client.logger
