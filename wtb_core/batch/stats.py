"""The statistics batch comparisons are made of: confidence intervals (Wilson, Student t,
logit-t, percentile bootstrap) and tests (sign-flip permutation, exact McNemar).

Pure functions of numbers, NumPy only: no rows, no rendering. Every random draw comes from
a ``numpy`` Generator seeded with ``seed``, so results are reproducible. The t quantile
comes from the regularized incomplete beta function (no SciPy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from statistics import NormalDist
from typing import Literal

import numpy as np

Interval = tuple[float, float]
Bounds = tuple[float, float]
CIMethod = Literal["t", "logit-t", "wilson"]

CI_METHODS: dict[str, str] = {  # what each ``MetricStats.ci_method`` means (the reports say it)
    "t": "Student t interval of the mean over cases",
    "logit-t": "Student t interval on the logit scale, mapped back: for metrics whose "
    "case means all lie in [0, 1] (or declared bounds), it stays inside them",
    "wilson": "Wilson score interval: every case scored 0 or 1 (pass/fail), or one of "
    "the declared bounds",
}
UNIT_INTERVAL: Bounds = (0.0, 1.0)

EXACT_SIGN_FLIP_MAX = 16  # up to this many cases the permutation test enumerates all 2^n flips
_DRAWS_PER_CHUNK = 1_000_000  # random draws held in memory at once
_KEPT_DRAWS = 4_000_000  # bootstrap draws kept for reuse, per entry (16 MB of int32)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a binomial proportion; ``n`` must be positive."""
    if n <= 0:
        raise ValueError("n must be positive")
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


@lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t distribution with ``df`` degrees of freedom (by bisection)."""
    if not 0 < p < 1 or df <= 0:
        raise ValueError(f"need 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    tail = 2 * (1 - p)  # P(|T| > t) = I_x(df/2, 1/2) with x = df / (df + t²), increasing in x
    low, high = 0.0, 1.0
    for _ in range(100):
        mid = (low + high) / 2
        if _beta_regularized(df / 2, 0.5, mid) < tail:
            low = mid
        else:
            high = mid
    x = (low + high) / 2
    return math.sqrt(df * (1 - x) / x)


def logit_t_interval(
    values: Sequence[float], confidence: float = 0.95, bounds: Bounds = UNIT_INTERVAL
) -> Interval | None:
    """A Student t interval of the mean of ``values`` (all within ``bounds``) that stays
    inside ``bounds``: rescaled to [0, 1], the mean ``p`` gets a t interval on the logit
    scale with the delta-method standard error ``se / (p (1 − p))``, mapped back. None with
    fewer than two values; ``(mean, mean)`` when they are all equal."""
    n = len(values)
    if n < 2:
        return None
    low, high = bounds
    data = (np.asarray(values, dtype=float) - low) / (high - low)
    p = float(data.mean())
    sd = float(data.std(ddof=1))
    if sd == 0 or not 0 < p < 1:
        point = low + (high - low) * min(max(p, 0.0), 1.0)
        return point, point
    half = t_quantile((1 + confidence) / 2, n - 1) * sd / math.sqrt(n) / (p * (1 - p))
    centre = math.log(p / (1 - p))
    return (
        low + (high - low) * _expit(centre - half),
        low + (high - low) * _expit(centre + half),
    )


def _expit(z: float) -> float:
    """The logistic function, without overflow for large ``|z|``."""
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval | None:
    """Student t interval of the mean; None with fewer than two values."""
    n = len(values)
    if n < 2:
        return None
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    half = t_quantile((1 + confidence) / 2, n - 1) * float(data.std(ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``."""
    n = b + c
    if n == 0:
        return 1.0
    outcomes: int = 2**n
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / outcomes
    return min(1.0, 2 * tail)


