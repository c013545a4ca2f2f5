"""Under pytest-xdist the workers' runs are aggregated on the controller for the gates."""

from __future__ import annotations

import json

import pytest

from tests.pytest_plugin.conftest import junit_properties

BATCH = """
import os
from pluginflow import CASES, project

def test_{name}(wtb_bench, record_property):
    record_property("worker", os.environ["PYTEST_XDIST_WORKER"])
    wtb_bench.register_project(project)
    wtb_bench.run_batch_test(project="qa", variant_matrix=[{matrix}], test_cases=CASES[:4],
                             evaluators=["exact_match"])
"""


def test_the_gates_hold_the_aggregate_of_every_workers_runs(wtb_pytester):
    # exact_match is 1.0 in test_right and 0.0 in test_wrong: only the aggregate of both
    # workers' runs, 0.5, passes both exact_match gates; pass_rate 0.5 fails its gate.
    wtb_pytester.makepyfile(
        test_right=BATCH.format(name="right", matrix="{}"),
        test_wrong=BATCH.format(name="wrong", matrix='{"answer": "terse"}'),
    )
    result = wtb_pytester.runpytest_subprocess(
        "-p", "no:langsmith_plugin", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile",
        "--wtb-gate", "exact_match>=0.4", "--wtb-gate", "exact_match<=0.6",
        "--wtb-gate", "pass_rate>=0.9", "--wtb-save-baseline", "baseline.json",
        "--junitxml", "out.xml",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    lines = {line.split("│")[1].strip(): line for line in output.splitlines() if "│" in line}
    for gate in ("exact_match>=0.4", "exact_match<=0.6"):
        assert "0.5" in lines[gate] and "8 cases" in lines[gate] and "passed" in lines[gate]
    assert "FAILED gate pass_rate>=0.9: pass_rate is 0.5 (value), not >= 0.9" in output
    properties = junit_properties(wtb_pytester.path / "out.xml")
    assert {properties["test_right"]["worker"], properties["test_wrong"]["worker"]} == {
        "gw0", "gw1",
    }  # fmt: skip
    assert properties["test_right"]["wtb.exact_match"] == "1"
    assert properties["test_wrong"]["wtb.exact_match"] == "0"
    saved = json.loads((wtb_pytester.path / "baseline.json").read_text())["tests"]
    assert set(saved) == {"test_right.py::test_right", "test_wrong.py::test_wrong"}
