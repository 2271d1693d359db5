"""The agent's graph. Only wiring: what each node does is in agent/nodes.py, where it goes next in agent/routing.py.

interpret -> plan -> retrieve (ToolNode) -> reason -> commit -> verify -> respond
    \\-> revise (on a dispute) -> plan ...      \\-> respond (accept, other, nothing found)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode

from agent.context import Context
from agent.nodes import commit, interpret, plan, reason, respond, revise, verify
from agent.routing import route_candidates, route_intent, route_plan
from agent.state import AgentState


def build_graph(tools: Sequence[BaseTool], *, checkpointer: BaseCheckpointSaver[Any] | None = None) -> Any:
    """Compile the agent over `tools` (tools.langchain_tools.catalog_tools of one domain)."""
    graph = StateGraph(AgentState, context_schema=Context)
    graph.add_node("interpret", interpret)
    graph.add_node("revise", revise)
    graph.add_node("plan", plan)
    graph.add_node("retrieve", ToolNode(list(tools)))
    graph.add_node("reason", reason)
    graph.add_node("commit", commit)
    graph.add_node("verify", verify)
    graph.add_node("respond", respond)

    graph.add_edge(START, "interpret")
    graph.add_conditional_edges("interpret", route_intent)
    graph.add_edge("revise", "plan")
    graph.add_conditional_edges("plan", route_plan)
    graph.add_edge("retrieve", "reason")
    graph.add_conditional_edges("reason", route_candidates)
    graph.add_edge("commit", "verify")
    graph.add_edge("verify", "respond")
    graph.add_edge("respond", END)
    return graph.compile(checkpointer=checkpointer, name="llmrec")
