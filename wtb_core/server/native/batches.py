"""``/api/v1/batches``: start, list, read, page the rows of, compare, cancel and resume
batch tests. A batch runs on the server's job pool (its cells on its own runner), so a
long batch never holds other requests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from wtb_core.batch.comparison import Comparison
from wtb_core.batch.models import BatchRow, BatchStatus, BatchSummary
from wtb_core.batch.results import BatchTestResult
from wtb_core.domain.models import ExecutionStatus
from wtb_core.errors import ConfigurationError, InvalidInputError
from wtb_core.server.deps import JobsDep, ServicesDep
from wtb_core.server.jobs import JobPool
from wtb_core.server.native.models import (
    BatchRowPage,
    ResumeBatch,
    StartBatch,
    StartedBatch,
    error_responses,
)

router = APIRouter(prefix="/batches", tags=["batches"], responses=error_responses(404, 409, 422))

_STARTED = {
    202: {"model": StartedBatch, "description": "Stored; runs on the server's pool"},
    **error_responses(503),
}
Combination = Annotated[
    str | None,
    Query(
        description='A combination\'s label ("retriever=bm25", "default") or its matrix entry '
        'as JSON ({"retriever": "bm25"})'
    ),
]


def _combination(text: str | None, what: str) -> str | Mapping[str, str] | None:
    """A combination named in a query string: a label, or a matrix entry as JSON."""
    if text is None or not text.lstrip().startswith("{"):
        return text
    try:
        entry = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"{what} {text!r} is not valid JSON ({exc}); give a label such as "
            'retriever=bm25 or an object such as {"retriever": "bm25"}'
        ) from None
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{what} must be a label or a JSON object, not {text!r}")
    return entry


async def _start(
    jobs: JobPool,
    batch_id: str,
    work: Callable[[Callable[[str], None]], BatchTestResult],
) -> JSONResponse:
    await jobs.start("batch", batch_id, work)
    body = StartedBatch(batch_id=batch_id, status=BatchStatus.RUNNING)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/api/v1/batches/{batch_id}"},
    )


@router.post("", status_code=202, response_model=StartedBatch, responses=_STARTED)
async def start_batch(body: StartBatch, services: ServicesDep, jobs: JobsDep) -> JSONResponse:
    """Run every (combination x test case x repetition) cell (``bench.run_batch_test``).
    Bad arguments are refused before anything is stored."""
    batch_id = uuid.uuid4().hex[:16]

    def work(started: Callable[[str], None]) -> BatchTestResult:
        return services.batches.run(
            body.project,
            body.variant_matrix,
            body.test_cases,
            body.evaluators,
            body.parallelism,
            body.runner,
            body.repetitions,
            batch_id=batch_id,
            on_created=started,
        )

    return await _start(jobs, batch_id, work)


@router.get("", response_model=list[BatchSummary])
async def list_batches(services: ServicesDep, project: str | None = None) -> list[BatchSummary]:
    """Batches, newest first."""
    return await asyncio.to_thread(services.batches.summaries, project)


@router.get("/{batch_id}", response_model=BatchSummary)
async def get_batch(batch_id: str, services: ServicesDep) -> BatchSummary:
    return await asyncio.to_thread(services.batches.summary, batch_id)


@router.get("/{batch_id}/rows", response_model=BatchRowPage)
async def get_rows(
    batch_id: str,
    services: ServicesDep,
    combination: Combination = None,
    case: Annotated[str | None, Query(description="A test case's name")] = None,
    status: ExecutionStatus | None = None,
    metric: Annotated[str | None, Query(description="With below: a score to filter on")] = None,
    below: Annotated[
        float | None, Query(description="Rows whose metric score is under this")
    ] = None,
    order: Annotated[
        Literal["cell", "case"],
        Query(description="cell: combination, case, repetition; case: case first"),
    ] = "cell",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> BatchRowPage:
    """The batch's rows in cell order (combination, case, repetition) or case order,
    filtered and paged."""
    wanted = _combination(combination, "combination")
    if (metric is None) != (below is None):
        raise InvalidInputError("filter on a score with both metric= and below=")
    threshold = None if metric is None or below is None else (metric, below)

    def page() -> tuple[list[BatchRow], int]:
        return services.batches.rows(
            batch_id,
            wanted,
            case,
            status,
            limit,
            offset,
            below=threshold,
            by_case=order == "case",
        )

    rows, total = await asyncio.to_thread(page)
    end = offset + len(rows)
    return BatchRowPage(
        items=rows, total=total, offset=offset, next_offset=end if end < total else None
    )


@router.get("/{batch_id}/comparison", response_model=Comparison)
async def get_comparison(
    batch_id: str, services: ServicesDep, baseline: Combination = None
) -> Comparison:
    """Per-combination statistics and paired comparisons against ``baseline`` (default:
    the first combination)."""
    wanted = _combination(baseline, "baseline")

    return await asyncio.to_thread(services.batches.comparison, batch_id, wanted)


@router.post("/{batch_id}/cancel", response_model=BatchSummary)
async def cancel_batch(batch_id: str, services: ServicesDep) -> BatchSummary:
    """Stop scheduling new cells; cells in flight finish and keep their rows."""

    def cancel() -> BatchSummary:
        services.batches.cancel(batch_id)
        return services.batches.summary(batch_id)

    return await asyncio.to_thread(cancel)


@router.post("/{batch_id}/resume", status_code=202, response_model=StartedBatch, responses=_STARTED)
async def resume_batch(
    batch_id: str,
    services: ServicesDep,
    jobs: JobsDep,
    body: Annotated[ResumeBatch | None, Body()] = None,
) -> JSONResponse:
    """Run only the cells without a row (``bench.resume_batch``) on the server's pool."""
    asked = body or ResumeBatch()

    def work(started: Callable[[str], None]) -> BatchTestResult:
        return services.batches.resume(
            batch_id,
            asked.evaluators,
            asked.retry_failed,
            asked.runner,
            asked.parallelism,
            on_started=started,
        )

    return await _start(jobs, batch_id, work)
