"""The Chainlit web chat: a thin adapter over agent/ (started by `llmrec serve`, see ui/serve_cli.py).

One browser conversation is one LangGraph thread (`web-<hex>`, kept in the Chainlit user session); the page
`/?thread=<id>` reopens it after a reload or a restart, its transcript replayed from the checkpointer. A turn runs
on a worker thread; its events come back over an asyncio queue: tool calls become Steps, the rationale streams into
a Step while the model writes it, then every committed item is a card with the reason for it, the grounding marks of
the claims about it (✓ relational and true, ✗ not) and a "That's wrong" button; the rationale has one too. A button
disputes exactly as `/dispute N` does in `llmrec chat` (the item id goes with the message); typed disputes go through
the agent's intent classifier. Chat settings pick the catalog (a new conversation). Logins only when LLMREC_UI_USERS
or LLMREC_UI_USERS_FILE name users (ui/web_auth.py).
"""

# Chainlit's send/update/user_session methods carry no annotations.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from ui.chainlit_home import prepare_app_root

prepare_app_root()  # before Chainlit is imported: importing it writes its config folder into its app root

import asyncio  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Awaitable, Callable, Mapping, Sequence  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import parse_qs, urlsplit  # noqa: E402

import chainlit as cl  # noqa: E402
from chainlit.input_widget import InputWidget, Select  # noqa: E402
from chainlit.utils import utc_now  # noqa: E402

from agent.errors import AgentError  # noqa: E402
from agent.session import Event, RecommenderAgent, TurnResult  # noqa: E402
from agent.state import Claim  # noqa: E402
from tools.datasets import DOMAINS  # noqa: E402
from tools.errors import ToolsError  # noqa: E402
from ui.settings import WebSettings  # noqa: E402
from ui.turn_format import (  # noqa: E402
    SUPPORTED,
    UNSUPPORTED,
    claim_line,
    claims_about,
    disputed_claim,
    distinct_claims,
    grounding_summary,
    key_attributes,
    rationale_labels,
    tool_call_text,
)
from ui.web_auth import check_login, configured_users  # noqa: E402

log = logging.getLogger(__name__)

DISPUTE_ACTION = "dispute"
DISPUTE_LABEL = "That's wrong"
EXPIRED = "This button belongs to an earlier conversation, which has ended; ask again here and dispute the new answer."
STALE_ITEM = "That item is not in the latest recommendation any more; dispute one of the current items instead."
BUSY = "Still working on your last message; wait for its answer, then try again."
TOOL_OUTPUT_CHARS = 1500
"""A search returns 20 items (about 4,000 characters); the first ones are enough to see what it found."""

_USER_ERRORS = (AgentError, ToolsError)
_agents: dict[str, RecommenderAgent] = {}
_agents_lock = asyncio.Lock()
_background: set[asyncio.Task[None]] = set()


# --- pure helpers (unit-tested without a browser) ---------------------------------------------------------------


def page_query(environ: Mapping[str, Any]) -> dict[str, str]:
    """The query of the page that opened the web socket (`/?thread=web-1a2b`), first value of each key."""
    referer = str(environ.get("HTTP_REFERER") or "")
    return {k: v[0] for k, v in parse_qs(urlsplit(referer).query).items() if v and v[0]}


def thread_prefix(login: str | None) -> str:
    """`web-` for everyone when there are no logins; `web-<login>-` so that a login reopens only its own threads."""
    return f"web-{re.sub(r'[^A-Za-z0-9_.@-]', '_', login)}-" if login else "web-"


def new_thread_id(login: str | None) -> str:
    return f"{thread_prefix(login)}{uuid.uuid4().hex[:12]}"


def may_reopen(thread: str, login: str | None) -> bool:
    """Without logins any thread id may be reopened (as with `llmrec chat --thread`); with them, only one's own."""
    # The whole id, not a prefix: "web-alice-" must not open "web-alice-x-<id>", a thread of the login "alice-x".
    return login is None or re.fullmatch(re.escape(thread_prefix(login)) + "[0-9a-f]{12}", thread) is not None


