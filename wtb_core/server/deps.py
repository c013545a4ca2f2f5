"""What a route needs from the application, as FastAPI dependencies.

They are ``async``: FastAPI runs a plain ``def`` dependency on its thread pool, a thread
hop per request for an attribute read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from wtb_core.sdk.bench import Services, WTBTestBench
from wtb_core.server.jobs import JobPool
from wtb_core.server.settings import ServeSettings


async def _bench(request: Request) -> WTBTestBench:
    bench: WTBTestBench = request.app.state.bench
    return bench


async def _services(request: Request) -> Services:
    bench: WTBTestBench = request.app.state.bench
    return bench.services


async def _jobs(request: Request) -> JobPool:
    jobs: JobPool = request.app.state.jobs
    return jobs


async def _settings(request: Request) -> ServeSettings:
    settings: ServeSettings = request.app.state.settings
    return settings


BenchDep = Annotated[WTBTestBench, Depends(_bench)]
ServicesDep = Annotated[Services, Depends(_services)]
JobsDep = Annotated[JobPool, Depends(_jobs)]
SettingsDep = Annotated[ServeSettings, Depends(_settings)]
