"""A batch's evaluators: the callables a batch scores with, and the specs stored to find
them again.

``resolve_evaluators`` turns what ``run_batch_test`` (or ``resume_batch(evaluators=...)``)
was given — registered names and callables — into the evaluators by metric name and one
spec per evaluator (``{"name", "registered", "ref"}``) for the batch record.
``restore_evaluators`` rebuilds the evaluators from those specs when a batch is resumed:
a registered name from the registry, a callable from its ``module:qualname`` reference.
Both raise ``ConfigurationError`` (or the registry's ``PluginNotFoundError``) saying what to
pass instead; neither stores anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtb_core.batch.scoring import Evaluator
from wtb_core.errors import ConfigurationError
from wtb_core.loading import import_reference
from wtb_core.project_checks import callable_reference
from wtb_core.registry import PluginRegistry
from wtb_core.storage.tables import BatchRecord


def resolve_evaluators(
    registry: PluginRegistry, evaluators: Iterable[str | Evaluator]
) -> tuple[dict[str, Evaluator], list[dict[str, Any]]]:
    """The evaluators by metric name, and how to find each again on resume."""
    resolved: dict[str, Evaluator] = {}
    specs: list[dict[str, Any]] = []
    for evaluator in evaluators:
        if isinstance(evaluator, str):
            name, func = evaluator, registry.evaluator(evaluator)
            spec = {"name": name, "registered": name, "ref": None}
        elif callable(evaluator):
            name, func = getattr(evaluator, "__name__", type(evaluator).__name__), evaluator
            spec = {"name": name, "registered": None, "ref": callable_reference(evaluator)}
        else:
            raise ConfigurationError(
                f"evaluator {evaluator!r} is neither a registered name nor a callable "
                "(case, outcome) -> float | bool | dict"
            )
        if name in resolved:
            raise ConfigurationError(f"evaluator {name!r} is given twice")
        resolved[name] = func
        specs.append(spec)
    return resolved, specs


def restore_evaluators(registry: PluginRegistry, record: BatchRecord) -> dict[str, Evaluator]:
    """The evaluators ``record`` was run with, found again from its stored specs."""
    resolved: dict[str, Evaluator] = {}
    for spec in record.evaluators:
        if spec.get("registered"):
            resolved[spec["name"]] = registry.evaluator(spec["registered"])
        elif spec.get("ref"):
            resolved[spec["name"]] = import_reference(spec["ref"], f"evaluator {spec['name']!r}")
        else:
            raise ConfigurationError(
                f"batch {record.id} used evaluator {spec['name']!r}, a callable that cannot "
                "be imported again: pass evaluators=[...] to resume_batch"
            )
    return resolved
