"""Builtin evaluators: ``exact_match``, ``contains``, ``regex``, ``json_match``, ``latency``.

An evaluator is ``(case: TestCase, outcome: ExecutionResult) -> float | bool | dict | None``.
The comparing ones look at every key of ``case.expected`` in the final state and score 1.0
when all match, else 0.0; for a case without ``expected`` values they return ``None`` (not
applicable: the row gets no such score and its pass/fail ignores it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wtb_core.domain.models import ExecutionResult, TestCase
from wtb_core.hookspecs import EvaluatorRegister, hookimpl

if TYPE_CHECKING:
    from wtb_core.ports.evaluator import Evaluator, EvaluatorFactory


def _all(
    case: TestCase, outcome: ExecutionResult, matches: Callable[[Any, Any], bool]
) -> float | None:
    if not case.expected:
        return None
    state = outcome.state
    return float(
        all(key in state and matches(value, state[key]) for key, value in case.expected.items())
    )


def exact_match(case: TestCase, outcome: ExecutionResult) -> float | None:
    """1.0 when every expected key equals the final state's value."""
    return _all(case, outcome, lambda want, got: want == got)


def contains(case: TestCase, outcome: ExecutionResult) -> float | None:
    """1.0 when every expected value occurs in the state's value (substring / list item)."""

    def inside(want: Any, got: Any) -> bool:
        if isinstance(got, str):
            return str(want) in got
        try:
            return want in got
        except TypeError:
            return False

    return _all(case, outcome, inside)


def regex(case: TestCase, outcome: ExecutionResult) -> float | None:
    """1.0 when every expected value, a regular expression, is found in the state's value."""
    return _all(case, outcome, lambda pattern, got: re.search(pattern, str(got)) is not None)


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.loads(json.dumps(value, default=str))


def json_match(case: TestCase, outcome: ExecutionResult) -> float | None:
    """1.0 when every expected value equals the state's value compared as JSON (a state
    value holding a JSON string is parsed first; key order does not matter)."""
    return _all(case, outcome, lambda want, got: _as_json(want) == _as_json(got))


def latency(case: TestCase, outcome: ExecutionResult) -> float:
    """The execution's duration in milliseconds (a measurement, not pass/fail)."""
    return outcome.duration_ms


def _factory(evaluator: Evaluator) -> EvaluatorFactory:
    """A factory handing out ``evaluator`` itself (the builtins keep no state)."""
    return lambda: evaluator


@hookimpl
def wtb_register_evaluators(register: EvaluatorRegister) -> None:
    for evaluator in (exact_match, contains, regex, json_match, latency):
        register(evaluator.__name__, _factory(evaluator))
