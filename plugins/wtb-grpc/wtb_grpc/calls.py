"""What every call of the servicer shares: the bench's services, the job pool that drives
runs and batches, the event hub, and the translation of errors into statuses."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, TypeAlias, TypeVar

import grpc

from wtb_core import WTBError, WTBTestBench
from wtb_core.plugin import EventHub, JobPool, ServerBusyError
from wtb_grpc.errors import ERROR_TYPE, status_of

log = logging.getLogger(__name__)

T = TypeVar("T")
C = TypeVar("C", bound="Calls")
R = TypeVar("R")
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"  # generic in the stubs only
STOPPING = "the server is stopping; reconnect with since_seq=<the last seq you got>"


class Calls:
    """The state the servicer's calls share (one per server)."""

    def __init__(self, bench: WTBTestBench, jobs: JobPool, hub: EventHub) -> None:
        self.bench = bench
        self.services = bench.services
        self.jobs = jobs
        self.hub = hub
        self.stopping = False  # set by the server's drain: new streams are refused

    @property
    def watching(self) -> int:
        """Open ``Watch`` streams."""
        return self.hub.subscribers


async def abort_with(context: Context, error: WTBError) -> None:
    """End the call with ``error``'s status, message and class name."""
    await context.abort(
        status_of(error), str(error), trailing_metadata=((ERROR_TYPE, type(error).__name__),)
    )


def translated(
    call: Callable[[C, R, Context], Awaitable[T]],
) -> Callable[[C, R, Context], Awaitable[T]]:
    """A unary call whose ``WTBError`` ends it with the error's status (``errors``); any
    other exception is a defect: logged, and answered INTERNAL."""

    @functools.wraps(call)
    async def wrapper(self: C, request: R, context: Context) -> T:
        try:
            return await call(self, request, context)
        except grpc.aio.AbortError:
            raise
        except WTBError as exc:
            await abort_with(context, exc)
            raise  # abort raised already; this keeps the type checker informed
        except Exception as exc:
            log.exception("unhandled error serving %s", call.__name__)
            await context.abort(
                grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc} (a defect; see the log)"
            )
            raise

    return wrapper


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on a worker thread (the services block)."""
    return await asyncio.to_thread(fn, *args)


async def finished(job: Future[T]) -> T:
    """The result of a pool job. A client that goes away does not cancel the job; a job
    the pool dropped unstarted at shutdown is a ``ServerBusyError``."""
    try:
        return await asyncio.shield(asyncio.wrap_future(job))
    except asyncio.CancelledError:
        if job.cancelled():
            raise ServerBusyError(
                "the server stopped before this call's work began; retry on its next start"
            ) from None
        raise


def ignore_start(*_: object) -> None:
    """The start of a job its call waits for to the end: nothing to answer early."""
