"""``expect(...)``: assertions on executions whose failure messages say what was found.

``expect(outcome)`` takes one ``ExecutionResult`` or several (what ``wtb_run`` returns: one
per repetition) and checks every one; each check returns an object to chain the next on::

    expect(outcomes).completed().state("answer").contains("[d").state("n").equals(3)

A failing check raises ``AssertionError`` naming the check, and for each run that fails
it: the execution id, the failing state key and its value, the whole state (shortened past
``STATE_CHARS`` characters), and, for ``wtb_run``'s runs, the command that inspects it.
"""

from __future__ import annotations

import pprint
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from wtb_core.testing.outcomes import Inspection, Outcomes

if TYPE_CHECKING:
    from wtb_core.domain.models import ExecutionResult

STATE_CHARS = 2000
_MISSING = object()


def expect(outcome: ExecutionResult | Sequence[ExecutionResult]) -> Expectation:
    """Checks on ``outcome``: one execution, or several that must all pass every check."""
    __tracebackhide__ = True
    from wtb_core.domain.models import ExecutionResult

    runs = [outcome] if isinstance(outcome, ExecutionResult) else list(outcome)
    if not runs or not all(isinstance(run, ExecutionResult) for run in runs):
        raise TypeError(
            "expect() takes an ExecutionResult or a non-empty list of them (what bench.run "
            f"or wtb_run returns), not {outcome!r}"
        )
    inspection = outcome.inspection if isinstance(outcome, Outcomes) else None
    return Expectation(runs, inspection)


class Expectation:
    """Checks on the status and state of a list of runs (see ``expect``)."""

    def __init__(self, runs: list[ExecutionResult], inspection: Inspection | None) -> None:
        self._runs = runs
        self._inspection = inspection

    def completed(self) -> Expectation:
        """Every run completed."""
        __tracebackhide__ = True
        return self.status("completed")

    def failed(self) -> Expectation:
        """Every run failed (a node raised)."""
        __tracebackhide__ = True
        return self.status("failed")

    def status(self, status: str) -> Expectation:
        """Every run ended with ``status`` (an ``ExecutionStatus`` or its value)."""
        __tracebackhide__ = True
        from wtb_core.domain.models import ExecutionStatus

        try:
            wanted = ExecutionStatus(status)
        except ValueError:
            choices = ", ".join(s.value for s in ExecutionStatus)
            raise ValueError(f"unknown status {status!r}; choose one of: {choices}") from None

        def problem(run: ExecutionResult) -> str | None:
            if run.status is wanted:
                return None
            error = f" ({run.error})" if run.error else ""
            return f"status is {run.status.value}{error}"

        self._check(f"status is {wanted.value}", problem)
        return self

    def state(self, key: str) -> StateExpectation:
        """Checks on ``state[key]`` of every run."""
        return StateExpectation(self, key)

    def _check(
        self, what: str, problem: Callable[[ExecutionResult], str | None], key: str | None = None
    ) -> None:
        """``AssertionError`` when ``problem(run)`` says why some run does not satisfy
        ``what``."""
        __tracebackhide__ = True
        failing = [(i, run, p) for i, run in enumerate(self._runs) if (p := problem(run))]
        if not failing:
            return
        count = len(self._runs)
        head = f"expected {what}" + (
            f"; {len(failing)} of {count} runs do not" if count > 1 else ""
        )
        blocks = [head]
        for index, run, found in failing:
            which = f"run {index + 1} of {count}, " if count > 1 else ""
            lines = [f"{which}execution {run.execution_id} (project {run.project!r}): {found}"]
            if key is not None and key in run.state:
                lines.append(f"  state[{key!r}] = {_short(run.state[key])}")
            lines.append(f"  state: {_short(run.state)}")
            if self._inspection is not None:
                lines.append(f"  {self._inspection.hint(run.execution_id)}")
            blocks.append("\n".join(lines))
        raise AssertionError("\n".join(blocks))


class StateExpectation:
    """Checks on one state key; each returns the ``Expectation`` to chain more on."""

    def __init__(self, parent: Expectation, key: str) -> None:
        self._parent = parent
        self._key = key

    def equals(self, expected: Any) -> Expectation:
        """``state[key] == expected`` in every run."""
        __tracebackhide__ = True
        return self._value_check(
            f"== {expected!r}", lambda value: value == expected, "is not equal"
        )

    def contains(self, part: Any) -> Expectation:
        """``part in state[key]`` in every run (a substring, list item or dict key)."""
        __tracebackhide__ = True

        def inside(value: Any) -> bool:
            try:
                return bool(part in value)
            except TypeError:
                return False

        return self._value_check(f"contains {part!r}", inside, "does not contain it")

    def matches(self, pattern: str) -> Expectation:
        """``re.search(pattern, str(state[key]))`` finds a match in every run."""
        __tracebackhide__ = True
        compiled = re.compile(pattern)
        return self._value_check(
            f"matches /{pattern}/",
            lambda value: compiled.search(str(value)) is not None,
            "does not match",
        )

    def _value_check(self, what: str, ok: Callable[[Any], bool], failure: str) -> Expectation:
        __tracebackhide__ = True
        key = self._key

        def problem(run: ExecutionResult) -> str | None:
            value = run.state.get(key, _MISSING)
            if value is _MISSING:
                keys = ", ".join(map(str, run.state)) or "none"
                return f"the state has no key {key!r} (its keys: {keys})"
            return None if ok(value) else f"state[{key!r}] {failure}"

        self._parent._check(f"state[{key!r}] {what}", problem, key)
        return self._parent


def _short(value: Any) -> str:
    """``value`` pretty-printed, cut after ``STATE_CHARS`` characters."""
    text = pprint.pformat(value, width=100, compact=True, sort_dicts=False)
    if len(text) <= STATE_CHARS:
        return text
    return f"{text[:STATE_CHARS]}… ({len(text) - STATE_CHARS} more characters)"