def bootstrap_mean_ci(
    values: Sequence[float], confidence: float = 0.95, *, resamples: int = 10_000, seed: int = 0
) -> Interval:
    """Percentile bootstrap interval of the mean, resampling ``values`` with replacement."""
    data = np.asarray(values, dtype=float)
    n = len(data)
    if n == 0:
        raise ValueError("no values")
    means = np.concatenate([data[chunk].mean(axis=1) for chunk in _resamples(n, resamples, seed)])
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def sign_flip_p_value(diffs: Sequence[float], *, resamples: int = 10_000, seed: int = 0) -> float:
    """Two-sided paired permutation p-value for a zero mean difference: flips the signs of
    ``diffs``, enumerating all flips up to ``EXACT_SIGN_FLIP_MAX`` values, else ``resamples``
    random ones. All-zero differences give 1.0."""
    data = np.asarray(diffs, dtype=float)
    n = len(data)
    if n == 0:
        raise ValueError("no differences")
    observed = abs(float(data.sum()))
    threshold = observed - 1e-9 * max(1.0, float(np.abs(data).sum()))  # ties count as extreme
    if n <= EXACT_SIGN_FLIP_MAX:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        return float(np.mean(np.abs(signs @ data) >= threshold))
    rng = np.random.default_rng(seed)
    hits = 0
    for size in _chunks(resamples, n):
        signs = 1 - 2 * rng.integers(0, 2, size=(size, n), dtype=np.int8)
        hits += int(np.count_nonzero(np.abs(signs.astype(float) @ data) >= threshold))
    return (1 + hits) / (1 + resamples)


def _beta_regularized(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) by its continued fraction."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b), by the modified Lentz method."""

    def nonzero(v: float) -> float:
        return v if abs(v) > 1e-300 else 1e-300

    c, d = 1.0, 1 / nonzero(1 - (a + b) * x / (a + 1))
    result = d
    for m in range(1, 100_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 / nonzero(1 + numerator * d)
            c = nonzero(1 + numerator / c)
            result *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return result


def _resamples(n: int, resamples: int, seed: int) -> Iterable[np.ndarray]:
    """The bootstrap's index draws for ``n`` values, chunk by chunk (about
    ``_DRAWS_PER_CHUNK`` draws each). They are the same for every call with these arguments
    (one seed), so up to ``_KEPT_DRAWS`` of them are kept: a comparison's many intervals
    over the same cases draw once."""
    if n * resamples <= _KEPT_DRAWS:
        return _kept_resamples(n, resamples, seed)
    return _draw_resamples(n, resamples, seed)


@lru_cache(maxsize=2)
def _kept_resamples(n: int, resamples: int, seed: int) -> tuple[np.ndarray, ...]:
    chunks = tuple(_draw_resamples(n, resamples, seed))
    for chunk in chunks:
        chunk.flags.writeable = False
    return chunks


def _draw_resamples(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for size in _chunks(resamples, n):
        yield rng.integers(0, n, size=(size, n), dtype=np.int32)


def _chunks(total: int, width: int) -> Iterator[int]:
    """Row counts summing to ``total`` so a chunk holds about ``_DRAWS_PER_CHUNK`` draws."""
    step = max(1, _DRAWS_PER_CHUNK // width)
    for start in range(0, total, step):
        yield min(step, total - start)


def check_bounds(bounds: Mapping[str, Bounds | None]) -> dict[str, Bounds | None]:
    checked: dict[str, Bounds | None] = {}
    for metric, limits in bounds.items():
        if limits is not None:
            try:
                low, high = (float(v) for v in limits)
            except (TypeError, ValueError):
                low = high = math.nan
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(
                    f"bounds for {metric!r} must be (low, high) with low < high, or None "
                    f"for an unbounded metric; got {limits!r}"
                )
            limits = (low, high)
        checked[metric] = limits
    return checked


def mean_interval(
    means: list[float], confidence: float, bounds: Bounds | None
) -> tuple[Interval | None, CIMethod]:
    """The interval of the mean of the per-case ``means`` and its method: ``"t"`` without
    ``bounds`` (or with a mean outside them), ``"wilson"`` when every mean is one bound or the
    other, else ``"logit-t"``."""
    if bounds is None or not all(bounds[0] <= m <= bounds[1] for m in means):
        return t_interval(means, confidence), "t"
    low, high = bounds
    if all(m in bounds for m in means):  # every case at one bound or the other: a proportion
        share = wilson_interval(sum(m == high for m in means), len(means), confidence)
        return (low + (high - low) * share[0], low + (high - low) * share[1]), "wilson"
    return logit_t_interval(means, confidence, bounds), "logit-t"
