"""``/healthz`` (the process answers) and ``/readyz`` (its databases answer too)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from wtb_core.server.deps import BenchDep, JobsDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]
    busy_workers: int


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Always ``ok`` while the process serves requests (liveness)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(bench: BenchDep, jobs: JobsDep) -> JSONResponse:
    """``ok`` when the metadata database and the checkpoint store answer; 503 otherwise."""
    checks = await asyncio.to_thread(bench.services.inspection.readiness)
    ready = all(value == "ok" for value in checks.values())
    body = Readiness(status="ok" if ready else "unavailable", checks=checks, busy_workers=jobs.busy)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
