"""The OpenTelemetry spans WTB opens itself: executions, batches and time-travel operations.

Spans follow the OpenTelemetry GenAI conventions: an execution call (run, resume) is
``invoke_workflow {project}`` with ``gen_ai.operation.name="invoke_workflow"``,
``gen_ai.workflow.name`` (the project) and ``gen_ai.conversation.id`` (the LangGraph thread
id), ``error.type`` on failure, plus ``wtb.*`` attributes. Everything goes through the
OpenTelemetry API, so it costs next to nothing until the user configures an SDK; with
``StackConfig.tracing`` off no span is opened at all.

Callers add attributes to the next execution span opened in a context by putting a mapping
under the OpenTelemetry context key ``SPAN_ATTRIBUTES`` (``with_attributes``): a batch does
so for its cells (``wtb.batch_id``, ``wtb.case``, ``wtb.repetition``), in this process and
on Ray workers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer, TracerProvider

from wtb_core import __version__
from wtb_core.telemetry.settings import SWITCHES

log = logging.getLogger(__name__)

SPAN_ATTRIBUTES = "wtb.span_attributes"
"""OpenTelemetry context key: extra attributes (a mapping) of execution spans opened in it."""

_override: TracerProvider | None = None
_cached: tuple[object, Tracer] | None = None


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Make WTB's spans go to ``provider`` instead of the global one (``None``: global
    again). For tests and benchmarks; applications configure the global provider."""
    global _override, _cached
    _override, _cached = provider, None


def tracer() -> Tracer:
    """WTB's tracer on the current provider (cached per provider)."""
    global _cached
    provider = _override or trace.get_tracer_provider()
    cached = _cached
    if cached is not None and cached[0] is provider:
        return cached[1]
    made = provider.get_tracer("wtb_core", __version__)
    _cached = (provider, made)
    return made


def with_attributes(attributes: Mapping[str, Any], ctx: otel_context.Context | None = None) -> Any:
    """``ctx`` (default: the current context) whose execution spans get ``attributes``."""
    merged = {**(otel_context.get_value(SPAN_ATTRIBUTES, ctx) or {}), **attributes}  # type: ignore[dict-item]
    return otel_context.set_value(SPAN_ATTRIBUTES, merged, ctx)


def clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """``attributes`` without ``None`` values (OpenTelemetry drops them with a warning)."""
    return {k: v for k, v in attributes.items() if v is not None}


def mark_failed(span: Span, error: BaseException, description: str | None = None) -> None:
    """Record ``error`` on ``span``: an exception event, status ERROR and ``error.type``."""
    if not span.is_recording():
        return
    span.record_exception(error)
    span.set_attribute("error.type", type(error).__qualname__)
    span.set_status(Status(StatusCode.ERROR, description or f"{type(error).__name__}: {error}"))


@contextlib.contextmanager
def current_span(span: Span) -> Iterator[None]:
    """Run the block with ``span`` as the current span (without ending it)."""
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        otel_context.detach(token)


def execution_span(
    project: str,
    execution_id: str,
    thread_id: str,
    attributes: Mapping[str, Any],
) -> Span | None:
    """A started ``invoke_workflow {project}`` span (the caller ends it), or ``None`` when
    tracing is off or the span could not be started."""
    if not SWITCHES.tracing:
        return None
    try:
        extra = otel_context.get_value(SPAN_ATTRIBUTES) or {}
        return tracer().start_span(
            f"invoke_workflow {project}",
            attributes=clean(
                {
                    "gen_ai.operation.name": "invoke_workflow",
                    "gen_ai.workflow.name": project,
                    "gen_ai.conversation.id": thread_id,
                    "wtb.project": project,
                    "wtb.execution_id": execution_id,
                    **attributes,
                    **extra,  # type: ignore[dict-item]
                }
            ),
        )
    except Exception:  # telemetry never breaks a run
        log.exception("opening the span of execution %s failed", execution_id)
        return None


@contextlib.contextmanager
def operation_span(
    operation: str, project: str, execution_id: str, **attributes: Any
) -> Iterator[Span | None]:
    """A span ``{operation} {project}`` around a time-travel or control operation (rollback,
    fork, update_state, pause, stop) of ``execution_id``; an exception in the block is
    recorded on it and re-raised."""
    if not SWITCHES.tracing:
        yield None
        return
    span = tracer().start_span(
        f"{operation} {project}",
        attributes=clean(
            {
                "wtb.operation": operation,
                "wtb.project": project,
                "wtb.execution_id": execution_id,
                "gen_ai.conversation.id": f"wtb-{execution_id}",
                **attributes,
            }
        ),
    )
    try:
        with current_span(span):
            yield span
    except BaseException as exc:
        mark_failed(span, exc)
        raise
    finally:
        span.end()


@contextlib.contextmanager
def batch_span(
    project: str, batch_id: str, runner: str, cells: int, resumed: bool
) -> Iterator[Span | None]:
    """The span of one drive of a batch; its cells' execution spans are its children."""
    if not SWITCHES.tracing:
        yield None
        return
    span = tracer().start_span(
        f"batch {project}",
        attributes={
            "wtb.project": project,
            "wtb.batch_id": batch_id,
            "wtb.batch.runner": runner,
            "wtb.batch.cells": cells,
            "wtb.batch.resumed": resumed,
        },
    )
    try:
        with current_span(span):
            yield span
    except BaseException as exc:
        mark_failed(span, exc)
        raise
    finally:
        span.end()
