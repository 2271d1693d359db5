"""Rationale faithfulness and chain-of-thought tests (issue 7, item 3).

    pytest evals/test_faithfulness.py -s --eval-llm-users 3 --eval-domains scientific
    pytest evals/test_faithfulness.py -s --eval-backend vllm     # adds ragas Faithfulness, judged behind vLLM

Per domain: `--eval-llm-users` evaluation users sampled as the candidates protocol does (`tools.splits` evaluation
side, seeded subsample), each ranked over the protocol's 20 candidates through the one pass, `agent.ranking.run_pass`.
`test_grounding_and_cot` (always) reports the deterministic claim-grounding score and the chain-of-thought tests
(evals/cot.py); `test_ragas` (only with `--eval-backend vllm`, needing the `eval` extra) reports ragas Faithfulness
beside the judge's accuracy on evals/judge_check.jsonl and its agreement with grounding. Reports:
faithfulness-{domain}.json / .md and faithfulness.png under --eval-report-dir.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from agent.runtime import Recommender, load_recommender
from agent.settings import ModelSettings
from evals.cot import cot_changes, cot_summary
from evals.errors import ProtocolNotApplicableError
from evals.faithfulness import (
    Explained,
    Grounded,
    agreement,
    explain_cases,
    ground,
    grounding_summary,
    judge_accuracy,
    load_judge_check,
    markdown_table,
    plot_grounding,
    ragas_judge,
    ragas_samples,
    score_one_by_one,
    write_report,
)
from evals.protocols import make_protocol, select_units
from evals.server_check import vllm_models
from tools.datasets import load_dataset
from tools.errors import DatasetNotFoundError

if TYPE_CHECKING:
    from evals.conftest import EvalOptions

_STATE: dict[str, dict[str, Any]] = {}
"""Domain -> what its tests found so far (explained cases, grounding, report sections, markdown)."""
_GROUNDED: dict[str, list[Grounded]] = {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "domain" in metafunc.fixturenames:
        option = str(metafunc.config.getoption("--eval-domains"))
        metafunc.parametrize("domain", [d.strip() for d in option.split(",") if d.strip()])


def _server(monkeypatch: pytest.MonkeyPatch) -> tuple[ModelSettings, str]:
    """(settings pointing at the vLLM server, its model id), or skip with the reason when it does not answer."""
    settings, models = vllm_models(monkeypatch)
    model = settings.openai_model or (models[0] if models else "")
    if not model:
        pytest.skip(f"the server at {settings.openai_base_url} lists no model")
    return settings, model


def _explained(domain: str, options: EvalOptions, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    if domain in _STATE:
        return _STATE[domain]
    try:
        dataset = load_dataset(domain)
    except DatasetNotFoundError as exc:
        pytest.skip(f"{domain} dataset missing: {exc}")
    protocol = make_protocol("candidates")
    try:
        units = select_units(protocol.unit_ids(dataset), options.llm_users, options.seed)
    except ProtocolNotApplicableError as exc:
        pytest.skip(f"{domain}: {exc}")
    cases = [(c.query.user_id, c.query.history, c.candidates) for c in protocol.cases(dataset, units, options.seed)]
    if options.backend == "vllm":
        _server(monkeypatch)
    settings = ModelSettings()
    llm: Recommender = load_recommender(settings)
    started = time.perf_counter()
    explained = explain_cases(
        llm, dataset, cases, rationale_tokens=settings.rationale_max_tokens, context_tokens=settings.context_tokens
    )
    state: dict[str, Any] = {
        "llm": llm,
        "explained": explained,
        "explain_s": time.perf_counter() - started,
        "report": {"domain": domain, "model": llm.name, "seed": options.seed, "users": len(explained)},
        "markdown": {},
    }
    _STATE[domain] = state
    return state


def _write(domain: str, options: EvalOptions) -> None:
    state = _STATE[domain]
    markdown = f"# Rationale faithfulness: {domain} ({state['report']['model']})\n\n" + "\n".join(
        state["markdown"].values()
    )
    write_report(state["report"], markdown, options.report_dir, domain)


def test_grounding_and_cot(domain: str, eval_options: EvalOptions, monkeypatch: pytest.MonkeyPatch) -> None:
    state = _explained(domain, eval_options, monkeypatch)
    explained: list[Explained] = state["explained"]
    assert explained, f"no {domain} evaluation user was sampled"
    grounded = ground(explained)
    _GROUNDED[domain] = grounded
    summary = grounding_summary(grounded)
    started = time.perf_counter()
    changes = cot_changes(state["llm"], explained)
    cot = cot_summary(changes)
    cot_s = time.perf_counter() - started

    per_user = [
        {"user": g.user_id, "claims": g.claims, "supported": g.supported, "grounding": g.score} for g in grounded
    ]
    state["report"].update(
        grounding=summary,
        grounding_per_user=per_user,
        rationales={c.user_id: c.rationale for c in explained},
        cot=cot,
        cot_per_user=[vars(c) for c in changes],
        wall_s={"explain": state["explain_s"], "cot": cot_s},
    )
    state["markdown"]["grounding"] = markdown_table("Claim grounding (deterministic)", [summary])
    state["markdown"]["cot"] = markdown_table("Chain-of-thought tests (vs the original ranking)", cot)
    print("\n" + state["markdown"]["grounding"] + "\n" + state["markdown"]["cot"])  # noqa: T201 - the test's output
    print(f"explain-and-rank {state['explain_s']:.0f} s, re-rankings {cot_s:.0f} s")  # noqa: T201
    _write(domain, eval_options)
    plot_grounding(_GROUNDED, eval_options.report_dir / "faithfulness.png")

    for value in (summary["mean_grounding"], summary["no_claims_share"], summary["pass_share"]):
        assert value is None or 0.0 <= value <= 1.0
    for row in cot:
        for key in ("top1_change_rate", "mean_overlap@3"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0, row
        assert row["mean_kendall_tau"] is None or -1.0 <= row["mean_kendall_tau"] <= 1.0, row
    same = [c for c in changes if c.perturbation == "same"]
    # Greedy, deterministic ranking: the same prompt and rationale must give the same order (an invariant).
    assert all(not c.top1_changed and c.tau == 1.0 for c in same), [vars(c) for c in same if c.tau != 1.0]


def test_ragas(domain: str, eval_options: EvalOptions, monkeypatch: pytest.MonkeyPatch) -> None:
    if eval_options.backend != "vllm":
        pytest.skip("ragas needs a judge model behind vLLM: --eval-backend vllm")
    try:
        import ragas  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"ragas is not installed (pip install -e '.[eval]'): {exc}")
    settings, model = _server(monkeypatch)
    state = _explained(domain, eval_options, monkeypatch)
    scorer = ragas_judge(settings.openai_base_url, settings.openai_api_key.get_secret_value(), model)

    check_rows = load_judge_check()
    check = score_one_by_one(
        scorer, [(r["id"], r["user_input"], r["response"], list(r["contexts"])) for r in check_rows]
    )
    accuracy = judge_accuracy(check_rows, check)
    run = score_one_by_one(scorer, ragas_samples(state["explained"]))
    grounded = _GROUNDED.get(domain) or ground(state["explained"])
    agree = agreement(grounded, run)
    summary = {
        "judge": model,
        "samples": len(run.outcomes),
        "failures": run.failures,
        "mean_faithfulness": run.mean,
        "judge_check_accuracy": accuracy["accuracy"],
        "judge_check_failures": accuracy["failures"],
        "spearman_vs_grounding": agree["spearman"],
        "pass_fail_agreement": agree["pass_fail_agreement"],
    }
    state["report"].update(
        ragas=summary,
        ragas_per_sample=[vars(o) for o in run.outcomes],
        judge_check=[vars(o) for o in check.outcomes],
    )
    state["markdown"]["ragas"] = markdown_table(
        "ragas Faithfulness (judge accuracy on judge_check.jsonl beside it)", [summary]
    )
    print("\n" + state["markdown"]["ragas"])  # noqa: T201 - the test's output
    _write(domain, eval_options)
    assert run.mean is None or 0.0 <= run.mean <= 1.0
    assert 0.0 <= accuracy["accuracy"] <= 1.0
