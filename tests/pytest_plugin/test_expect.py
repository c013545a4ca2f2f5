"""``expect(...)`` on executions built by hand: every check, and what a failure says."""

from __future__ import annotations

from pathlib import Path

import pytest

from wtb_core.domain.models import ExecutionResult, ExecutionStatus
from wtb_core.testing import Outcomes, expect
from wtb_core.testing.expectations import STATE_CHARS
from wtb_core.testing.outcomes import Inspection


def result(status: str = "completed", error: str | None = None, **state) -> ExecutionResult:
    return ExecutionResult(
        execution_id="e1", project="rag", status=ExecutionStatus(status), state=state, error=error
    )


def test_passing_checks_chain():
    outcome = result(answer="see [d1]", n=3)
    expect(outcome).completed().state("answer").contains("[d").state("n").equals(3)
    expect(outcome).state("answer").matches(r"\[d\d\]").status("completed")
    expect([outcome, result(answer="see [d2]")]).state("answer").contains("see")
    expect(result("failed", "ValueError: boom")).failed()


def test_a_status_check_names_the_status_found_and_the_error():
    with pytest.raises(AssertionError) as failure:
        expect(result("failed", "ValueError: boom", query="q")).completed()
    assert str(failure.value) == (
        "expected status is completed\n"
        "execution e1 (project 'rag'): status is failed (ValueError: boom)\n"
        "  state: {'query': 'q'}"
    )


def test_a_regex_that_does_not_match_fails_with_the_value():
    with pytest.raises(AssertionError, match=r"expected state\['answer'\] matches /\\d\{3\}/"):
        expect(result(answer="no digits")).state("answer").matches(r"\d{3}")


def test_only_the_failing_runs_are_listed_with_how_to_inspect_them():
    runs = Outcomes([result(n=1), result(n=2)], Inspection(Path("/data"), checkpoints_kept=True))
    with pytest.raises(AssertionError) as failure:
        expect(runs).state("n").equals(1)
    message = str(failure.value)
    assert message.startswith("expected state['n'] == 1; 1 of 2 runs do not\nrun 2 of 2, ")
    assert "run 1 of 2" not in message
    assert message.endswith("  inspect it: wtb --data-dir /data checkpoints e1")


def test_a_long_state_is_shortened():
    with pytest.raises(AssertionError) as failure:
        expect(result(text="x" * 5000)).state("text").equals("y")
    assert f"… ({5000 + len(repr({'text': ''})) - STATE_CHARS} more characters)" in str(
        failure.value
    )


def test_bad_arguments_say_what_to_pass():
    with pytest.raises(TypeError, match="expect\\(\\) takes an ExecutionResult or a non-empty"):
        expect([])
    with pytest.raises(ValueError, match="unknown status 'done'; choose one of: pending"):
        expect(result()).status("done")
