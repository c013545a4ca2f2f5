"""Batch models as messages and back: ``Batch`` ↔ ``BatchTestResult`` (with its rows),
test cases, variant matrices, and the ``Comparison`` report (carried as its JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pydantic import ValidationError

from wtb_core import InvalidInputError, TestCase
from wtb_core.plugin import BatchRow, BatchStatus, BatchTestResult, Comparison
from wtb_grpc._gen import wtb_pb2 as pb
from wtb_grpc.jsonvalues import dumps, loads, loads_object
from wtb_grpc.messages import moment, optional, status_of, status_value, timestamp

# -- the variant matrix and test cases -----------------------------------------------------


def entries(matrix: Iterable[Mapping[str, str]]) -> list[pb.VariantEntry]:
    return [pb.VariantEntry(variants=dict(entry)) for entry in matrix]


def matrix_of(messages: Iterable[pb.VariantEntry]) -> list[dict[str, str]]:
    return [dict(entry.variants) for entry in messages]


def case_spec(case: TestCase | Mapping[str, Any]) -> pb.CaseSpec:
    """A test case as given: a ``TestCase``, or a plain mapping of inputs."""
    if isinstance(case, TestCase):
        return pb.CaseSpec(
            case=pb.TestCase(
                inputs_json=dumps(case.inputs),
                expected_json=None if case.expected is None else dumps(case.expected),
                name=case.name,
                metadata_json=dumps(case.metadata),
            )
        )
    return pb.CaseSpec(inputs_json=dumps(dict(case)))


def case_of(spec: pb.CaseSpec, index: int) -> TestCase | dict[str, Any]:
    """The test case ``spec`` carries, as the SDK takes it."""
    where = f"test_cases[{index}]"
    if spec.WhichOneof("kind") == "inputs_json":
        return loads_object(spec.inputs_json, f"{where}.inputs_json")
    if spec.WhichOneof("kind") is None:
        raise InvalidInputError(f"{where} is empty: give a case or inputs_json")
    case = spec.case
    try:
        return TestCase(
            inputs=loads_object(case.inputs_json, f"{where}.inputs_json"),
            expected=(
                loads(case.expected_json, f"{where}.expected_json")
                if case.HasField("expected_json")
                else None
            ),
            name=optional(case, "name"),
            metadata=(
                loads_object(case.metadata_json, f"{where}.metadata_json")
                if case.HasField("metadata_json")
                else {}
            ),
        )
    except ValidationError as exc:
        raise InvalidInputError(f"{where} is not a test case: {exc.errors()[0]['msg']}") from None


# -- batches -------------------------------------------------------------------------------


def row_message(row: BatchRow) -> pb.BatchRow:
    return pb.BatchRow(
        batch_id=row.batch_id,
        combination_index=row.combination_index,
        combination=row.combination,
        combination_label=row.combination_label,
        case_index=row.case_index,
        case=row.case,
        repetition=row.repetition,
        execution_id=row.execution_id,
        status=status_value(row.status),  # type: ignore[arg-type]
        state_json=dumps(row.state),
        scores=row.scores,
        score_errors=row.score_errors,
        duration_ms=row.duration_ms,
        error=row.error,
        finished_at=timestamp(row.finished_at),
    )


def row_model(message: pb.BatchRow) -> BatchRow:
    return BatchRow(
        batch_id=message.batch_id,
        combination_index=message.combination_index,
        combination=dict(message.combination),
        combination_label=message.combination_label,
        case_index=message.case_index,
        case=message.case,
        repetition=message.repetition,
        execution_id=optional(message, "execution_id"),
        status=status_of(message.status),
        state=json.loads(message.state_json),
        scores=dict(message.scores),
        score_errors=dict(message.score_errors),
        duration_ms=message.duration_ms,
        error=optional(message, "error"),
        finished_at=moment(message, "finished_at"),
    )


def batch_message(batch: BatchTestResult) -> pb.Batch:
    return pb.Batch(
        batch_id=batch.batch_id,
        project=batch.project,
        status=pb.BatchStatus.Value(f"BATCH_{batch.status.name}"),  # type: ignore[arg-type]
        total_cells=batch.total_cells,
        combinations=entries(batch.combinations),
        results=[row_message(row) for row in batch.results],
        error=batch.error,
        created_at=timestamp(batch.created_at),
    )


@dataclass
class _Stored:
    """The attributes of a stored batch ``BatchTestResult`` reads."""

    id: str
    project: str
    total_cells: int
    matrix: Sequence[Mapping[str, str]]
    error: str | None
    created_at: datetime | None
    # Not in the gRPC Batch message: a batch read through the client does not say it
    # shared its prefix, and its comparison has no shared-prefix note.
    reuse_prefix: bool = False
    warning: str | None = None


def batch_result(message: pb.Batch) -> BatchTestResult:
    """The SDK's ``BatchTestResult`` (``comparison()`` and ``rows_for`` work on it)."""
    stored = _Stored(
        id=message.batch_id,
        project=message.project,
        total_cells=message.total_cells,
        matrix=matrix_of(message.combinations),
        error=optional(message, "error"),
        created_at=moment(message, "created_at"),
    )
    status = BatchStatus[pb.BatchStatus.Name(message.status).removeprefix("BATCH_")]
    rows = [row_model(row) for row in message.results]
    return BatchTestResult(cast(Any, stored), rows, status)


def comparison_message(comparison: Comparison) -> pb.Comparison:
    return pb.Comparison(comparison_json=comparison.model_dump_json())


def comparison_model(message: pb.Comparison) -> Comparison:
    return Comparison.model_validate_json(message.comparison_json)
