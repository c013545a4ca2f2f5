"""Batches forked from a checkpoint (``bench.fork_batch``): "this run went wrong at the
generator — what would each generator variant have done from here?".

Every cell forks the source execution at the checkpoint (``bench.fork``'s machinery) with
its combination's variants and runs it to its end; the batch's single test case is the
forked state. A combination may only change nodes that have not run yet at the
checkpoint: the state there already holds what the others wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from wtb_core.batch.models import BatchRow, Cell
from wtb_core.batch.prefix import BranchingExecutions, variant
from wtb_core.batch.scoring import (
    Evaluator,
    cell_fields,
    combination_label,
    make_row,
    score,
    split_combination,
)
from wtb_core.domain.models import ExecutionStatus, TestCase
from wtb_core.errors import InvalidInputError, WTBError
from wtb_core.project import WORKFLOW_KEY
from wtb_core.storage.database import utcnow


@dataclass(frozen=True)
class ForkPoint:
    """A checkpoint of a stored execution, as a forked batch starts from it: the nodes
    that ran up to it (``ran``) and the state there."""

    execution_id: str
    checkpoint_id: str
    project: str
    variant_config: dict[str, str]
    workflow_variant: str | None
    ran: frozenset[str]
    state: dict[str, Any]


class ForkingExecutions(BranchingExecutions, Protocol):
    """What forked batches need besides branches: the fork point of a checkpoint."""

    def fork_point(self, execution_id: str, checkpoint_id: str) -> ForkPoint:
        """``checkpoint_id`` of ``execution_id`` as a forked batch starts from it
        (``ExecutionNotFoundError`` / ``CheckpointNotFoundError`` when there is none)."""
        ...


def check_matrix(matrix: Sequence[Mapping[str, str]], point: ForkPoint) -> None:
    """``InvalidInputError`` naming every combination that would change a node that ran
    before the checkpoint, or run another workflow variant than the source."""
    problems = []
    for i, combination in enumerate(matrix):
        label = combination_label(combination)
        workflow = combination.get(WORKFLOW_KEY)
        if workflow is not None and workflow != point.workflow_variant:
            problems.append(
                f"variant_matrix[{i}] ({label}) runs workflow variant {workflow!r}, the "
                f"execution ran {point.workflow_variant or 'the default workflow'!r}"
            )
            continue
        changed = sorted(
            node
            for node in point.ran
            if variant(combination, node) != point.variant_config.get(node, "default")
        )
        if changed:
            nodes = ", ".join(
                f"{n} ({point.variant_config.get(n, 'default')} -> {variant(combination, n)})"
                for n in changed
            )
            problems.append(
                f"variant_matrix[{i}] ({label}) changes node(s) that already ran before "
                f"checkpoint {point.checkpoint_id}: {nodes}"
            )
    if problems:
        raise InvalidInputError(
            "; ".join(problems) + ". Fork from an earlier checkpoint (bench.get_checkpoints "
            "lists them) or leave those nodes at the variant the execution ran"
        )


def run_forked_cell(
    branches: BranchingExecutions,
    point: tuple[str, str],
    source_variants: Mapping[str, str],
    case: TestCase,
    cell: Cell,
    evaluators: Mapping[str, Evaluator],
) -> BatchRow:
    """Fork the source execution at ``point`` (execution id, checkpoint id) with the cell's
    variants, run the fork to its end and score it; never raises for its failures."""
    nodes = {**source_variants, **split_combination(cell.combination)[0]}
    try:
        result = branches.branch(point[0], point[1], nodes, [], None, run=True)
    except WTBError as exc:
        return BatchRow(
            **cell_fields(cell), status=ExecutionStatus.FAILED, error=str(exc), finished_at=utcnow()
        )
    completed = result.status is ExecutionStatus.COMPLETED
    scores, errors = score(case, result, evaluators) if completed else ({}, {})
    return make_row(cell, result, scores, errors)
