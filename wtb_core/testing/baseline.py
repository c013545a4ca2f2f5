"""The baseline file of ``--wtb-save-baseline`` / ``--wtb-baseline``, and comparing a session
with it.

The file is JSON::

    {"format": "wtb-pytest-baseline", "version": 1,
     "tests": {"<node id>": {"<metric>": {"<case>": [<value per run>, ...]}}}}

with every evaluator metric of each test and ``pass_rate`` (1.0 for a run that passed, else
0.0); a case is what ``session_results`` says.

Per test and metric in both the baseline and this session (using the batch comparison's
statistics at confidence 1 − alpha):

* **paired**, when at least two cases have values in both: the per-case means (runs averaged)
  are paired; the mean delta (now − baseline) gets a bootstrap interval and a sign-flip
  p-value. A regression is p < alpha with the delta worse than ``min_effect``;
* **unpaired** otherwise: all runs of each side pooled, each gets the interval of its mean;
  a regression is the two intervals apart, this session's on the worse side, with the
  delta worse than ``min_effect``. No p-value.

"Worse" is lower for a score, higher for a measurement (``latency*``, ``*_ms``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from wtb_core.batch.models import is_measurement
from wtb_core.batch.regression import worse
from wtb_core.batch.stats import (
    UNIT_INTERVAL,
    Interval,
    bootstrap_mean_ci,
    mean_interval,
    sign_flip_p_value,
)
from wtb_core.errors import ConfigurationError
from wtb_core.testing.session_results import RunRecord

FORMAT = "wtb-pytest-baseline"
VERSION = 1
RESAMPLES = 10_000

Values = dict[str, dict[str, dict[str, list[float]]]]  # test -> metric -> case -> run values


def case_values(records: Sequence[RunRecord]) -> Values:
    """Every test's metrics, per case, one value per run."""
    values: Values = {}
    for record in records:
        metrics = values.setdefault(record.test, {})
        for metric, value in {**record.scores, "pass_rate": float(record.passed)}.items():
            metrics.setdefault(metric, {}).setdefault(record.case, []).append(value)
    return values


def save(path: Path, records: Sequence[RunRecord]) -> None:
    """Write the baseline of ``records`` to ``path`` (atomically; directories created)."""
    document = {"format": FORMAT, "version": VERSION, "tests": case_values(records)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2, sort_keys=True)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path) -> Values:
    """The baseline in ``path``; ``ConfigurationError`` for a missing file, one that is not
    a WTB baseline, or one of another version."""
    redo = f"write one with pytest --wtb-save-baseline {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"--wtb-baseline {path}: no such file; {redo}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(
            f"--wtb-baseline {path} is not a WTB baseline (not JSON: {exc}); {redo}"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigurationError(
            f'--wtb-baseline {path} is not a WTB baseline (it has no "format": "{FORMAT}"); {redo}'
        )
    if document.get("version") != VERSION:
        raise ConfigurationError(
            f"--wtb-baseline {path} is a version {document.get('version')!r} baseline; this "
            f"WTB reads version {VERSION}: {redo}"
        )
    tests = document.get("tests")
    if not _is_values(tests):
        raise ConfigurationError(
            f'--wtb-baseline {path}: "tests" must map test ids to metrics to cases to lists '
            f"of numbers; {redo}"
        )
    return tests


def _is_values(tests: Any) -> TypeGuard[Values]:
    def mapping(value: Any, inner: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and inner(v) for k, v in value.items()
        )

    def runs(value: Any) -> bool:
        return isinstance(value, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        )

    return mapping(tests, lambda m: mapping(m, lambda c: mapping(c, runs)))


@dataclass(frozen=True)
class MetricChange:
    """One test's metric, this session against the baseline. ``n`` counts the shared cases
    (paired) or this session's runs (unpaired)."""

    test: str
    metric: str
    paired: bool
    n: int
    baseline_mean: float
    mean: float
    delta: float
    ci: Interval | None  # of the delta (paired); None unpaired
    p_value: float | None  # paired only
    regressed: bool
    note: str | None = None

    @property
    def method(self) -> str:
        if self.paired:
            return f"paired, {self.n} cases"
        return f"unpaired, {self.n} runs"


def compare(
    baseline: Values, current: Values, alpha: float, min_effect: float
) -> list[MetricChange]:
    """Every (test, metric) of ``current`` that ``baseline`` has too, in ``current``'s order."""
    changes = []
    for test, metrics in current.items():
        for metric, cases in metrics.items():
            before = baseline.get(test, {}).get(metric)
            if before:
                change = _compare(test, metric, before, cases, alpha, min_effect)
                if change is not None:
                    changes.append(change)
    return changes


def new_tests(baseline: Values, current: Values) -> list[str]:
    """The tests of this session the baseline does not have."""
    return [test for test in current if test not in baseline]


def _compare(
    test: str,
    metric: str,
    before: dict[str, list[float]],
    now: dict[str, list[float]],
    alpha: float,
    min_effect: float,
) -> MetricChange | None:
    confidence = 1 - alpha
    shared = [case for case in now if now[case] and before.get(case)]
    if len(shared) >= 2:
        base = np.array([np.mean(before[case]) for case in shared])
        means = np.array([np.mean(now[case]) for case in shared])
        diffs = means - base
        delta = float(diffs.mean())
        p = sign_flip_p_value(diffs, resamples=RESAMPLES)
        return MetricChange(
            test=test,
            metric=metric,
            paired=True,
            n=len(shared),
            baseline_mean=float(base.mean()),
            mean=float(means.mean()),
            delta=delta,
            ci=bootstrap_mean_ci(diffs, confidence, resamples=RESAMPLES),
            p_value=p,
            regressed=p < alpha and worse(metric, delta, min_effect),
        )
    base_runs = [v for runs in before.values() for v in runs]
    runs = [v for values in now.values() for v in values]
    if not base_runs or not runs:
        return None
    delta = float(np.mean(runs) - np.mean(base_runs))
    bounds = None if is_measurement(metric) else UNIT_INTERVAL
    base_ci, _ = mean_interval(base_runs, confidence, bounds)
    ci, _ = mean_interval(runs, confidence, bounds)
    note = None
    if base_ci is None or ci is None:
        apart = False
        note = "fewer than two runs on a side: not tested"
    elif is_measurement(metric):
        apart = ci[0] > base_ci[1]
    else:
        apart = ci[1] < base_ci[0]
    return MetricChange(
        test=test,
        metric=metric,
        paired=False,
        n=len(runs),
        baseline_mean=float(np.mean(base_runs)),
        mean=float(np.mean(runs)),
        delta=delta,
        ci=None,
        p_value=None,
        regressed=apart and worse(metric, delta, min_effect),
        note=note,
    )
