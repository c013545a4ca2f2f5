"""``/threads/{thread_id}/runs…`` and the stateless ``/runs…``: runs as executions.

``…/runs/stream`` answers server-sent events (``sse.py``) while the execution runs;
``…/runs/wait`` answers the final values once it stops (whitespace heartbeats until then,
which JSON parsers skip); ``…/runs`` answers the ``Run`` at once. A stateless run gets a
thread of its own, kept afterwards. Every answer naming a run carries
``Content-Location: /threads/{thread_id}/runs/{run_id}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from wtb_core.domain.models import ExecutionResult, ExecutionStatus
from wtb_core.errors import ExecutionNotFoundError, InvalidStateError, WTBError
from wtb_core.server.deps import JobsDep
from wtb_core.server.langgraph.context import ActiveRun, ApiDep, LangGraphApi
from wtb_core.server.langgraph.encoding import dumps, error_parts
from wtb_core.server.langgraph.mapping import (
    RunNotFoundError,
    UnsupportedRequestError,
    resolve_thread,
)
from wtb_core.server.langgraph.models import FinalValues, Run, RunCreate, RunStatus
from wtb_core.server.langgraph.running import Prepared, final_values, launch, prepare, submit
from wtb_core.server.langgraph.sse import HEARTBEAT_S, STREAM_MODES, EventChannel
from wtb_core.storage.api_threads import StoredRun

router = APIRouter(tags=["langgraph: runs"])

_SSE_EVENTS = ["metadata", *sorted(set(STREAM_MODES.values())), "error"]
_SSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events: metadata, then one event per chunk of each "
        "requested stream mode, error on failure",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "description": "One event (OpenAPI before 3.2: the schema of each event)",
                    "properties": {
                        "event": {"type": "string", "enum": _SSE_EVENTS},
                        "data": {"type": "string", "description": "The event's JSON"},
                        "id": {"type": "string"},
                    },
                    "required": ["event", "data"],
                }
            }
        },
    }
}
_FINAL: dict[int | str, dict[str, Any]] = {
    200: {"model": FinalValues, "description": "The run's final values"}
}


# -- reading runs ----------------------------------------------------------------------


def render_run(api: LangGraphApi, stored: StoredRun) -> Run:
    """A run: ``pending`` / ``running`` while this server holds it, else as it ended."""
    status = cast(RunStatus, stored.status)
    active = api.active(stored.run_id)
    if active is not None and active.run is stored:
        status = "running" if active.future is not None else "pending"
    return Run(
        run_id=stored.run_id,
        thread_id=stored.thread_id,
        assistant_id=stored.assistant_id,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        status=status,
        metadata=stored.metadata,
        multitask_strategy="reject",
    )


def _stored_run(api: LangGraphApi, thread_id: str, run_id: str) -> StoredRun:
    active = api.active(run_id)  # the record is written before the run leaves ``api``
    stored = active.run if active is not None else api.store.get_run(run_id)
    if stored is None or stored.thread_id != thread_id:
        resolve_thread(api, thread_id)  # an unknown thread says so
        raise RunNotFoundError(
            f"run {run_id!r} not found on thread {thread_id!r}; list its runs with "
            "GET /threads/{thread_id}/runs"
        )
    return stored


def _read_run(api: LangGraphApi, thread_id: str, run_id: str) -> Run:
    return render_run(api, _stored_run(api, thread_id, run_id))


def _list_runs(
    api: LangGraphApi, thread_id: str, limit: int, offset: int, status: RunStatus | None
) -> list[Run]:
    resolve_thread(api, thread_id)
    runs = {
        r.run_id: render_run(api, r)
        for r in api.store.list_runs(thread_id, limit + offset, 0, status)
    }
    for active in api.active_on(thread_id):
        runs.setdefault(active.run_id, render_run(api, active.run))
    listed = sorted(runs.values(), key=lambda r: (r.created_at, r.run_id), reverse=True)
    listed = [r for r in listed if status is None or r.status == status]
    return listed[offset : offset + limit]


def _execution_of(api: LangGraphApi, thread_id: str) -> ExecutionResult | None:
    try:
        return api.services.inspection.get_execution(resolve_thread(api, thread_id).execution_id)
    except ExecutionNotFoundError:
        return None


async def _until_done(active: ActiveRun) -> None:
    """Wait (without holding a thread) until ``active`` has made its final write."""
    while not active.finished.is_set():
        if active.future is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.wrap_future(active.future))
            return
        await asyncio.sleep(0.02)


def _json(values: dict[str, object], location: str | None = None) -> Response:
    headers = {"Content-Location": location} if location else None
    return Response(dumps(values), media_type="application/json", headers=headers)


# -- starting runs ---------------------------------------------------------------------


async def _prepared(
    api: LangGraphApi, thread_id: str | None, body: RunCreate, streaming: bool
) -> Prepared:
    return await asyncio.to_thread(prepare, api, thread_id, body, streaming)


def _pause(api: LangGraphApi, active: ActiveRun) -> None:
    """Ask the run's execution to pause at its next node boundary (retried while the run
    has claimed its execution but not started driving it)."""
    deadline = time.monotonic() + 2.0
    while not active.finished.is_set():
        try:
            api.services.executions.pause(active.execution_id, timeout=0)
            return
        except InvalidStateError:  # claimed, not driven yet (or just ended)
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        except WTBError:
            return


async def _stream(
    api: LangGraphApi, jobs: JobsDep, thread_id: str | None, body: RunCreate
) -> StreamingResponse:
    prepared = await _prepared(api, thread_id, body, streaming=True)
    channel = EventChannel(prepared.view, prepared.spec.modes)

    def ended(result: ExecutionResult | None, failure: BaseException | None) -> None:
        if failure is not None:
            channel.error(type(failure).__name__, str(failure))
        elif result is not None and result.status is ExecutionStatus.FAILED:
            channel.error(*error_parts(result.error))
        channel.close()

    await launch(api, jobs, prepared, channel.tap, ended)
    active = prepared.active
    loop = asyncio.get_running_loop()

    def gone() -> None:
        active.cancelled = True
        loop.run_in_executor(None, _pause, api, active)

    on_gone = gone if prepared.spec.cancel_on_disconnect else None
    return StreamingResponse(
        channel.frames(prepared.run.run_id, on_gone),
        media_type="text/event-stream",
        headers={"Content-Location": prepared.location, "Cache-Control": "no-store"},
    )


def _final(waiting: asyncio.Future[ExecutionResult]) -> bytes:
    try:
        values = final_values(waiting.result())
    except Exception as exc:  # the run ended by an error of its own (a storage failure)
        values = {"__error__": {"error": type(exc).__name__, "message": str(exc)}}
    return dumps(values).encode()


async def _final_body(waiting: asyncio.Future[ExecutionResult]) -> AsyncIterator[bytes]:
    while not (await asyncio.wait({waiting}, timeout=HEARTBEAT_S))[0]:
        yield b"\n"
    yield _final(waiting)


async def _wait(
    api: LangGraphApi, jobs: JobsDep, thread_id: str | None, body: RunCreate
) -> Response:
    """The final values: a plain answer when the run ends within a heartbeat's time, else
    a streamed one whose heartbeats (whitespace) keep the connection busy until it does."""
    prepared = await _prepared(api, thread_id, body, streaming=False)
    waiting = asyncio.wrap_future(submit(api, jobs, prepared))
    headers = {"Content-Location": prepared.location}
    if (await asyncio.wait({waiting}, timeout=HEARTBEAT_S))[0]:
        failure = waiting.exception()
        if failure is not None and not prepared.active.began:
            raise failure  # refused before it started: an error answer, no run stored
        return Response(_final(waiting), media_type="application/json", headers=headers)
    return StreamingResponse(_final_body(waiting), media_type="application/json", headers=headers)


async def _create(
    api: LangGraphApi, jobs: JobsDep, thread_id: str | None, body: RunCreate, response: Response
) -> Run:
    prepared = await _prepared(api, thread_id, body, streaming=False)
    await launch(api, jobs, prepared)
    response.headers["Content-Location"] = prepared.location
    return await asyncio.to_thread(_read_run, api, prepared.view.thread_id, prepared.run.run_id)


@router.post("/threads/{thread_id}/runs/stream", response_class=StreamingResponse, responses=_SSE)
async def stream_run(
    thread_id: str, body: RunCreate, api: ApiDep, jobs: JobsDep
) -> StreamingResponse:
    """Run on the thread and stream its LangGraph chunks as server-sent events."""
    return await _stream(api, jobs, thread_id, body)


@router.post("/runs/stream", response_class=StreamingResponse, responses=_SSE)
async def stream_stateless_run(body: RunCreate, api: ApiDep, jobs: JobsDep) -> StreamingResponse:
    """Run on a new thread of its own and stream its chunks."""
    return await _stream(api, jobs, None, body)


@router.post("/threads/{thread_id}/runs/wait", response_model=FinalValues, responses=_FINAL)
async def wait_run(thread_id: str, body: RunCreate, api: ApiDep, jobs: JobsDep) -> Response:
    """Run on the thread; answer its final values once it stops."""
    return await _wait(api, jobs, thread_id, body)


@router.post("/runs/wait", response_model=FinalValues, responses=_FINAL)
async def wait_stateless_run(body: RunCreate, api: ApiDep, jobs: JobsDep) -> Response:
    """Run on a new thread of its own; answer its final values once it stops."""
    return await _wait(api, jobs, None, body)


@router.post("/threads/{thread_id}/runs", response_model=Run)
async def create_run(
    thread_id: str, body: RunCreate, response: Response, api: ApiDep, jobs: JobsDep
) -> Run:
    """Start a run on the thread in the background; answer the run at once."""
    return await _create(api, jobs, thread_id, body, response)


@router.post("/runs", response_model=Run)
async def create_stateless_run(
    body: RunCreate, response: Response, api: ApiDep, jobs: JobsDep
) -> Run:
    """Start a run on a new thread of its own in the background."""
    return await _create(api, jobs, None, body, response)


# -- one run ---------------------------------------------------------------------------


@router.get("/threads/{thread_id}/runs", response_model=list[Run])
async def list_runs(
    thread_id: str,
    api: ApiDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    status: RunStatus | None = None,
) -> list[Run]:
    """The thread's runs, newest first."""
    return await asyncio.to_thread(_list_runs, api, thread_id, limit, offset, status)


