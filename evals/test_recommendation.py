"""Recommendation quality, systems side by side: `pytest evals/test_recommendation.py -s` prints every table.

    pytest evals/test_recommendation.py -s --eval-users 50 --eval-llm-users 3 -x    # a couple of minutes

- Item domains (each of --eval-domains except `redial`): random, popularity, bm25, dense and hybrid on the
  candidates, rerank and full protocols over --eval-users users; then llm-base (and llm-rec when a trained adapter
  is configured) on candidates and rerank over --eval-llm-users users, with random, popularity and hybrid in the
  same run so the LLM table has its baselines on the same users.
- ReDial, and each LLMREC_CONVERSATIONAL_DATASETS domain that --eval-domains names: Recall@1/5/10/20/50 (overall and
  for mentioned / new gold items) on the conversational protocol for random, popularity, bm25, dense and hybrid over
  --eval-users dialogue turns, then again with mentioned items excluded (section `conversational-new`, the CIKM'23
  "new items only" setting). ReDial is cheap, so it runs by default although the default --eval-domains does not
  name it; an explicit --eval-domains runs it only if the list names `redial`.
- `--eval-backend vllm`: the LLM systems are served by the OpenAI-compatible server at LLMREC_OPENAI_BASE_URL;
  an unreachable server skips the LLM tests with the reason.

Each run writes its report to `<report-dir>/<domain>-<protocol>[-llm]/`, and after every test the session summary
(`summary.json`, `summary.md`, `ndcg_by_system.png`, evals/suite_report.py) is rewritten in the report folder.

Sanity assertions, none tuned to pass: every metric mean lies in [0, 1]; random's NDCG@10 lies within 4 standard
errors (of random guessing itself, computed exactly) of the analytic value; hybrid beats random by more than
2 standard errors on the candidates protocol; llm-rec is not below llm-base by more than 2 standard errors of the
difference (EvalResult keeps no per-user values, so the two runs' errors are combined as if independent, which
is conservative for a paired design).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from agent.settings import ModelSettings
from evals.conftest import EvalOptions
from evals.harness import EvalResult, MetricSummary, run_eval
from evals.metrics import analytic_random_ndcg
from evals.protocols import ConversationalProtocol
from evals.report import markdown_table, write_report
from evals.server_check import vllm_models
from evals.suite_report import SuiteReport, write_summary
from tools.catalog import Dataset
from tools.datasets import load_dataset
from tools.errors import ToolsError
from tools.settings import DataSettings

RETRIEVAL_SYSTEMS = ("random", "popularity", "bm25", "dense", "hybrid")
LLM_BASELINES = ("random", "popularity", "hybrid")
ITEM_PROTOCOLS = ("candidates", "rerank", "full")
LLM_PROTOCOLS = ("candidates", "rerank")
REDIAL = "redial"
NO_ADAPTER = "no trained LLM-Rec adapter yet (see README, Training)"


def _configured_conversational() -> tuple[str, ...]:
    try:
        return tuple(DataSettings().conversational_datasets)
    except ValidationError:
        return ()  # a malformed setting fails the conversational test that loads the dataset, saying why


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    raw = str(metafunc.config.getoption("--eval-domains"))
    named = [d.strip() for d in raw.split(",") if d.strip()]
    conversational = (REDIAL, *_configured_conversational())
    if "domain" in metafunc.fixturenames:
        metafunc.parametrize("domain", [d for d in named if d not in conversational])
    if "conversational_domain" in metafunc.fixturenames:
        metafunc.parametrize("conversational_domain", [REDIAL, *(d for d in named if d in conversational[1:])])


def _redial_selected(config: pytest.Config, options: EvalOptions) -> bool:
    args = config.invocation_params.args
    explicit = any(a == "--eval-domains" or a.startswith("--eval-domains=") for a in args)
    return REDIAL in options.domains or not explicit


@pytest.fixture(scope="session")
def suite_report(eval_options: EvalOptions) -> Iterator[SuiteReport]:
    report = SuiteReport()
    yield report
    if report.entries:
        write_summary(report, eval_options.report_dir)


@pytest.fixture(scope="session")
def llm_runs() -> dict[tuple[str, str], EvalResult]:
    """(domain, protocol) -> the LLM run, shared by the run's test and the llm-rec comparison."""
    return {}


def _load(domain: str) -> Dataset:
    try:
        return load_dataset(domain)
    except ToolsError as exc:
        pytest.skip(f"dataset {domain!r} unavailable: {exc}")


def _publish(result: EvalResult, options: EvalOptions, report: SuiteReport, section: str) -> None:
    table = markdown_table(result)
    print("\n" + table)  # noqa: T201 - the table is this test's output (pytest -s)
    suffix = section.removeprefix(result.protocol)
    write_report(result, options.report_dir / f"{result.domain}-{result.protocol}{suffix}")
    report.add(result, section)
    write_summary(report, options.report_dir)


def _random_ndcg_sd(num_candidates: int, k: int = 10) -> float:
    """Standard deviation of NDCG@k of a uniformly random ranking with one relevant item among `num_candidates`."""
    gains = [1.0 / math.log2(r + 1) for r in range(1, min(k, num_candidates) + 1)]
    mean = analytic_random_ndcg(num_candidates, k)
    second = sum(g * g for g in gains) / num_candidates
    return math.sqrt(max(0.0, second - mean * mean))


def _combined_se(a: MetricSummary, b: MetricSummary) -> float | None:
    if a.stderr is None or b.stderr is None:
        return None
    return math.hypot(a.stderr, b.stderr)


