"""Serving the metrics: ``render`` for ``GET /metrics`` and ``serve`` for ``wtb metrics serve``.

With ``PROMETHEUS_MULTIPROC_DIR`` set (Prometheus multiprocess mode: several worker
processes behind one scrape endpoint) the page aggregates every process's values from that
directory; otherwise it is this process's registry.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, exposition, multiprocess, start_http_server

from wtb_core.errors import ConfigurationError
from wtb_core.telemetry import metrics

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def scrape_registry() -> Any:
    """The registry a scrape reads: every process's (multiprocess mode) or this one's."""
    directory = os.environ.get(MULTIPROCESS_VARIABLE)
    if directory:
        if not os.path.isdir(directory):
            raise ConfigurationError(
                f"{MULTIPROCESS_VARIABLE}={directory!r} is not a directory: create it (empty) "
                "before the processes start, or unset it"
            )
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return registry
    return metrics.active().registry


def render(accept: str | None = None) -> tuple[bytes, str]:
    """The metrics page in the format ``accept`` asks for, and its content type."""
    metrics.active()  # the families exist from the first scrape
    encoder, content_type = exposition.choose_encoder(accept or "")
    return encoder(scrape_registry()), content_type


def serve(port: int, address: str = "127.0.0.1") -> Any:
    """Serve ``/metrics`` on ``address:port`` from a background thread; returns the server."""
    if not 0 < port < 65536:
        raise ConfigurationError(f"port {port} is not a TCP port: choose one in 1-65535")
    metrics.active()
    server, _thread = start_http_server(port, address, registry=scrape_registry())
    return server
