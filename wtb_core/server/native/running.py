"""Answering a run or resume driven on the server's job pool: ``202`` once it is stored,
or, with ``?wait=true``, the ``ExecutionResult`` once it stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse

from wtb_core.domain.models import ExecutionResult, ExecutionStatus
from wtb_core.server.jobs import JobPool
from wtb_core.server.native.models import StartedExecution

PREFIX = "/api/v1"

Wait = Annotated[
    bool,
    Query(description="Answer once the execution stops (200 with its result), not at once (202)"),
]


def execution_location(execution_id: str) -> str:
    return f"{PREFIX}/executions/{execution_id}"


def _ignore(_: str) -> None:
    """The start of a job its request waits for to the end: nothing to answer early."""


async def drive(
    jobs: JobPool,
    execution_id: str,
    work: Callable[[Callable[[str], None]], ExecutionResult],
    wait: bool,
) -> ExecutionResult | JSONResponse:
    """Start ``work(started)`` on the pool; errors raised before ``started`` propagate (a
    4xx). Without ``wait`` the answer is ``202`` with the execution's ``Location``."""
    if wait:  # errors before the start arrive as the job's own
        job = jobs.submit("execution", execution_id, lambda: work(_ignore))
        # shield: a client that goes away does not cancel the wait of the pool's future
        return await asyncio.shield(asyncio.wrap_future(job))
    future: Future[ExecutionResult] = await jobs.start("execution", execution_id, work)
    status = ExecutionStatus.RUNNING
    if future.done() and future.exception() is None:  # already stopped (a short run)
        status = future.result().status
    body = StartedExecution(execution_id=execution_id, status=status)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=202,
        headers={"Location": execution_location(execution_id)},
    )
