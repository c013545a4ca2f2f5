"""Value objects returned by the SDK. They carry data only; behaviour lives in the engine."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PendingInterrupt(BaseModel):
    """An ``interrupt()`` waiting for its answer; answer it with ``bench.resume(resume=...)``."""

    model_config = ConfigDict(frozen=True)

    id: str
    node: str
    value: Any = None


class ExecutionResult(BaseModel):
    """What every control call (run, resume, rollback, fork, …) returns.

    ``checkpoint_id`` is the execution's head: the checkpoint the next ``resume`` continues
    from. ``interrupts`` lists ``interrupt()`` calls waiting for an answer; ``next`` the
    nodes that would run next (empty once completed).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    execution_id: str
    project: str
    status: ExecutionStatus
    state: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    checkpoint_id: str | None = None
    duration_ms: float = 0.0
    next: tuple[str, ...] = ()
    interrupts: tuple[PendingInterrupt, ...] = ()
    variant_config: dict[str, str] = Field(default_factory=dict)
    workflow_variant: str | None = None
    project_version: str | None = None
    parent_execution_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Checkpoint(BaseModel):
    """One durable checkpoint of an execution (a LangGraph super-step boundary).

    ``nodes`` are the nodes whose writes this checkpoint holds (empty for the input
    checkpoint and for checkpoints made by ``update_state``); ``next`` the nodes that run
    after it; ``source`` is LangGraph's: ``input``, ``loop``, ``update`` or ``fork``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    checkpoint_id: str
    step: int
    nodes: tuple[str, ...]
    next: tuple[str, ...]
    created_at: datetime
    values: dict[str, Any]
    source: str = "loop"
    parent_checkpoint_id: str | None = None


class Severity(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class AuditEntry(BaseModel):
    """One row of an execution's audit trail."""

    timestamp: datetime
    event_type: str
    severity: Severity
    execution_id: str
    node: str | None = None
    checkpoint_id: str | None = None
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class FileSnapshot(BaseModel):
    """The tracked files as they were at one checkpoint (wtb-filetrack)."""

    checkpoint_id: str
    commit_id: str
    files: dict[str, str] = Field(default_factory=dict, description="path -> SHA-256")
    created_at: datetime


class TestCase(BaseModel):
    """One batch test input with what the evaluators compare the outcome against."""

    __test__ = False  # not a pytest test class

    inputs: dict[str, Any]
    expected: dict[str, Any] | None = None
    name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
