"""One entry point for every front end (CLI, Chainlit, Slack, evals): open the agent of a domain, run turns.

    with RecommenderAgent.open("scientific") as agent:
        result = agent.turn("thread-1", "a digital caliper for a beginner", user_id="A1B2C3")
        result = agent.turn("thread-1", "that's not for beginners")

A turn either completes or leaves no trace: if a model or tool fails half-way, the thread is rolled back to its
checkpoint from before the turn, the caller gets TurnFailedError with a sentence to show, and the next turn works.
If the process died in the middle of a turn (killed, power cut), the thread's last checkpoint is a half-done turn:
the next turn of that thread undoes it first and says so in its notes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.checkpoint import is_store_error, open_checkpointer, restore_if_deleted, store_error
from agent.context import Context
from agent.dispute_kind_model import open_dispute_kind_model
from agent.errors import AgentError, ThreadMismatchError, TurnFailedError, UnknownUserError
from agent.graph import build_graph
from agent.intent_model import open_intent_model
from agent.messages import clean_message
from agent.phrase_model import open_phrase_model
from agent.pick_model import open_pick_model
from agent.prior import calibration_path, load_calibration
from agent.prior_fit import open_prior
from agent.profile import Vocabulary
from agent.runtime import Recommender, load_recommender
from agent.settings import AgentSettings, ModelSettings
from agent.spelling import Speller
from agent.state import ButtonHint, Claim, Revision
from agent.transcript import ANSWER_NAME
from tools.datasets import load_dataset
from tools.embeddings import Encoder
from tools.errors import ToolsError
from tools.langchain_tools import catalog_tools
from tools.search import CatalogRetrievers, catalog_retrievers
from tools.settings import DataSettings, RetrievalSettings

log = logging.getLogger(__name__)

_THREAD_ID = re.compile(r"^[\w.:@/-]{1,128}$")

Event = tuple[str, Any]
"""("token", text) rationale pieces; ("reply", text) free-form reply pieces; ("tool_call", {"name", "args"});
("tool_result", {"name", "content"}); ("node", name) when a step finishes."""


@dataclass
class TurnResult:
    """What one turn produced, ready for a UI or for JSON."""

    thread: str
    intent: str
    answer: str
    rationale: str
    items: list[dict[str, Any]]
    grounding: float | None
    revision: Revision | None
    claims: list[Claim] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    new_thread: bool = False
    trust: dict[str, Any] = field(default_factory=dict)
    """The rationale's other trust figures (copy_rate, repeats, coverage, lexical; agent/trust.py)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "thread": self.thread,
            "intent": self.intent,
            "rationale": self.rationale,
            "items": self.items,
            "grounding": self.grounding,
            "revision": self.revision,
            "answer": self.answer,
            "claims": self.claims,
            "notes": self.notes,
            "new_thread": self.new_thread,
            "trust": self.trust,
        }


