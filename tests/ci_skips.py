"""Under CI, a skip is a failure unless the test is marked `@pytest.mark.allowed_skip(reason)`.

A skipped test passes silently, so a missing system package or a dataset path gone wrong would shrink the suite
without anyone noticing. `.ci/run` installs everything the suite needs (`make test`: the extras, PostgreSQL,
Chromium, the vLLM environment) and runs with CI=true; only what no checkout can carry may skip there: the datasets
whose licences forbid bundling (citeulike, movielens) and an external Qdrant server. tests/conftest.py registers
this plugin; tests/unit/test_ci_skips.py runs it with `-p tests.ci_skips`.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

MARKER = "allowed_skip"
FIX = (
    "Under CI=true only tests marked @pytest.mark.allowed_skip(reason) may skip (datasets that are never bundled, "
    "an external server). Install what the reason names (`make test` sets up the extras, the system packages and "
    "the vLLM environment), fix the test, or, if nothing in the repository can provide it, mark the test."
)


def ci() -> bool:
    """CI=true (as `.ci/run` and most CI services set it); empty, 0, false and no mean a developer's run."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _reason(longrepr: object) -> str:
    # A skip's longrepr is (path, line, "Skipped: <reason>"); anything else is shown as it is.
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The reason is what a reader of the test sees about why skipping is fine; an empty one hides that.
    for item in items:
        for marker in item.iter_markers(MARKER):
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{MARKER} needs a reason, e.g. {MARKER}('...')")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport]:
    report = yield
    # An xfail is reported as skipped too, with `wasxfail`: it is an expected failure, not a missing dependency.
    if report.skipped and not hasattr(report, "wasxfail") and ci() and item.get_closest_marker(MARKER) is None:
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true: {_reason(report.longrepr)}\n{FIX}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport]:
    # A module that skips at import (pytest.importorskip at the top) cannot carry a marker: under CI it fails.
    report = yield
    if report.skipped and ci():
        report.outcome = "failed"
        report.longrepr = f"{collector.nodeid} skipped under CI=true: {_reason(report.longrepr)}\n{FIX}"
    return report
