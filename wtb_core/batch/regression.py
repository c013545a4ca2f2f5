"""Regression checks on a ``Comparison``: is a candidate significantly worse than the baseline?

"Worse" is lower for a score and higher for a measurement (``latency*``, ``*_ms``). A
candidate (every combination other than the comparison's baseline) regresses on a metric when
the comparison's paired test says so: its sign-flip p-value is below ``alpha`` and its mean
delta (candidate − baseline) is worse than ``min_effect``. No new statistics: the deltas,
intervals and p-values are the comparison's own (``wtb_core.batch.comparison``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from wtb_core.batch.models import is_measurement
from wtb_core.batch.scoring import combination_label
from wtb_core.errors import ConfigurationError

if TYPE_CHECKING:
    from wtb_core.batch.comparison import Comparison, MetricDelta, PairedComparison

PASS_RATE = "pass_rate"


def worse(metric: str, delta: float, min_effect: float) -> bool:
    """Whether ``delta`` (candidate − baseline) is worse than ``min_effect``: below
    ``-min_effect`` for a score, above ``+min_effect`` for a measurement."""
    return delta > min_effect if is_measurement(metric) else delta < -min_effect


def check_level(alpha: float, min_effect: float) -> None:
    """``ConfigurationError`` unless ``0 < alpha < 1`` and ``min_effect >= 0``."""
    if not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ConfigurationError(f"alpha must be a number in (0, 1), got {alpha!r}; pass e.g. 0.05")
    if not isinstance(min_effect, int | float) or not math.isfinite(min_effect) or min_effect < 0:
        raise ConfigurationError(
            f"min_effect must be a number of at least 0, got {min_effect!r}; pass e.g. 0.02"
        )


def regressions(
    comparison: Comparison,
    metric: str,
    baseline: str | Mapping[str, str] | None,
    alpha: float,
    min_effect: float,
) -> list[str]:
    """One message per candidate that is significantly worse than the baseline on
    ``metric`` (an evaluator's metric or ``pass_rate``). ``baseline`` must name the
    comparison's own baseline (its label, e.g. ``"default"``, or its matrix entry; ``None``:
    whichever it is). ``ConfigurationError`` when there is nothing to test: no rows, one
    combination, another baseline, an unknown metric, or fewer than two shared cases."""
    check_level(alpha, min_effect)
    if comparison.baseline_label is None:
        raise ConfigurationError("the batch has no rows: there is nothing to compare")
    _check_baseline(comparison, baseline)
    if not comparison.paired:
        raise ConfigurationError(
            f"the batch has one combination ({comparison.baseline_label!r}): nothing to compare "
            "with the baseline; add a variant to the variant matrix"
        )
    pct = f"{comparison.confidence:.0%}"
    found = []
    for paired in comparison.paired:
        delta = _delta(paired, metric)
        if delta.delta is None or delta.p_value is None or delta.ci is None:
            raise ConfigurationError(
                f"{metric} of {paired.combination_label!r} cannot be tested against "
                f"{paired.baseline_label!r}: {delta.note or 'fewer than two shared cases'}; "
                "the paired test needs at least two cases both combinations scored"
            )
        if delta.p_value < alpha and worse(metric, delta.delta, min_effect):
            low, high = delta.ci
            beyond = f", beyond min_effect {min_effect:g}" if min_effect else ""
            found.append(
                f"{metric} regressed in {paired.combination_label!r} against baseline "
                f"{paired.baseline_label!r}: delta {delta.delta:+.4g} ({pct} CI {low:+.4g} to "
                f"{high:+.4g}), p = {delta.p_value:.4g} < alpha {alpha:g}{beyond}; "
                f"mean {delta.mean:.4g} vs {delta.baseline_mean:.4g} over {delta.n_cases} cases"
            )
    return found


def _check_baseline(comparison: Comparison, baseline: str | Mapping[str, str] | None) -> None:
    if baseline is None:
        return
    if isinstance(baseline, Mapping):
        label = combination_label(baseline)
    elif isinstance(baseline, str):
        label = baseline
    else:
        raise ConfigurationError(
            "baseline must be a combination's label (a string such as 'default') or its matrix "
            f"entry (a dict such as {{'retriever': 'bm25'}}), not {baseline!r}"
        )
    labels = [stats.combination_label for stats in comparison.combinations]
    if label not in labels:
        raise ConfigurationError(
            f"baseline {baseline!r} is not a combination of this batch; choose one of: "
            f"{', '.join(labels)}"
        )
    if label != comparison.baseline_label:
        raise ConfigurationError(
            f"this comparison's baseline is {comparison.baseline_label!r}, not {label!r}: "
            f"compare against it with batch.comparison(baseline={label!r})"
        )


def _delta(paired: PairedComparison, metric: str) -> MetricDelta:
    if metric == PASS_RATE:
        return paired.pass_rate
    delta = paired.metrics.get(metric)
    if delta is None:
        raise ConfigurationError(
            f"{metric!r} is not a metric both {paired.combination_label!r} and "
            f"{paired.baseline_label!r} have; choose one of: "
            f"{', '.join([PASS_RATE, *paired.metrics])}"
        )
    return delta
