"""``ParityChecker``: does a batch give the same results on two runners?

Before moving a batch from the thread pool to Ray (or any other runner), run it on both
and compare every cell's final state and scores. Measurements (latency, ``*_ms``) are not
compared: they differ by nature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, Field

from wtb_core.batch.models import BatchRow, is_measurement
from wtb_core.batch.results import BatchTestResult
from wtb_core.domain.models import TestCase


class BatchTests(Protocol):
    """What the checker runs batches with: ``WTBTestBench`` (or anything with its
    ``run_batch_test``)."""

    def run_batch_test(
        self,
        project: str,
        variant_matrix: Sequence[Mapping[str, str]],
        test_cases: Sequence[TestCase | Mapping[str, Any]],
        evaluators: Iterable[Any] | None = None,
        parallelism: int | None = None,
        runner: str | None = None,
        repetitions: int = 1,
    ) -> BatchTestResult: ...


class CellDifference(BaseModel):
    """One field of one cell that differs between the runners (``combination`` is the
    matrix entry, ``combination_label`` its label)."""

    combination: dict[str, str]
    combination_label: str
    case: str
    repetition: int
    field: str  # "status", "state.<key>", "score.<metric>" or "missing"
    left: Any = None
    right: Any = None


class ParityReport(BaseModel):
    runners: tuple[str, str]
    batch_ids: tuple[str, str]
    cells: int
    differences: list[CellDifference] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def __str__(self) -> str:
        left, right = self.runners
        if self.ok:
            return f"parity: {left} and {right} agree on all {self.cells} cells"
        lines = [f"parity: {len(self.differences)} difference(s) between {left} and {right}:"]
        lines += [
            f"  {d.combination_label} / {d.case} [rep {d.repetition}] {d.field}: "
            f"{d.left!r} != {d.right!r}"
            for d in self.differences
        ]
        return "\n".join(lines)


class ParityChecker:
    """Runs one batch on two runners and reports the cells whose results differ."""

    def __init__(self, bench: BatchTests, tolerance: float = 1e-9) -> None:
        self.bench = bench
        self.tolerance = tolerance

    def check(
        self,
        project: str,
        test_cases: Sequence[TestCase | Mapping[str, Any]],
        variant_matrix: Sequence[Mapping[str, str]] = ({},),
        evaluators: Iterable[Any] | None = None,
        runners: tuple[str, str] = ("threadpool", "ray"),
        parallelism: int | None = None,
        repetitions: int = 1,
    ) -> ParityReport:
        evaluators = list(evaluators or [])
        batches = [
            self.bench.run_batch_test(
                project,
                variant_matrix,
                test_cases,
                evaluators=evaluators,
                runner=runner,
                parallelism=parallelism,
                repetitions=repetitions,
            )
            for runner in runners
        ]
        left = {_key(r): r for r in batches[0].results}
        right = {_key(r): r for r in batches[1].results}
        differences = []
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                row = left.get(key) or right[key]
                differences.append(_difference(row, "missing", key in left, key in right))
                continue
            differences += self._compare(left[key], right[key])
        return ParityReport(
            runners=runners,
            batch_ids=(batches[0].batch_id, batches[1].batch_id),
            cells=len(set(left) | set(right)),
            differences=differences,
        )

    def _compare(self, a: BatchRow, b: BatchRow) -> list[CellDifference]:
        found = []
        if a.status != b.status:
            found.append(_difference(a, "status", a.status.value, b.status.value))
        for key in sorted(set(a.state) | set(b.state)):
            if a.state.get(key) != b.state.get(key):
                found.append(_difference(a, f"state.{key}", a.state.get(key), b.state.get(key)))
        metrics = {m for m in set(a.scores) | set(b.scores) if not is_measurement(m)}
        for metric in sorted(metrics):
            x, y = a.scores.get(metric), b.scores.get(metric)
            if x is None or y is None or not math.isclose(x, y, abs_tol=self.tolerance):
                found.append(_difference(a, f"score.{metric}", x, y))
        return found


def _key(row: BatchRow) -> tuple[int, int, int]:
    return (row.combination_index, row.case_index, row.repetition)


def _difference(row: BatchRow, field: str, left: Any, right: Any) -> CellDifference:
    return CellDifference(
        combination=row.combination,
        combination_label=row.combination_label,
        case=row.case,
        repetition=row.repetition,
        field=field,
        left=left,
        right=right,
    )
