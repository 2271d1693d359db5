"""The LangChain chat model over the runtime: real forward passes of the tiny Llama through the chat template."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agent.chat_model import RecommenderChatModel


def test_invoke_and_stream_agree(tiny_llm: Any) -> None:
    chat = RecommenderChatModel(llm=tiny_llm, max_tokens=6)
    messages = [SystemMessage("Be brief."), HumanMessage("hello")]
    whole = chat.invoke(messages).text
    streamed = "".join(chunk.text for chunk in chat.stream(messages))
    assert whole and whole == streamed.strip()


def test_prompt_uses_the_chat_template(tiny_llm: Any) -> None:
    chat = RecommenderChatModel(llm=tiny_llm, max_tokens=1)
    prompt = chat._prompt([SystemMessage("S"), HumanMessage("hi there")])
    assert "hi there" in prompt
    assert prompt.rstrip().endswith("assistant")  # SmolLM2's template opens the assistant turn
