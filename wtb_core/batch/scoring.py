"""Scoring a finished cell and turning it into its row."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wtb_core.batch.models import BatchRow, Cell
from wtb_core.domain.models import ExecutionResult, TestCase
from wtb_core.project import DEFAULT_VARIANT, WORKFLOW_KEY
from wtb_core.storage.database import utcnow

Evaluator = Callable[[TestCase, ExecutionResult], Any]


def combination_label(combination: Mapping[str, str]) -> str:
    """``"default"``, or the non-default choices: ``"_workflow=x, retriever=bm25"``."""
    chosen = [(k, v) for k, v in combination.items() if v != DEFAULT_VARIANT]
    chosen.sort(key=lambda kv: (kv[0] != WORKFLOW_KEY, kv[0]))
    return ", ".join(f"{k}={v}" for k, v in chosen) or DEFAULT_VARIANT


def split_combination(combination: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """A matrix row as ``({node: variant}, workflow variant or None)``."""
    nodes = {k: v for k, v in combination.items() if k != WORKFLOW_KEY}
    return nodes, combination.get(WORKFLOW_KEY)


def score(
    case: TestCase, outcome: ExecutionResult, evaluators: Mapping[str, Evaluator]
) -> tuple[dict[str, float], dict[str, str]]:
    """Every evaluator's scores; ``None`` means not applicable (no score); one that raises
    (or returns nonsense) is an error entry."""
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name, evaluator in evaluators.items():
        try:
            value = evaluator(case, outcome)
            if value is None:
                continue
            if isinstance(value, Mapping):
                scores.update({str(k): float(v) for k, v in value.items()})
            else:
                scores[name] = float(value)
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
    return scores, errors


def cell_fields(cell: Cell) -> dict[str, Any]:
    """The row fields that identify a cell."""
    return {
        "batch_id": cell.batch_id,
        "combination_index": cell.combination_index,
        "combination": combination_label(cell.combination),
        "case_index": cell.case_index,
        "case": cell.case_name,
        "repetition": cell.repetition,
    }


def make_row(
    cell: Cell, result: ExecutionResult, scores: dict[str, float], errors: dict[str, str]
) -> BatchRow:
    return BatchRow(
        **cell_fields(cell),
        execution_id=result.execution_id,
        status=result.status,
        state=result.state,
        scores=scores,
        score_errors=errors,
        duration_ms=result.duration_ms,
        error=result.error,
        finished_at=utcnow(),
    )
