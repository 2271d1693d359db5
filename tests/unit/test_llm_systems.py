"""LLM rankers in the evaluation harness, on the tiny random Llama (the real model runs in `make eval-llm`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.local_backend import LocalRecommender
from agent.settings import ModelSettings
from evals.cli import _cot_systems, write_cot
from evals.cot import pass_cases
from evals.errors import EvalConfigError
from evals.harness import run_eval
from evals.llm_systems import LLMScorer, _base_settings, _conversation
from evals.report import markdown_table, results_dict
from evals.systems import Query, make_system
from tests.evaldata import chats, shop


def test_llm_scorer_runs_the_candidate_protocol(tiny_llm: LocalRecommender) -> None:
    scorer = LLMScorer("llm-tiny", ModelSettings(), rationale_tokens=4, llm=tiny_llm)
    dataset = shop(num_users=6, num_items=40)
    result = run_eval(dataset, "candidates", [scorer], seed=1, progress=False)
    stats = result.systems["llm-tiny"]
    assert all(0.0 <= s.mean <= 1.0 for s in stats.values())
    assert len(scorer.rationales) == result.users == 3  # one rationale kept per query (3 evaluation users)
    # Each rationale is checked against what its prompt showed, and the run reports the grounding beside NDCG.
    assert scorer.grounding.keys() == scorer.rationales.keys()
    row = result.rationales["llm-tiny"]
    assert row["rationales"] == 3 and 0.0 <= float(row["no_claims_share"] or 0.0) <= 1.0
    assert row["mean_grounding"] is None or 0.0 <= float(row["mean_grounding"]) <= 1.0
    assert "| llm-tiny | 3 |" in markdown_table(result) and results_dict(result)["rationales"] == result.rationales


def test_a_system_without_rationales_reports_none(tiny_llm: LocalRecommender) -> None:
    scorer = LLMScorer("llm-direct", ModelSettings(), rationale_tokens=0, llm=tiny_llm)
    result = run_eval(shop(num_users=4, num_items=30), "candidates", [scorer], seed=1, progress=False)
    assert result.rationales == {} and "Rationales:" not in markdown_table(result)


def test_on_a_dialogue_catalog_the_model_ranks_the_retrievers_top_20(tiny_llm: LocalRecommender) -> None:
    scorer = LLMScorer("llm-tiny", ModelSettings(), rationale_tokens=0, llm=tiny_llm)
    hybrid = make_system("hybrid")
    dataset = chats(num_dialogues=8, num_items=60)
    result = run_eval(dataset, "conversational", [hybrid, scorer], seed=1, progress=False)
    assert result.systems["llm-tiny"]["recall@50"].mean == pytest.approx(result.systems["hybrid"]["recall@50"].mean)
    for key, done in list(scorer.passes.items()):
        # The model saw the hybrid top 20 in the retriever's order, and only ever ranks those above the rest.
        shown = done.shown["candidate_ids"]
        assert len(shown) == 20
        turn = next(t for t in dataset.turns if f"{t.dialog_id}/{t.turn_id}" == key)
        query = Query(turn.dialog_id, turn.mentioned, context=turn.context, domain=dataset.domain)
        ids = sorted(dataset.items)
        scores = hybrid.score(query, ids)
        by_hybrid = [ids[i] for i in sorted(range(len(ids)), key=lambda i: -scores[i])]
        assert set(shown) == set(by_hybrid[:20])
        full = scorer.score(query, ids)
        top = sorted(range(len(ids)), key=lambda i: -full[i])[:20]
        assert [ids[i] for i in top] == list(done.order)


def test_the_first_stage_leaves_out_what_the_protocol_excludes(tiny_llm: LocalRecommender) -> None:
    scorer = LLMScorer("llm-tiny", ModelSettings(), rationale_tokens=0, llm=tiny_llm)
    dataset = chats(num_dialogues=4, num_items=60)
    scorer.fit(dataset)
    turn = dataset.turns[-1]
    ids = sorted(dataset.items)
    plain = Query(turn.dialog_id, turn.mentioned, context=turn.context, domain=dataset.domain, turn_id="a")
    scorer.score(plain, ids)
    first = scorer.passes[plain.key].shown["candidate_ids"]
    dropped = tuple(first[:5])
    excluding = Query(turn.dialog_id, turn.mentioned, turn.context, dataset.domain, turn_id="b", exclude=dropped)
    scorer.score(excluding, ids)
    again = scorer.passes[excluding.key].shown["candidate_ids"]
    assert not set(again) & set(dropped) and len(again) == 20


def test_llm_rec_without_an_adapter_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.systems import make_system

    monkeypatch.setenv("LLMREC_ADAPTER_PATH", "none")  # the base alone: unset, the shipped adapter is the default
    monkeypatch.setenv("LLMREC_MODEL_BACKEND", "local")
    with pytest.raises(EvalConfigError, match="LLMREC_ADAPTER_PATH"):
        make_system("llm-rec")


def test_dialogue_roles_end_with_the_seeker() -> None:
    roles = [role for role, _ in _conversation(("hi", "what do you like?", "sci-fi please"))]
    assert roles == ["user", "assistant", "user"]


def test_trust_figures_are_reported_beside_the_metrics(tiny_llm: LocalRecommender) -> None:
    scorer = LLMScorer("llm-tiny", ModelSettings(), rationale_tokens=8, llm=tiny_llm)
    result = run_eval(shop(num_users=6, num_items=40), "candidates", [scorer], seed=1, progress=False)
    row = result.rationales["llm-tiny"]
    assert scorer.trust.keys() == scorer.rationales.keys()
    for key in ("copy_rate", "repeats", "coverage", "lexical"):
        if row.get(key) is not None:
            assert 0.0 <= float(row[key] or 0.0) <= 1.0
    assert row["copy_rate"] is not None and row["repeats"] is not None
    table = markdown_table(result)
    assert "relational grounding" in table and "copy rate" in table


def test_the_teacher_rationale_baseline_ranks_as_the_prior_and_argues_for_its_top() -> None:
    teacher = make_system("teacher-rationale")
    prior = make_system("prior")
    result = run_eval(shop(num_users=6, num_items=40), "candidates", [prior, teacher], seed=1, progress=False)
    assert result.systems["teacher-rationale"]["ndcg@10"].mean == pytest.approx(result.systems["prior"]["ndcg@10"].mean)
    row = result.rationales["teacher-rationale"]
    assert row["rationales"] == result.users
    assert row["copy_rate"] == 0.0 and row["repeats"] == 0.0
    assert all(text.strip() for text in teacher.rationales.values())  # type: ignore[attr-defined]


def test_cot_re_ranks_the_evaluated_passes(tiny_llm: LocalRecommender, tmp_path: Path) -> None:
    # `llmrec eval --cot llm-rec`: the chain-of-thought tests over the very passes the run scored.
    scorer = LLMScorer("llm-tiny", ModelSettings(), rationale_tokens=6, llm=tiny_llm)
    result = run_eval(shop(num_users=8, num_items=40), "candidates", [scorer], seed=3, progress=False)
    json_path, md_path = write_cot([scorer], tmp_path, progress=False)
    report = json.loads(json_path.read_text())["llm-tiny"]
    users = result.users
    assert users >= 2 and len(report["per_user"]) == 4 * users  # same, truncate, corrupt, drop for each user
    rows = {row["perturbation"]: row for row in report["summary"]}
    assert rows["same"]["users"] == users and rows["same"]["top1_change_rate"] == 0.0  # greedy: the control
    assert rows["same"]["mean_kendall_tau"] == 1.0
    assert all(0.0 <= float(row["top1_change_rate"]) <= 1.0 for row in rows.values())
    assert "Chain-of-thought tests of llm-tiny" in md_path.read_text()
    # Each case is the pass the harness scored: its order is the system's own ranking of that user.
    assert [c.user_id for c in pass_cases(scorer.passes)] == list(scorer.passes)


def test_cot_names_llm_systems_that_write_a_rationale(tiny_llm: LocalRecommender) -> None:
    direct = LLMScorer("llm-direct", ModelSettings(), rationale_tokens=0, llm=tiny_llm)
    with pytest.raises(EvalConfigError, match="not among --systems"):
        _cot_systems("llm-rec", [direct])
    with pytest.raises(EvalConfigError, match="writes a rationale"):
        _cot_systems("llm-direct", [direct])
    with pytest.raises(EvalConfigError, match="writes a rationale"):
        _cot_systems("random", [make_system("random")])
    assert _cot_systems(None, [direct]) == []


def test_the_base_systems_drop_the_adapter_on_either_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    # LLMREC_OPENAI_MODEL=llmrec makes the agent use the LoRA module; llm-base must still ask for the base model.
    monkeypatch.setenv("LLMREC_MODEL_BACKEND", "openai")
    monkeypatch.setenv("LLMREC_OPENAI_MODEL", "llmrec")
    monkeypatch.setenv("LLMREC_ADAPTER_PATH", "adapters/llmrec")
    assert ModelSettings().identity.endswith("+llmrec")
    base = _base_settings()
    assert base.openai_model is None and base.adapter_path is None and base.identity == base.model


def test_the_agents_coverage_is_of_the_item_it_commits(tiny_llm: LocalRecommender, tmp_path: Path) -> None:
    """A calibrated system commits the prior's order here (LLM weight 0), so its coverage asks whether a true claim
    argues for the prior's top item, not for the model's own top label."""
    from agent.prior import Calibration, calibration_path

    settings = ModelSettings(adapter_path=tmp_path / "adapter")
    dataset = shop(num_users=12, num_items=40)
    path = calibration_path(settings.model, settings.adapter_path, dataset.domain)
    Calibration(dataset.domain, settings.identity, llm_weight=0.0, llm_weight_stderr=None, position_bias={}).save(path)
    scorer = LLMScorer("agent", settings, 48, llm=tiny_llm, order="prior", calibrated=True)
    tiny_llm.rationale_decoding = "grounded"  # every claim true: coverage is only about which item it names
    try:
        run_eval(dataset, "candidates", [scorer], seed=1, progress=False)
    finally:
        tiny_llm.rationale_decoding = "free"
    differs = 0
    for key, done in scorer.passes.items():
        prior_top = done.shown["candidate_ids"][0]  # shown in the prior's order; weight 0 commits it first
        argued = {i for claim in done.claims if claim.get("relational") for i in claim["item_ids"]}
        assert scorer.trust[key].coverage == (prior_top in argued)
        differs += done.order[0] != prior_top
    assert differs >= 1, "the model's own top label never differed from the prior's: the test shows nothing"


def test_llm_rec_free_is_a_model_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same weights decoding freely must not share the grounded system's loaded model (nor its cached passes)."""
    from evals import llm_systems

    loaded: list[str] = []
    monkeypatch.setattr(llm_systems, "_MODELS", {})
    monkeypatch.setattr(llm_systems, "load_recommender", lambda s: loaded.append(s.rationale_decoding) or object())
    grounded = llm_systems._model(ModelSettings(rationale_decoding="grounded"))
    free = llm_systems._model(ModelSettings(rationale_decoding="free"))
    assert grounded is not free and loaded == ["grounded", "free"]
    assert llm_systems._model(ModelSettings(rationale_decoding="free")) is free
