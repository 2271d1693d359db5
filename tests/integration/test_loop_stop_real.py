"""The loop stop with the real default model (SmolLM2-135M, no adapter, repetition penalty off so that it loops as
it did before the penalty): what a user reads never repeats itself, and the stop is what ended the loops."""

from __future__ import annotations

import pytest

from agent.ranking import run_pass
from agent.runtime import load_recommender
from agent.settings import ModelSettings
from tools.cooccur import CoOccurrence
from tools.datasets import load_dataset
from training.sft_data import example_request, sample_candidates

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USERS = 8


def test_the_real_model_never_shows_a_loop(smollm2_dir: object) -> None:
    dataset = load_dataset("scientific")
    # Decoded freely: grounded decoding says only the writer's sentences, so the free loops would not show here.
    llm = load_recommender(ModelSettings(adapter_path=None, repetition_penalty=1.0, rationale_decoding="free"))
    cooccur = CoOccurrence.of(dataset)
    stopped = 0
    for user in dataset.test_users()[:USERS]:
        assert user.test is not None
        ids = sample_candidates(dataset, set(user.all_items), user.test, seed=2026, user_id=user.user_id,
                                num_negatives=9)  # fmt: skip
        request = example_request(dataset, user.test_history[-5:], ids, [], cooccur)
        done = run_pass(llm, request, rationale_tokens=96, context_tokens=2048)
        assert not done.trust.repeats, done.rationale
        assert done.order[0] in ids
        stopped += done.trust.stopped_repeat
    assert stopped >= 1, "the base model without its penalty loops; the stop must have ended at least one loop"
