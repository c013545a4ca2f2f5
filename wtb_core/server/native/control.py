"""Control calls on one execution: pause, resume, stop, rollback, fork, update_state.

Pause and stop of an execution the pool drives are honoured at its next node boundary;
the request waits up to ``timeout`` seconds for it and then answers ``200`` with the
stopped execution, or ``202`` with it still running (the request stands and is honoured
at the boundary).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse

from wtb_core.domain.models import ExecutionResult, ExecutionStatus
from wtb_core.server.deps import JobsDep, ServicesDep
from wtb_core.server.native.models import (
    Fork,
    ResumeExecution,
    Rollback,
    StartedExecution,
    UpdateState,
    error_responses,
)
from wtb_core.server.native.running import Wait, drive, execution_location

router = APIRouter(
    prefix="/executions/{execution_id}",
    tags=["control"],
    responses=error_responses(404, 409, 422),
)

Timeout = Annotated[
    float,
    Query(ge=0, le=300, description="Seconds to wait for the next node boundary (0: just ask)"),
]
_ASKED: dict[int | str, dict[str, Any]] = {
    202: {"model": ExecutionResult, "description": "Asked; still running after timeout"}
}


def _answer(result: ExecutionResult, response: Response) -> ExecutionResult:
    if result.status is ExecutionStatus.RUNNING:
        response.status_code = 202
    return result


@router.post("/pause", response_model=ExecutionResult, responses=_ASKED)
async def pause(
    execution_id: str, services: ServicesDep, response: Response, timeout: Timeout = 10.0
) -> ExecutionResult:
    """Pause a running execution at its next node boundary (a paused one: unchanged)."""
    result = await asyncio.to_thread(services.executions.pause, execution_id, timeout)
    return _answer(result, response)


@router.post("/stop", response_model=ExecutionResult, responses=_ASKED)
async def stop(
    execution_id: str, services: ServicesDep, response: Response, timeout: Timeout = 10.0
) -> ExecutionResult:
    """Cancel an execution (at its next node boundary if running); its checkpoints stay."""
    result = await asyncio.to_thread(services.executions.stop, execution_id, timeout)
    return _answer(result, response)


@router.post(
    "/resume",
    response_model=ExecutionResult,
    responses={
        202: {"model": StartedExecution, "description": "Resumed; runs on the server's pool"},
        **error_responses(503),
    },
)
async def resume(
    execution_id: str,
    services: ServicesDep,
    jobs: JobsDep,
    body: Annotated[ResumeExecution | None, Body()] = None,
    wait: Wait = False,
) -> ExecutionResult | JSONResponse:
    """Continue from the head (``bench.resume``) on the server's pool."""
    asked = body or ResumeExecution()

    def work(started: Callable[[str], None]) -> ExecutionResult:
        return services.executions.resume(
            execution_id, asked.resume, asked.updates, asked.as_node, on_started=started
        )

    return await drive(jobs, execution_id, work, wait)


@router.post("/rollback", response_model=ExecutionResult)
async def rollback(execution_id: str, body: Rollback, services: ServicesDep) -> ExecutionResult:
    """Move the head (state and tracked files) back to a checkpoint: paused there."""
    return await asyncio.to_thread(services.time_travel.rollback, execution_id, body.checkpoint_id)


@router.post("/fork", response_model=ExecutionResult, status_code=201)
async def fork(
    execution_id: str, body: Fork, services: ServicesDep, response: Response
) -> ExecutionResult:
    """A new execution whose history is this one's up to the checkpoint, paused there
    (``Location``: the new execution)."""
    result = await asyncio.to_thread(
        services.time_travel.fork, execution_id, body.checkpoint_id, body.updates, body.as_node
    )
    response.headers["Location"] = execution_location(result.execution_id)
    return result


@router.post("/state", response_model=ExecutionResult)
async def update_state(
    execution_id: str, body: UpdateState, services: ServicesDep
) -> ExecutionResult:
    """Write values into the state at the head, as a new checkpoint."""
    return await asyncio.to_thread(
        services.time_travel.update_state, execution_id, body.values, body.as_node
    )
