"""``/api/v1/executions``: start (run), list, read and delete executions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from wtb_core.domain.models import (
    AuditEntry,
    Checkpoint,
    ExecutionResult,
    ExecutionStatus,
    FileSnapshot,
)
from wtb_core.engine.records import new_execution_id
from wtb_core.errors import InvalidInputError
from wtb_core.sdk.inspection import ExecutionPage, StateDiff
from wtb_core.server.deps import JobsDep, ServicesDep
from wtb_core.server.native.models import (
    Deleted,
    StartedExecution,
    StartExecution,
    StateValues,
    error_responses,
)
from wtb_core.server.native.running import Wait, drive

router = APIRouter(
    prefix="/executions", tags=["executions"], responses=error_responses(404, 409, 422)
)


@router.get("", response_model=ExecutionPage)
async def list_executions(
    services: ServicesDep,
    project: str | None = None,
    status: ExecutionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    variant: Annotated[
        list[str] | None,
        Query(description="node=variant: executions that ran this variant (repeatable)"),
    ] = None,
    batch: Annotated[str | None, Query(description="The cells of this batch")] = None,
    parent: Annotated[str | None, Query(description="The forks of this execution")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text the state contains (any case)")
    ] = None,
) -> ExecutionPage:
    """Executions, newest first, ``limit`` per page; pass ``next_cursor`` back as
    ``cursor`` for the next page. Every filter given must hold."""
    variants = _variants(variant or [])

    def page() -> ExecutionPage:
        return services.inspection.page_executions(
            project,
            status,
            limit,
            cursor,
            variants,
            batch_id=batch,
            parent_execution_id=parent,
            text=q,
        )

    return await asyncio.to_thread(page)


def _variants(pairs: list[str]) -> dict[str, str]:
    variants: dict[str, str] = {}
    for pair in pairs:
        node, sep, name = pair.partition("=")
        if not (sep and node.strip() and name.strip()):
            raise InvalidInputError(
                f"variant {pair!r} is not node=variant (for example retriever=bm25)"
            )
        variants[node.strip()] = name.strip()
    return variants


@router.post(
    "",
    response_model=ExecutionResult,
    responses={
        202: {"model": StartedExecution, "description": "Stored; runs on the server's pool"},
        **error_responses(503),
    },
)
async def start_execution(
    body: StartExecution, services: ServicesDep, jobs: JobsDep, wait: Wait = False
) -> ExecutionResult | JSONResponse:
    """Run a project (``bench.run``) on the server's pool. Bad arguments are refused
    before anything is stored."""
    execution_id = new_execution_id()

    def work(started: Callable[[str], None]) -> ExecutionResult:
        return services.executions.run(
            body.project,
            body.initial_state,
            body.variant_config,
            body.workflow_variant,
            body.breakpoints,
            execution_id=execution_id,
            on_created=started,
        )

    return await drive(jobs, execution_id, work, wait)


@router.get("/{execution_id}", response_model=ExecutionResult)
async def get_execution(execution_id: str, services: ServicesDep) -> ExecutionResult:
    return await asyncio.to_thread(services.inspection.get_execution, execution_id)


@router.get("/{execution_id}/checkpoints", response_model=list[Checkpoint])
async def get_checkpoints(
    execution_id: str,
    services: ServicesDep,
    all_branches: Annotated[
        bool, Query(description="Also the checkpoints rollbacks left behind")
    ] = False,
) -> list[Checkpoint]:
    """The head's lineage, oldest first."""
    return await asyncio.to_thread(services.inspection.get_checkpoints, execution_id, all_branches)


@router.get("/{execution_id}/state", response_model=StateValues)
async def get_state(
    execution_id: str,
    services: ServicesDep,
    checkpoint_id: Annotated[str | None, Query(description="Default: the head")] = None,
) -> StateValues:
    values = await asyncio.to_thread(services.inspection.get_state, execution_id, checkpoint_id)
    return StateValues(execution_id=execution_id, checkpoint_id=checkpoint_id, values=values)


@router.get("/{execution_id}/diff", response_model=StateDiff)
async def diff_state(
    execution_id: str,
    services: ServicesDep,
    from_checkpoint: Annotated[str, Query(alias="from", description="The earlier checkpoint")],
    to_checkpoint: Annotated[str | None, Query(alias="to", description="Default: the head")] = None,
) -> StateDiff:
    """The state keys that changed between two checkpoints, with their values."""
    return await asyncio.to_thread(
        services.inspection.diff, execution_id, from_checkpoint, to_checkpoint
    )


@router.get("/{execution_id}/audit", response_model=list[AuditEntry])
async def get_audit(execution_id: str, services: ServicesDep) -> list[AuditEntry]:
    """The audit trail, oldest first."""
    return await asyncio.to_thread(services.inspection.audit, execution_id)


@router.get("/{execution_id}/files", response_model=list[FileSnapshot])
async def get_file_snapshots(execution_id: str, services: ServicesDep) -> list[FileSnapshot]:
    """Tracked files per checkpoint, oldest first (empty without file tracking)."""
    return await asyncio.to_thread(services.inspection.get_file_snapshots, execution_id)


@router.delete("/{execution_id}", response_model=Deleted)
async def delete_execution(execution_id: str, services: ServicesDep) -> Deleted:
    """Delete an execution, its checkpoints, audit trail and file-snapshot links."""
    await asyncio.to_thread(services.executions.delete, execution_id)
    return Deleted(execution_id=execution_id)
