"""Reading the transcript (`AgentState.messages`): the user's last message, this turn's tool results, and the
conversation as the rationale prompt shows it."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from agent.prompts import Role

ANSWER_NAME = "llmrec"
"""`name` of the agent's answers (the planner's tool-call messages are named "planner")."""
SUMMARY_KEY = "summary"
"""`AIMessage.additional_kwargs` key of an answer's one-line summary, which later prompts show instead of it."""


def last_user_message(messages: Sequence[AnyMessage]) -> str:
    """The text of the latest user message; raises ValueError when there is none."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    raise ValueError("the conversation has no user message")


def turn_tool_results(messages: Sequence[AnyMessage]) -> list[ToolMessage]:
    """The tool results since the latest user message, in call order."""
    out: list[ToolMessage] = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, ToolMessage):
            out.append(message)
    return out[::-1]


def conversation(messages: Sequence[AnyMessage]) -> list[tuple[Role, str]]:
    """User messages and the agent's answer summaries, oldest first (the prompt keeps the last few)."""
    turns: list[tuple[Role, str]] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            turns.append(("user", message.text))
        elif isinstance(message, AIMessage) and message.name == ANSWER_NAME:
            turns.append(("assistant", str(message.additional_kwargs.get(SUMMARY_KEY) or message.text)))
    return turns
