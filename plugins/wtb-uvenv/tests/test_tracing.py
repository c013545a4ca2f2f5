"""A node run in a uv environment continues the driver's trace: its node span's W3C
context reaches the worker, as the current OpenTelemetry context when the environment has
opentelemetry-api, and as ``TRACEPARENT`` in every environment."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider

from wtb_core import ExecutionStatus, WorkflowProject
from wtb_core.config import EnvironmentConfig, EnvSpec
from wtb_core.telemetry import tracing

from .conftest import chain, uvenv_nodes


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    yield exporter
    tracing.use_tracer_provider(None)


@pytest.mark.parametrize("with_otel", [True, False], ids=["opentelemetry-api", "bare"])
def test_a_node_in_an_environment_continues_the_node_span(bench, spans, with_otel):
    dependencies = [f"opentelemetry-api=={version('opentelemetry-api')}"] if with_otel else []
    bench.register_project(
        WorkflowProject(
            "traced",
            chain(("look", uvenv_nodes.trace_seen)),
            environment=EnvironmentConfig(default_env=EnvSpec(dependencies=dependencies)),
        )
    )
    result = bench.run("traced", {})
    assert result.status is ExecutionStatus.COMPLETED, result.error
    (node,) = [s for s in spans.get_finished_spans() if s.name == "node look"]
    trace_id, span_id = f"{node.context.trace_id:032x}", f"{node.context.span_id:016x}"
    seen = result.state["result"]
    flags = f"{int(node.context.trace_flags):02x}"
    assert seen["traceparent"] == f"00-{trace_id}-{span_id}-{flags}"
    if with_otel:
        assert (seen["trace_id"], seen["span_id"]) == (trace_id, span_id)
    else:
        assert "trace_id" not in seen


@pytest.fixture
def untraced():
    tracing.use_tracer_provider(NoOpTracerProvider())  # whatever provider is global
    yield
    tracing.use_tracer_provider(None)


def test_without_tracing_the_worker_gets_no_trace_context(bench, untraced):
    bench.register_project(
        WorkflowProject(
            "untraced",
            chain(("look", uvenv_nodes.trace_seen)),
            environment=EnvironmentConfig(default_env=EnvSpec()),
        )
    )
    result = bench.run("untraced", {})
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.state["result"] == {"traceparent": None}