def item_card(number: int, item: Mapping[str, Any], attributes: Mapping[str, Any], claims: Sequence[Claim]) -> str:
    """Markdown of one committed item: title, id and key attributes, the reason, the marked claims about it."""
    # The reason is often an attribute already ("category: ..."): not twice on one card.
    shown = {k: v for k, v in attributes.items() if f"{k}: {v}" not in item["reason"]}
    facts = " · ".join([f"`{item['item_id']}`", *(f"{k}: {v}" for k, v in key_attributes(shown))])
    reason = (
        f"{SUPPORTED} {item['reason']}"
        if item["grounded"]
        else f"{item['reason']} _(its links, not the rationale: no claim of the rationale about it holds)_"
    )
    lines = [f"**{number}. {item['title']}**", facts, f"**Why:** {reason}"]
    lines += [claim_line(c) for c in claims_about(item["item_id"], claims)]
    return "\n".join(lines)


def rationale_card(result: TurnResult) -> str:
    """Markdown under the streamed rationale: its distinct claims with their marks, and the grounding score."""
    lines = [f"**Rationale checked against its links** ({SUPPORTED} ties an item to you and holds, {UNSUPPORTED} not)"]
    # The rationale names candidates by labels the numbered cards do not show ("Option H has ..."): place them.
    labels = rationale_labels(result)
    if labels:
        lines.append(f"_{labels}_")
    lines += [claim_line(c) for c in distinct_claims(result.claims)] or ["_(no checkable claims)_"]
    summary = grounding_summary(result)
    if summary:
        lines.append(f"_{summary}_")
    return "\n".join(lines)


def dispute_payload(thread: str, *, item: Mapping[str, Any] | None = None, claim: str | None = None) -> dict[str, str]:
    """What a "That's wrong" button carries: the conversation it belongs to and the item or claim it disputes."""
    payload = {"thread": thread}
    if item is not None:
        payload |= {"item_id": item["item_id"], "title": item["title"]}
    if claim:
        payload["claim"] = claim
    return payload


def dispute_problem(payload: Mapping[str, Any], thread: str | None, current_items: Sequence[str]) -> str | None:
    """Why a button's dispute cannot run now (a sentence for the user), or None when it can."""
    if not thread or payload.get("thread") != thread:
        return EXPIRED
    item_id = payload.get("item_id")
    if item_id is not None and item_id not in current_items:
        return STALE_ITEM
    return None


def dispute_message(payload: Mapping[str, Any]) -> str:
    """The user's side of a button press, as the transcript keeps it."""
    if payload.get("title"):
        return f"That's wrong: {payload['title']}"
    if payload.get("claim"):
        return f'That\'s wrong: "{payload["claim"]}"'
    return "That's wrong."


async def stream_turn(
    turn: Callable[[Callable[[Event], None]], TurnResult], sink: Callable[[Event], Awaitable[None]]
) -> TurnResult:
    """Run the blocking `turn(on_event)` on a worker thread; hand each event to `sink` on this event loop as it
    comes; return the turn's result (or raise its error) once every event has been handed over."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def forward(event: Event) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    def work() -> TurnResult:
        try:
            return turn(forward)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    worker = asyncio.ensure_future(asyncio.to_thread(work))
    while (event := await queue.get()) is not None:
        await sink(event)
    return await worker


# --- Chainlit views ---------------------------------------------------------------------------------------------


class TurnView:
    """Shows one turn's events while they come: tool calls as Steps, the rationale streaming into a Step."""

    def __init__(self) -> None:
        # The turn's steps hang under one message sent first, so they stay above the cards that come later.
        self.head = cl.Message(content="")
        self.started = False
        self.rationale: cl.Step | None = None
        self.tools: dict[str, list[cl.Step]] = {}

    async def __call__(self, event: Event) -> None:
        kind, payload = event
        if not self.started:
            self.started = True
            await self.head.send()
        if kind == "tool_call":
            step = cl.Step(name=payload["name"], type="tool", show_input="text", parent_id=self.head.id)
            step.input = tool_call_text(payload["name"], payload["args"])
            await step.send()
            self.tools.setdefault(payload["name"], []).append(step)
        elif kind == "tool_result":
            pending = self.tools.get(payload["name"]) or [
                cl.Step(name=payload["name"], type="tool", parent_id=self.head.id)
            ]
            step = pending.pop(0)
            content = payload["content"]
            step.output = content if len(content) <= TOOL_OUTPUT_CHARS else content[:TOOL_OUTPUT_CHARS] + " …"
            await step.update()
        elif kind == "token":
            if self.rationale is None:
                # Open while it streams, folded once written: the checked claims follow in their own card.
                self.rationale = cl.Step(
                    name="Rationale", type="llm", default_open=True, auto_collapse=True, parent_id=self.head.id
                )
                self.rationale.start = utc_now()
                await self.rationale.send()
            await self.rationale.stream_token(payload)
        elif kind == "reply":
            await self.head.stream_token(payload)
        elif kind == "node" and payload == "reason" and self.rationale is not None:
            self.rationale.end = utc_now()
            await self.rationale.update()

    async def finish(self, result: TurnResult, agent: RecommenderAgent) -> None:
        """The committed items as cards, the checked rationale, notes; or the plain answer of a turn without items."""
        thread = result.thread
        if result.revision is not None:
            self.head.content = f"**Revised.** {result.revision['summary']}"
        elif result.items:
            self.head.content = "My picks, each with its reason and what the catalog backs (✓) or not (✗):"
        else:
            self.head.content = result.answer
        await (self.head.update() if self.started else self.head.send())
        if result.items:
            catalog = agent.context.retrievers.dataset.items
            for number, item in enumerate(result.items, start=1):
                attributes = catalog[item["item_id"]].attributes if item["item_id"] in catalog else {}
                action = cl.Action(
                    name=DISPUTE_ACTION,
                    payload=dispute_payload(thread, item=item),
                    label=DISPUTE_LABEL,
                    tooltip=f"Dispute item {number}",
                    icon="thumbs-down",
                )
                await cl.Message(content=item_card(number, item, attributes, result.claims), actions=[action]).send()
            action = cl.Action(
                name=DISPUTE_ACTION,
                payload=dispute_payload(thread, claim=disputed_claim(result.claims)),
                label=DISPUTE_LABEL,
                tooltip="Dispute the rationale",
                icon="thumbs-down",
            )
            await cl.Message(content=rationale_card(result), actions=[action]).send()
        for note in result.notes:
            await cl.Message(content=f"_note: {note}_").send()


