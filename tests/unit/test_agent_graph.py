"""The graph's shape (a snapshot of LangGraph's own drawing) and the routers' contracts."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, StructuredTool

from agent.graph import build_graph
from agent.routing import route_candidates, route_intent, route_plan
from agent.state import AgentState

SNAPSHOT = Path(__file__).parent / "snapshots" / "agent_graph.mmd"


README = Path(__file__).resolve().parents[2] / "README.md"


def _stand_in(name: str) -> BaseTool:
    def run(query: str) -> str:
        return query

    return StructuredTool.from_function(run, name=name, description="stand-in with a real tool's name, for drawing")


TOOLS = [_stand_in(name) for name in ("search_catalog", "lookup_items", "similar_items", "user_history")]
search_catalog = TOOLS[0]


def test_graph_shape_matches_snapshot() -> None:
    drawn = build_graph(TOOLS).get_graph().draw_mermaid()
    if os.environ.get("LLMREC_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(drawn)
    assert drawn == SNAPSHOT.read_text(), "graph changed: review, then rerun with LLMREC_UPDATE_SNAPSHOTS=1"


def test_readme_shows_the_current_graph() -> None:
    """The README's picture is LangGraph's own drawing of this graph (GitHub renders the mermaid block)."""
    assert "```mermaid\n" + SNAPSHOT.read_text().rstrip("\n") + "\n```" in README.read_text()


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


def test_more_like_a_pick_asks_for_that_picks_kind() -> None:
    from agent.nodes import _turn_things
    from agent.state import Pick
    from tools.catalog import Item

    meter = Item("meter", "OWON B35T Plus Multimeter with True RMS Measurement", "", {})
    fluid = Item("fluid", "Forney 20859 Cutting Fluid, Industrial Pro Tap Magic", "", {})
    clamp = Item("clamp", "Uni-T Digital Handheld Clamp Meter Multimeter", "", {})
    picks = [
        Pick(item_id=i.item_id, title=i.title, label=label, logprob=0.0, reason="", grounded=False)
        for i, label in [(fluid, "A"), (meter, "B")]
    ]
    state = AgentState(messages=[HumanMessage("more like the second one")], picks=picks, intent="request")
    items = {i.item_id: i for i in (meter, fluid, clamp)}
    # the second pick is a multimeter: the co-bought cutting fluid is no more like it than any other item; so with
    # the rules pointing at the pick, and with the shipped pointer
    from agent.pick_model import open_pick_model

    for pointer in (None, open_pick_model()):
        ctx = SimpleNamespace(pick_model=pointer, speller=None)
        assert _turn_things(state, ctx, [fluid, clamp, meter], items) == ["multimeter"]  # type: ignore[arg-type]
