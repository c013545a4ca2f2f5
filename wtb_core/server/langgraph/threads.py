"""``/threads``: threads (executions), their state, history and state edits.

State is LangGraph's own ``StateSnapshot`` of the execution's thread (``snapshots.py``).
``POST /threads/{id}/state`` edits it as the bench does: ``update_state`` at the head, or
at a past checkpoint after rolling the thread back to it; ``as_node="__copy__"`` (LangGraph
Studio's "fork from here") rolls the thread back to the checkpoint, so the next run
branches from it (LangGraph writes a copy of the checkpoint; WTB moves its head instead,
and the answer names that checkpoint).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from wtb_core.errors import CheckpointNotFoundError
from wtb_core.server.langgraph.context import ApiDep, LangGraphApi
from wtb_core.server.langgraph.mapping import (
    UnsupportedRequestError,
    create_thread,
    resolve_thread,
    view_of,
)
from wtb_core.server.langgraph.models import (
    Checkpoint,
    HistoryQuery,
    StateAt,
    StateUpdate,
    Thread,
    ThreadCreate,
    ThreadSearch,
    ThreadState,
    UpdatedState,
)
from wtb_core.server.langgraph.snapshots import (
    checkpoint_id_of,
    empty_state,
    render_thread,
    thread_state,
)

router = APIRouter(tags=["langgraph: threads"])

COPY = "__copy__"
Subgraphs = Annotated[bool, Query(description="Nest the snapshots of subgraph tasks")]


# -- threads ---------------------------------------------------------------------------


def _create(api: LangGraphApi, body: ThreadCreate) -> Thread:
    if body.supersteps:
        raise UnsupportedRequestError("supersteps is not served; create the thread, then run it")
    view = create_thread(api, body.thread_id, body.metadata, body.if_exists)
    return render_thread(api, view)


@router.post("/threads", response_model=Thread)
async def create(body: ThreadCreate, api: ApiDep) -> Thread:
    """A new thread (no execution until its first run); ``if_exists`` says what an
    existing id gets: ``raise`` (409, the default) or ``do_nothing`` (the thread)."""
    return await asyncio.to_thread(_create, api, body)


def _read(api: LangGraphApi, thread_id: str) -> Thread:
    return render_thread(api, resolve_thread(api, thread_id))


@router.get("/threads/{thread_id}", response_model=Thread)
async def get_thread(thread_id: str, api: ApiDep) -> Thread:
    """A thread, or an execution started elsewhere under its execution id."""
    return await asyncio.to_thread(_read, api, thread_id)


def _contains(wanted: Any, actual: Any) -> bool:
    """JSON containment, as the Agent Server's metadata filter: every key of ``wanted``
    is in ``actual`` with a value that contains it."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            k in actual and _contains(v, actual[k]) for k, v in wanted.items()
        )
    return bool(wanted == actual)


def _search(api: LangGraphApi, query: ThreadSearch) -> list[Thread]:
    if query.extract:
        raise UnsupportedRequestError("extract is not served; read the threads' values")
    stored = [
        t for t in api.store.list_threads(query.ids) if _contains(query.metadata or {}, t.metadata)
    ]
    key = query.sort_by or "created_at"
    reverse = query.sort_order != "asc"
    page = slice(query.offset, query.offset + query.limit)
    if query.status is None and query.values is None and key in ("created_at", "thread_id"):
        stored.sort(key=lambda t: getattr(t, key), reverse=reverse)
        return [render_thread(api, view_of(api, t)) for t in stored[page]]
    threads = [render_thread(api, view_of(api, t)) for t in stored]
    threads = [
        t
        for t in threads
        if (query.status is None or t.status == query.status)
        and (query.values is None or _contains(query.values, t.values))
    ]
    threads.sort(key=lambda t: (getattr(t, key) is not None, getattr(t, key) or 0), reverse=reverse)
    return threads[page]


@router.post("/threads/search", response_model=list[Thread])
async def search(body: ThreadSearch, api: ApiDep) -> list[Thread]:
    """Threads created through this API, newest first: by ``metadata`` (containment),
    ``values``, ``status`` and ``ids``."""
    return await asyncio.to_thread(_search, api, body)


# -- state -----------------------------------------------------------------------------


