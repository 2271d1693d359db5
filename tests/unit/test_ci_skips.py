"""tests/ci_skips.py in a pytest run of its own: under CI=true an unmarked skip fails, a marked one stays a skip."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest

@pytest.fixture
def server():
    pytest.skip("no server here")

def test_unmarked():
    pytest.skip("chromium missing")

def test_unmarked_fixture(server):
    pass

@pytest.mark.skipif(True, reason="the condition holds")
def test_unmarked_skipif():
    pass

@pytest.mark.allowed_skip("the dataset is never bundled")
def test_marked():
    pytest.skip("citeulike is absent")

@pytest.mark.allowed_skip("an external server")
def test_marked_fixture(server):
    pass

@pytest.mark.xfail(reason="known", strict=True)
def test_xfail():
    assert False

def test_passes():
    pass
"""


@pytest.fixture(autouse=True)
def _no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    # The installed plugins (hypothesis, anyio, ...) are nothing to these runs and would cost seconds each.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    # The marker registered as in pyproject.toml, with --strict-markers as there.
    pytester.makeini("[pytest]\naddopts = --strict-markers\nmarkers =\n    allowed_skip(reason): may skip under CI\n")
    pytester.makepyfile(test_project=TESTS)
    return pytester


def test_under_ci_an_unmarked_skip_fails_and_a_marked_one_is_skipped(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = project.runpytest("-p", "tests.ci_skips", "-rA")
    # A skip in a fixture happens during setup: pytest counts its failure as an error.
    result.assert_outcomes(passed=1, failed=1, errors=2, skipped=2, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*skipped under CI=true: chromium missing",
            "*skipped under CI=true: no server here",
            "*skipped under CI=true: the condition holds",
            "*only tests marked @pytest.mark.allowed_skip(reason) may skip*",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize("value", [None, "false"])
def test_outside_ci_every_skip_is_a_skip(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    result = project.runpytest("-p", "tests.ci_skips")
    result.assert_outcomes(passed=1, skipped=5, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_under_ci_a_module_skipped_at_import_fails(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_extra='import pytest\npytest.importorskip("no_such_module_here")\n')
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest("-p", "tests.ci_skips")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_extra.py skipped under CI=true: could not import 'no_such_module_here'*"])
    monkeypatch.delenv("CI")
    pytester.runpytest("-p", "tests.ci_skips").assert_outcomes(skipped=1)


def test_the_marker_needs_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bare="import pytest\n\n@pytest.mark.allowed_skip\ndef test_bare():\n    pass\n")
    result = pytester.runpytest("-p", "tests.ci_skips")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_bare.py::test_bare: @pytest.mark.allowed_skip needs a reason*"])
