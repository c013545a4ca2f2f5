"""``create_app``: the FastAPI application of ``wtb serve`` over one bench."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from wtb_core import __version__
from wtb_core.sdk.bench import WTBTestBench
from wtb_core.server import dashboard, errors, health, langgraph, native, stream
from wtb_core.server.events import EventHub
from wtb_core.server.jobs import JobPool
from wtb_core.server.langgraph.context import LangGraphApi
from wtb_core.server.security import Guard
from wtb_core.server.settings import ServeSettings
from wtb_core.telemetry import route as metrics_route

log = logging.getLogger(__name__)


async def process_outbox_every(bench: WTBTestBench, seconds: float) -> None:
    """Run the bench's outbox processor every ``seconds`` until cancelled: an operation
    another process left half-way is finished or compensated while the server runs."""
    integrity = bench.services.integrity
    while True:
        await asyncio.sleep(seconds)
        try:
            for settled in await asyncio.to_thread(integrity.process_outbox):
                log.info(
                    "outbox row %s (%s): %s", settled.operation_id, settled.kind, settled.detail
                )
        except Exception:  # the stores may be unwell now; the next round tries again
            log.exception("the outbox processor failed")


def create_app(
    bench: WTBTestBench, settings: ServeSettings | None = None, *, close_bench: bool = False
) -> FastAPI:
    """The application serving ``bench``. On shutdown it drains its job pool (running
    executions pause at their next node boundary) and, with ``close_bench``, closes the
    bench."""
    settings = settings or ServeSettings()
    jobs = JobPool(bench, settings.workers, settings.queue)
    events = EventHub(bench.stack.metadata, bench.services.events)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await events.start()  # the event stream's tail of the log
        outbox = asyncio.create_task(process_outbox_every(bench, settings.outbox_interval))
        try:
            yield
        finally:
            outbox.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbox
            await events.stop()
        await asyncio.to_thread(jobs.drain, settings.shutdown_grace)
        if not jobs.busy:  # a job still running after the grace may yet write its run
            app.state.langgraph_api.close()
        if close_bench:
            await asyncio.to_thread(bench.close)

    app = FastAPI(
        title="WTB — Workflow Test Bench",
        version=__version__,
        summary="Runs, time travel, variants and batch tests of LangGraph workflows",
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
    )
    app.state.bench = bench
    app.state.settings = settings
    app.state.jobs = jobs
    app.state.events = events
    app.state.langgraph_api = LangGraphApi(bench)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(native.router)
    app.include_router(stream.router)
    app.include_router(langgraph.router)
    app.include_router(metrics_route.router)
    dashboard.install(app)
    bench.plugins.add_routes(app)
    app.add_middleware(Guard, settings=settings)
    if settings.allowed_origins:  # outermost: answers preflights before the guard
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Content-Location", "Location"],
        )
    return app
