"""The Slack bot: a Bolt app over one `RecommenderAgent`, one conversation per Slack thread.

    app = build_app(SlackSettings(), agent)          # `llmrec slack` does this (ui/slack_cli.py)
    SocketModeHandler(app, app_token).start()        # Socket Mode, or:
    http_server(app, "127.0.0.1", 3000).serve_forever()  # HTTP mode: POST /slack/events

A mention in a channel, a direct message, or a reply in a thread the bot already answers starts a turn; the answer
goes into that message's thread. Each item carries a "That's wrong" button whose value names the conversation and the
item; a click runs a dispute turn (as `/dispute N` in `llmrec chat`) and posts the revision in the same thread.

Slack wants an acknowledgement within 3 s and a turn takes about 9 s on a CPU, so every listener acknowledges at once
and does the work in a Bolt lazy listener (a worker thread); turns run one at a time (one model, and the two turns of
one thread must not interleave). In HTTP mode Bolt verifies each request's signature and timestamp (401 otherwise).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from slack_bolt import Ack, App, BoltContext
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RateLimitErrorRetryHandler, RetryState

from agent.errors import ConversationError, TurnFailedError
from agent.session import TurnResult
from ui.settings import SlackSettings
from ui.slack_blocks import (
    DISPUTE_ACTION,
    DISPUTE_TEXT,
    BadPayloadError,
    Where,
    answer_message,
    mentions,
    message_text,
    notice_message,
    parse_dispute_value,
    where,
)

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000
"""Slack's payloads are a few kB (a 40,000-character message is the largest); anything bigger is refused (413)."""

SORRY = "Sorry, something went wrong on my side; the conversation is unchanged, so you can simply try again."
EXPIRED = (
    "I no longer have this conversation (it was reset or has expired), so there is nothing to revise. "
    "Mention me with what you are looking for to start again."
)
STALE_ITEM = "That item is not in my latest answer any more, so nothing changed. Use the buttons of my last answer."
BAD_BUTTON = "That button does not belong to this conversation, so nothing changed."


class SlackAgent(Protocol):
    """What the bot needs of `agent.session.RecommenderAgent` (fakes in the unit tests provide the same)."""

    def turn(self, thread: str, message: str, *, dispute_item: str | None = None) -> TurnResult: ...

    def thread_exists(self, thread: str) -> bool: ...

    def values(self, thread: str) -> dict[str, Any]: ...


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (waits Retry-After, then retries) that gives up when asked to wait too long."""

    def __init__(self, max_retry_count: int, max_wait_s: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_s = max_wait_s

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None
        wait = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        try:
            return int(wait[0]) <= self.max_wait_s
        except (ValueError, IndexError):
            return False


class _RedactSecrets(logging.Filter):
    """Replaces the tokens in a record's message. slack_sdk logs a call's body parameters at DEBUG, and a call that
    passes its token as a parameter (Bolt's start-up auth.test, Socket Mode's apps.connections.open) would log it."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "(redacted)")
            record.msg, record.args = message, None
        return True


_redact = _RedactSecrets()
_web_log = logging.getLogger(f"{__name__}.web_api")
_web_log.addFilter(_redact)


def web_client(settings: SlackSettings, *, base_url: str | None = None) -> WebClient:
    """The Web API client: the bot token, bounded retries on rate limits (429) besides connection errors, and a
    logger that never shows a token (Bolt gives each request a copy of this client, logger and retries included)."""
    for secret in (settings.bot_token, settings.app_token, settings.signing_secret):
        if secret is not None and secret.get_secret_value():
            _redact.secrets.add(secret.get_secret_value())
    token = settings.bot_token.get_secret_value() if settings.bot_token is not None else None
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL, logger=_web_log)
    client.retry_handlers.append(BoundedRateLimitRetryHandler(settings.rate_limit_retries, settings.max_retry_after_s))
    return client


