"""A LangChain chat model over the `Recommender` runtime, for free-form replies (greetings, off-topic questions).

Recommendations never come from here: they come from the label ranking over retrieved candidates. This model only
talks, through the same backend (local transformers or vLLM), so there is still one seam for every LLM call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


class RecommenderChatModel(BaseChatModel):
    """`BaseChatModel` adapter: renders messages with the model's chat template, decodes greedily."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    llm: Any
    """The `Recommender` (agent.runtime) that writes the text."""
    max_tokens: int = 48

    @property
    def _llm_type(self) -> str:
        return "llmrec-recommender"

    def _prompt(self, messages: list[BaseMessage]) -> str:
        turns = [{"role": _ROLES[m.type], "content": m.text} for m in messages if m.type in _ROLES and m.text.strip()]
        text = self.llm.tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        if not isinstance(text, str):
            raise TypeError("apply_chat_template(tokenize=False) must return text")
        return text

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(self.llm.generate(self._prompt(messages), self.max_tokens, stop=stop or ()))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text.strip()))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in self.llm.generate(self._prompt(messages), self.max_tokens, stop=stop or (), stream=True):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