def _state(api: LangGraphApi, thread_id: str, checkpoint: Any, subgraphs: bool) -> ThreadState:
    view = resolve_thread(api, thread_id)
    checkpoint_id = checkpoint_id_of(checkpoint, view)
    if view.execution is None:
        if checkpoint_id is not None:
            raise CheckpointNotFoundError(
                f"checkpoint {checkpoint_id!r} not found: thread {thread_id} has no run yet"
            )
        return empty_state(view)
    snapshot = api.services.inspection.snapshot(
        view.execution_id, checkpoint_id, subgraphs=subgraphs
    )
    return empty_state(view) if snapshot is None else thread_state(snapshot, view)


@router.get("/threads/{thread_id}/state", response_model=ThreadState)
async def get_state(thread_id: str, api: ApiDep, subgraphs: Subgraphs = False) -> ThreadState:
    """The state at the thread's head (LangGraph's ``get_state`` of its execution)."""
    return await asyncio.to_thread(_state, api, thread_id, None, subgraphs)


@router.get("/threads/{thread_id}/state/{checkpoint_id}", response_model=ThreadState)
async def get_state_at(
    thread_id: str, checkpoint_id: str, api: ApiDep, subgraphs: Subgraphs = False
) -> ThreadState:
    """The state at one checkpoint of the thread."""
    return await asyncio.to_thread(_state, api, thread_id, checkpoint_id, subgraphs)


@router.post("/threads/{thread_id}/state/checkpoint", response_model=ThreadState)
async def post_state_at(thread_id: str, body: StateAt, api: ApiDep) -> ThreadState:
    """The state at the checkpoint given (at the head without ``checkpoint_id``): what
    ``RemoteGraph.get_state`` asks."""
    return await asyncio.to_thread(_state, api, thread_id, body.checkpoint, body.subgraphs)


def _update(api: LangGraphApi, thread_id: str, body: StateUpdate) -> UpdatedState:
    view = resolve_thread(api, thread_id)
    execution = view.require_execution("update")
    target = body.checkpoint_id or checkpoint_id_of(body.checkpoint, view)
    time_travel = api.services.time_travel
    if body.as_node == COPY:
        if body.values:
            raise UnsupportedRequestError(
                "as_node='__copy__' forks from a checkpoint as it is: pass values null, then "
                "update the state"
            )
        target = target or execution.checkpoint_id
        if target is None:
            raise UnsupportedRequestError(f"thread {thread_id} has no checkpoint to copy")
        result = time_travel.rollback(view.execution_id, target)
    else:
        if body.values is None:
            raise UnsupportedRequestError(
                "values is null: pass the state values to write (null only goes with "
                "as_node='__copy__')"
            )
        if target is not None and target != execution.checkpoint_id:
            time_travel.rollback(view.execution_id, target)
        result = time_travel.update_state(view.execution_id, body.values, body.as_node)
    checkpoint = Checkpoint(thread_id=view.thread_id, checkpoint_id=result.checkpoint_id)
    return UpdatedState(
        checkpoint=checkpoint,
        configurable=checkpoint.model_dump(exclude={"checkpoint_map"}),
        checkpoint_id=result.checkpoint_id,
    )


@router.post("/threads/{thread_id}/state", response_model=UpdatedState)
async def update_state(thread_id: str, body: StateUpdate, api: ApiDep) -> UpdatedState:
    """Write ``values`` as ``as_node`` (at ``checkpoint_id``: the thread is rolled back
    there first); answers the new head checkpoint."""
    return await asyncio.to_thread(_update, api, thread_id, body)


def _history(api: LangGraphApi, thread_id: str, query: HistoryQuery) -> list[ThreadState]:
    view = resolve_thread(api, thread_id)
    only = checkpoint_id_of(query.checkpoint, view)
    before = checkpoint_id_of(query.before, view)
    if view.execution is None:
        return []
    snapshots = api.services.inspection.snapshots(
        view.execution_id,
        limit=None if only else query.limit,
        before=before,
        metadata=query.metadata,
    )
    states = [thread_state(s, view) for s in snapshots]
    if only:  # LangGraph's history of a config naming one checkpoint is that checkpoint
        states = [s for s in states if s.checkpoint.checkpoint_id == only]
    return states[: query.limit]


@router.post("/threads/{thread_id}/history", response_model=list[ThreadState])
async def history(thread_id: str, body: HistoryQuery, api: ApiDep) -> list[ThreadState]:
    """Every checkpoint of the thread (of every branch), newest first: ``limit``,
    ``before`` (a checkpoint or its id), ``metadata`` (checkpoints whose metadata has
    those values)."""
    return await asyncio.to_thread(_history, api, thread_id, body)
