"""The native API, ``/api/v1``: the bench's operations one to one.

``projects`` (list, get, graph, register), ``executions`` (run, list, read, delete),
``control`` (pause, resume, stop, rollback, fork, update_state), ``batches`` and
``plugins``; ``models`` holds the request bodies and the responses the SDK has no model
for. Every route calls one operation of the bench's services.
"""

from __future__ import annotations

from fastapi import APIRouter

from wtb_core.server.native import batches, control, executions, plugins, projects

router = APIRouter(prefix="/api/v1")
for _part in (projects, executions, control, batches, plugins):
    router.include_router(_part.router)
