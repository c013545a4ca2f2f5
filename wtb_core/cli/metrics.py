"""``wtb metrics serve --port N``: the Prometheus page of an SDK-only process group.

Run it beside processes that use the SDK in Prometheus multiprocess mode (the same
``PROMETHEUS_MULTIPROC_DIR`` for all of them); without that variable it serves only its own
process's (empty) metrics, so it says so and stops.
"""

from __future__ import annotations

import os
import threading
from typing import Annotated

import typer

from wtb_core.errors import ConfigurationError
from wtb_core.telemetry.exposition import MULTIPROCESS_VARIABLE, serve

metrics_app = typer.Typer(name="metrics", help="Prometheus metrics.", no_args_is_help=True)


@metrics_app.command("serve")
def serve_command(
    port: Annotated[int, typer.Option(help="TCP port of /metrics.")] = 9464,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
) -> None:
    """Serve the metrics of every process writing to PROMETHEUS_MULTIPROC_DIR."""
    if not os.environ.get(MULTIPROCESS_VARIABLE):
        raise ConfigurationError(
            f"wtb metrics serve reads the metrics other processes write: set "
            f"{MULTIPROCESS_VARIABLE} to one empty directory for this command and for every "
            "process using WTB (before they start); a server process has GET /metrics instead"
        )
    serve(port, host)
    typer.echo(f"serving metrics on http://{host}:{port}/metrics (Ctrl+C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        return


def add_commands(app: typer.Typer) -> None:
    app.add_typer(metrics_app)
