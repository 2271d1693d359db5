"""Rationale first, then one-pass ranking: the model explains, and the label log-probabilities after the answer
prefix order every candidate at once (verbalizer ranking, as LlamaRec does)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.prompts import ANSWER_PREFIX, RecRequest, RenderedPrompt, format_rationale, render_prompt
from agent.runtime import Recommender


@dataclass(frozen=True)
class Ranking:
    """The outcome of one explain-and-rank call. Every id in `order` is one of the request's candidates."""

    rationale: str
    order: tuple[str, ...]
    """Candidate item ids, best first."""
    logprobs: dict[str, float]
    """Item id -> log-probability of its label, normalised over the candidates."""
    prompt: RenderedPrompt


def write_rationale(
    llm: Recommender, prompt: RenderedPrompt, rationale_tokens: int, on_token: Callable[[str], None] | None = None
) -> str:
    """The model's rationale for `prompt`, streamed to `on_token` when given, cut at ANSWER_PREFIX."""
    pieces: list[str] = []
    for chunk in llm.generate(prompt.text, rationale_tokens, stop=[ANSWER_PREFIX], stream=on_token is not None):
        pieces.append(chunk)
        if on_token is not None:
            on_token(chunk)
    # Cut here too: a server that ignores `stop` must not put its answer (or anything after it) into the rationale.
    return format_rationale("".join(pieces).split(ANSWER_PREFIX, 1)[0]).strip()


def rank_candidates(
    llm: Recommender, prompt: RenderedPrompt, rationale: str
) -> tuple[tuple[str, ...], dict[str, float]]:
    """(candidate ids best first, item id -> label log-probability): one forward pass after the rationale.

    Only the prompt's own labels are scored, so only its candidates can come back: an item the model did not
    retrieve cannot be ranked, whatever the rationale says.
    """
    scores = llm.label_logprobs(prompt.with_rationale(rationale), prompt.labels)
    by_item = {item_id: scores[label] for label, item_id in zip(prompt.labels, prompt.candidate_ids, strict=True)}
    # Ties keep candidate order: deterministic, and the caller controls candidate order (the eval shuffles it).
    order = tuple(sorted(prompt.candidate_ids, key=lambda i: -by_item[i]))
    return order, by_item


def explain_and_rank(
    llm: Recommender,
    request: RecRequest,
    *,
    rationale_tokens: int = 96,
    context_tokens: int = 2048,
    on_token: Callable[[str], None] | None = None,
) -> Ranking:
    """Write the rationale (streamed to `on_token` when given), then rank all candidates with one forward pass.

    `rationale_tokens=0` skips the rationale: the ranking then reads the labels straight after the prompt, which is
    the "no chain of thought" ablation.
    """
    prompt = render_prompt(llm.tokenizer, request, context_tokens=context_tokens, reserve_tokens=rationale_tokens)
    rationale = write_rationale(llm, prompt, rationale_tokens, on_token)
    order, by_item = rank_candidates(llm, prompt, rationale)
    return Ranking(rationale=rationale, order=order, logprobs=by_item, prompt=prompt)