@router.get("/threads/{thread_id}/runs/{run_id}", response_model=Run)
async def get_run(thread_id: str, run_id: str, api: ApiDep) -> Run:
    return await asyncio.to_thread(_read_run, api, thread_id, run_id)


@router.get("/threads/{thread_id}/runs/{run_id}/join", response_model=FinalValues)
async def join_run(thread_id: str, run_id: str, api: ApiDep) -> Response:
    """Wait for the run to end; answer the thread's final values then."""
    await asyncio.to_thread(_stored_run, api, thread_id, run_id)
    active = api.active(run_id)
    if active is not None:
        await _until_done(active)
    result = await asyncio.to_thread(_execution_of, api, thread_id)
    return _json(final_values(result))


@router.post(
    "/threads/{thread_id}/runs/{run_id}/cancel",
    status_code=202,
    response_model=None,
    responses={**_FINAL, 202: {"description": "Asked to stop; it pauses at its next node"}},
)
async def cancel_run(
    thread_id: str,
    run_id: str,
    api: ApiDep,
    wait: Annotated[bool, Query(description="Answer once it stopped, with its values")] = False,
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> Response:
    """Stop a running run at its next node boundary: its execution pauses (resumable with
    the next run). ``action=rollback`` is not served."""
    stored = await asyncio.to_thread(_stored_run, api, thread_id, run_id)
    active = api.active(run_id)
    if active is None:
        status = render_run(api, stored).status
        raise InvalidStateError(
            f"run {run_id} is {status}; only a pending or running run can be cancelled"
        )
    if action == "rollback":
        raise UnsupportedRequestError(
            "action=rollback is not served: cancel with action=interrupt (the execution "
            "pauses, resumable) and roll it back with POST /threads/{thread_id}/state"
        )
    active.cancelled = True
    await asyncio.to_thread(_pause, api, active)
    if not wait:
        return Response(status_code=202)
    await _until_done(active)
    result = await asyncio.to_thread(_execution_of, api, thread_id)
    return _json(final_values(result))
