"""The metadata schema. Changing it means adding an Alembic migration in ``migrations/``.

Naming: a ``*Record`` class is the ORM mapping of one table row and never leaves the
kernel's services; what the SDK returns are pydantic models named for what they mean
(``ExecutionResult``, ``BatchTestResult``, ``BatchRow`` — a row of a batch's results table,
stored as a ``BatchCellRecord``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSON everywhere, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSONType, list[Any]: JSONType}


class ProjectRecord(Base):
    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    factory_ref: Mapped[str | None] = mapped_column(String(500))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExecutionRecord(Base):
    __tablename__ = "executions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project: Mapped[str] = mapped_column(String(200), index=True)
    thread_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    head_checkpoint_id: Mapped[str | None] = mapped_column(String(64))
    initial_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The two states as LangGraph's serializer writes them (``storage.state_codec``); the
    # JSON columns above are their readable rendering.
    initial_state_blob: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    state_blob: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # Set by rollback and fork: the next resume replays from the head (LangGraph time travel).
    time_travel: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    error: Mapped[str | None] = mapped_column(Text)
    variant_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    workflow_variant: Mapped[str | None] = mapped_column(String(200))
    project_version: Mapped[str | None] = mapped_column(String(50))
    breakpoints: Mapped[list[Any]] = mapped_column(default=list)
    next_nodes: Mapped[list[Any]] = mapped_column(default=list)
    interrupts: Mapped[list[Any]] = mapped_column(default=list)
    parent_execution_id: Mapped[str | None] = mapped_column(String(64), index=True)
    parent_checkpoint_id: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(200))
    # When the owner of a ``running`` execution last renewed its claim (``sdk.heartbeat``):
    # how another host tells a live run from one whose process is gone.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The batch a cell's execution was created for (the row referencing it comes later):
    # what ``wtb integrity`` finds a killed batch's in-flight cells by.
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    # Set on a shared-prefix batch's trunk executions (``batch.prefix``): the case,
    # repetition and fork path it ran; listings hide them.
    prefix_key: Mapped[str | None] = mapped_column(String(500), index=True, default=None)
    workspace: Mapped[str | None] = mapped_column(String(1000))
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEventRecord(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(String(64))
    project: Mapped[str] = mapped_column(String(200))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_type: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(10))
    node: Mapped[str | None] = mapped_column(String(200))
    checkpoint_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    batch_id: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = (
        Index("ix_audit_events_execution_id_id", "execution_id", "id"),
        Index("ix_audit_events_batch_id_id", "batch_id", "id"),
    )


class BatchRecord(Base):
    """A batch test: what it runs (matrix, cases, evaluators) and how far it got."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20))
    matrix: Mapped[list[Any]] = mapped_column(default=list)
    cases: Mapped[list[Any]] = mapped_column(default=list)
    evaluators: Mapped[list[Any]] = mapped_column(default=list)
    repetitions: Mapped[int] = mapped_column(Integer, default=1)
    runner: Mapped[str] = mapped_column(String(50))
    parallelism: Mapped[int | None] = mapped_column(Integer)
    total_cells: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The default comparison (JSON) of the rows whose fingerprint is ``comparison_rows``;
    # loaded only when asked for.
    comparison: Mapped[str | None] = mapped_column(Text, deferred=True)
    comparison_rows: Mapped[str | None] = mapped_column(String(100), deferred=True)
    # Shared prefixes asked for (``run_batch_test(reuse_prefix=True)``), and why the cells
    # ran independently instead when they did.
    reuse_prefix: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    warning: Mapped[str | None] = mapped_column(Text, default=None)
    # A batch forked from a checkpoint (``bench.fork_batch``): every cell forks it.
    source_execution_id: Mapped[str | None] = mapped_column(String(64), default=None)
    source_checkpoint_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # How the batch records or replays node outputs (``RecordingSpec.to_json``), or None.
    recording: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class BatchCellRecord(Base):
    """One finished cell of a batch; unique per (batch, combination, case, repetition)."""

    __tablename__ = "batch_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(64))
    combination_index: Mapped[int] = mapped_column(Integer)
    combination: Mapped[str] = mapped_column(String(500))
    case_index: Mapped[int] = mapped_column(Integer)
    case: Mapped[str] = mapped_column(String(500))
    repetition: Mapped[int] = mapped_column(Integer)
    execution_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state_blob: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score_errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint(
            "batch_id", "combination_index", "case_index", "repetition", name="uq_batch_rows_cell"
        ),
        Index("ix_batch_rows_batch_id_combination", "batch_id", "combination"),
    )


class RecordingRecord(Base):
    """A named recording of node outputs (``wtb_core.storage.recordings``)."""

    __tablename__ = "recordings"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    project: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RecordingEntryRecord(Base):
    """One recorded output: a node's writes for one input, under LangGraph's cache key."""

    __tablename__ = "recording_entries"

    recording: Mapped[str] = mapped_column(String(200), primary_key=True)
    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str] = mapped_column(String(400))
    encoding: Mapped[str] = mapped_column(String(50))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    rendered: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FileCommitRecord(Base):
    """The tracked files at one moment: the manifest (path → {hash, size, mode} or {link})
    as the ordered list of its chunks (see ``storage.file_commits``). ``id`` is derived
    from the chunk list, so identical file trees share one commit."""

    __tablename__ = "file_commits"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chunk_ids: Mapped[list[Any]] = mapped_column(default=list)
    file_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FileChunkRecord(Base):
    """A run of consecutive manifest entries, named by the SHA-256 of its canonical JSON
    and stored once whichever commits list it."""

    __tablename__ = "file_chunks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entries: Mapped[dict[str, Any]] = mapped_column()
    file_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FileSnapshotRecord(Base):
    """Links an execution's checkpoint to the file commit taken there."""

    __tablename__ = "file_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(String(64))
    checkpoint_id: Mapped[str] = mapped_column(String(64))
    commit_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("execution_id", "checkpoint_id", name="uq_file_snapshots_checkpoint"),
    )


class ApiThreadRecord(Base):
    """A thread of the LangGraph Agent Server API (``wtb_core.server.langgraph``)."""

    __tablename__ = "api_threads"

    thread_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    execution_id: Mapped[str | None] = mapped_column(String(64))
    project: Mapped[str | None] = mapped_column(String(200))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiRunRecord(Base):
    """A run on an API thread: a run or a resume of the thread's execution."""

    __tablename__ = "api_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(64))
    assistant_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    multitask_strategy: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_api_runs_thread_id_created_at", "thread_id", "created_at"),)


class OutboxRecord(Base):
    """The intent of an operation that writes more than one store (``wtb_core.integrity``):
    written in the metadata database before the operation's first write to another store,
    closed (``done`` or ``compensated``) in the transaction of its last metadata write. A
    ``pending`` row whose process is gone is finished or compensated by the processor; one
    that cannot be is ``failed`` after a bounded number of attempts."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    execution_id: Mapped[str] = mapped_column(String(64), index=True)
    checkpoint_id: Mapped[str | None] = mapped_column(String(64))
    file_commit: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
