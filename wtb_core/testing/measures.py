"""Metrics over run records (a session's, or one test's), with their intervals.

The statistics are the batch comparison's (``wtb_core.batch.stats``), over the runs given:

* ``pass_rate`` / ``success_rate``: passed / completed runs over all runs, Wilson interval;
* an evaluator's metric: its runs averaged per (test, case) first, then the mean over those
  cases with ``mean_interval`` (bounded to [0, 1] unless a measurement, as batch
  comparisons do); no interval below two cases;
* ``latency_p<N>_ms`` (any N from 0 to 100, e.g. ``latency_p95_ms``): the linearly
  interpolated N-th percentile of the completed runs' durations; a percentile has no
  interval.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wtb_core.batch.models import is_measurement
from wtb_core.batch.stats import UNIT_INTERVAL, Interval, mean_interval, wilson_interval
from wtb_core.domain.models import ExecutionStatus
from wtb_core.testing.session_results import RunRecord

RATES = ("pass_rate", "success_rate")
LATENCY = re.compile(r"latency_p(\d+(?:\.\d+)?)_ms")
REPORTED_LATENCIES = ("latency_p50_ms", "latency_p95_ms")  # in summaries and JUnit XML


@dataclass(frozen=True)
class Measure:
    """A metric's ``value``, its interval (``None``: none exists) and what it is over:
    ``n`` runs (rates, percentiles) or cases (evaluator metrics), ``unit`` naming which."""

    value: float
    ci: Interval | None
    n: int
    unit: str


def latency_percentile(metric: str) -> float | None:
    """N of a ``latency_p<N>_ms`` metric name (0 ≤ N ≤ 100), else ``None``."""
    match = LATENCY.fullmatch(metric)
    if match is None:
        return None
    q = float(match.group(1))
    return q if q <= 100 else None


def measure(records: Sequence[RunRecord], metric: str, confidence: float) -> Measure | None:
    """``metric`` over ``records``; ``None`` when no record has a value for it."""
    if not records:
        return None
    n = len(records)
    if metric in RATES:
        if metric == "pass_rate":
            hits = sum(r.passed for r in records)
        else:
            hits = sum(r.status is ExecutionStatus.COMPLETED for r in records)
        return Measure(hits / n, wilson_interval(hits, n, confidence), n, "runs")
    q = latency_percentile(metric)
    if q is not None:
        durations = [r.duration_ms for r in records if r.status is ExecutionStatus.COMPLETED]
        if not durations:
            return None
        return Measure(float(np.percentile(durations, q)), None, len(durations), "runs")
    per_case: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        if metric in r.scores:
            per_case[(r.test, r.case)].append(r.scores[metric])
    if not per_case:
        return None
    means = [sum(values) / len(values) for values in per_case.values()]
    bounds = None if is_measurement(metric) else UNIT_INTERVAL
    ci, _ = mean_interval(means, confidence, bounds)
    return Measure(float(np.mean(means)), ci, len(means), "cases")


def measured(records: Sequence[RunRecord]) -> list[str]:
    """The metrics ``records`` have a value for: the rates, the reported latency
    percentiles when a run completed, then every evaluator's metric, sorted."""
    if not records:
        return []
    completed = any(r.status is ExecutionStatus.COMPLETED for r in records)
    scores = sorted({metric for r in records for metric in r.scores})
    return [*RATES, *(REPORTED_LATENCIES if completed else ()), *scores]


def junit_properties(records: Sequence[RunRecord], confidence: float) -> list[tuple[str, str]]:
    """``(wtb.<metric>, value)`` for every measured metric of one test, and ``wtb.runs``."""
    properties = [("wtb.runs", str(len(records)))]
    for metric in measured(records):
        found = measure(records, metric, confidence)
        if found is not None:
            properties.append((f"wtb.{metric}", f"{found.value:.6g}"))
    return properties
