"""``--wtb-gate``: gates on the session's aggregate, the summary table and the exit status."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import run

# A batch of 8 cases where the "terse" variant fails exact_match on every case, and a
# marked test: exact_match over the session is 8 of 16 cases, pass rate 10 of 18 runs.
SESSION = """
import pytest
from pluginflow import CASES, project

def test_batch(wtb_bench):
    wtb_bench.register_project(project)
    wtb_bench.run_batch_test(project="qa", variant_matrix=[{}, {"answer": "terse"}],
                             test_cases=CASES, evaluators=["exact_match"])

@pytest.mark.wtb(project="pluginflow:project", repetitions=2)
def test_marked(wtb_run):
    wtb_run({"query": "hi"})
"""

# 8 cases, 7 of them right: exact_match 0.875, Wilson 95% interval about [0.53, 0.98].
SEVEN_OF_EIGHT = """
from pluginflow import CASES, project

def test_batch(wtb_bench):
    wtb_bench.register_project(project)
    cases = [*CASES[:7], CASES[7].model_copy(update={"expected": {"answer": "other"}})]
    wtb_bench.run_batch_test(project="qa", variant_matrix=[{}], test_cases=cases,
                             evaluators=["exact_match"])
"""


def test_gates_that_hold_pass_the_session_and_the_table_shows_them(wtb_pytester):
    wtb_pytester.makepyfile(test_session=SESSION)
    result = run(wtb_pytester, "--wtb-gate", "exact_match>=0.5", "--wtb-gate",
                 "pass_rate>=0.5", "--wtb-gate", "latency_p95_ms<=600000")  # fmt: skip
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    output = result.stdout.str()
    assert "WTB gates (every batch and marked test of the session)" in output
    lines = {line.split("│")[1].strip(): line for line in output.splitlines() if "│" in line}
    assert "0.5" in lines["exact_match>=0.5"] and "16 cases" in lines["exact_match>=0.5"]
    assert "0.5556" in lines["pass_rate>=0.5"] and "18 runs" in lines["pass_rate>=0.5"]
    assert "18 runs" in lines["latency_p95_ms<=600000"]
    assert all("passed" in line for line in lines.values() if "<=" in line or ">=" in line)
    assert "FAILED" not in output


def test_a_gate_that_fails_fails_the_session_and_is_named(wtb_pytester):
    wtb_pytester.makepyfile(test_session=SESSION)
    result = run(wtb_pytester, "--wtb-gate", "exact_match>=0.8", "--wtb-gate",
                 "latency_p95_ms<=0", "--wtb-gate", "pass_rate>=0.5")  # fmt: skip
    result.assert_outcomes(passed=2)  # every test passed: the gates fail the session
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "FAILED gate exact_match>=0.8: exact_match is 0.5 (value), not >= 0.8" in output
    assert "FAILED gate latency_p95_ms<=0: latency_p95_ms is " in output
    assert "FAILED gate pass_rate" not in output


def test_with_gate_ci_a_gate_holds_the_intervals_bound(wtb_pytester):
    wtb_pytester.makepyfile(test_seven=SEVEN_OF_EIGHT)
    gates = ["--wtb-gate", "exact_match>=0.8", "--wtb-gate", "exact_match<=0.9",
             "--wtb-gate", "exact_match>=0.5"]  # fmt: skip
    plain = run(wtb_pytester, *gates)
    assert plain.ret == 0  # 0.875 holds all three
    assert "FAILED" not in plain.stdout.str()
    bounded = run(wtb_pytester, *gates, "--wtb-gate-ci")
    assert bounded.ret == pytest.ExitCode.TESTS_FAILED
    output = bounded.stdout.str()
    assert "FAILED gate exact_match>=0.8: exact_match is 0.5291 (lower 95% bound), not >= 0.8" in (
        output
    )
    assert "FAILED gate exact_match<=0.9: exact_match is 0.9776 (upper 95% bound), not <= 0.9" in (
        output
    )
    assert "FAILED gate exact_match>=0.5" not in output


def test_with_gate_ci_a_latency_percentile_is_held_by_its_value(wtb_pytester):
    wtb_pytester.makepyfile(test_seven=SEVEN_OF_EIGHT)
    result = run(wtb_pytester, "--wtb-gate", "latency_p50_ms<=600000", "--wtb-gate-ci")
    assert result.ret == 0
    assert "value (a percentile)" in result.stdout.str()


def test_with_gate_ci_a_metric_of_one_case_fails_its_gate(wtb_pytester):
    wtb_pytester.makepyfile(
        test_one="""
        import pytest
        from pluginflow import quality

        @pytest.mark.wtb(project="pluginflow:project", repetitions=2, evaluators=[quality])
        def test_one(wtb_run):
            wtb_run({"query": "q1"})  # quality 0.7: one case, not at a bound
        """
    )
    assert run(wtb_pytester, "--wtb-gate", "quality>=0.5").ret == 0
    result = run(wtb_pytester, "--wtb-gate", "quality>=0.5", "--wtb-gate-ci")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        "FAILED gate quality>=0.5: quality is over one case, so it has no interval for "
        "--wtb-gate-ci; add cases, or gate on the value without --wtb-gate-ci"
    ) in result.stdout.str()


def test_a_gate_on_a_metric_nothing_measured_is_a_usage_error_listing_what_was(wtb_pytester):
    wtb_pytester.makepyfile(test_session=SESSION)
    result = run(wtb_pytester, "--wtb-gate", "exact_mach>=0.8")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "ERROR gate exact_mach>=0.8: no batch or marked test of this session measured "
        "'exact_mach' (measured: pass_rate, success_rate, latency_p50_ms, latency_p95_ms, "
        "exact_match); check its spelling" in result.stdout.str()
    )


def test_a_gate_with_no_wtb_test_in_the_session_fails_it(wtb_pytester):
    wtb_pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = run(wtb_pytester, "--wtb-gate", "pass_rate>=0.9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "(measured: nothing: no batch or marked test ran)" in result.stdout.str()


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ("exact_match=0.8", "--wtb-gate 'exact_match=0.8' is not METRIC>=NUMBER or METRIC<=NUMBER"),
        ("exact_match>=high", "--wtb-gate 'exact_match>=high' is not METRIC>=NUMBER"),
        ("latency_p101_ms<=5", "latency_p101_ms is not a latency percentile; write "
                               "latency_p<N>_ms with N from 0 to 100"),
    ],
)  # fmt: skip
def test_a_malformed_gate_is_a_usage_error_before_anything_runs(wtb_pytester, gate, message):
    wtb_pytester.makepyfile(test_session=SESSION)
    result = run(wtb_pytester, "--wtb-gate", gate)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "passed" not in result.stdout.str()  # nothing ran