# --- session state ----------------------------------------------------------------------------------------------


async def get_agent(domain: str) -> RecommenderAgent:
    """The domain's agent, opened once per process on a worker thread; later domains share the first one's model."""
    async with _agents_lock:
        agent = _agents.get(domain)
        if agent is None:
            shared = next(iter(_agents.values()), None)
            llm = shared.context.llm if shared is not None else None
            agent = await asyncio.to_thread(RecommenderAgent.open, domain, llm=llm, progress=False)
            _agents[domain] = agent
        return agent


def _login() -> str | None:
    user = cl.user_session.get("user")
    return user.identifier if user is not None else None


def _turn_lock() -> asyncio.Lock:
    lock = cl.user_session.get("turn_lock")
    if not isinstance(lock, asyncio.Lock):
        lock = asyncio.Lock()
        cl.user_session.set("turn_lock", lock)
    return lock


def _domain_settings(domain: str) -> cl.ChatSettings:
    values = list(DOMAINS)
    inputs: list[InputWidget] = [
        Select(
            id="domain",
            label="Catalog",
            values=values,
            initial_index=values.index(domain) if domain in values else 0,
            description="Changing the catalog starts a new conversation.",
        )
    ]
    return cl.ChatSettings(inputs)


async def _open_or_say(domain: str) -> RecommenderAgent | None:
    if domain not in _agents:
        await cl.Message(content=f"Loading the {domain} catalog, its indexes and the model...").send()
    try:
        return await get_agent(domain)
    except _USER_ERRORS as exc:
        log.warning("cannot open the %s agent", domain, exc_info=exc)
        await cl.Message(content=f"The {domain} catalog cannot be opened: {exc}").send()
        return None


def _remember(thread: str, domain: str, items: Sequence[str]) -> None:
    cl.user_session.set("thread", thread)
    cl.user_session.set("domain", domain)
    cl.user_session.set("items", list(items))


async def _start_thread(domain: str, *, reopen: str | None = None) -> None:
    agent = await _open_or_say(domain)
    if agent is None:
        return
    login = _login()
    if reopen and may_reopen(reopen, login) and agent.thread_exists(reopen):
        owner_domain = agent.values(reopen).get("domain", domain)
        if owner_domain != domain:
            opened = await _open_or_say(owner_domain)
            if opened is None:
                return
            agent, domain = opened, owner_domain
        await _replay(agent, reopen, domain)
        return
    thread = new_thread_id(login)
    _remember(thread, domain, [])
    note = f"No conversation {reopen!r} here, so this is a new one. " if reopen else ""
    await cl.Message(
        content=f"{note}New conversation about the **{domain}** catalog. Say what you are looking for.  \n"
        f"_Come back to it at [/?thread={thread}](/?thread={thread})._"
    ).send()


