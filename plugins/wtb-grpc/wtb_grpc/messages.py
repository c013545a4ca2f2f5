"""The SDK's execution models as messages and back: ``Execution`` ↔ ``ExecutionResult``,
``Checkpoint``, ``AuditEntry``, and a stored event as a stream ``Event`` ↔ ``StreamEvent``.

Both sides use these: the server to answer, the client to rebuild the SDK's own models.
Timestamps come back timezone-aware (UTC).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field

from wtb_core import AuditEntry, Checkpoint, ExecutionResult, ExecutionStatus, PendingInterrupt
from wtb_grpc._gen import wtb_pb2 as pb
from wtb_grpc.jsonvalues import dumps


class StreamEvent(BaseModel):
    """One event of the stored log, as ``Client.watch`` yields it (the fields of the REST
    stream's events). ``seq`` is its place in the log: resume with ``since=seq``."""

    seq: int
    type: str
    execution_id: str = Field(description='"" for a batch\'s own progress events')
    batch_id: str | None = None
    project: str
    node: str | None = None
    checkpoint_id: str | None = None
    timestamp: datetime
    severity: str
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


# -- small pieces --------------------------------------------------------------------------


def optional(message: Message, field: str) -> Any:
    """The value of an ``optional`` field, ``None`` when unset."""
    return getattr(message, field) if message.HasField(field) else None


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value if value.tzinfo is not None else value.replace(tzinfo=UTC))
    return stamp


def moment(message: Message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def status_value(status: ExecutionStatus | str) -> int:
    return pb.ExecutionStatus.Value(ExecutionStatus(status).name)


def status_of(value: int) -> ExecutionStatus:
    return ExecutionStatus[pb.ExecutionStatus.Name(value)]


# -- executions ----------------------------------------------------------------------------


def execution_message(result: ExecutionResult) -> pb.Execution:
    return pb.Execution(
        execution_id=result.execution_id,
        project=result.project,
        status=status_value(result.status),  # type: ignore[arg-type]
        state_json=dumps(result.state),
        error=result.error,
        checkpoint_id=result.checkpoint_id,
        duration_ms=result.duration_ms,
        next=result.next,
        interrupts=[
            pb.Interrupt(id=i.id, node=i.node, value_json=dumps(i.value)) for i in result.interrupts
        ],
        variant_config=result.variant_config,
        workflow_variant=result.workflow_variant,
        project_version=result.project_version,
        parent_execution_id=result.parent_execution_id,
        created_at=timestamp(result.created_at),
        updated_at=timestamp(result.updated_at),
    )


def execution_result(message: pb.Execution) -> ExecutionResult:
    return ExecutionResult(
        execution_id=message.execution_id,
        project=message.project,
        status=status_of(message.status),
        state=json.loads(message.state_json),
        error=optional(message, "error"),
        checkpoint_id=optional(message, "checkpoint_id"),
        duration_ms=message.duration_ms,
        next=tuple(message.next),
        interrupts=tuple(
            PendingInterrupt(id=i.id, node=i.node, value=json.loads(i.value_json))
            for i in message.interrupts
        ),
        variant_config=dict(message.variant_config),
        workflow_variant=optional(message, "workflow_variant"),
        project_version=optional(message, "project_version"),
        parent_execution_id=optional(message, "parent_execution_id"),
        created_at=moment(message, "created_at"),
        updated_at=moment(message, "updated_at"),
    )


# -- checkpoints and the audit trail -------------------------------------------------------


def checkpoint_message(checkpoint: Checkpoint) -> pb.Checkpoint:
    return pb.Checkpoint(
        checkpoint_id=checkpoint.checkpoint_id,
        step=checkpoint.step,
        nodes=checkpoint.nodes,
        next=checkpoint.next,
        created_at=timestamp(checkpoint.created_at),
        values_json=dumps(checkpoint.values),
        source=checkpoint.source,
        parent_checkpoint_id=checkpoint.parent_checkpoint_id,
    )


def checkpoint_model(message: pb.Checkpoint) -> Checkpoint:
    return Checkpoint(
        checkpoint_id=message.checkpoint_id,
        step=message.step,
        nodes=tuple(message.nodes),
        next=tuple(message.next),
        created_at=moment(message, "created_at"),
        values=json.loads(message.values_json),
        source=message.source,
        parent_checkpoint_id=optional(message, "parent_checkpoint_id"),
    )


def audit_message(entry: AuditEntry) -> pb.AuditEntry:
    return pb.AuditEntry(
        timestamp=timestamp(entry.timestamp),
        event_type=entry.event_type,
        severity=entry.severity.value,
        execution_id=entry.execution_id,
        node=entry.node,
        checkpoint_id=entry.checkpoint_id,
        message=entry.message,
        data_json=dumps(entry.data),
    )


def audit_model(message: pb.AuditEntry) -> AuditEntry:
    return AuditEntry(
        timestamp=moment(message, "timestamp"),
        event_type=message.event_type,
        severity=message.severity,
        execution_id=message.execution_id,
        node=optional(message, "node"),
        checkpoint_id=optional(message, "checkpoint_id"),
        message=message.message,
        data=json.loads(message.data_json),
    )


# -- events --------------------------------------------------------------------------------


def event_message(wire: dict[str, Any]) -> pb.Event:
    """A stored event in the REST stream's wire form (``seq``, ``type`` …) as a message."""
    return pb.Event(
        seq=wire["seq"],
        type=wire["type"],
        execution_id=wire["execution_id"],
        batch_id=wire["batch_id"],
        project=wire["project"],
        node=wire["node"],
        checkpoint_id=wire["checkpoint_id"],
        timestamp=timestamp(datetime.fromisoformat(wire["timestamp"])),
        severity=wire["severity"],
        message=wire["message"],
        data_json=json.dumps(wire["data"], separators=(",", ":")),
    )


def stream_event(message: pb.Event) -> StreamEvent:
    return StreamEvent(
        seq=message.seq,
        type=message.type,
        execution_id=message.execution_id,
        batch_id=optional(message, "batch_id"),
        project=message.project,
        node=optional(message, "node"),
        checkpoint_id=optional(message, "checkpoint_id"),
        timestamp=moment(message, "timestamp"),
        severity=message.severity,
        message=message.message,
        data=json.loads(message.data_json),
    )
