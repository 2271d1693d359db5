"""`llmrec train calibrate` end to end on a small learnable catalog with the tiny model: both sets of runs, the fit,
the saved record (a bug in the second set once surfaced only after 12 minutes of a real run)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.errors import AgentError
from agent.settings import ModelSettings
from tests.seqdata import cyclic
from training.calibrate import calibrate


@pytest.fixture(autouse=True)
def _full_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMREC_SEQREC_EPOCHS", "20")  # a 30-item cycle trains in seconds (tests/unit/test_pipeline.py)


def test_calibration_runs_both_passes_and_records_what_it_fitted(tiny_llm: Any) -> None:
    data = cyclic(num_users=300, num_items=30, domain="cyclic-calibrate")
    settings = ModelSettings(rationale_max_tokens=4)
    result = calibrate(
        "cyclic-calibrate", users=6, bias_users=6, settings=settings, progress=False, dataset=data, llm=tiny_llm
    )
    assert result.domain == "cyclic-calibrate" and result.model == settings.identity
    assert result.fitted_on["bias_runs"] == 6 and result.fitted_on["weight_runs"] == 6
    assert set(result.position_bias) <= set("ABCDEFGHIJKLMNOPQRST") and result.position_bias
    assert result.llm_weight_stderr is not None and result.llm_weight_stderr >= 0
    ndcg = result.fitted_on["in_sample_ndcg@10"]
    assert ndcg["prior"] > 0.9  # the prior has learnt the cycle; the random tiny model's labels add nothing to it


def test_concurrent_passes_need_a_server(tiny_llm: Any) -> None:
    # The in-process model keeps each rationale's KV cache for its ranking: it must not be called from threads.
    with pytest.raises(AgentError, match="openai backend"):
        calibrate("cyclic", users=20, bias_users=20, settings=ModelSettings(), progress=False, llm=tiny_llm, workers=4)