class SlackBot:
    """Listeners of the Bolt app: Slack payload in, agent turn, Block Kit answer out in the same thread."""

    def __init__(self, agent: SlackAgent, attributes: Callable[[str], Mapping[str, Any]]) -> None:
        self.agent = agent
        self.attributes = attributes
        self._turns = threading.Lock()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._seen_lock = threading.Lock()

    # --- listeners (Bolt injects arguments by name) -----------------------------------------------------------

    def answer_mention(self, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """@llmrec in a channel: answer in the mention's thread (a new conversation unless it is a reply)."""
        event = body.get("event") or {}
        self._answer_event(body, event, context, client)

    def answer_message(self, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """A direct message, or a reply in a channel thread the bot already converses in."""
        event = body.get("event") or {}
        if event.get("subtype") or event.get("bot_id") or event.get("user") in (None, context.bot_user_id):
            return  # edits, joins, other bots, ourselves
        if event.get("channel_type") != "im":
            if "thread_ts" not in event or mentions(event.get("text"), context.bot_user_id):
                return  # a mention is answered by answer_mention; other channel chatter is not ours
            try:
                place = self._where(body, event)
            except BadPayloadError:
                return
            if not self.agent.thread_exists(place.thread):
                return
        self._answer_event(body, event, context, client)

    def answer_dispute(self, body: dict[str, Any], client: WebClient) -> None:
        """A "That's wrong" button: a dispute turn about that item, answered in the button's thread."""
        try:
            place = self._action_where(body)
        except BadPayloadError as exc:
            log.warning("ignored a button click: %s", exc)
            return
        try:
            actions = body.get("actions") or [{}]
            thread, item = parse_dispute_value(actions[0].get("value"))
        except (BadPayloadError, AttributeError) as exc:
            log.warning("refused a button click: %s", exc)
            self._post(client, place, *notice_message(BAD_BUTTON))
            return
        if not _same_slack_thread(thread, place):
            log.warning("refused a button click: its value names %s, the click came from %s", thread, place.thread)
            self._post(client, place, *notice_message(BAD_BUTTON))
            return
        self._run(client, place, thread, DISPUTE_TEXT, dispute_item=item)

    # --- the work ---------------------------------------------------------------------------------------------

    def _answer_event(
        self, body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        try:
            place = self._where(body, event)
        except BadPayloadError as exc:
            log.warning("ignored an event: %s", exc)
            return
        if not self._first_time(place.channel, str(event.get("ts"))):
            return  # Slack's retry of an event we already took, or the message event of a mention
        self._run(client, place, place.thread, message_text(event.get("text"), context.bot_user_id))

    def _run(self, client: WebClient, place: Where, thread: str, text: str, *, dispute_item: str | None = None) -> None:
        try:
            with self._turns:
                if dispute_item is not None:
                    refusal = self._dispute_refusal(thread, dispute_item)
                    if refusal:
                        self._post(client, place, *notice_message(refusal))
                        return
                result = self.agent.turn(thread, text, dispute_item=dispute_item)
        except (ConversationError, TurnFailedError) as exc:
            self._post(client, place, *notice_message(str(exc)))
            return
        except Exception:
            log.exception("turn of thread %s failed", thread)
            self._post(client, place, *notice_message(SORRY))
            return
        self._post(client, place, *answer_message(result, self.attributes))

    def _dispute_refusal(self, thread: str, item: str) -> str | None:
        if not self.agent.thread_exists(thread):
            return EXPIRED
        picks = self.agent.values(thread).get("picks") or []
        if item not in {p["item_id"] for p in picks}:
            return STALE_ITEM
        return None

    def _post(self, client: WebClient, place: Where, text: str, blocks: list[dict[str, Any]]) -> None:
        try:
            client.chat_postMessage(
                channel=place.channel,
                thread_ts=place.thread_ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            log.error("could not post to %s: %s", place.thread, exc.response.get("error"))

    @staticmethod
    def _where(body: dict[str, Any], event: dict[str, Any]) -> Where:
        return where(body.get("team_id"), event.get("channel"), event.get("thread_ts") or event.get("ts"))

    @staticmethod
    def _action_where(body: dict[str, Any]) -> Where:
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        thread_ts = container.get("thread_ts") or message.get("thread_ts") or message.get("ts")
        return where((body.get("team") or {}).get("id"), channel, thread_ts)

    def _first_time(self, channel: str, ts: str) -> bool:
        with self._seen_lock:
            key = (channel, ts)
            if key in self._seen:
                return False
            self._seen[key] = None
            if len(self._seen) > 10_000:
                self._seen.popitem(last=False)
            return True


def _same_slack_thread(thread: str, place: Where) -> bool:
    # The team part may differ in a shared channel (the clicking user's team); channel and thread must not.
    return thread.split(":")[2:] == [place.channel, place.thread_ts]


def _ack(ack: Ack) -> None:
    ack()


def _log_error(error: Exception, logger: logging.Logger) -> None:
    logger.error("Slack listener failed", exc_info=error)


def build_app(
    settings: SlackSettings,
    agent: SlackAgent,
    *,
    client: WebClient | None = None,
    attributes: Callable[[str], Mapping[str, Any]] | None = None,
) -> App:
    """The Bolt app for `agent` (one domain). `client` defaults to `web_client(settings)`; `attributes` gives an
    item's catalog attributes for its card (default: the agent's catalog). Calls auth.test once, so a bad bot token
    fails here (SlackApiError, e.g. invalid_auth)."""
    if attributes is None:
        attributes = _catalog_attributes(agent)
    signing_secret = settings.signing_secret.get_secret_value() if settings.signing_secret is not None else ""
    client = client or web_client(settings)
    # Bolt's own start-up check sends the token as a body parameter (logged at DEBUG); this one sends it only in
    # the Authorization header, which slack_sdk redacts.
    client.auth_test()
    app = App(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=False,
        # Listeners only acknowledge; the turns run in lazy listeners, so Slack gets its answer within 3 s in both
        # modes and no request is acknowledged before its work is handed to a worker.
        process_before_response=True,
        name="llmrec",
    )
    bot = SlackBot(agent, attributes)
    app.event("app_mention")(ack=_ack, lazy=[bot.answer_mention])
    app.event("message")(ack=_ack, lazy=[bot.answer_message])
    app.action(DISPUTE_ACTION)(ack=_ack, lazy=[bot.answer_dispute])
    app.error(_log_error)
    return app


def _catalog_attributes(agent: object) -> Callable[[str], Mapping[str, Any]]:
    try:
        items = agent.context.retrievers.dataset.items  # type: ignore[attr-defined]
    except AttributeError:
        items = {}

    def attributes(item_id: str) -> Mapping[str, Any]:
        item = items.get(item_id)
        return item.attributes if item is not None else {}

    return attributes


class _RequestHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, answering 400 to a body that is not a Slack payload instead of failing with a 500."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        try:
            bolt_request = BoltRequest(
                body=request.get_body(), query=request.query_string, headers=request.get_headers()
            )
        except (ValueError, AttributeError, TypeError) as exc:  # JSONDecodeError; a list where an object belongs
            log.warning("refused a request whose body is not a Slack payload: %s", type(exc).__name__)
            return BoltResponse(status=400, body="the request body is not a Slack payload")
        return self.app.dispatch(bolt_request)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


DRAIN_MAX_BYTES = 16 * MAX_BODY_BYTES
"""A refused body up to this size is read and dropped before the 413, so that the client, still sending, gets the
answer instead of a broken pipe; a larger one is cut off (the connection closes on it)."""


def _drain(stream: Any, length: int) -> None:
    left = length if 0 < length <= DRAIN_MAX_BYTES else 0
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)


def _limit_body(wsgi_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def limited(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            _drain(environ["wsgi.input"], length)
            start_response("413 Content Too Large", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"request body too large or of unknown length\n"]
        return wsgi_app(environ, start_response)

    return limited


def http_server(app: App, host: str, port: int) -> WSGIServer:
    """A threaded HTTP server for `app` at POST /slack/events (HTTP mode); `port=0` picks a free port.

    Slack needs HTTPS: put it behind a TLS-terminating reverse proxy (or a tunnel) whose URL is the app's
    Request URL."""
    return make_server(host, port, _limit_body(_RequestHandler(app, EVENTS_PATH)), _ThreadingWSGIServer, _QuietHandler)
