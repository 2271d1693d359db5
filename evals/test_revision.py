"""Revision (issue 7, item 4): a scripted user disputes the agent's answer; how often does the revision do its job?

    pytest evals/test_revision.py -s --eval-llm-users 3 --eval-domains scientific

Per domain: `--eval-llm-users` evaluation users (a seeded sample), each a request and one scripted dispute through the
real agent (evals/revision.py). Prints the table and writes revision-{domain}.json and .md under --eval-report-dir.
Asserted are only the facts that cannot be gamed: an item the user owns or rejected never comes back, every rate is a
rate, no turn failed. `addressed`, `moved` and whether the picks still serve the request are quality figures:
reported, not thresholded.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from agent.session import RecommenderAgent
from agent.settings import AgentSettings
from evals.revision import CRITERIA, ON_REQUEST, sample_users, simulate_disputes
from evals.server_check import vllm_models
from tools.datasets import load_dataset
from tools.errors import DatasetNotFoundError, ToolsError
from tools.settings import DataSettings
from tools.splits import split_users

if TYPE_CHECKING:
    from evals.conftest import EvalOptions

SKIPPED_DOMAINS = {"redial": "revision needs user histories with a held-out item; redial has dialogues only"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "domain" in metafunc.fixturenames:
        option = str(metafunc.config.getoption("--eval-domains"))
        metafunc.parametrize("domain", [d.strip() for d in option.split(",") if d.strip()])


def test_revision(domain: str, eval_options: EvalOptions, monkeypatch: pytest.MonkeyPatch) -> None:
    if domain in SKIPPED_DOMAINS:
        pytest.skip(SKIPPED_DOMAINS[domain])
    try:
        dataset = load_dataset(domain, DataSettings())
    except DatasetNotFoundError as exc:
        pytest.skip(f"{domain} dataset missing: {exc}")
    if eval_options.backend == "vllm":
        vllm_models(monkeypatch)
    evaluation = split_users(dataset.users, DataSettings().seed)[1]
    users = sample_users(evaluation, eval_options.llm_users, eval_options.seed)
    if eval_options.llm_users is None:
        warnings.warn(
            f"revision over all {len(users)} {domain} evaluation users: two agent turns each, hours on a CPU",
            stacklevel=1,
        )
    with tempfile.TemporaryDirectory() as tmp:
        settings = AgentSettings(checkpoint_url=str(Path(tmp) / "revision.sqlite"))
        try:
            agent = RecommenderAgent.open(domain, agent_settings=settings, progress=False)
        except DatasetNotFoundError as exc:
            pytest.skip(f"{domain} dataset missing: {exc}")
        except ToolsError as exc:
            pytest.fail(f"the {domain} agent could not open: {exc}")
        started = time.perf_counter()
        with agent:
            report = simulate_disputes(agent, users, dataset, seed=eval_options.seed)
        wall = time.perf_counter() - started

    markdown = report.to_markdown() + f"\n\nWall time: {wall:.0f} s for {len(users)} users.\n"
    print("\n" + markdown)  # noqa: T201 - the table is this test's output (pytest -s)
    (eval_options.report_dir / f"revision-{domain}.json").write_text(report.dumps())
    (eval_options.report_dir / f"revision-{domain}.md").write_text(markdown)

    summary = report.summary()
    for name, stats in summary.items():
        for criterion in (*CRITERIA, *ON_REQUEST):
            rate = stats[criterion]
            assert rate is None or 0.0 <= rate <= 1.0, f"{name} {criterion} = {rate}"
    errors = [f"{o.user_id}: {o.error}" for o in report.outcomes if o.error]
    assert not errors, f"{len(errors)} simulated users hit errors: {errors[:3]}"
    # An item the user owns or rejected can never come back: an invariant of the agent, not a quality figure.
    for kind in ("owned", "item"):
        back = [o for o in report.outcomes if o.kind == kind and o.judged and not o.gone]
        assert not back, f"{kind} disputes whose item came back: {[(o.user_id, o.disputed_items) for o in back]}"
    assert summary["all"]["n"] > 0, "no simulated user got a recommendation to dispute"
