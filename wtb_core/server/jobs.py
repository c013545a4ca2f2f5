"""``JobPool``: the server's bounded pool for work that outlives a request.

Executions (and the cells of batches) are driven on ``workers`` threads, so a long batch
never holds the event loop or the request thread pool. A start blocks its request only
until the work is stored (``started``): bad input is still answered 4xx; once stored the
request may answer ``202`` while the pool drives it. With every worker busy up to
``queue`` starts wait for one (their requests wait too, so a ``202`` always names a
stored execution); beyond that a start is refused (``ServerBusyError``, 503).

``drain`` is the SIGTERM path: refuse new work, ask every execution the server drives to
pause at its next node boundary (it stays resumable), cancel running batches (resumable
with ``resume_batch``) and wait up to ``grace`` seconds for all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any, TypeVar

from wtb_core.errors import WTBError

if TYPE_CHECKING:
    from wtb_core.sdk.bench import WTBTestBench

log = logging.getLogger(__name__)
T = TypeVar("T")


class ServerBusyError(WTBError):
    """Every worker of the server is busy, or the server is shutting down; retry later."""


class JobPool:
    """``workers`` threads driving executions and batches for one server."""

    def __init__(self, bench: WTBTestBench, workers: int, queue: int = 0) -> None:
        self._bench = bench
        self._workers = workers
        self._limit = workers + queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="wtb-serve")
        self._lock = threading.Lock()
        self._jobs: dict[Future[Any], tuple[str, str]] = {}  # -> ("execution"|"batch", id)
        self._accepting = True

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._jobs)

    async def start(
        self, kind: str, key: str, work: Callable[[Callable[..., None]], T]
    ) -> Future[T]:
        """Run ``work(started)`` on a worker; returns once ``work`` called ``started()`` (it
        is stored) or ended, re-raising what it raised before that. Beyond ``workers``
        running, up to ``queue`` starts wait for a worker (their requests wait with them)."""
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()

        def settle() -> None:
            if not started.done():
                started.set_result(None)

        def mark_started(*_: object) -> None:  # on the worker: hand the news to the loop
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                loop.call_soon_threadsafe(settle)

        future = self.submit(kind, key, lambda: work(mark_started))
        wrapped: asyncio.Future[Any] = asyncio.wrap_future(future, loop=loop)
        done, _ = await asyncio.wait({wrapped, started}, return_when=asyncio.FIRST_COMPLETED)
        if wrapped in done:
            wrapped.result()  # raises what the work raised
        return future

    def submit(self, kind: str, key: str, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn()`` on a worker (``ServerBusyError`` when the pool is full or
        draining); for a caller that waits for the whole job, not only its start."""
        with self._lock:
            if not self._accepting:
                raise ServerBusyError("the server is shutting down; retry on its next start")
            if len(self._jobs) >= self._limit:
                raise ServerBusyError(
                    f"all {self._workers} workers of the server are busy and "
                    f"{self._limit - self._workers} starts wait for one; retry shortly or "
                    "start the server with more --workers / --queue"
                )
            future = self._executor.submit(fn)
            self._jobs[future] = (kind, key)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._jobs.pop(future, None)
        error = None if future.cancelled() else future.exception()
        if error is not None and not isinstance(error, WTBError):
            log.error("a job of the server failed", exc_info=error)

    def drain(self, grace: float) -> None:
        """Stop taking work; pause executions and cancel batches; wait up to ``grace``."""
        with self._lock:
            self._accepting = False
            jobs = dict(self._jobs)
        for kind, key in jobs.values():
            try:
                if kind == "batch":
                    self._bench.cancel_batch(key)
            except WTBError as exc:
                log.warning("stopping %s %s on shutdown: %s", kind, key, exc)
        self._bench.services.executions.pause_all()
        wait_futures(list(jobs), timeout=grace)
        self._executor.shutdown(wait=False, cancel_futures=True)
