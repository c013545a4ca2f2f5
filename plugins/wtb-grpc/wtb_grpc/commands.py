"""``wtb grpc serve``: the bench over gRPC until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from wtb_core.plugin import project_from_ref, session


def serve(
    ctx: typer.Context,
    project: Annotated[
        list[str] | None,
        typer.Option(
            "--project",
            "-p",
            metavar="PROJECT",
            help="A wtb_project.yaml file or module:attribute (a WorkflowProject or a graph "
            "factory) to serve (repeatable). Projects registered in the data dir before are "
            "served too.",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to bind (off loopback needs --token).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 50051,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="WTB_API_TOKEN",
            show_envvar=True,
            help="Token every call must carry as 'authorization: Bearer <token>' "
            "(at least 16 characters).",
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate chain: serve TLS (with --tls-key).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    workers: Annotated[int, typer.Option(help="Executions and batches driven at once.")] = 4,
    queue: Annotated[
        int, typer.Option(help="Starts that may wait for a busy worker before UNAVAILABLE.")
    ] = 64,
    shutdown_grace: Annotated[
        float,
        typer.Option(help="Seconds running executions get to pause at a node boundary on stop."),
    ] = 30.0,
) -> None:
    """Serve the bench over gRPC (wtb.v1.WorkflowTestBench, grpc.health.v1, reflection)
    until SIGTERM or Ctrl-C; then running executions pause at their next node boundary."""
    from wtb_grpc.server import serve as serve_grpc
    from wtb_grpc.settings import GrpcSettings

    given: dict[str, Any] = {
        "host": host, "port": port, "token": token, "tls_cert": tls_cert, "tls_key": tls_key,
        "workers": workers, "queue": queue, "shutdown_grace": shutdown_grace,
    }  # fmt: skip
    settings = GrpcSettings(**given)
    s = session(ctx)
    bench = s.bench
    for ref in project or []:
        bench.register_project(project_from_ref(ref, None))
    served = ", ".join(bench.list_projects()) or "none yet"
    scheme = "TLS" if settings.tls_cert else "plaintext"

    def ready(bound: int) -> None:
        s.console.print(
            f"WTB serves {served} over gRPC ({scheme}) at {settings.host}:{bound}", markup=False
        )

    asyncio.run(serve_grpc(bench, settings, ready))


def add_commands(cli: typer.Typer) -> None:
    """``wtb grpc`` with its ``serve`` command."""
    grpc_app = typer.Typer(help="The bench over gRPC (wtb-grpc).", no_args_is_help=True)
    grpc_app.command("serve")(serve)
    cli.add_typer(grpc_app, name="grpc")
