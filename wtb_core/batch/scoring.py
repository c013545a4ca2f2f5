"""Scoring a finished cell and turning it into its row."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from wtb_core.batch.models import BatchRow, Cell, non_finite_error
from wtb_core.domain.models import ExecutionResult, TestCase
from wtb_core.errors import ConfigurationError
from wtb_core.ports.evaluator import Evaluator as Evaluator  # batch.service imports it here
from wtb_core.project import WORKFLOW_KEY
from wtb_core.project_variants import DEFAULT_VARIANT
from wtb_core.storage.database import utcnow


def combination_label(combination: Mapping[str, str]) -> str:
    """``"default"``, or the non-default choices: ``"_workflow=x, retriever=bm25"``."""
    chosen = [(k, v) for k, v in combination.items() if v != DEFAULT_VARIANT]
    chosen.sort(key=lambda kv: (kv[0] != WORKFLOW_KEY, kv[0]))
    return ", ".join(f"{k}={v}" for k, v in chosen) or DEFAULT_VARIANT


def combination_index(
    wanted: str | Mapping[str, str], labels: Mapping[int, str], what: str = "combination"
) -> int:
    """The index of the combination ``wanted`` names, given each index's label: ``wanted`` is
    a label (``"retriever=bm25"``) or a matrix entry (``{"retriever": "bm25"}``; variants
    left at ``default`` may be left out). ``ConfigurationError`` listing the labels when no
    combination matches."""
    if isinstance(wanted, Mapping) and all(
        isinstance(v, str) for v in (*wanted.keys(), *wanted.values())
    ):
        label = combination_label(wanted)
    elif isinstance(wanted, str):
        label = wanted
    else:
        raise ConfigurationError(
            f"{what} must be a combination's label (a string such as 'retriever=bm25') or its "
            f"matrix entry (a dict such as {{'retriever': 'bm25'}}), not {wanted!r}"
        )
    for index, candidate in labels.items():
        if candidate == label:
            return index
    raise ConfigurationError(
        f"{what} {wanted!r} is not a combination of this batch; choose one of: "
        f"{', '.join(labels.values())}"
    )


def split_combination(combination: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """A matrix row as ``({node: variant}, workflow variant or None)``."""
    nodes = {k: v for k, v in combination.items() if k != WORKFLOW_KEY}
    return nodes, combination.get(WORKFLOW_KEY)


def score(
    case: TestCase, outcome: ExecutionResult, evaluators: Mapping[str, Evaluator]
) -> tuple[dict[str, float], dict[str, str]]:
    """Every evaluator's scores; ``None`` means not applicable (no score). One that raises
    (or returns nonsense) is an error entry under the evaluator's name; a score that is not
    a finite number (NaN, ±inf) is an error entry under its metric's name."""
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name, evaluator in evaluators.items():
        try:
            value = evaluator(case, outcome)
            if value is None:
                continue
            if isinstance(value, Mapping):
                found = {str(k): float(v) for k, v in value.items()}
            else:
                found = {name: float(value)}
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        for metric, number in found.items():
            if math.isfinite(number):
                scores[metric] = number
            else:
                errors[metric] = non_finite_error(number)
    return scores, errors


def cell_fields(cell: Cell) -> dict[str, Any]:
    """The row fields that identify a cell."""
    return {
        "batch_id": cell.batch_id,
        "combination_index": cell.combination_index,
        "combination": dict(cell.combination),
        "combination_label": combination_label(cell.combination),
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
