"""Telemetry fixtures: a real OpenTelemetry SDK provider with the in-memory exporter, and a
fresh real prometheus-client registry the telemetry writes to."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from wtb_core.telemetry import metrics, tracing
from wtb_core.telemetry.processor import WTBAttributesSpanProcessor
from wtb_core.telemetry.settings import SWITCHES


@pytest.fixture
def provider():
    provider = TracerProvider()
    provider.add_span_processor(WTBAttributesSpanProcessor())
    return provider


@pytest.fixture
def spans(provider):
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    yield exporter
    tracing.use_tracer_provider(None)


@pytest.fixture
def registry():
    registry = CollectorRegistry()
    metrics.install(registry)
    yield registry
    metrics.install(CollectorRegistry())  # later tests never write into this one


@pytest.fixture(autouse=True)
def _switches_on():
    SWITCHES.metrics = SWITCHES.tracing = True
    yield
    SWITCHES.metrics = SWITCHES.tracing = True
