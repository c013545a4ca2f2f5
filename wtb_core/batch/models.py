"""What a batch test is made of and what it produces."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wtb_core.domain.models import ExecutionStatus


class BatchStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"  # every cell has a row (some rows may be failed cells)
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the driving process died; resume_batch finishes it


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

    ``combination`` is a readable label of the matrix row (``"default"`` or
    ``"retriever=bm25, generator=default"``, with ``_workflow=...`` first when present).
    ``scores`` maps metric name → float; an evaluator that raised has its error in
    ``score_errors`` under the metric's name instead.
    """

    batch_id: str
    combination_index: int
    combination: str
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

    @property
    def passed(self) -> bool:
        """A cell passes when it completed and every score is truthy (≥ 0.5 for floats in
        [0, 1]); metrics named ``latency*`` or ``*_ms`` are measurements, not pass/fail."""
        if self.status is not ExecutionStatus.COMPLETED or self.score_errors:
            return False
        return all(v >= 0.5 for k, v in self.scores.items() if not is_measurement(k))


def is_measurement(metric: str) -> bool:
    """Metrics that measure (latency, durations) rather than judge."""
    return metric.startswith("latency") or metric.endswith("_ms")


class DetachedResult(BaseModel):
    """What a cell run away from the driver (a worker process) hands back: its row, the
    execution record and its audit events, for the driver to write."""

    row: BatchRow
    execution: dict[str, Any]
    events: list[dict[str, Any]] = Field(default_factory=list)
