"""What a batch test is made of and what it produces."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wtb_core.domain.models import ExecutionStatus


class BatchStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"  # every cell has a row (some rows may be failed cells)
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the driving process died; resume_batch finishes it


class BatchSummary(BaseModel):
    """A batch without its rows: its counts are the stored rows' (``finished_cells``;
    ``failed_cells`` those that did not complete)."""

    batch_id: str
    project: str
    status: BatchStatus
    total_cells: int
    finished_cells: int
    failed_cells: int
    combinations: list[dict[str, str]]
    combination_labels: list[str]
    error: str | None = None
    created_at: datetime | None = None


class Cell(BaseModel):
    """One unit of batch work: small and serialisable, so any runner can ship it.

    ``combination`` is the matrix row (``{node: variant}``, maybe with ``"_workflow"``);
    ``inputs`` the test case's inputs.
    """

    model_config = ConfigDict(frozen=True)

    batch_id: str
    project: str
    combination_index: int
    combination: dict[str, str]
    case_index: int
    case_name: str
    inputs: dict[str, Any]
    repetition: int

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.combination_index, self.case_index, self.repetition)


class BatchRow(BaseModel):
    """The outcome of one cell: one row per (combination, test case, repetition).

    ``combination`` is the matrix row the cell ran, exactly as it was given to
    ``run_batch_test`` (``{node: variant}``, with ``"_workflow"`` when given), so rows filter
    on what was passed: ``row.combination == {"retriever": "bm25"}``. ``combination_label``
    is its readable label, the one tables print: ``"default"`` or ``"retriever=bm25"`` (the
    non-default choices, ``_workflow=...`` first). ``scores`` maps metric name → a finite
    float; an evaluator that raised, or a score that is not a finite number (NaN, ±inf), is
    in ``score_errors`` under the metric's name instead (a row built with a non-finite score
    moves it there).
    """

    batch_id: str
    combination_index: int
    combination: dict[str, str]
    combination_label: str
    case_index: int
    case: str
    repetition: int
    execution_id: str | None = None
    status: ExecutionStatus
    state: dict[str, Any] = Field(default_factory=dict)
    scores: dict[str, float] = Field(default_factory=dict)
    score_errors: dict[str, str] = Field(default_factory=dict)
    duration_ms: float = 0.0
    error: str | None = None
    finished_at: datetime | None = None

    @model_validator(mode="after")
    def _only_finite_scores(self) -> BatchRow:
        bad = {metric: v for metric, v in self.scores.items() if not math.isfinite(v)}
        if bad:
            self.scores = {m: v for m, v in self.scores.items() if m not in bad}
            found = {metric: non_finite_error(value) for metric, value in bad.items()}
            self.score_errors = {**found, **self.score_errors}
        return self

    @cached_property
    def passed(self) -> bool:
        """A cell passes when it completed and every score is truthy (≥ 0.5 for floats in
        [0, 1]); metrics named ``latency*`` or ``*_ms`` are measurements, not pass/fail.
        Worked out once per row: a row is a value, not changed after it is made."""
        return passes(self.status, self.scores, self.score_errors)


def passes(
    status: ExecutionStatus, scores: Mapping[str, float], score_errors: Mapping[str, str]
) -> bool:
    """Whether a run passes: it completed, no evaluator failed, and every score that judges
    (not a measurement) is at least 0.5."""
    if status is not ExecutionStatus.COMPLETED or score_errors:
        return False
    return all(v >= 0.5 for k, v in scores.items() if not is_measurement(k))


def non_finite_error(value: float) -> str:
    """The score error recorded for a score that is NaN or infinite."""
    return f"evaluator returned {value!r}: not a finite number"


def is_measurement(metric: str) -> bool:
    """Metrics that measure (latency, durations) rather than judge."""
    return metric.startswith("latency") or metric.endswith("_ms")


class CellStarted(BaseModel):
    """What a distributed runner may yield when a cell starts on a worker, before its
    result: the driver then counts it as running (progress, ``wtb_batch_cells_in_flight``)."""

    execution_id: str


class DetachedResult(BaseModel):
    """What a cell run away from the driver (a worker process) hands back: its row, the
    execution record and its audit events, for the driver to write."""

    row: BatchRow
    execution: dict[str, Any]
    events: list[dict[str, Any]] = Field(default_factory=list)