async def _replay(agent: RecommenderAgent, thread: str, domain: str) -> None:
    """Show a reopened conversation: its transcript, and buttons on its last answer's items."""
    values = agent.values(thread)
    picks = [p for p in values.get("picks") or [] if values.get("intent") in ("request", "dispute")]
    _remember(thread, domain, [p["item_id"] for p in picks])
    transcript = agent.transcript(thread)
    for index, (role, text) in enumerate(transcript):
        if role == "user":
            await cl.Message(content=text, type="user_message", author=_login() or "You").send()
            continue
        last = index == len(transcript) - 1
        actions = (
            [
                cl.Action(
                    name=DISPUTE_ACTION,
                    payload=dispute_payload(thread, item=p),
                    label=f"{DISPUTE_LABEL}: {n}",
                    tooltip=p["title"],
                    icon="thumbs-down",
                )
                for n, p in enumerate(picks, start=1)
            ]
            if last
            else []
        )
        await cl.Message(content=text, actions=actions).send()
    await cl.Message(content=f"_Reopened conversation {thread} ({domain} catalog)._").send()


async def _run_turn(text: str, *, item_id: str | None = None, claim: str | None = None) -> None:
    thread = cl.user_session.get("thread")
    domain = cl.user_session.get("domain")
    if thread is None or domain is None:
        await cl.Message(content=EXPIRED).send()
        return
    lock = _turn_lock()
    if lock.locked():
        await cl.Message(content=BUSY).send()
        return
    async with lock:
        agent = await _open_or_say(domain)
        if agent is None:
            return
        view = TurnView()
        user_id = cl.user_session.get("catalog_user")

        def turn(on_event: Callable[[Event], None]) -> TurnResult:
            return agent.turn(
                thread, text, user_id=user_id, dispute_item=item_id, dispute_claim=claim, on_event=on_event
            )

        try:
            result = await stream_turn(turn, view)
        except _USER_ERRORS as exc:
            await cl.Message(content=str(exc)).send()
            return
        cl.user_session.set("items", [i["item_id"] for i in result.items] if result.items else [])
        await view.finish(result, agent)


# --- Chainlit callbacks -----------------------------------------------------------------------------------------


@cl.on_chat_start
async def on_chat_start() -> None:
    query = page_query(cl.context.session.environ)
    cl.user_session.set("catalog_user", query.get("user"))
    domain = WebSettings().domain
    await _start_thread(domain, reopen=query.get("thread"))
    await _domain_settings(cl.user_session.get("domain") or domain).send()


@cl.on_settings_update
async def on_settings_update(settings: dict[str, Any]) -> None:
    domain = settings.get("domain")
    if domain and domain != cl.user_session.get("domain"):
        await _start_thread(domain)


@cl.on_message
async def on_message(message: cl.Message) -> None:
    await _run_turn(message.content)


@cl.action_callback(DISPUTE_ACTION)
async def on_dispute(action: cl.Action) -> None:
    problem = dispute_problem(action.payload, cl.user_session.get("thread"), cl.user_session.get("items") or [])
    if problem is not None:
        await cl.Message(content=problem).send()
        return
    text = dispute_message(action.payload)
    await cl.Message(content=text, type="user_message", author=_login() or "You").send()
    await _run_turn(text, item_id=action.payload.get("item_id"), claim=action.payload.get("claim"))


async def _warm_up(domain: str) -> None:
    try:
        await get_agent(domain)
    except _USER_ERRORS as exc:
        log.warning("the %s catalog could not be opened ahead of the first visitor", domain, exc_info=exc)


@cl.on_app_startup
async def on_app_startup() -> None:
    # Open the first catalog and the model (10-40 s) while the first visitor reads the welcome page.
    task = asyncio.get_running_loop().create_task(_warm_up(WebSettings().domain))
    _background.add(task)
    task.add_done_callback(_background.discard)


@cl.on_app_shutdown
async def on_app_shutdown() -> None:
    for agent in _agents.values():
        agent.close()
    _agents.clear()


_users = configured_users(WebSettings())
if _users:

    @cl.password_auth_callback
    async def on_login(username: str, password: str) -> cl.User | None:
        ok = await asyncio.to_thread(check_login, _users, username, password)
        if not ok:
            log.info("failed login for %r", username)
            return None
        return cl.User(identifier=username, metadata={"provider": "credentials"})