def check_sanity(result: EvalResult) -> None:
    """The assertions every run must pass: metrics in [0, 1] and random where random guessing puts it."""
    for system, summaries in result.systems.items():
        for metric, summary in summaries.items():
            assert 0.0 <= summary.mean <= 1.0, f"{system} {metric} = {summary.mean} outside [0, 1]"
    random = result.systems.get("random", {}).get("ndcg@10")
    if result.protocol == "candidates" and random is not None and result.num_candidates is not None:
        expected = analytic_random_ndcg(result.num_candidates, 10)
        se = _random_ndcg_sd(result.num_candidates) / math.sqrt(random.n)
        assert abs(random.mean - expected) <= 4 * se, (
            f"random ndcg@10 = {random.mean:.4f} on {random.n} users, but random guessing gives "
            f"{expected:.4f} ± {se:.4f}: the candidates or the tie-breaking are biased"
        )


def _assert_beats_random(result: EvalResult, system: str) -> None:
    better, random = result.systems[system]["ndcg@10"], result.systems["random"]["ndcg@10"]
    se = _combined_se(better, random)
    assert se is not None, "need at least 2 users to compare systems"
    assert better.mean - random.mean > 2 * se, (
        f"{system} ndcg@10 {better.mean:.4f} does not beat random {random.mean:.4f} by 2 standard errors "
        f"({2 * se:.4f}): a retriever that cannot beat random is a bug"
    )


@pytest.mark.parametrize("protocol", ITEM_PROTOCOLS)
def test_retrieval_systems(domain: str, protocol: str, eval_options: EvalOptions, suite_report: SuiteReport) -> None:
    dataset = _load(domain)
    result = run_eval(
        dataset, protocol, list(RETRIEVAL_SYSTEMS), users=eval_options.users, seed=eval_options.seed, progress=False
    )
    _publish(result, eval_options, suite_report, protocol)
    check_sanity(result)
    if protocol == "candidates":
        _assert_beats_random(result, "hybrid")


@pytest.mark.parametrize("exclude_mentioned", [False, True], ids=["all-gold", "new-only"])
def test_conversational(
    conversational_domain: str,
    exclude_mentioned: bool,
    request: pytest.FixtureRequest,
    eval_options: EvalOptions,
    suite_report: SuiteReport,
) -> None:
    if conversational_domain == REDIAL and not _redial_selected(request.config, eval_options):
        pytest.skip("--eval-domains does not name redial")
    dataset = _load(conversational_domain)
    result = run_eval(
        dataset,
        ConversationalProtocol(exclude_mentioned=exclude_mentioned),
        list(RETRIEVAL_SYSTEMS),
        users=eval_options.users,
        seed=eval_options.seed,
        progress=False,
    )
    _publish(result, eval_options, suite_report, "conversational-new" if exclude_mentioned else "conversational")
    check_sanity(result)
    if exclude_mentioned:
        assert not result.strata, "with mentioned items excluded every sample is new: there are no strata"
    else:
        counts = result.stratum_samples()
        assert counts["mentioned"] + counts["new"] == result.samples


def _llm_setup(options: EvalOptions, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Point the LLM systems at the chosen backend (skips if its server is down); whether llm-rec can run."""
    if options.backend == "vllm":
        settings, models = vllm_models(monkeypatch)
        return settings.openai_adapter_model in models
    monkeypatch.setenv("LLMREC_MODEL_BACKEND", "local")
    return ModelSettings().adapter_path is not None


def _llm_run(
    domain: str,
    protocol: str,
    options: EvalOptions,
    monkeypatch: pytest.MonkeyPatch,
    runs: dict[tuple[str, str], EvalResult],
    report: SuiteReport,
) -> EvalResult:
    """The LLM systems' run on (domain, protocol), computed once per session."""
    key = (domain, protocol)
    if key not in runs:
        dataset = _load(domain)
        llm = ["llm-base", *(["llm-rec"] if _llm_setup(options, monkeypatch) else [])]
        runs[key] = run_eval(
            dataset, protocol, [*LLM_BASELINES, *llm], users=options.llm_users, seed=options.seed, progress=False
        )
        _publish(runs[key], options, report, f"{protocol}-llm")
    return runs[key]


@pytest.mark.parametrize("protocol", LLM_PROTOCOLS)
def test_llm_systems(
    domain: str,
    protocol: str,
    eval_options: EvalOptions,
    monkeypatch: pytest.MonkeyPatch,
    llm_runs: dict[tuple[str, str], EvalResult],
    suite_report: SuiteReport,
) -> None:
    result = _llm_run(domain, protocol, eval_options, monkeypatch, llm_runs, suite_report)
    check_sanity(result)


@pytest.mark.parametrize("protocol", LLM_PROTOCOLS)
def test_llm_rec_not_below_base(
    domain: str,
    protocol: str,
    eval_options: EvalOptions,
    monkeypatch: pytest.MonkeyPatch,
    llm_runs: dict[tuple[str, str], EvalResult],
    suite_report: SuiteReport,
) -> None:
    if not _llm_setup(eval_options, monkeypatch):
        pytest.skip(NO_ADAPTER)
    result = _llm_run(domain, protocol, eval_options, monkeypatch, llm_runs, suite_report)
    assert "llm-rec" in result.systems, "the adapter is configured but the LLM run has no llm-rec"
    rec, base = result.systems["llm-rec"]["ndcg@10"], result.systems["llm-base"]["ndcg@10"]
    se = _combined_se(rec, base)
    if se is None:
        pytest.skip("fewer than 2 users: no standard error to compare llm-rec with llm-base")
    assert rec.mean - base.mean >= -2 * se, (
        f"llm-rec ndcg@10 {rec.mean:.4f} is below llm-base {base.mean:.4f} by more than 2 standard errors "
        f"({2 * se:.4f}) on {domain}, {protocol}"
    )
