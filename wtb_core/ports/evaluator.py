"""Evaluator port: how a finished batch cell is scored."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wtb_core.domain.models import ExecutionResult, TestCase

Evaluator = Callable[["TestCase", "ExecutionResult"], Any]
"""``(case, outcome) -> float | bool | dict[str, float] | None``: a score, pass/fail, several
named scores, or ``None`` for "not applicable" (the row gets no such score)."""

EvaluatorFactory = Callable[[], Evaluator]
"""What ``wtb_register_evaluators`` registers: called once per batch that names it."""
