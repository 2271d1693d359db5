"""Intent: constrained choice over label log-probabilities (a real forward pass of the tiny Llama), the cue prior,
and the mask of intents the conversation allows."""

from __future__ import annotations

import math
from typing import Any

import pytest

from agent.intent import allowed_intents, classify_intent, cue_prior
from agent.prompts import INTENT_LABELS, render_intent_prompt


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("recommend me some sanding paper", "request"),
        ("I want running shoes for women", "request"),
        ("waterproof hiking boots size 9", "request"),
        ("that's not for beginners", "dispute"),
        ("I said no leather", "dispute"),
        ("I already own that", "dispute"),
        ("wrong, B is not stainless", "dispute"),
        ("perfect, I'll take it", "accept"),
        ("sounds good", "accept"),
        ("hi", "other"),
        ("thank you", "other"),
    ],
)
def test_cue_prior_with_picks(message: str, intent: str) -> None:
    prior = cue_prior(message, allowed_intents(True), cue_weight=2.0)
    best = max(prior, key=lambda k: prior[k])
    assert best == intent and prior[best] > 0, prior


def test_disputes_and_accepts_need_picks() -> None:
    assert allowed_intents(False) == ("request", "other")
    prior = cue_prior("that's wrong", allowed_intents(False), cue_weight=2.0)
    assert set(prior) == {"request", "other"}


def test_intent_prompt_ends_in_answer_prefix(tiny_llm: Any) -> None:
    text = render_intent_prompt(tiny_llm.tokenizer, "I said no leather\nplease", ["Neiko caliper"])
    assert text.endswith("Answer:")
    assert 'Message: "I said no leather please"' in text
    assert "Recommended so far: Neiko caliper" in text


def test_classify_is_normalised_over_allowed_intents(tiny_llm: Any) -> None:
    intent, scores = classify_intent(tiny_llm, "that's wrong", has_picks=False, cue_weight=0.0)
    assert set(scores) == {"request", "other"}
    assert intent in scores
    assert math.isclose(sum(math.exp(v) for v in scores.values()), 1.0, rel_tol=1e-6)


def test_model_scores_decide_without_cues(tiny_llm: Any) -> None:
    """With the cue weight at 0 the answer is the model's argmax over the label tokens."""
    from agent.prompts import render_intent_prompt as render

    message = "hmm"
    _, scores = classify_intent(tiny_llm, message, has_picks=True, cue_weight=0.0)
    raw = tiny_llm.label_logprobs(render(tiny_llm.tokenizer, message, ()), list(INTENT_LABELS.values()))
    assert max(scores, key=lambda k: scores[k]) == max(INTENT_LABELS, key=lambda k: raw[INTENT_LABELS[k]])


def test_strong_cues_overrule_a_random_model(tiny_llm: Any) -> None:
    intent, _ = classify_intent(tiny_llm, "I already own that", has_picks=True, cue_weight=50.0)
    assert intent == "dispute"
