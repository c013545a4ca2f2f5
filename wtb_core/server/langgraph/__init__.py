"""The subset of the LangGraph Agent Server API that ``langgraph-sdk`` and ``RemoteGraph``
use, at the root path: assistant = project, thread = execution, run = a run or resume.

``assistants.py`` (``/info``, ``/assistants``), ``threads.py`` (threads, state, history,
state edits), ``runs.py`` (runs: streamed, waited for, in the background; join, cancel).
``running.py`` translates a run into the bench's operations, ``snapshots.py`` LangGraph's
``StateSnapshot`` into ``ThreadState``, ``sse.py`` the drive's stream chunks into
server-sent events. What is served and what is not: ``docs/langgraph-api.md``.
"""

from __future__ import annotations

from fastapi import APIRouter

from wtb_core.server.langgraph import assistants, runs, threads

router = APIRouter()
router.include_router(assistants.router)
router.include_router(threads.router)
router.include_router(runs.router)
