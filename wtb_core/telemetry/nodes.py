"""One ``node {node}`` span per node run, opened and closed where the node really runs.

``NodeSpans`` is the node observer of a drive (``engine.observed``): the callable of every
function node tells it right before and right after it runs, on the thread (or task) that
runs it, so the span has the node's true start and end, parallel nodes of a super-step
are overlapping siblings, and the node runs with its span as the current context (spans
that instrumentation inside the node opens nest under it). Nodes that are Runnables (a
compiled subgraph added as a node) have no callable to wrap: for those — only when a graph
has any — it is also a LangChain callback handler the driver passes with the drive's
config. Each attempt of a ``RetryPolicy`` is its own span (``wtb.attempt``). A completed
node's span is ended, with its recorded end time, once the checkpoint written after its
super-step is known (``wtb.checkpoint_id``); a failed or interrupted one at once. Only
top-level nodes of the graph get spans. Telemetry never breaks a node: failures here are
logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langgraph.config import get_config
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Tracer

from wtb_core.telemetry.metrics import variant_of
from wtb_core.telemetry.tracing import mark_failed

log = logging.getLogger(__name__)

_Open = tuple[Span, object]  # a running node's span and the context token it attached


class NodeSpans(BaseCallbackHandler):
    """The node spans of one drive (thread-safe: parallel nodes call it at once).
    ``unobserved`` names the Runnable nodes, whose spans come from LangChain callbacks."""

    run_inline = True  # called in the node's own context, also for async nodes
    raise_error = False

    def __init__(
        self,
        tracer: Tracer,
        variants: Mapping[str, str],
        workflow_variant: str | None,
        unobserved: Collection[str] = (),
    ) -> None:
        self._tracer = tracer
        self._variants = dict(variants)
        self._workflow_variant = workflow_variant
        self.unobserved = frozenset(unobserved)
        self._open: dict[UUID, _Open] = {}
        self._done: list[tuple[Span, int]] = []  # completed, waiting for their checkpoint
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- function nodes (engine.observed) --------------------------------------------------

    def started(self, node: str) -> _Open | None:
        try:
            metadata = get_config().get("metadata") or {}
            namespace = str(metadata.get("langgraph_checkpoint_ns", ""))
            if "|" in namespace:  # the graph runs as a subgraph of another
                return None
            return self._begin(node, int(metadata.get("langgraph_step", -1)), namespace)
        except Exception:
            log.exception("opening the span of node %s failed", node)
            return None

    def ended(self, handle: object, error: BaseException | None) -> None:
        if handle is None:
            return
        try:
            span, token = cast(_Open, handle)
            _detach(token)
            self._ended(span, error)
        except Exception:
            log.exception("closing a node span failed")

    # -- Runnable nodes (LangChain callbacks) ----------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        meta = metadata or {}
        node = meta.get("langgraph_node")
        namespace = str(meta.get("langgraph_checkpoint_ns", ""))
        if (
            node not in self.unobserved
            or kwargs.get("name") != node
            or "|" in namespace  # a node of a subgraph
            or not any(tag.startswith("graph:step:") for tag in tags or ())
        ):
            return
        opened = self._begin(str(node), int(meta.get("langgraph_step", -1)), namespace)
        with self._lock:
            self._open[run_id] = opened

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._close(run_id)
        if span is not None:
            self._ended(span, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._close(run_id)
        if span is not None:
            self._ended(span, error)

    # -- both ------------------------------------------------------------------------------

    def _begin(self, node: str, step: int, namespace: str) -> _Open:
        with self._lock:
            attempt = self._attempts[namespace] = self._attempts.get(namespace, 0) + 1
        span = self._tracer.start_span(
            f"node {node}",
            attributes={  # wtb.execution_id is the parent's (the attributes processor copies it)
                "wtb.node": node,
                "wtb.step": step,
                "wtb.attempt": attempt,
                "wtb.variant": variant_of(node, self._variants, self._workflow_variant),
            },
        )
        return span, otel_context.attach(trace.set_span_in_context(span))

    def _ended(self, span: Span, error: BaseException | None) -> None:
        if error is None:  # its status is set with its checkpoint, in one call
            with self._lock:
                self._done.append((span, time.time_ns()))
            return
        if isinstance(error, GraphInterrupt):
            span.set_attribute("wtb.status", "interrupted")
            span.add_event("interrupt")
        elif isinstance(error, GraphBubbleUp):  # a Command to the parent graph
            span.set_attribute("wtb.status", "completed")
        else:
            span.set_attribute("wtb.status", "failed")
            mark_failed(span, error)
        span.end()

    def _close(self, run_id: UUID) -> Span | None:
        with self._lock:
            entry = self._open.pop(run_id, None)
        if entry is None:
            return None
        span, token = entry
        _detach(token)
        return span

    def checkpoint(self, checkpoint_id: str) -> None:
        """End the completed nodes' spans: ``checkpoint_id`` was written after them."""
        with self._lock:
            done, self._done = self._done, []
        completed = {"wtb.status": "completed", "wtb.checkpoint_id": checkpoint_id}
        for span, end in done:
            span.set_attributes(completed)
            span.end(end_time=end)

    def close(self) -> None:
        """End every span left (the drive stopped before their checkpoint)."""
        self.checkpoint_less()
        with self._lock:
            left, self._open = list(self._open.values()), {}
        for span, _ in left:
            span.set_attribute("wtb.status", "abandoned")
            span.end()

    def checkpoint_less(self) -> None:
        with self._lock:
            done, self._done = self._done, []
        for span, end in done:
            span.set_attribute("wtb.status", "completed")
            span.end(end_time=end)


def _detach(token: object) -> None:
    try:
        otel_context.detach(token)  # type: ignore[arg-type]
    except Exception:  # another context: the span still ends correctly
        log.debug("could not detach the context of a node span", exc_info=True)
