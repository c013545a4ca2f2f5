"""``--wtb-save-baseline`` / ``--wtb-baseline``: the file, and regressions told from noise."""

from __future__ import annotations

import json

import pytest

from tests.pytest_plugin.conftest import run

# One batch of 8 cases scored by pluginflow.quality ($PLUGIN_SCORES picks the scores), and
# a marked test whose 4 runs of one case are scored by it too (the case "q2").
SESSION = """
import pytest
from pluginflow import CASES, project, quality

def test_batch(wtb_bench):
    wtb_bench.register_project(project)
    wtb_bench.run_batch_test(project="qa", variant_matrix=[{}], test_cases=CASES,
                             evaluators=[quality])

@pytest.mark.wtb(project="pluginflow:project", repetitions=4, evaluators=[quality])
def test_marked(wtb_run):
    wtb_run({"query": "q2"})
"""
BATCH = "test_session.py::test_batch"
MARKED = "test_session.py::test_marked"


@pytest.fixture
def baseline(wtb_pytester):
    """A baseline saved from a session with the "base" scores; returns its path."""
    wtb_pytester.makepyfile(test_session=SESSION)
    result = run(wtb_pytester, "--wtb-save-baseline", "results/baseline.json")
    assert result.ret == 0
    assert "baseline of 2 tests written to results/baseline.json" in result.stdout.str()
    return wtb_pytester.path / "results" / "baseline.json"


def test_the_baseline_file_holds_every_runs_value_per_test_metric_and_case(baseline):
    document = json.loads(baseline.read_text())
    assert document["format"] == "wtb-pytest-baseline" and document["version"] == 1
    assert set(document["tests"]) == {BATCH, MARKED}
    quality = document["tests"][BATCH]["quality"]
    assert quality["qa | default | case-3"] == [0.5]
    assert len(quality) == 8
    assert document["tests"][BATCH]["pass_rate"]["qa | default | case-3"] == [1.0]
    marked = document["tests"][MARKED]["quality"]
    assert list(marked.values()) == [[0.8, 0.8, 0.8, 0.8]]
    assert json.loads(next(iter(marked)))["input"] == {"query": "q2"}  # the case: the call


def test_the_same_scores_again_are_no_regression(wtb_pytester, baseline):
    result = run(wtb_pytester, "--wtb-baseline", str(baseline), "-v")
    assert result.ret == 0
    output = result.stdout.str()
    assert f"baseline {baseline}: 4 metrics of 2 tests compared, 0 regressed" in output
    assert "REGRESSED" not in output
    rows = [line for line in output.splitlines() if "│ quality" in line]
    assert any(BATCH in row and "paired, 8 cases" in row for row in rows), output
    assert any(MARKED in row and "unpaired, 4 runs" in row for row in rows), output


def test_noise_around_the_baseline_is_not_flagged(wtb_pytester, baseline, monkeypatch):
    monkeypatch.setenv("PLUGIN_SCORES", "noise")  # each case ±0.1, mean unchanged
    result = run(wtb_pytester, "--wtb-baseline", str(baseline), "-v")
    assert result.ret == 0, result.stdout.str()
    output = result.stdout.str()
    assert "0 regressed" in output
    row = next(line for line in output.splitlines() if BATCH in line and "quality" in line)
    assert "paired, 8 cases" in row and "ok" in row


def test_a_real_regression_fails_the_session_with_its_delta_ci_and_p(
    wtb_pytester, baseline, monkeypatch
):
    monkeypatch.setenv("PLUGIN_SCORES", "worse")  # every case 0.3 lower
    result = run(wtb_pytester, "--wtb-baseline", str(baseline))
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert (
        f"REGRESSED {BATCH}: quality 0.4 against 0.7 in the baseline, delta -0.3 "
        "(CI -0.3 to -0.3), p = 0.00781 (paired, 8 cases)" in output
    )
    assert (
        f"REGRESSED {MARKED}: quality 0.5 against 0.8 in the baseline, delta -0.3: the "
        "intervals of the two sessions' runs do not overlap (unpaired, 4 runs)" in output
    )
    assert "4 metrics of 2 tests compared, 2 regressed" in output
    assert "REGRESSED" in next(
        line for line in output.splitlines() if "│" in line and BATCH in line
    )


def test_min_effect_lets_a_small_significant_drop_pass(wtb_pytester, baseline, monkeypatch):
    monkeypatch.setenv("PLUGIN_SCORES", "worse")
    result = run(wtb_pytester, "--wtb-baseline", str(baseline), "--wtb-min-effect", "0.5")
    assert result.ret == 0
    assert "0 regressed" in result.stdout.str()


def test_tests_the_baseline_lacks_are_counted_not_compared(wtb_pytester, baseline):
    wtb_pytester.makepyfile(
        test_more="""
        import pytest

        @pytest.mark.wtb(project="pluginflow:project")
        def test_new(wtb_run):
            wtb_run({"query": "hi"})
        """
    )
    result = run(wtb_pytester, "--wtb-baseline", str(baseline))
    assert result.ret == 0
    assert "tests not in the baseline: 1" in result.stdout.str()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"tests": {}}', 'is not a WTB baseline (it has no "format": "wtb-pytest-baseline")'),
        ("<xml/>", "is not a WTB baseline (not JSON: "),
        ('{"format": "wtb-pytest-baseline", "version": 7, "tests": {}}',
         "is a version 7 baseline; this WTB reads version 1"),
        ('{"format": "wtb-pytest-baseline", "version": 1, "tests": {"t": {"m": {"c": ["x"]}}}}',
         '"tests" must map test ids to metrics to cases to lists of numbers'),
        (None, "no such file"),
    ],
)  # fmt: skip
def test_a_baseline_file_that_is_not_ours_is_a_usage_error(wtb_pytester, content, message):
    wtb_pytester.makepyfile(test_session=SESSION)
    path = wtb_pytester.path / "other.json"
    if content is not None:
        path.write_text(content)
    result = run(wtb_pytester, "--wtb-baseline", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert f"--wtb-baseline {path} {message}" in errors or f"{path}: {message}" in errors, errors
    assert f"write one with pytest --wtb-save-baseline {path}" in errors


def test_a_bad_alpha_is_a_usage_error(wtb_pytester):
    result = run(wtb_pytester, "--wtb-baseline", "baseline.json", "--wtb-alpha", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--wtb-alpha / --wtb-min-effect: alpha must be a number in (0, 1), got 2.0" in (
        result.stderr.str()
    )
