"""Faithfulness and chain-of-thought helpers (evals/faithfulness.py, evals/cot.py): hand-computed values, and the
ragas routing / failure accounting with a fake judge (no real judge runs in unit tests)."""

from __future__ import annotations

import math

import pytest

from evals.cot import kendall_tau, overlap_at, perturbed, truncate
from evals.faithfulness import (
    Grounded,
    RagasOutcome,
    RagasRun,
    agreement,
    grounding_summary,
    judge_accuracy,
    load_judge_check,
    score_one_by_one,
    spearman,
)


def test_kendall_tau_hand_values() -> None:
    assert kendall_tau("abcd", "abcd") == 1.0
    assert kendall_tau("abcd", "dcba") == -1.0
    # one swapped adjacent pair of 6 pairs: (5 - 1) / 6
    assert kendall_tau("abcd", "bacd") == pytest.approx(4 / 6)
    with pytest.raises(ValueError):
        kendall_tau("abc", "abd")


def test_overlap_and_truncate() -> None:
    assert overlap_at("abcdef", "cbaxyz") == 1.0
    assert overlap_at("abcdef", "axyzbc") == pytest.approx(1 / 3)
    assert truncate("one two three four five") == "one two"
    assert truncate("") == ""


def test_spearman_hand_values() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert spearman([1.0], [1.0]) is None
    # ties get average ranks: x ranks (1.5, 1.5, 3), y ranks (1, 2, 3) -> rho = 1.5 / sqrt(1.5 * 2)
    assert spearman([0, 0, 1], [1, 2, 3]) == pytest.approx(1.5 / math.sqrt(3.0))


def test_grounding_summary_counts_no_claims_apart() -> None:
    rows = [Grounded("u1", 2, 2, 1.0), Grounded("u2", 0, 0, None), Grounded("u3", 4, 1, 0.25)]
    summary = grounding_summary(rows)
    assert summary["mean_grounding"] == pytest.approx(0.625)
    assert summary["no_claims_share"] == pytest.approx(1 / 3)
    assert summary["pass_share"] == pytest.approx(0.5)


def test_score_one_by_one_counts_exceptions_and_nan_as_failures() -> None:
    seen: list[tuple[str, str, list[str]]] = []

    async def fake_judge(user_input: str, response: str, contexts: list[str]) -> float:
        seen.append((user_input, response, contexts))
        if response == "boom":
            raise RuntimeError("judge output did not parse")
        if response == "nan":
            return float("nan")
        return 0.75

    run = score_one_by_one(
        fake_judge, [("a", "q", "fine", ["History: x"]), ("b", "q", "boom", []), ("c", "q", "nan", ["Candidate A: y"])]
    )
    assert [o.sample_id for o in run.outcomes] == ["a", "b", "c"]  # nothing dropped
    assert seen[0] == ("q", "fine", ["History: x"])
    assert run.failures == 2
    assert run.mean == 0.75
    assert run.outcomes[1].error is not None and "RuntimeError" in run.outcomes[1].error
    assert run.outcomes[2].error == "NaN"


def test_judge_check_set_is_balanced_and_accuracy_counts_failures_wrong() -> None:
    rows = load_judge_check()
    assert len(rows) >= 10
    assert sum(bool(r["faithful"]) for r in rows) == sum(not r["faithful"] for r in rows)
    assert all(r["contexts"] and r["response"] for r in rows)
    pair = rows[:2]
    run = RagasRun([RagasOutcome(pair[0]["id"], score=1.0), RagasOutcome(pair[1]["id"], error="NaN")])
    assert judge_accuracy(pair, run)["accuracy"] == 0.5


def test_agreement_uses_samples_both_scored() -> None:
    grounded = [Grounded("u1", 2, 2, 1.0), Grounded("u2", 2, 0, 0.0), Grounded("u3", 0, 0, None)]
    run = RagasRun([RagasOutcome("u1", 0.9), RagasOutcome("u2", 0.8), RagasOutcome("u3", 0.5), RagasOutcome("u4")])
    result = agreement(grounded, run)
    assert result["pairs"] == 2
    assert result["pass_fail_agreement"] == 0.5


def test_corrupt_needs_another_user() -> None:
    class Case:
        def __init__(self, rationale: str) -> None:
            self.rationale = rationale

    cases = [Case("first rationale"), Case("second rationale")]
    assert perturbed(cases, 0, "corrupt") == "second rationale"  # type: ignore[arg-type]
    assert perturbed(cases, 1, "corrupt") == "first rationale"  # type: ignore[arg-type]
    assert perturbed(cases[:1], 0, "corrupt") is None  # type: ignore[arg-type]
    assert perturbed(cases, 0, "drop") == ""  # type: ignore[arg-type]
    assert perturbed(cases, 0, "same") == "first rationale"  # type: ignore[arg-type]


def test_ragas_judge_is_routed_to_the_configured_server_and_an_unreachable_judge_is_a_failure() -> None:
    pytest.importorskip("ragas", reason="the eval extra (ragas) is not installed")
    from evals.faithfulness import ragas_judge

    scorer = ragas_judge("http://127.0.0.1:9/v1", "EMPTY", "judge-model")  # nothing listens on port 9
    run = score_one_by_one(scorer, [("u1", "q", "Candidate A is a sanding roll.", ["Candidate A: sanding roll"])])
    assert run.failures == 1
    assert run.outcomes[0].error is not None
