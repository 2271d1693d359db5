"""Who writes the retrieval tool calls: the model (when it can call tools) or a deterministic planner.

Either way the calls are `AIMessage.tool_calls` run by the same `ToolNode`, so every call is in the transcript.
The server-side arguments (`exclude`, `user_id`) are not in any call: they are hidden from the tools' schemas
(`InjectedState`), and the ToolNode fills them from the agent state, so a model cannot widen what it may recommend.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolCall

from agent.profile import extract_preferences, search_query, thing_query
from agent.prompts import TOOL_SYSTEM_PROMPT
from agent.state import Profile

log = logging.getLogger(__name__)

TOOL_NAMES = ("search_catalog", "lookup_items", "similar_items", "recommend_for_user", "user_history")


def plan_tool_calls(
    message: str,
    profile: Profile,
    *,
    turn: int,
    user_id: str | None,
    anchor_item: str | None,
    search_k: int,
    similar_to: str | None = None,
    labels: Sequence[str] = (),
    asked: Sequence[str] | None = None,
) -> list[ToolCall]:
    """The planner's calls for one turn.

    - `search_catalog` with the message's wanted words, then the profile's earlier ones (never unwanted words),
      first filtered by the brands the user named, if any;
    - `search_catalog` with the words that name the thing asked for, when the request says more than that
      ("multimeter" for "a good multimeter for electronics hobby work"), so items that are the thing are candidates
      even where the other words rank accessories first;
    - `similar_items` around `anchor_item` (the last pick or history item) when the message names nothing to
      search for ("something else", "more like that");
    - `similar_items` around `similar_to` first when the message asks for more like one pick ("more like the
      second one", "like B but in navy"), and then a search only for the message's own new words ("navy");
    - `recommend_for_user`, the sequential recommender over the user's history (it says so in a warning when it is
      skipped: a new user, or a catalog without purchase histories);
    - `user_history` on a user's first turn, so the transcript shows the history the rationale may cite.

    `asked` is the message's wanted words as the turn read them (the learned phrase tagger's, agent/phrase_model.py),
    None to read them here by the rules.
    """
    calls: list[ToolCall] = []
    if similar_to is not None:
        calls.append(_call(turn, len(calls), "similar_items", {"item_id": similar_to, "k": search_k}))
        if not (extract_preferences(message, labels=labels)["wanted"] if asked is None else asked):
            profile = {**profile, "wanted": []}
    query = search_query(message, profile, labels=labels, asked=asked)
    if query and profile["constraints"]:
        # Brands the user named filter a first search; the unfiltered one after it keeps a wrongly read brand
        # (a brand that is also a word, "Keeper") from emptying the candidate list.
        args = {"query": query, "k": search_k, "filters": dict(profile["constraints"])}
        calls.append(_call(turn, len(calls), "search_catalog", args))
    if query:
        calls.append(_call(turn, len(calls), "search_catalog", {"query": query, "k": search_k}))
        thing = thing_query(message, labels=labels, asked=asked)
        if thing and thing != query:
            calls.append(_call(turn, len(calls), "search_catalog", {"query": thing, "k": search_k}))
    elif anchor_item is not None and similar_to is None:
        calls.append(_call(turn, len(calls), "similar_items", {"item_id": anchor_item, "k": search_k}))
    if calls or user_id is not None:
        calls.append(_call(turn, len(calls), "recommend_for_user", {"k": search_k}))
    if user_id is not None and turn == 0:
        calls.append(_call(turn, len(calls), "user_history", {"limit": 10}))
    return calls


def model_tool_calls(tool_model: Any, conversation: Sequence[BaseMessage], *, turn: int) -> list[ToolCall]:
    """The calls a tool-calling chat model writes; unknown tools dropped, server-side arguments removed.

    Returns [] when the model wrote no usable call, so the caller can fall back to the planner.
    """
    reply = tool_model.invoke([SystemMessage(TOOL_SYSTEM_PROMPT), *conversation])
    calls: list[ToolCall] = []
    for n, call in enumerate(getattr(reply, "tool_calls", []) or []):
        if call.get("name") not in TOOL_NAMES:
            log.warning("the model called an unknown tool %r; ignored", call.get("name"))
            continue
        args = {k: v for k, v in dict(call.get("args") or {}).items() if k not in ("exclude", "user_id")}
        calls.append(ToolCall(name=call["name"], args=args, id=call.get("id") or f"t{turn}-m{n}", type="tool_call"))
    return calls


def planner_message(calls: list[ToolCall]) -> AIMessage:
    """The AIMessage that carries the calls into the ToolNode."""
    return AIMessage(content="", tool_calls=calls, name="planner")


def _call(turn: int, index: int, name: str, args: dict[str, Any]) -> ToolCall:
    # Ids unique within a thread (turn, position, tool): ToolNode pairs each result with its call by id.
    return ToolCall(name=name, args=args, id=f"t{turn}-{index}-{name}", type="tool_call")