class RecommenderAgent:
    """The compiled graph of one domain, its run-time context and its checkpointer."""

    def __init__(self, graph: Any, context: Context, *, max_message_chars: int = 4000) -> None:
        self.graph = graph
        self.context = context
        self.max_message_chars = max_message_chars
        self._stack = ExitStack()
        self._thread_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        domain: str,
        *,
        model_settings: ModelSettings | None = None,
        agent_settings: AgentSettings | None = None,
        retrieval_settings: RetrievalSettings | None = None,
        llm: Recommender | None = None,
        retrievers: CatalogRetrievers | None = None,
        progress: bool = True,
    ) -> RecommenderAgent:
        """Load the domain's catalog and indexes (built when missing), the model, and the checkpointer."""
        model_settings = model_settings or ModelSettings()
        agent_settings = agent_settings or AgentSettings()
        retrieval_settings = retrieval_settings or RetrievalSettings()
        stack = ExitStack()
        try:
            if retrievers is None:
                dataset = load_dataset(domain, DataSettings())
                retrievers = stack.enter_context(catalog_retrievers(dataset, retrieval_settings, progress=progress))
            # A model handed in is not the configured one: the configured model's calibration does not describe it.
            calibration = None
            if llm is None:
                llm = load_recommender(model_settings)
                calibration = load_calibration(
                    calibration_path(model_settings.model, model_settings.adapter_path, domain), model_settings.identity
                )
            retrievers.sequential(progress=progress)  # trained on first use, with a bar: never in the middle of a turn
            prior = open_prior(retrievers, progress=progress)
            tools = catalog_tools(retrievers)
            checkpointer = stack.enter_context(
                open_checkpointer(
                    agent_settings.checkpoint_url,
                    DataSettings().data_dir,
                    timeout_s=agent_settings.checkpoint_timeout_s,
                )
            )
            dense = retrievers.hybrid.dense
            context = Context(
                intent_model=open_intent_model(),
                dispute_kind_model=open_dispute_kind_model(),
                phrase_model=open_phrase_model(),
                pick_model=open_pick_model(),
                speller=Speller.from_items(retrievers.dataset.items.values()),
                encoder=dense.encoder if dense is not None else Encoder.from_settings(retrieval_settings),
                llm=llm,
                retrievers=retrievers,
                vocabulary=Vocabulary.from_items(retrievers.dataset.items.values()),
                prior=prior,
                calibration=calibration,
                tool_model=_tool_model(agent_settings, model_settings, tools),
                search_k=agent_settings.search_k,
                max_candidates=agent_settings.max_candidates,
                commit_top=agent_settings.commit_top,
                rationale_tokens=model_settings.rationale_max_tokens,
                context_tokens=model_settings.context_tokens,
                intent_cue_weight=agent_settings.intent_cue_weight,
            )
            agent = cls(
                build_graph(tools, checkpointer=checkpointer),
                context,
                max_message_chars=agent_settings.max_message_chars,
            )
        except BaseException:
            stack.close()
            raise
        agent._stack = stack
        return agent

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> RecommenderAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def domain(self) -> str:
        return self.context.domain

    def _config(self, thread: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread}}

    def _state(self, thread: str) -> Any:
        """The thread's latest checkpoint; CheckpointError with a sentence when the store fails."""
        try:
            restore_if_deleted(self.graph.checkpointer)
            return self.graph.get_state(self._config(thread))
        except Exception as exc:
            if is_store_error(exc):
                raise store_error(exc) from exc
            raise

    def thread_exists(self, thread: str) -> bool:
        return bool(self._state(thread).values)

    def values(self, thread: str) -> dict[str, Any]:
        """The thread's current state as a dict (empty for an unknown thread)."""
        return dict(self._state(thread).values)

    def transcript(self, thread: str) -> list[tuple[str, str]]:
        """(role, text) of the user's messages and the agent's answers, oldest first."""
        out: list[tuple[str, str]] = []
        for message in self.values(thread).get("messages", []):
            if isinstance(message, HumanMessage):
                out.append(("user", message.text))
            elif isinstance(message, AIMessage) and message.name == ANSWER_NAME:
                out.append(("assistant", message.text))
        return out

    def turn(
        self,
        thread: str,
        message: str,
        *,
        user_id: str | None = None,
        dispute_item: str | None = None,
        dispute_claim: str | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> TurnResult:
        """Run one turn of `thread`. `dispute_item`/`dispute_claim` come from a "That's wrong" button.

        Raises ConversationError (bad message, unknown user, a thread of another domain or user) before anything
        runs, and TurnFailedError after rolling the thread back when a model or tool fails half-way.
        Turns of one thread run one at a time (a second waits); turns of different threads run concurrently.
        """
        if not _THREAD_ID.match(thread):
            raise ThreadMismatchError(f"Thread ids are 1-128 letters, digits or . _ : @ / -; got {thread[:40]!r}.")
        text, notes = clean_message(message, self.max_message_chars)
        with self._locks_lock:
            lock = self._thread_locks.setdefault(thread, threading.Lock())
        # A turn half-done in the store is taken for one whose process died: only true if no turn of the thread
        # runs here now. (Several app servers must send a thread's messages to one of them at a time.)
        with lock:
            return self._turn(thread, text, notes, user_id, dispute_item, dispute_claim, on_event)

    def _turn(
        self,
        thread: str,
        text: str,
        notes: list[str],
        user_id: str | None,
        dispute_item: str | None,
        dispute_claim: str | None,
        on_event: Callable[[Event], None] | None,
    ) -> TurnResult:
        config = self._config(thread)
        before = self._state(thread)
        if before.next:
            before = self._undo_interrupted(thread, before, notes)
        existing = dict(before.values)
        inputs: dict[str, Any] = {}
        if existing:
            if existing.get("domain") != self.domain:
                raise ThreadMismatchError(
                    f"Conversation {thread!r} is about the {existing.get('domain')} catalog, not {self.domain}; "
                    "open it with that domain or start a new thread."
                )
            if user_id is not None and existing.get("user_id") not in (None, user_id):
                raise ThreadMismatchError(f"Conversation {thread!r} belongs to another user.")
        else:
            if user_id is not None and self.context.retrievers.user(user_id) is None:
                raise UnknownUserError(
                    f"User {user_id!r} is not in the {self.domain} catalog; leave out the user to chat as a new user."
                )
            inputs |= {"domain": self.domain, "user_id": user_id}
        button: ButtonHint = {k: v for k, v in (("item_id", dispute_item), ("claim", dispute_claim)) if v}  # type: ignore[assignment]
        # Always given, so a press never carries over into the next typed turn.
        inputs |= {"messages": [HumanMessage(text)], "button": button or None}
        try:
            for event in self._events(inputs, config):
                if on_event is not None:
                    on_event(event)
        except BaseException as exc:
            try:
                self._roll_back(thread, before)
            except Exception as undo:
                if not is_store_error(undo):
                    raise
                # The half-done turn stays in the store; the thread's next turn undoes it (_undo_interrupted).
                log.warning("could not roll back thread %s now", thread, exc_info=undo)
            shown = store_error(exc) if is_store_error(exc) else exc
            if isinstance(shown, (AgentError, ToolsError, OSError, RuntimeError, ValueError)):
                log.warning("turn of thread %s failed and was rolled back", thread, exc_info=exc)
                raise TurnFailedError(
                    f"Sorry, this turn failed and was undone, so you can simply try again: {shown}"
                ) from exc
            raise
        return self._result(thread, notes, new_thread=not existing)

    def _events(self, inputs: dict[str, Any], config: dict[str, Any]) -> Iterator[Event]:
        stream = self.graph.stream(inputs, config, context=self.context, stream_mode=["custom", "updates"])
        for mode, payload in stream:
            if mode == "custom":
                for key in ("token", "reply"):
                    if key in payload:
                        yield key, payload[key]
                continue
            for node, update in payload.items():
                for msg in (update or {}).get("messages", []) if isinstance(update, dict) else []:
                    if isinstance(msg, AIMessage):
                        for call in msg.tool_calls:
                            yield "tool_call", {"name": call["name"], "args": call["args"]}
                    elif isinstance(msg, ToolMessage):
                        yield "tool_result", {"name": msg.name, "content": msg.text}
                yield "node", node

    def _undo_interrupted(self, thread: str, head: Any, notes: list[str]) -> Any:
        """Roll a thread whose last turn never finished back to its last finished turn; say so in `notes`."""
        try:
            done = next(
                (s for s in self.graph.get_state_history(self._config(thread)) if not s.next and s.values), None
            )
            if done is None:
                self.graph.checkpointer.delete_thread(thread)
            else:
                self._roll_back(thread, done)
            after = self.graph.get_state(self._config(thread))
        except Exception as exc:
            if is_store_error(exc):
                raise store_error(exc) from exc
            raise
        lost = next((m.text for m in reversed(head.values.get("messages", [])) if isinstance(m, HumanMessage)), "")
        log.warning("thread %s: undid a turn interrupted at %s", thread, ", ".join(head.next))
        notes.append(f"your earlier message {lost[:80]!r} was interrupted before I answered and was undone")
        return after

    def _roll_back(self, thread: str, before: Any) -> None:
        if before.values:
            self.graph.update_state(before.config, None)
        else:
            self.graph.checkpointer.delete_thread(thread)

    def _result(self, thread: str, notes: list[str], *, new_thread: bool) -> TurnResult:
        state = self.values(thread)
        answer = next(
            (m.text for m in reversed(state["messages"]) if isinstance(m, AIMessage) and m.name == ANSWER_NAME), ""
        )
        recommended = state.get("intent") in ("request", "dispute") and bool(state.get("candidates"))
        revisions = state.get("revisions") or []
        revision = revisions[-1] if revisions and revisions[-1]["turn"] == state["turn"] - 1 else None
        items = [
            {k: p[k] for k in ("item_id", "title", "reason", "grounded", "label")} for p in (state.get("picks") or [])
        ]
        return TurnResult(
            thread=thread,
            intent=state.get("intent", "other"),
            answer=answer,
            rationale=state.get("rationale", "") if recommended else "",
            items=items if recommended else [],
            grounding=state.get("grounding") if recommended else None,
            revision=revision,
            claims=list(state.get("claims") or []) if recommended else [],
            notes=[*notes, *(state.get("notes") or [])],
            new_thread=new_thread,
            trust=dict(state.get("trust") or {}) if recommended else {},
        )


def _tool_model(settings: AgentSettings, model_settings: ModelSettings, tools: list[Any]) -> Any:
    """A tool-calling chat model when configured (LLMREC_TOOL_CALLING=model), else None (the planner)."""
    if settings.tool_calling == "planner":
        return None
    if model_settings.model_backend != "openai":
        raise AgentError(
            "LLMREC_TOOL_CALLING=model needs LLMREC_MODEL_BACKEND=openai: the local backend's default model "
            "cannot call tools. Use the planner, or a vLLM server started with --enable-auto-tool-choice."
        )
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        base_url=model_settings.openai_base_url,
        api_key=model_settings.openai_api_key,
        model=model_settings.openai_model or model_settings.model,
        temperature=0.0,
        timeout=model_settings.openai_timeout_s,
        max_retries=model_settings.openai_max_retries,
    )
    return chat.bind_tools(tools)
