"""Statistics over batch rows: a summary per combination and paired comparisons to a baseline.

Statistical choices (every random draw comes from a ``numpy`` Generator seeded with ``seed``,
made afresh for each statistic, so a comparison is reproducible and one metric's numbers do not
depend on which other metrics exist):

* success and pass rates: Wilson score interval over rows;
* metric means: repetitions are averaged per case first, then the mean over cases with an
  interval whose method (``MetricStats.ci_method``) depends on the metric's bounds — [0, 1]
  for a metric whose case means all lie in it (not for measurements: ``latency*``,
  ``*_ms``), or bounds declared with ``bounds={metric: (low, high)}``:

  - ``"wilson"``: every case scored one bound or the other (pass/fail): a Wilson interval of
    the proportion at the upper bound;
  - ``"logit-t"``: otherwise within the bounds: a Student t interval of the mean rescaled to
    [0, 1], taken on the logit scale (delta method: standard error / (p (1 − p))) and mapped
    back, so it never leaves the bounds;
  - ``"t"``: unbounded metrics: the Student t interval of the mean (t quantile from the
    regularized incomplete beta function, no SciPy).

  No random draws, so intervals are deterministic. Scores are always finite (a NaN or
  infinite score is the row's ``score_errors`` entry); a metric's ``n_errors`` counts its
  error entries, and a metric with errors only is reported with no mean;
* latency p50/p95: linearly interpolated percentiles of the completed rows' ``duration_ms``;
* paired deltas: rows are paired on ``(case_index, repetition)``, averaged per case, and the
  per-case differences (other − baseline) get a percentile bootstrap CI of their mean
  (resampling cases) and a two-sided sign-flip permutation p-value, exact up to 16 cases, else
  from ``resamples`` random flips with the +1 correction (so never 0);
* pass/fail: McNemar's exact test on cases, a case passing when it passed every paired
  repetition. With one repetition the pass-rate sign-flip p-value equals McNemar's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypedDict

import numpy as np
from pydantic import BaseModel, Field
from rich.console import Group
from rich.table import Table

from wtb_core.batch import regression, reports
from wtb_core.batch.models import BatchRow, is_measurement
from wtb_core.batch.scoring import combination_index
from wtb_core.batch.stats import (
    UNIT_INTERVAL,
    Bounds,
    CIMethod,
    Interval,
    bootstrap_mean_ci,
    check_bounds,
    mcnemar_exact,
    mean_interval,
    sign_flip_p_value,
    wilson_interval,
)
from wtb_core.domain.models import ExecutionStatus
from wtb_core.errors import ConfigurationError


class MetricStats(BaseModel):
    """One metric in one combination: mean over cases (repetitions averaged first)."""

    n_cases: int  # cases with at least one (finite) score
    n_errors: int = 0  # rows whose evaluator raised or returned NaN/inf for this metric
    mean: float | None = None  # None when no case has a score (errors only)
    ci: Interval | None = None  # None with fewer than two cases
    ci_method: CIMethod | None = None  # how ``ci`` was made (``CI_METHODS``); None without one


class FlakyCase(BaseModel):
    """A case that passed some but not all of its repetitions."""

    case_index: int
    case: str
    passes: int
    runs: int


class CombinationStats(BaseModel):
    """Summary of one combination (matrix row) of a batch: ``combination`` is its matrix
    entry as given, ``combination_label`` the label tables print."""

    combination_index: int
    combination: dict[str, str]
    combination_label: str
    n: int  # rows
    n_completed: int
    n_cases: int
    success_rate: float  # completed / n
    success_ci: Interval
    pass_rate: float  # passed / n
    pass_ci: Interval
    latency_p50_ms: float | None = None  # None when no row completed
    latency_p95_ms: float | None = None
    metrics: dict[str, MetricStats] = Field(default_factory=dict)
    repetitions: int = 1  # most runs of any one case (the k of pass^k)
    pass_hat_k: float | None = None  # share of cases passing all their runs; None if k == 1
    pass_at_k: float | None = None  # share of cases passing at least one run; None if k == 1
    flaky_cases: list[FlakyCase] = Field(default_factory=list)


class MetricDelta(BaseModel):
    """Paired difference (other − baseline) of one metric over the cases both ran."""

    n_cases: int
    baseline_mean: float | None = None
    mean: float | None = None
    delta: float | None = None  # None without shared cases
    ci: Interval | None = None  # bootstrap CI of the mean delta; None below two cases
    p_value: float | None = None  # two-sided sign-flip permutation test; None below two cases
    note: str | None = None


class PairedComparison(BaseModel):
    """One combination against the baseline, paired per case (combinations as matrix
    entries, with their labels)."""

    baseline: dict[str, str]
    baseline_label: str
    combination_index: int
    combination: dict[str, str]
    combination_label: str
    n_cases: int  # cases with at least one (case, repetition) run by both
    metrics: dict[str, MetricDelta] = Field(default_factory=dict)
    pass_rate: MetricDelta
    mcnemar_b: int  # cases the baseline passes and the other fails
    mcnemar_c: int  # cases the baseline fails and the other passes
    mcnemar_p: float | None = None  # exact two-sided; None below two cases
    note: str | None = None


class Comparison(BaseModel):
    """Everything ``compare`` found; JSON-able with ``to_dict()`` and printable with ``str()``."""

    baseline: dict[str, str] | None  # the baseline's matrix entry; None for a batch without rows
    baseline_label: str | None = None
    confidence: float
    combinations: list[CombinationStats] = Field(default_factory=list)
    paired: list[PairedComparison] = Field(default_factory=list)
    # The combinations of each (case, repetition) ran their common upstream once
    # (``run_batch_test(reuse_prefix=True)``): the paired deltas hold no upstream variance.
    shared_prefix: bool = False

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def to_markdown(self) -> str:
        return reports.markdown(self)

    def rich_table(self) -> list[Table]:
        """The summary table, the metrics table when there are scores, then one paired table per
        combination other than the baseline."""
        return reports.rich_tables(self)

    def fails_under(self, thresholds: Mapping[str, float]) -> list[str]:
        """One message per combination whose metric mean (or ``success_rate``/``pass_rate``) is
        below its minimum, or per threshold naming a metric this batch does not have."""
        return reports.fails_under(self, thresholds)

    def assert_no_regression(
        self,
        metric: str,
        baseline: str | Mapping[str, str] | None = None,
        alpha: float = 0.05,
        min_effect: float = 0.0,
    ) -> None:
        """``AssertionError`` naming every combination the paired test finds significantly
        worse than the baseline on ``metric`` (an evaluator's metric or ``pass_rate``):
        p < ``alpha`` and a mean delta below ``-min_effect`` (above ``+min_effect`` for a
        measurement, ``latency*`` / ``*_ms``); the message gives the delta, its CI and p.
        ``baseline`` is the label of the combination this comparison was computed against
        (``"default"``, ``"retriever=bm25"``) or its matrix entry; ``None`` means that one.
        ``ConfigurationError`` when there is nothing to test (``regression.regressions``)."""
        found = regression.regressions(self, metric, baseline, alpha, min_effect)
        if found:
            raise AssertionError("\n".join(found))

    def __rich__(self) -> Group:
        return Group(*self.rich_table())

    def __str__(self) -> str:
        return reports.plain_text(self)


def compare(
    rows: Sequence[BatchRow],
    baseline: str | Mapping[str, str] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
    bounds: Mapping[str, Bounds | None] | None = None,
    shared_prefix: bool = False,
) -> Comparison:
    """Summarise each combination and compare each to ``baseline`` (a combination's label,
    ``"retriever=bm25"``, or its matrix entry, ``{"retriever": "bm25"}``; default: the lowest
    ``combination_index``); ``ConfigurationError`` for a baseline the rows do not have.
    ``bounds`` declares a metric's ``(low, high)`` range (``None``: unbounded, even if its
    values lie in [0, 1]); the module docstring says how bounds choose the interval.
    ``shared_prefix`` says the rows' combinations shared their prefix (``batch.prefix``)."""
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence must be in (0, 1), got {confidence}; pass e.g. 0.95")
    if resamples < 1:
        raise ConfigurationError(f"resamples must be at least 1, got {resamples}; pass e.g. 2000")
    declared = check_bounds(bounds or {})
    groups = _group(rows, lambda row: row.combination_index)
    if not groups:
        return Comparison(baseline=None, confidence=confidence, shared_prefix=shared_prefix)
    labels = {index: group[0].combination_label for index, group in groups.items()}
    base_index = (
        next(iter(groups)) if baseline is None else combination_index(baseline, labels, "baseline")
    )
    return Comparison(
        baseline=groups[base_index][0].combination,
        baseline_label=labels[base_index],
        confidence=confidence,
        combinations=[_combination_stats(group, confidence, declared) for group in groups.values()],
        paired=[
            _paired(groups[base_index], group, confidence, resamples, seed)
            for index, group in groups.items()
            if index != base_index
        ],
        shared_prefix=shared_prefix,
    )


