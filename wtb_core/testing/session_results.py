"""The runs a pytest session made, as gates and baselines read them.

Every test that uses ``wtb_bench`` contributes ``RunRecord``s: one per ``wtb_run``
repetition and one per row of every batch its bench ran. A record's ``case`` says what the
run was of, so the runs of one case in one test are its repetitions:

* a ``wtb_run`` call: the call's arguments as JSON (initial state, variants, expected);
* a batch row: ``"<project> | <combination label> | <case name>"``.

Under pytest-xdist each worker sends its records to the controller as JSON in
``workeroutput`` (``WORKEROUTPUT_KEY``), where ``merge_json`` adds them to the controller's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from wtb_core.batch.models import passes
from wtb_core.domain.models import ExecutionResult, ExecutionStatus

if TYPE_CHECKING:
    from wtb_core.batch.results import BatchTestResult

WORKEROUTPUT_KEY = "wtb_runs"


class RunRecord(BaseModel):
    """One run of a test: its ``test`` (pytest node id), ``case`` (see the module),
    outcome, evaluator scores and duration."""

    model_config = ConfigDict(frozen=True)

    test: str
    case: str
    execution_id: str | None
    status: ExecutionStatus
    passed: bool
    scores: dict[str, float] = Field(default_factory=dict)
    duration_ms: float


_RECORDS = TypeAdapter(list[RunRecord])


def call_case(
    initial_state: Mapping[str, Any] | None,
    variant_config: Mapping[str, str] | None,
    workflow_variant: str | None,
    expected: Mapping[str, Any] | None,
) -> str:
    """The case of a ``wtb_run`` call: its arguments as canonical JSON."""
    arguments = {
        "input": dict(initial_state or {}),
        "variants": dict(variant_config or {}),
        "workflow_variant": workflow_variant,
        "expected": dict(expected) if expected is not None else None,
    }
    return json.dumps(arguments, sort_keys=True, default=repr)


def run_record(
    test: str,
    case: str,
    outcome: ExecutionResult,
    scores: dict[str, float],
    score_errors: dict[str, str],
) -> RunRecord:
    """The record of one ``wtb_run`` repetition."""
    return RunRecord(
        test=test,
        case=case,
        execution_id=outcome.execution_id,
        status=outcome.status,
        passed=passes(outcome.status, scores, score_errors),
        scores=scores,
        duration_ms=outcome.duration_ms,
    )


def batch_records(test: str, batch: BatchTestResult) -> list[RunRecord]:
    """One record per row of ``batch``."""
    return [
        RunRecord(
            test=test,
            case=f"{batch.project} | {row.combination_label} | {row.case}",
            execution_id=row.execution_id,
            status=row.status,
            passed=row.passed,
            scores=row.scores,
            duration_ms=row.duration_ms,
        )
        for row in batch.results
    ]


class SessionResults:
    """The session's records (this process's, and on the xdist controller its workers')."""

    def __init__(self) -> None:
        self.records: list[RunRecord] = []

    def add(self, records: Iterable[RunRecord]) -> None:
        self.records.extend(records)

    def to_json(self) -> str:
        return _RECORDS.dump_json(self.records).decode()

    def merge_json(self, text: str) -> None:
        """Add the records a worker sent (``to_json`` of its results)."""
        self.add(_RECORDS.validate_json(text))
