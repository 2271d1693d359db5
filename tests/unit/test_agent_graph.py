"""The graph's shape (a snapshot of LangGraph's own drawing) and the routers' contracts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool

from agent.graph import build_graph
from agent.routing import route_candidates, route_intent, route_plan
from agent.state import AgentState

SNAPSHOT = Path(__file__).parent / "snapshots" / "agent_graph.mmd"


@tool
def search_catalog(query: str) -> str:
    """stand-in with the real tool's name, for drawing only"""
    return query


def test_graph_shape_matches_snapshot() -> None:
    drawn = build_graph([search_catalog]).get_graph().draw_mermaid()
    if os.environ.get("LLMREC_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(drawn)
    assert drawn == SNAPSHOT.read_text(), "graph changed: review, then rerun with LLMREC_UPDATE_SNAPSHOTS=1"


def test_graph_edges() -> None:
    graph = build_graph([search_catalog]).get_graph()
    edges = {(e.source, e.target) for e in graph.edges}
    expected = {
        ("__start__", "interpret"),
        ("interpret", "plan"),
        ("interpret", "revise"),
        ("interpret", "respond"),
        ("revise", "plan"),
        ("plan", "retrieve"),
        ("plan", "respond"),
        ("retrieve", "reason"),
        ("reason", "commit"),
        ("reason", "respond"),
        ("commit", "verify"),
        ("verify", "respond"),
        ("respond", "__end__"),
    }
    assert edges == expected


@pytest.mark.parametrize(
    ("intent", "target"), [("request", "plan"), ("dispute", "revise"), ("accept", "respond"), ("other", "respond")]
)
def test_route_intent(intent: str, target: str) -> None:
    assert route_intent(AgentState(intent=intent)) == target  # type: ignore[arg-type]


def test_route_intent_raises_on_unknown_intent() -> None:
    with pytest.raises(ValueError, match="unknown intent"):
        route_intent(AgentState(intent="shout"))  # type: ignore[arg-type]


def test_route_plan() -> None:
    call = {"name": "search_catalog", "args": {"query": "x"}, "id": "1", "type": "tool_call"}
    assert route_plan(AgentState(messages=[AIMessage("", tool_calls=[call])])) == "retrieve"
    assert route_plan(AgentState(messages=[AIMessage("")])) == "respond"
    with pytest.raises(ValueError):
        route_plan(AgentState(messages=[HumanMessage("hi")]))


def test_route_candidates() -> None:
    cand = {"item_id": "a", "title": "A", "score": 1.0, "source": "search_catalog"}
    assert route_candidates(AgentState(candidates=[cand])) == "commit"  # type: ignore[list-item]
    assert route_candidates(AgentState()) == "respond"
