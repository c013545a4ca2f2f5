"""The cells of a batch, and running one as a real execution in this process.

``run_cell`` starts the execution through ``ExecutionRunner``, the port this package needs
of single executions (the SDK's ``ExecutionService`` fills it), so ``wtb_core.batch``
never imports the SDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wtb_core.batch.models import BatchRow, Cell
from wtb_core.batch.scoring import Evaluator, cell_fields, make_row, score, split_combination
from wtb_core.domain.models import ExecutionResult, ExecutionStatus, TestCase
from wtb_core.errors import WTBError
from wtb_core.storage.database import utcnow
from wtb_core.storage.tables import BatchRecord

if TYPE_CHECKING:
    from wtb_core.engine.recorded import RecordingSpec


class ExecutionRunner(Protocol):
    """What a batch needs of single executions: run one to its end (a real, checkpointed
    execution in ``workspace``, or the bench's when ``None``; recording or replaying node
    outputs as ``recording`` says). Raises ``WTBError`` for an execution it refuses to
    start; a workflow that fails is a failed result."""

    def run(
        self,
        project: str,
        initial_state: Mapping[str, Any] | None,
        variant_config: Mapping[str, str] | None,
        workflow_variant: str | None,
        *,
        workspace: Path | None = None,
        recording: RecordingSpec | None = None,
    ) -> ExecutionResult: ...


def batch_cells(record: BatchRecord) -> Iterable[Cell]:
    """Every cell of a batch: combination × case × repetition, in that order."""
    for ci, combination in enumerate(record.matrix):
        for ki, case in enumerate(record.cases):
            for repetition in range(record.repetitions):
                yield Cell(
                    batch_id=record.id,
                    project=record.project,
                    combination_index=ci,
                    combination=combination,
                    case_index=ki,
                    case_name=case["name"],
                    inputs=case["inputs"],
                    repetition=repetition,
                )


def cell_key(cell: Cell) -> str:
    """A file-system-safe name for a cell's own workspace."""
    return f"{cell.batch_id}/c{cell.combination_index}-k{cell.case_index}-r{cell.repetition}"


def run_cell(
    executions: ExecutionRunner,
    project: str,
    case: TestCase,
    cell: Cell,
    evaluators: Mapping[str, Evaluator],
    workspace: Path | None = None,
    recording: RecordingSpec | None = None,
) -> BatchRow:
    """Run one cell as a real execution (in ``workspace`` when given, recording or
    replaying as ``recording`` says) and score it. Never raises for the workflow's
    failures: they become a failed row."""
    nodes, workflow_variant = split_combination(cell.combination)
    try:
        result = executions.run(
            project, cell.inputs, nodes, workflow_variant, workspace=workspace,
            recording=recording,
        )  # fmt: skip
    except WTBError as exc:
        return BatchRow(
            **cell_fields(cell), status=ExecutionStatus.FAILED, error=str(exc), finished_at=utcnow()
        )
    completed = result.status is ExecutionStatus.COMPLETED
    scores, errors = score(case, result, evaluators) if completed else ({}, {})
    return make_row(cell, result, scores, errors)
