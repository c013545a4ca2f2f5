"""What a route needs from the application, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from wtb_core.sdk.bench import Services, WTBTestBench
from wtb_core.server.jobs import JobPool
from wtb_core.server.settings import ServeSettings


def _bench(request: Request) -> WTBTestBench:
    bench: WTBTestBench = request.app.state.bench
    return bench


def _services(request: Request) -> Services:
    return _bench(request).services


def _jobs(request: Request) -> JobPool:
    jobs: JobPool = request.app.state.jobs
    return jobs


def _settings(request: Request) -> ServeSettings:
    settings: ServeSettings = request.app.state.settings
    return settings


BenchDep = Annotated[WTBTestBench, Depends(_bench)]
ServicesDep = Annotated[Services, Depends(_services)]
JobsDep = Annotated[JobPool, Depends(_jobs)]
SettingsDep = Annotated[ServeSettings, Depends(_settings)]
