"""The dashboard: a single-page web UI at ``/`` of ``wtb serve``, built from static files.

The page (``static/index.html``, ES modules under ``static/js``, no build step) calls only
the public API — the native ``/api/v1`` routes, the event stream and, for a past
checkpoint's pending interrupts, the LangGraph ``/threads/{id}/state/{checkpoint}`` route —
with the token the user gives it. The files hold no data, so they are served without one
(``security.OPEN_PATHS``). Mermaid (MIT, ``static/vendor/mermaid``) draws project graphs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PREFIX = "/dashboard"


def install(app: FastAPI) -> None:
    """Serve the page at ``/`` and its files under ``/dashboard``."""

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount(PREFIX, StaticFiles(directory=STATIC), name="dashboard")
