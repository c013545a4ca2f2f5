"""Checking the arguments of ``run_batch_test`` and ``resume_batch`` before anything is stored.

Each check raises ``ConfigurationError`` saying what is wrong and what to pass, and returns
the value in the form the batch service keeps (lists, dicts, ``TestCase`` objects), so a
batch record never holds an argument that a later ``resume_batch`` cannot use.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, overload

from pydantic_core import PydanticSerializationError

from wtb_core.batch.scoring import combination_label, split_combination
from wtb_core.domain.models import TestCase
from wtb_core.errors import ConfigurationError
from wtb_core.project import WORKFLOW_KEY, WorkflowProject


def _a(value: Any) -> str:
    """``"a str"``, ``"an int"``: the type of ``value`` with its article (``"None"``)."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


@overload
def name(argument: str, value: Any, what: str, optional: Literal[False] = False) -> str: ...
@overload
def name(argument: str, value: Any, what: str, optional: bool) -> str | None: ...
def name(argument: str, value: Any, what: str, optional: bool = False) -> str | None:
    """A name given as a string (``None`` allowed when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{argument} must be {what}, not {value!r}")
    return value


@overload
def count(argument: str, value: Any, what: str, example: int, none_means: None = None) -> int: ...
@overload
def count(argument: str, value: Any, what: str, example: int, none_means: str) -> int | None: ...
def count(
    argument: str, value: Any, what: str, example: int, none_means: str | None = None
) -> int | None:
    """A whole number of at least 1 (``None`` allowed when ``none_means`` says what it means).
    Booleans and floats such as ``2.0`` are refused."""
    if value is None and none_means is not None:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        alternative = f" or None ({none_means})" if none_means is not None else ""
        raise ConfigurationError(
            f"{argument} must be a whole number ({what}, at least 1){alternative}, not "
            f"{value!r}: pass e.g. {argument}={example}"
        )
    if value < 1:
        raise ConfigurationError(f"{argument} must be at least 1, not {value}")
    return int(value)


def flag(argument: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{argument} must be True or False, not {value!r}")
    return value


def callback(argument: str, value: object) -> Callable[..., Any] | None:
    if value is not None and not callable(value):
        raise ConfigurationError(
            f"{argument} must be a callable taking a BatchProgress, or None, not {value!r}"
        )
    return value


def matrix(value: Any) -> list[dict[str, str]]:
    """The variant matrix as a list of ``{node: variant}`` dicts (copies, order kept)."""
    if not _is_list(value):
        hint = (
            " (for one combination, wrap it in a list: [{...}])"
            if isinstance(value, Mapping)
            else ""
        )
        raise ConfigurationError(
            "variant_matrix must be a list of {node: variant} dicts, e.g. "
            f"[{{}}, {{'retriever': 'bm25'}}], not {_a(value)}{hint}"
        )
    if not value:
        raise ConfigurationError(
            "variant_matrix is empty: give at least one combination, e.g. [{}] for the "
            "project as it is"
        )
    rows = []
    for i, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise ConfigurationError(
                f"variant_matrix[{i}] must be a dict of node name -> variant name (with "
                f"{WORKFLOW_KEY!r}: NAME for a workflow variant), not {_a(entry)}: {entry!r}"
            )
        for key, variant in entry.items():
            if not isinstance(key, str):
                raise ConfigurationError(
                    f"variant_matrix[{i}] has the key {key!r} ({_a(key)}): node names "
                    f"(and {WORKFLOW_KEY!r}) are strings"
                )
            if not isinstance(variant, str):
                raise ConfigurationError(
                    f"variant_matrix[{i}][{key!r}] is {variant!r} ({_a(variant)}), not a variant "
                    f"name: give the variant's name as a string, e.g. {{{key!r}: 'default'}}"
                )
        rows.append(dict(entry))
    return rows


def project_matrix(project: WorkflowProject, matrix: list[dict[str, str]]) -> list[dict[str, str]]:
    """The matrix (already of the right shape, ``matrix``) with every variant known to the
    project and no combination twice."""
    labels: dict[str, int] = {}
    for i, combination in enumerate(matrix):
        project.resolve_variants(*split_combination(combination))
        label = combination_label(combination)
        if label in labels:
            raise ConfigurationError(
                f"variant_matrix[{i}] is the same combination as variant_matrix"
                f"[{labels[label]}] ({label}); remove one of them"
            )
        labels[label] = i
    return matrix


def cases(value: Any) -> tuple[list[TestCase], list[dict[str, Any]]]:
    """The test cases (each named, ``case-<index>`` by default) and their JSON form, the one
    the batch record stores."""
    if not _is_list(value):
        hint = " (for one case, wrap it in a list: [{...}])" if isinstance(value, Mapping) else ""
        raise ConfigurationError(
            "test_cases must be a list of test cases (TestCase objects or dicts of inputs), "
            f"not {_a(value)}{hint}"
        )
    if not value:
        raise ConfigurationError("test_cases is empty: give at least one test case")
    checked, stored = [], []
    for i, case in enumerate(value):
        if isinstance(case, TestCase):
            case = case if case.name else case.model_copy(update={"name": f"case-{i}"})
        elif isinstance(case, Mapping):
            for key in case:
                if not isinstance(key, str):
                    raise ConfigurationError(
                        f"test_cases[{i}] has the key {key!r} ({_a(key)}): input names are strings"
                    )
            case = TestCase(inputs=dict(case), name=f"case-{i}")
        else:
            raise ConfigurationError(
                f"test_cases[{i}] is {_a(case)}: give a dict of inputs or a TestCase"
            )
        try:
            stored.append(case.model_dump(mode="json"))
        except (PydanticSerializationError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"test_cases[{i}] cannot be stored as JSON ({exc}): give inputs, expected "
                "values and metadata that JSON can hold (strings, numbers, booleans, None, "
                "lists and dicts of them)"
            ) from None
        checked.append(case)
    return checked, stored


def evaluators(value: Any) -> list[Any]:
    """The evaluators as a list (each is checked when it is resolved)."""
    if value is None:
        return []
    if (
        isinstance(value, str | bytes | Mapping)
        or callable(value)
        or not isinstance(value, Iterable)
    ):
        example = repr(value) if isinstance(value, str) else "my_scorer"
        raise ConfigurationError(
            "evaluators must be a list of evaluator names or callables "
            f"(case, outcome) -> float | bool | dict, not {_a(value)}: pass "
            f"evaluators=[{example}]"
        )
    return list(value)
