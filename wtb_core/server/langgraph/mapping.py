"""Assistant = project, thread = execution: finding one from the other.

- An assistant is a registered project. Its ``graph_id`` and ``name`` are the project's
  name; its ``assistant_id`` is ``uuid5(ASSISTANT_NAMESPACE, name)`` (what the Agent
  Server gives a graph's default assistant). Either names it in a request.
- A thread of this API is stored in ``api_threads``; its runs drive one execution whose
  id is the thread id (thread ids are 1-64 of ``[A-Za-z0-9._-]``, so every id is a valid
  execution id), created by the thread's first run. An execution started elsewhere (the
  SDK, the native API) is a thread too, under its execution id.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from wtb_core.domain.models import ExecutionResult, ExecutionStatus
from wtb_core.engine.records import thread_id_of
from wtb_core.errors import (
    ExecutionNotFoundError,
    InvalidStateError,
    ProjectNotFoundError,
    WTBError,
)
from wtb_core.project import WorkflowProject
from wtb_core.server.langgraph.context import LangGraphApi
from wtb_core.server.langgraph.models import ThreadStatus
from wtb_core.storage.api_threads import StoredThread
from wtb_core.storage.database import utcnow

ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
THREAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ThreadNotFoundError(ExecutionNotFoundError):
    """No thread (and no execution) with that id."""


class RunNotFoundError(ExecutionNotFoundError):
    """No run with that id on that thread."""


class ThreadExistsError(InvalidStateError):
    """``POST /threads`` with the id of a thread that exists (``if_exists="raise"``)."""


class UnsupportedRequestError(WTBError):
    """A request this server does not serve, or one that does not fit the thread (422)."""


def assistant_id_of(project: str) -> str:
    return str(uuid.uuid5(ASSISTANT_NAMESPACE, project))


def find_project(api: LangGraphApi, assistant_id: str) -> WorkflowProject:
    """The project an assistant id (or graph name) names; ``ProjectNotFoundError`` else."""
    catalog = api.services.catalog
    with contextlib.suppress(ProjectNotFoundError):
        return catalog.get(assistant_id)
    names = catalog.names()
    for name in names:
        if assistant_id_of(name) == assistant_id:
            return catalog.get(name)
    raise ProjectNotFoundError(
        f"assistant {assistant_id!r} not found: an assistant is a registered project, named "
        f"by its name or assistant_id (projects: {', '.join(names) or 'none'})"
    )


@dataclass(frozen=True)
class ThreadView:
    """A thread as a request sees it: its stored record (``None`` for an execution started
    outside this API) and its execution (``None`` before the first run)."""

    thread_id: str
    execution_id: str
    stored: StoredThread | None
    execution: ExecutionResult | None

    @property
    def own_thread(self) -> str:
        """The execution's LangGraph thread."""
        return thread_id_of(self.execution_id)

    def require_execution(self, action: str) -> ExecutionResult:
        if self.execution is None:
            raise UnsupportedRequestError(
                f"thread {self.thread_id} has no run yet, so nothing to {action}; start a run "
                "on it first (POST /threads/{thread_id}/runs)"
            )
        return self.execution


def _execution(api: LangGraphApi, execution_id: str | None) -> ExecutionResult | None:
    if execution_id is None:
        return None
    return api.services.inspection.find_execution(execution_id)


def view_of(api: LangGraphApi, stored: StoredThread) -> ThreadView:
    execution_id = stored.execution_id or stored.thread_id
    return ThreadView(stored.thread_id, execution_id, stored, _execution(api, execution_id))


def resolve_thread(api: LangGraphApi, thread_id: str) -> ThreadView:
    """The thread ``thread_id``; ``ThreadNotFoundError`` when neither a thread nor an
    execution has that id."""
    stored = api.store.get_thread(thread_id)
    if stored is not None:
        return view_of(api, stored)
    execution = _execution(api, thread_id)
    if execution is None:
        raise ThreadNotFoundError(
            f"thread {thread_id!r} not found; create it (POST /threads) or pass "
            'if_not_exists="create" to the run'
        )
    return ThreadView(thread_id, thread_id, None, execution)


def create_thread(
    api: LangGraphApi,
    thread_id: str | None,
    metadata: dict[str, Any] | None,
    if_exists: str | None,
    project: str | None = None,
) -> ThreadView:
    """A new thread (a new uuid4 id unless given; ``project`` when a run makes it); an
    existing one is refused (``if_exists="raise"``, the default) or returned as it is
    (``"do_nothing"``)."""
    thread_id = thread_id or str(uuid.uuid4())
    if not THREAD_ID.fullmatch(thread_id):
        raise UnsupportedRequestError(
            f"thread id {thread_id!r} is not valid: use 1 to 64 letters, digits, '-', '_' "
            "or '.' (a UUID is fine)"
        )
    for _ in range(2):
        try:
            existing = resolve_thread(api, thread_id)
        except ThreadNotFoundError:
            now = utcnow()
            stored = StoredThread(thread_id, thread_id, project, dict(metadata or {}), now, now)
            if api.store.create_thread(stored):
                return ThreadView(thread_id, thread_id, stored, None)
            continue  # created by another request at the same moment
        if if_exists == "do_nothing":
            return existing
        raise ThreadExistsError(
            f'thread {thread_id!r} exists already; pass if_exists="do_nothing" to get it, '
            "or create a thread with another id"
        )
    return resolve_thread(api, thread_id)


def thread_status(execution: ExecutionResult | None) -> ThreadStatus:
    """``busy`` while it runs, ``interrupted`` while paused (at an ``interrupt()``, a
    breakpoint, a pause), ``error`` after a failure, else ``idle``."""
    if execution is None:
        return "idle"
    status = execution.status
    if status in (ExecutionStatus.RUNNING, ExecutionStatus.PENDING):
        return "busy"
    if status is ExecutionStatus.PAUSED:
        return "interrupted"
    if status is ExecutionStatus.FAILED:
        return "error"
    return "idle"


def thread_metadata(view: ThreadView) -> dict[str, Any]:
    """The client's metadata, with ``graph_id`` and ``assistant_id`` once a run set them
    (an execution started elsewhere has just those)."""
    if view.stored is not None:
        return dict(view.stored.metadata)
    project = view.execution.project if view.execution is not None else None
    return (
        {} if project is None else {"graph_id": project, "assistant_id": assistant_id_of(project)}
    )
