"""What ``wtb batch`` is given: the cases file, the matrix file and the values of
``--fail-under``, ``--evaluator`` and ``--baseline``, each checked with a message naming the
option (and the line or entry) that is wrong.

The cases file is JSON Lines: every non-blank line is a JSON object, either the inputs
themselves or ``{"inputs": {...}, "expected": {...}, "name": "...", "metadata": {...}}``
(all but ``inputs`` optional). The matrix file (YAML or JSON) is a list of
``{node: variant}`` mappings, ``_workflow: NAME`` choosing a workflow variant; without one
the project runs as it is.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from wtb_core.cli.common import CommandLineError

if TYPE_CHECKING:
    from wtb_core.domain.models import TestCase

CASE_KEYS = frozenset({"inputs", "expected", "name", "metadata"})


def _read(path: Path, option: str) -> str:
    from wtb_core.config_errors import not_utf8

    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandLineError(f"{option} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CommandLineError(f"{option} {path}: {not_utf8(exc)}; save it as UTF-8") from None


def load_cases(path: Path) -> list[TestCase]:
    """The test cases of a JSON Lines file; blank lines are skipped."""
    cases = []
    for number, line in enumerate(_read(path, "--cases").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandLineError(
                f"{where}: not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
        cases.append(_case(value, where))
    if not cases:
        raise CommandLineError(f"--cases {path} has no test cases (one JSON object per line)")
    return cases


def _case(value: Any, where: str) -> TestCase:
    """A line's test case: a plain object is the inputs, one with ``inputs`` a TestCase."""
    from pydantic import ValidationError

    from wtb_core.domain.models import TestCase

    if not isinstance(value, dict):
        raise CommandLineError(f"{where}: a test case must be a JSON object")
    if "inputs" not in value:
        return TestCase(inputs=value)
    unknown = sorted(set(value) - CASE_KEYS)
    if unknown:
        raise CommandLineError(
            f'{where}: unknown key(s) {", ".join(unknown)}; a case with "inputs" may also '
            'have only "expected", "name" and "metadata"'
        )
    try:
        return TestCase.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise CommandLineError(f"{where}: {problems}") from None


def load_matrix(path: Path | None) -> list[dict[str, str]]:
    """The combinations of a YAML or JSON matrix file; ``[{}]`` (the project as it is)
    without one."""
    import yaml

    if path is None:
        return [{}]
    try:
        data = yaml.safe_load(_read(path, "--matrix"))
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise CommandLineError(f"--matrix {path} is not valid YAML or JSON: {problem}") from None
    if not isinstance(data, list) or not data:
        raise CommandLineError(
            f"--matrix {path} must hold a non-empty list of {{node: variant}} mappings, "
            "for example [{}, {retriever: bm25}, {_workflow: with_reranker}]"
        )
    for number, combination in enumerate(data, 1):
        if not isinstance(combination, dict) or not all(
            isinstance(v, str) for v in (*combination, *combination.values())
        ):
            raise CommandLineError(
                f"--matrix {path}, entry {number}: must map node names to variant names "
                f"(strings), not {combination!r}"
            )
    return data


def parse_thresholds(pairs: list[str] | None) -> dict[str, float]:
    """``["metric=0.9", ...]`` as ``{metric: 0.9}``."""
    thresholds: dict[str, float] = {}
    for pair in pairs or []:
        metric, _, text = pair.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not metric or not math.isfinite(value):
            raise CommandLineError(
                f"--fail-under {pair!r} is not METRIC=NUMBER (for example success_rate=0.9)"
            )
        thresholds[metric] = value
    return thresholds


def resolve_evaluators(names: list[str] | None, cases: list[TestCase]) -> list[Any]:
    """``--evaluator`` values: registered names, or ``module:function`` references
    (imported). By default ``latency``, plus ``exact_match`` when a case has expected
    values."""
    from wtb_core.loading import import_reference

    if not names:
        return ["latency", *(["exact_match"] if any(case.expected for case in cases) else [])]
    return [import_reference(n, "--evaluator") if ":" in n else n for n in names]


@overload
def parse_baseline(text: str) -> str | dict[str, str]: ...
@overload
def parse_baseline(text: None) -> None: ...
@overload
def parse_baseline(text: str | None) -> str | dict[str, str] | None: ...
def parse_baseline(text: str | None) -> str | dict[str, str] | None:
    """``--baseline``: a combination's label (``retriever=bm25``), or its matrix entry as a
    YAML/JSON mapping (``{retriever: bm25}``)."""
    import yaml

    if text is None or not text.lstrip().startswith("{"):
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(v, str) for v in (*value, *value.values())
    ):
        raise CommandLineError(
            f"--baseline {text!r} must be a label such as 'retriever=bm25' or a matrix entry "
            "such as '{retriever: bm25}' (node and variant names as strings)"
        )
    return value


def check_baseline(baseline: str | None, combinations: list[dict[str, str]], where: str) -> None:
    """Refuse a ``--baseline`` that none of ``combinations`` (those of ``where``) is."""
    if baseline is None:
        return
    from wtb_core.batch.scoring import combination_index, combination_label
    from wtb_core.errors import ConfigurationError

    labels = {i: combination_label(combination) for i, combination in enumerate(combinations)}
    try:
        combination_index(parse_baseline(baseline), labels, "--baseline")
    except ConfigurationError:
        raise CommandLineError(
            f"--baseline {baseline!r} is not a combination of {where}: {', '.join(labels.values())}"
        ) from None
