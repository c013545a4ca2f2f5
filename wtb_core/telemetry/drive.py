"""The telemetry of one drive of an execution, as ``ExecutionDriver`` uses it.

``DriveTelemetry(request)`` is a context manager around the drive: it opens the execution
span (``tracing.execution_span``) and makes it current, sets the variants metrics label
nodes by (``scope.driving``) and, while the span records, has a ``NodeSpans`` observe the
graph's nodes (``observer``; for Runnable nodes also a LangChain callback handler,
``callbacks``). Message content goes on the execution span only when the user opted in
(``telemetry.content``). Every method swallows and logs its own failures:
telemetry never breaks a run.
"""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from wtb_core.engine.observed import unobserved_nodes
from wtb_core.engine.runs import RunOutcome, RunRequest
from wtb_core.telemetry import content, metrics, scope, tracing
from wtb_core.telemetry.nodes import NodeSpans
from wtb_core.telemetry.settings import SWITCHES

log = logging.getLogger(__name__)


def request_attributes(request: RunRequest) -> dict[str, Any]:
    """The ``wtb.*`` attributes of ``request``'s execution span."""
    attributes: dict[str, Any] = {
        f"wtb.variant.{node}": variant for node, variant in request.variants.items()
    }
    attributes["wtb.workflow_variant"] = request.workflow_variant
    attributes["wtb.project_version"] = request.project_version
    return attributes


class DriveTelemetry:
    """Spans and metrics of one drive (see the module's docstring)."""

    def __init__(self, request: RunRequest, graph_input: Any = None) -> None:
        self._request = request
        self._input = graph_input
        self._given: list[Any] | None = None  # the input's messages, when content is captured
        self.span: Span | None = None
        self.nodes: NodeSpans | None = None
        self._scope = scope.driving(request.variants, request.workflow_variant)
        self._token: object | None = None

    def __enter__(self) -> DriveTelemetry:
        request = self._request
        self._scope.__enter__()
        self.span = tracing.execution_span(
            request.project, request.execution_id, request.thread_id, request_attributes(request)
        )
        if self.span is not None:
            self._token = otel_context.attach(trace.set_span_in_context(self.span))
            if self.span.is_recording():
                self._capture_input()
                self.nodes = NodeSpans(
                    tracing.tracer(),
                    request.variants,
                    request.workflow_variant,
                    unobserved_nodes(request.graph),
                )
        return self

    def _capture_input(self) -> None:
        if not content.capture_enabled() or self.span is None:
            return
        given = self._input.update if isinstance(self._input, Command) else self._input
        try:
            self._given = content.messages_of(given)
            if self._given:
                self.span.set_attribute("gen_ai.input.messages", content.as_json(self._given))
        except Exception:
            log.exception("recording the input messages of %s failed", self._request.execution_id)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self.nodes is not None:
                self.nodes.close()
            if self.span is not None:
                if error is not None:
                    tracing.mark_failed(self.span, error)
                if self._token is not None:
                    otel_context.detach(self._token)  # type: ignore[arg-type]
                self.span.end()
        except Exception:
            log.exception("closing the spans of execution %s failed", self._request.execution_id)
        finally:
            self._scope.__exit__(kind, error, traceback)

    def callbacks(self, config: RunnableConfig) -> None:
        """Add the node-span handler to a drive's LangGraph ``config`` when the graph has
        Runnable nodes (function nodes tell ``observer`` themselves, at less cost)."""
        if self.nodes is not None and self.nodes.unobserved:
            config["callbacks"] = [self.nodes]

    @property
    def observer(self) -> NodeSpans | None:
        """What the graph's function nodes tell of their calls (``engine.observed``)."""
        return self.nodes

    def checkpoint(self, checkpoint_id: str) -> None:
        if self.nodes is not None:
            try:
                self.nodes.checkpoint(checkpoint_id)
            except Exception:
                log.exception("ending node spans at checkpoint %s failed", checkpoint_id)

    def event(self, name: str, **attributes: Any) -> None:
        """A span event on the execution span (a pause or stop asked, ...)."""
        if self.span is not None and self.span.is_recording():
            self.span.add_event(name, tracing.clean(attributes))

    def failed(self, error: BaseException, description: str) -> None:
        if self.span is not None:
            tracing.mark_failed(self.span, error, description)

    def finished(self, outcome: RunOutcome) -> None:
        span = self.span
        if span is None or not span.is_recording():
            return
        span.set_attribute("wtb.status", outcome.status.value)
        if outcome.head is not None:
            span.set_attribute("wtb.checkpoint_id", outcome.head)
        if self._given is not None:
            try:
                added = content.new_messages(content.messages_of(outcome.state), self._given)
                if added:
                    span.set_attribute("gen_ai.output.messages", content.as_json(added))
            except Exception:
                log.exception(
                    "recording the output messages of %s failed", self._request.execution_id
                )


def observe_file_snapshot(started: float) -> None:
    """Time one snapshot of tracked files that began at ``perf_counter()`` ``started``."""
    if SWITCHES.metrics:
        metrics.active().file_snapshot.observe(time.perf_counter() - started)
