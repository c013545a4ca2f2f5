"""``WTBAttributesSpanProcessor``: an opt-in span processor that copies the ``wtb.*``
attributes of a span's parent onto it, so spans opened inside a node (an LLM client's, a
LangChain tracer's) carry ``wtb.execution_id``, ``wtb.node``, ``wtb.variant`` … and can be
filtered by them. Add it to the SDK's provider: ``provider.add_span_processor(
WTBAttributesSpanProcessor())``. Needs ``opentelemetry-sdk`` (the SDK's spans are the ones
whose attributes can be read)."""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

try:
    from opentelemetry.sdk.trace import SpanProcessor
except ImportError as exc:  # pragma: no cover - the SDK is the user's choice
    raise ImportError(
        "WTBAttributesSpanProcessor needs the OpenTelemetry SDK: pip install opentelemetry-sdk"
    ) from exc

PREFIX = "wtb."


class WTBAttributesSpanProcessor(SpanProcessor):
    """Copies the parent's ``wtb.*`` attributes onto every new span that lacks them."""

    def on_start(self, span: Any, parent_context: otel_context.Context | None = None) -> None:
        parent = trace.get_current_span(parent_context)
        attributes = getattr(parent, "attributes", None)
        if not attributes:
            return
        own = span.attributes or {}
        for key, value in attributes.items():
            if key.startswith(PREFIX) and key not in own:
                span.set_attribute(key, value)
