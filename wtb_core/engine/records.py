"""Execution records: the one place an execution's metadata row and its ``ExecutionResult``
are built.

A run, a fork and a batch cell run away from the driver (``batch.detached``) all start an
execution with ``execution_record``; a finished drive writes ``outcome_fields``; every
caller reads an execution back through ``execution_result``. The SDK (``wtb_core.sdk``)
and the batch package (``wtb_core.batch``) both build on this module, which imports
neither of them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from wtb_core.domain.models import ExecutionResult, ExecutionStatus, PendingInterrupt
from wtb_core.engine.runs import RunOutcome
from wtb_core.storage.database import utcnow
from wtb_core.storage.tables import ExecutionRecord

_HOST = socket.gethostname()


def new_execution_id() -> str:
    return uuid.uuid4().hex[:16]


def thread_id_of(execution_id: str) -> str:
    """The LangGraph thread of an execution."""
    return f"wtb-{execution_id}"


def process_owner() -> str:
    """``host:pid`` of this process: recorded on what it runs, so another process can tell
    a live run from one whose process died (``owner_alive``)."""
    return f"{_HOST}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process that owns a running execution (or batch) may still be running
    it: ``False`` only for a process of this host that no longer exists."""
    if not owner or ":" not in owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != _HOST or not pid.isdigit():
        return True  # another machine: assume it is alive
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def execution_record(
    *,
    execution_id: str,
    project: str,
    status: ExecutionStatus,
    initial_state: Mapping[str, Any],
    variant_config: Mapping[str, str],
    workflow_variant: str | None,
    project_version: str | None,
    owner: str,
    workspace: str | None,
    head_checkpoint_id: str | None = None,
    time_travel: bool = False,
    breakpoints: Iterable[str] = (),
    parent_execution_id: str | None = None,
    parent_checkpoint_id: str | None = None,
    created_at: datetime | None = None,
    batch_id: str | None = None,
    prefix_key: str | None = None,
) -> dict[str, Any]:
    """The columns of a new execution (``ExecutionRecord(**record)``, or the ``execution``
    a worker hands back): nothing run yet, no state, no error. ``batch_id``: the batch a
    cell's execution is created for (``prefix_key`` marks a shared-prefix trunk, see
    ``batch.prefix``); the claim's heartbeat starts now."""
    now = created_at or utcnow()
    return {
        "id": execution_id,
        "project": project,
        "thread_id": thread_id_of(execution_id),
        "status": status.value,
        "head_checkpoint_id": head_checkpoint_id,
        "time_travel": time_travel,
        "initial_state": dict(initial_state),
        "state": {},
        "error": None,
        "variant_config": dict(variant_config),
        "workflow_variant": workflow_variant,
        "project_version": project_version,
        "breakpoints": list(breakpoints),
        "next_nodes": [],
        "interrupts": [],
        "parent_execution_id": parent_execution_id,
        "parent_checkpoint_id": parent_checkpoint_id,
        "owner": owner,
        "heartbeat_at": now,
        "batch_id": batch_id,
        "prefix_key": prefix_key,
        "workspace": workspace,
        "duration_ms": 0.0,
        "created_at": now,
        "updated_at": now,
    }


def outcome_fields(outcome: RunOutcome) -> dict[str, Any]:
    """The columns a finished drive sets (its duration is added by the caller: a resumed
    execution sums the durations of its drives)."""
    return {
        "status": outcome.status.value,
        "head_checkpoint_id": outcome.head,
        "state": outcome.state,
        "next_nodes": list(outcome.next),
        "interrupts": [i.model_dump() for i in outcome.interrupts],
        "error": outcome.error,
    }


def execution_result(
    row: ExecutionRecord, status: ExecutionStatus | None = None, error: str | None = None
) -> ExecutionResult:
    """What callers see of a stored execution. ``status`` and ``error`` override the stored
    ones when the caller knows better (a ``running`` row whose process died is ``failed``);
    an override ``error`` only fills a row that has none."""
    return ExecutionResult(
        execution_id=row.id,
        project=row.project,
        status=status or ExecutionStatus(row.status),
        state=row.state or {},
        error=row.error or error,
        checkpoint_id=row.head_checkpoint_id,
        duration_ms=row.duration_ms,
        next=tuple(row.next_nodes or ()),
        interrupts=tuple(PendingInterrupt(**i) for i in row.interrupts or ()),
        variant_config=row.variant_config or {},
        workflow_variant=row.workflow_variant,
        project_version=row.project_version,
        parent_execution_id=row.parent_execution_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