# --- per combination -------------------------------------------------------------------------


def _group(rows: Sequence[BatchRow], key: Callable[[BatchRow], int]) -> dict[int, list[BatchRow]]:
    """Rows by ``key``, keys ascending, rows in their original order."""
    groups: dict[int, list[BatchRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {index: groups[index] for index in sorted(groups)}


def _score(row: BatchRow, metric: str) -> float | None:
    value = row.scores.get(metric)
    return value if value is not None and math.isfinite(value) else None


def _metric_names(rows: Sequence[BatchRow]) -> set[str]:
    """Every metric with a score or an error in ``rows``."""
    return {metric for row in rows for metric in (*row.scores, *row.score_errors)}


class _Latency(TypedDict, total=False):  # CombinationStats' fields; left out: None
    latency_p50_ms: float
    latency_p95_ms: float


def _combination_stats(
    rows: list[BatchRow], confidence: float, bounds: Mapping[str, Bounds | None]
) -> CombinationStats:
    n = len(rows)
    completed = [row for row in rows if row.status is ExecutionStatus.COMPLETED]
    passes = sum(row.passed for row in rows)
    cases = _group(rows, lambda row: row.case_index)
    latency: _Latency = {}
    if completed:
        p50, p95 = np.percentile([row.duration_ms for row in completed], [50, 95])
        latency = {"latency_p50_ms": float(p50), "latency_p95_ms": float(p95)}
    return CombinationStats(
        combination_index=rows[0].combination_index,
        combination=rows[0].combination,
        combination_label=rows[0].combination_label,
        n=n,
        n_completed=len(completed),
        n_cases=len(cases),
        success_rate=len(completed) / n,
        success_ci=wilson_interval(len(completed), n, confidence),
        pass_rate=passes / n,
        pass_ci=wilson_interval(passes, n, confidence),
        metrics={
            metric: _metric_stats(cases, metric, confidence, bounds)
            for metric in sorted(_metric_names(rows))
        },
        **latency,
        **_repetition_stats(cases),
    )


def _metric_stats(
    cases: dict[int, list[BatchRow]],
    metric: str,
    confidence: float,
    bounds: Mapping[str, Bounds | None],
) -> MetricStats:
    means = []
    for runs in cases.values():
        values = [v for row in runs if (v := _score(row, metric)) is not None]
        if values:
            means.append(sum(values) / len(values))
    errors = sum(metric in row.score_errors for runs in cases.values() for row in runs)
    if not means:
        return MetricStats(n_cases=0, n_errors=errors)
    if metric in bounds:
        limits = bounds[metric]
    else:
        limits = None if is_measurement(metric) else UNIT_INTERVAL
    ci, method = mean_interval(means, confidence, limits)
    return MetricStats(
        n_cases=len(means),
        n_errors=errors,
        mean=float(np.mean(means)),
        ci=ci,
        ci_method=method if ci is not None else None,
    )


def _repetition_stats(cases: dict[int, list[BatchRow]]) -> dict[str, Any]:
    k = max(len(runs) for runs in cases.values())
    if k < 2:
        return {"repetitions": k}
    passes = {index: sum(row.passed for row in runs) for index, runs in cases.items()}
    return {
        "repetitions": k,
        "pass_hat_k": sum(passes[i] == len(runs) for i, runs in cases.items()) / len(cases),
        "pass_at_k": sum(passes[i] > 0 for i in cases) / len(cases),
        "flaky_cases": [
            FlakyCase(case_index=i, case=runs[0].case, passes=passes[i], runs=len(runs))
            for i, runs in cases.items()
            if 0 < passes[i] < len(runs)
        ],
    }


# --- paired against the baseline -------------------------------------------------------------

Pairs = dict[int, list[tuple[BatchRow, BatchRow]]]  # case_index -> (baseline row, other row)


def _paired(
    base_rows: list[BatchRow],
    rows: list[BatchRow],
    confidence: float,
    resamples: int,
    seed: int,
) -> PairedComparison:
    base = {(row.case_index, row.repetition): row for row in base_rows}
    other = {(row.case_index, row.repetition): row for row in rows}
    pairs: Pairs = defaultdict(list)
    for key in sorted(base.keys() & other.keys()):
        pairs[key[0]].append((base[key], other[key]))

    def delta(value: Callable[[BatchRow], float | None]) -> MetricDelta:
        return _metric_delta(*_case_means(pairs, value), confidence, resamples, seed)

    b = sum(_all_pass(p, 0) and not _all_pass(p, 1) for p in pairs.values())
    c = sum(_all_pass(p, 1) and not _all_pass(p, 0) for p in pairs.values())
    n_cases = len(pairs)
    return PairedComparison(
        baseline=base_rows[0].combination,
        baseline_label=base_rows[0].combination_label,
        combination_index=rows[0].combination_index,
        combination=rows[0].combination,
        combination_label=rows[0].combination_label,
        n_cases=n_cases,
        metrics={
            metric: delta(partial(_score, metric=metric))
            for metric in sorted(_metric_names(base_rows) & _metric_names(rows))
        },
        pass_rate=delta(lambda row: float(row.passed)),
        mcnemar_b=b,
        mcnemar_c=c,
        mcnemar_p=mcnemar_exact(b, c) if n_cases >= 2 else None,
        note=_shortage_note(n_cases),
    )


def _all_pass(pairs: list[tuple[BatchRow, BatchRow]], side: int) -> bool:
    return all(pair[side].passed for pair in pairs)


def _case_means(
    pairs: Pairs, value: Callable[[BatchRow], float | None]
) -> tuple[np.ndarray, np.ndarray]:
    """Per case, the baseline and other means over the repetitions where both have a value."""
    base_means, other_means = [], []
    for runs in pairs.values():
        both = [
            (b, o)
            for b_row, o_row in runs
            if (b := value(b_row)) is not None and (o := value(o_row)) is not None
        ]
        if both:
            base_means.append(sum(b for b, _ in both) / len(both))
            other_means.append(sum(o for _, o in both) / len(both))
    return np.asarray(base_means, dtype=float), np.asarray(other_means, dtype=float)


def _metric_delta(
    base: np.ndarray, other: np.ndarray, confidence: float, resamples: int, seed: int
) -> MetricDelta:
    n = len(base)
    if n == 0:
        return MetricDelta(n_cases=0, note="no shared case has a value")
    diffs = other - base
    summary = MetricDelta(
        n_cases=n,
        baseline_mean=float(base.mean()),
        mean=float(other.mean()),
        delta=float(diffs.mean()),
    )
    if n < 2:
        return summary.model_copy(update={"note": "one shared case: no interval or p-value"})
    return summary.model_copy(
        update={
            "ci": bootstrap_mean_ci(diffs, confidence, resamples=resamples, seed=seed),
            "p_value": sign_flip_p_value(diffs, resamples=resamples, seed=seed),
        }
    )


def _shortage_note(n_cases: int) -> str | None:
    if n_cases == 0:
        return "no case in common with the baseline"
    if n_cases == 1:
        return "one case in common with the baseline: no interval or p-value"
    return None
