"""Routers: which node runs next. Each returns a Literal the graph wires, and raises on an impossible state."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage

from agent.state import AgentState


def route_intent(state: AgentState) -> Literal["plan", "revise", "respond"]:
    """Requests search, disputes revise first, anything else is answered directly."""
    if state.intent == "request":
        return "plan"
    if state.intent == "dispute":
        return "revise"
    if state.intent in ("accept", "question", "other"):
        return "respond"
    raise ValueError(f"unknown intent {state.intent!r}")


def route_plan(state: AgentState) -> Literal["retrieve", "respond"]:
    """Run the tool calls, or answer at once when there is nothing to search for."""
    last = state.messages[-1] if state.messages else None
    if not isinstance(last, AIMessage):
        raise ValueError("plan must end with the planner's AIMessage")
    return "retrieve" if last.tool_calls else "respond"


def route_candidates(state: AgentState) -> Literal["commit", "respond"]:
    """Commit when the tools found candidates; otherwise say that nothing matched."""
    return "commit" if state.candidates else "respond"
