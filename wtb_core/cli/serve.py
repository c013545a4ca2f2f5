"""``wtb serve``: the bench over HTTP — REST, WebSocket events and the LangGraph Agent
Server subset (``wtb_core.server``; ``pip install "wtb-core[server]"``)."""

from __future__ import annotations

import gc
from typing import Annotated, Any

import typer

from wtb_core.cli.common import project_from_ref, session
from wtb_core.errors import ConfigurationError


def _server_installed() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            f"wtb serve needs the server extra ({exc.name} is missing): "
            'pip install "wtb-core[server]"'
        ) from None


def serve(
    ctx: typer.Context,
    project: Annotated[
        list[str] | None,
        typer.Option(
            "--project",
            "-p",
            metavar="PROJECT",
            help="A wtb_project.yaml file or module:attribute (a WorkflowProject or a graph "
            "factory) to serve (repeatable; added to the projects of wtb.toml's serve "
            "table). Projects registered in the data dir before are served too.",
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(help="Address to bind (default 127.0.0.1; off loopback needs --token)."),
    ] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default 8765).")] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="WTB_API_TOKEN",
            help="Bearer token every request must carry (at least 16 characters).",
            show_envvar=True,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Executions and batches driven at once (default 4)."),
    ] = None,
    queue: Annotated[
        int | None,
        typer.Option(help="Starts that may wait for a busy worker before 503 (default 64)."),
    ] = None,
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ORIGIN",
            help="A browser origin allowed to call the API, e.g. https://smith.langchain.com "
            "for LangGraph Studio (repeatable; CORS is closed otherwise).",
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            metavar="HOST",
            help="A Host header name accepted besides loopback and the bound address (repeatable).",
        ),
    ] = None,
    allow_project_registration: Annotated[
        bool,
        typer.Option(
            help="Allow POST /api/v1/projects, which imports the module a request names "
            "(needs --token)."
        ),
    ] = False,
) -> None:
    """Serve the bench over HTTP until SIGTERM or Ctrl-C: the native API under /api/v1,
    the event stream at /api/v1/stream, the LangGraph Agent Server API at the root, and
    /healthz, /readyz. On SIGTERM running executions pause at their next node boundary."""
    _server_installed()
    import uvicorn

    from wtb_core.server.app import create_app
    from wtb_core.server.settings import ServeSettings

    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "token": token,
        "workers": workers,
        "queue": queue,
        "allowed_origins": allowed_origin or None,
        "allowed_hosts": allowed_host or None,
        "allow_project_registration": allow_project_registration or None,
    }
    settings = ServeSettings(**{k: v for k, v in given.items() if v is not None})
    s = session(ctx)
    bench = s.bench
    for ref in [*settings.projects, *(project or [])]:
        bench.register_project(project_from_ref(ref, None))
    app = create_app(bench, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,  # small JSON events: compressing costs more than it saves
        timeout_graceful_shutdown=int(settings.shutdown_grace),
        log_level="info",
    )
    gc.freeze()  # the start-up heap (imports, projects) stays: collections need not rescan it
    served = ", ".join(bench.list_projects()) or "none yet"
    s.console.print(f"WTB serves {served} at http://{settings.host}:{settings.port}", markup=False)
    uvicorn.Server(config).run()
