"""What the LangGraph routes share in one application: the bench's services, the store of
API threads and runs, and the runs this server is driving now (``LangGraphApi``).

A run lives here from the moment it is accepted until it ended; its record is written
once, when it ends (with how it ended), so no stored run is ever left ``running``."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from wtb_core.domain.models import ExecutionResult
from wtb_core.sdk.bench import Services, WTBTestBench
from wtb_core.storage.api_threads import ApiThreadStore, StoredRun


@dataclass
class ActiveRun:
    """A run this server drives: from the moment it is accepted until its record is
    written."""

    run: StoredRun
    execution_id: str
    future: Future[ExecutionResult] | None = None
    cancelled: bool = False  # a client cancelled it (POST .../cancel)
    began: bool = False  # its execution is stored or claimed: refusals are behind it
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def thread_id(self) -> str:
        return self.run.thread_id


class LangGraphApi:
    """Thread-safe: the store locks its own writes; the active runs live under a lock."""

    def __init__(self, bench: WTBTestBench) -> None:
        self.services: Services = bench.services
        self.store = ApiThreadStore(bench.stack.db)
        self._active: dict[str, ActiveRun] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.store.close()

    def activate(self, run: ActiveRun) -> None:
        with self._lock:
            self._active[run.run_id] = run

    def active(self, run_id: str) -> ActiveRun | None:
        with self._lock:
            return self._active.get(run_id)

    def deactivate(self, run_id: str) -> None:
        with self._lock:
            run = self._active.pop(run_id, None)
        if run is not None:
            run.finished.set()

    def active_on(self, thread_id: str) -> list[ActiveRun]:
        with self._lock:
            return [run for run in self._active.values() if run.thread_id == thread_id]


async def _api(request: Request) -> LangGraphApi:
    api: LangGraphApi = request.app.state.langgraph_api  # set by create_app
    return api


ApiDep = Annotated[LangGraphApi, Depends(_api)]
