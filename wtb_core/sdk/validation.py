"""Checks on what callers hand in (states, updates, breakpoints, interrupt answers), made
before anything is stored. Each raises ``InvalidInputError`` (``StateSerializationError``
for a value the checkpointer cannot serialise; ``InvalidStateError`` for an answer the
execution is not waiting for) saying what to pass instead."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from langgraph.types import Command
from pydantic import BaseModel, TypeAdapter, ValidationError

from wtb_core.domain.models import PendingInterrupt
from wtb_core.engine.serialization import check_input
from wtb_core.errors import InvalidInputError, InvalidStateError


def check_state(serde: Any, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """``values`` (a mapping or a pydantic model) as a dict, if ``serde`` can store it."""
    if values is None:
        return {}
    if hasattr(values, "model_dump"):
        values = dict(values)
    if not isinstance(values, Mapping):
        raise InvalidInputError(
            f"state must be a mapping of state keys to values, not {type(values).__name__}"
        )
    check_input(serde, values)
    return dict(values)


def check_keys(graph: Any, values: Mapping[str, Any], schema: Any, what: str) -> None:
    """Refuse keys ``schema`` does not have: LangGraph would drop them silently from an
    input and refuse them in an update; WTB refuses them in both."""
    keys = set(graph.builder.schemas[schema])
    unknown = sorted(set(values) - keys)
    if unknown:
        raise InvalidInputError(
            f"{what} has no key {', '.join(map(repr, unknown))}; its keys are: "
            f"{', '.join(sorted(keys))}"
        )


def check_node(graph: Any, node: str | None, what: str) -> None:
    """Refuse a node name (``as_node=``) the graph does not have."""
    if node is not None and node not in graph.builder.nodes:
        raise InvalidInputError(
            f"{what}={node!r} is not a node of this graph; its nodes are: "
            f"{', '.join(graph.builder.nodes)}"
        )


def check_breakpoints(graph: Any, breakpoints: Iterable[str] | None) -> list[str]:
    bps = list(breakpoints or [])
    unknown = [b for b in bps if b not in graph.builder.nodes]
    if unknown:
        raise InvalidInputError(
            f"breakpoint node(s) {', '.join(map(repr, unknown))} not in the graph; its "
            f"nodes are: {', '.join(graph.builder.nodes)}"
        )
    return bps


def validate_model_fields(schema: Any, values: Mapping[str, Any]) -> None:
    """Refuse values a pydantic state schema would refuse, before anything is written
    (LangGraph stores such an update and fails only when it next reads the state)."""
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return
    for key, value in values.items():
        field = schema.model_fields.get(key)
        if field is None or field.annotation is None:
            continue
        try:
            TypeAdapter(field.annotation).validate_python(value)
        except ValidationError as exc:
            raise InvalidInputError(
                f"state key {key!r} does not accept {value!r}: {schema.__name__}.{key} is "
                f"{field.annotation!r} ({exc.errors()[0]['msg']})"
            ) from None


def resume_input(execution_id: str, interrupts: tuple[PendingInterrupt, ...], resume: Any) -> Any:
    """What a resume feeds the graph: ``None`` to continue, or ``Command(resume=...)``
    answering the pending interrupts (refused when the answer does not fit them)."""
    if not interrupts:
        if resume is not None:
            raise InvalidStateError(
                f"execution {execution_id} is not waiting at an interrupt(); call "
                "resume() without resume="
            )
        return None
    waiting = "; ".join(f"{i.id} in node {i.node!r}: {i.value!r}" for i in interrupts)
    if resume is None:
        raise InvalidStateError(
            f"execution {execution_id} is waiting for an answer to interrupt() ({waiting}); "
            "pass resume=<answer>"
        )
    ids = {i.id for i in interrupts}
    if len(interrupts) > 1 and not (isinstance(resume, Mapping) and set(resume) <= ids):
        raise InvalidStateError(
            f"execution {execution_id} has {len(interrupts)} interrupts waiting ({waiting}); "
            "pass resume={interrupt_id: answer, ...}"
        )
    return Command(resume=resume)
