"""The one seam for every LLM call: the `Recommender` interface and the factory that builds it from settings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from agent.settings import ModelSettings


@runtime_checkable
class Recommender(Protocol):
    """An LLM that can write text and score candidate labels. Both backends implement exactly this."""

    name: str
    """What to show in logs and reports (model id, plus the adapter when one is loaded)."""
    tokenizer: Any
    """The Hugging Face tokenizer whose chat template renders the prompts (agent/prompts.py)."""
    rationale_decoding: str
    """`grounded` or `free` (ModelSettings.rationale_decoding): how `agent.ranking.explain` decodes a rationale."""

    def generate(
        self,
        prompt: str,
        max_tokens: int,
        stop: Sequence[str] = (),
        stream: bool = False,
        banned: Sequence[int] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        """Greedy continuation of `prompt`. With `stream`, chunks arrive as they are decoded; else one chunk.
        `banned`: token ids never to generate (agent/banned_words.py); `grammar`: an EBNF grammar (xgrammar's
        dialect) the text must follow, ending where it may end (agent/claim_grammar.py)."""
        ...

    def label_logprobs(self, prompt: str, labels: Sequence[str]) -> dict[str, float]:
        """Log-probabilities of each label as the next token after `prompt`, normalised over the labels.

        Normalising over the label set makes the two backends agree: a server's top-k logprobs with a uniform
        logit bias on the labels equal a local log-softmax over the label logits.
        """
        ...


def load_recommender(settings: ModelSettings | None = None) -> Recommender:
    """Build the configured backend. Heavy imports happen here, not at module import."""
    settings = settings or ModelSettings()
    if settings.model_backend == "openai":
        from agent.openai_backend import OpenAIRecommender

        return OpenAIRecommender.from_settings(settings)
    from agent.local_backend import LocalRecommender

    return LocalRecommender.from_settings(settings)
