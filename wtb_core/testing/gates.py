"""``--wtb-gate`` gates: ``"METRIC>=NUMBER"`` (or ``<=``, ``>``, ``<``), checked after the
session on the aggregate of every batch and marked test (``measures``).

With ``use_ci`` a gate holds the interval's bound, not the point estimate: the lower bound
for ``>=`` / ``>``, the upper bound for ``<=`` / ``<``. A metric without an interval (one
case not scored 0 or 1) fails such a gate; a latency percentile, which never has one, is
held by its value.
"""

from __future__ import annotations

import contextlib
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from wtb_core.errors import ConfigurationError
from wtb_core.testing.measures import Measure, latency_percentile, measure, measured
from wtb_core.testing.session_results import RunRecord

Op = Literal[">=", "<=", ">", "<"]
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_GATE = re.compile(r"\s*([A-Za-z_][\w.\-]*)\s*(>=|<=|>|<)\s*(\S+)\s*")
_EXAMPLES = 'for example "exact_match>=0.8" or "latency_p95_ms<=2000"'


@dataclass(frozen=True)
class Gate:
    """One ``--wtb-gate``: ``metric op threshold``, as the user wrote it (``text``)."""

    text: str
    metric: str
    op: Op
    threshold: float

    @property
    def at_least(self) -> bool:
        """Whether the gate is a minimum (``>=`` / ``>``)."""
        return self.op in (">=", ">")

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.threshold)


def parse_gate(text: str) -> Gate:
    """``"exact_match>=0.8"`` as a ``Gate``; ``ConfigurationError`` saying the form otherwise."""
    match = _GATE.fullmatch(text)
    threshold = math.nan
    if match is not None:
        with contextlib.suppress(ValueError):
            threshold = float(match.group(3))
    if match is None or not math.isfinite(threshold):
        raise ConfigurationError(
            f"--wtb-gate {text!r} is not METRIC>=NUMBER or METRIC<=NUMBER ({_EXAMPLES}); "
            "quote it in the shell so > is not a redirection"
        )
    metric = match.group(1)
    is_latency = metric.startswith("latency_p") and metric.endswith("_ms")
    if is_latency and latency_percentile(metric) is None:
        raise ConfigurationError(
            f"--wtb-gate {text!r}: {metric} is not a latency percentile; write "
            "latency_p<N>_ms with N from 0 to 100, e.g. latency_p95_ms"
        )
    return Gate(text=text, metric=metric, op=cast(Op, match.group(2)), threshold=threshold)


@dataclass(frozen=True)
class GateResult:
    """A gate checked: what was measured (``None``: nothing measured the metric), the
    number compared with the threshold and what that number is (``basis``)."""

    gate: Gate
    measure: Measure | None
    checked: float | None
    basis: str
    passed: bool
    problem: str | None = None  # why it failed, when it did

    @property
    def unmeasured(self) -> bool:
        """The session has no value for the gate's metric (a usage error, not a failure of
        the workflow)."""
        return self.measure is None


def evaluate(
    gates: Sequence[Gate], records: Sequence[RunRecord], use_ci: bool, confidence: float
) -> list[GateResult]:
    """Every gate checked against ``records``."""
    return [_evaluate(gate, records, use_ci, confidence) for gate in gates]


def _evaluate(
    gate: Gate, records: Sequence[RunRecord], use_ci: bool, confidence: float
) -> GateResult:
    found = measure(records, gate.metric, confidence)
    if found is None:
        have = ", ".join(measured(records)) or "nothing: no batch or marked test ran"
        problem = (
            f"no batch or marked test of this session measured {gate.metric!r} (measured: "
            f"{have}); check its spelling, or score it with an evaluator of the batch or the "
            "wtb marker"
        )
        return GateResult(gate, None, None, "not measured", False, problem)
    pct = f"{confidence:.0%}"
    if not use_ci:
        checked, basis = found.value, "value"
    elif latency_percentile(gate.metric) is not None:
        checked, basis = found.value, "value (a percentile)"
    elif found.ci is None:
        problem = (
            f"{gate.metric} is over one case, so it has no interval for --wtb-gate-ci; add "
            "cases, or gate on the value without --wtb-gate-ci"
        )
        return GateResult(gate, found, None, "no interval", False, problem)
    elif gate.at_least:
        checked, basis = found.ci[0], f"lower {pct} bound"
    else:
        checked, basis = found.ci[1], f"upper {pct} bound"
    if gate.holds(checked):
        return GateResult(gate, found, checked, basis, True)
    problem = f"{gate.metric} is {checked:.4g} ({basis}), not {gate.op} {gate.threshold:g}"
    return GateResult(gate, found, checked, basis, False, problem)
