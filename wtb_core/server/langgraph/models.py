"""Bodies and answers of the LangGraph Agent Server subset, field for field as
``langgraph_sdk.schema`` has them (datetimes are ISO-8601 strings on the wire).

Request bodies name every key ``langgraph-sdk`` 0.4 sends and refuse others (422), so a
client feature this server does not serve is an error, not a silent no-op. Keys that are
accepted but have no effect here are listed in ``docs/langgraph-api.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- answers ---------------------------------------------------------------------------


class ServerInfo(BaseModel):
    version: str
    langgraph_py_version: str
    flags: dict[str, bool]
    host: dict[str, str | None]
    metadata: dict[str, Any]


class Checkpoint(BaseModel):
    """A checkpoint of a thread (``thread_id`` is the API's thread id)."""

    thread_id: str
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class Interrupt(BaseModel):
    value: Any = None
    id: str


class ThreadTask(BaseModel):
    id: str
    name: str
    path: list[Any] = Field(default_factory=list)
    error: str | None = None
    interrupts: list[Interrupt] = Field(default_factory=list)
    checkpoint: Checkpoint | None = None
    state: ThreadState | None = None
    result: Any = None


class ThreadState(BaseModel):
    """LangGraph's ``StateSnapshot`` of a thread at one checkpoint."""

    values: Any = Field(description="The state values (a dict for StateGraph)")
    next: list[str]
    checkpoint: Checkpoint
    metadata: dict[str, Any]
    created_at: str | None = None
    parent_checkpoint: Checkpoint | None = None
    tasks: list[ThreadTask] = Field(default_factory=list)
    interrupts: list[Interrupt] = Field(default_factory=list)
    checkpoint_id: str | None = Field(None, description="Deprecated: checkpoint.checkpoint_id")
    parent_checkpoint_id: str | None = Field(
        None, description="Deprecated: parent_checkpoint.checkpoint_id"
    )


class Thread(BaseModel):
    thread_id: str
    created_at: datetime
    updated_at: datetime
    state_updated_at: datetime | None = None
    metadata: dict[str, Any]
    status: ThreadStatus
    values: Any = None
    interrupts: dict[str, list[Interrupt]] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class Assistant(BaseModel):
    assistant_id: str
    graph_id: str
    config: dict[str, Any]
    context: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    version: int
    name: str
    description: str | None = None


class GraphSchema(BaseModel):
    graph_id: str
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    state_schema: dict[str, Any] | None = None
    config_schema: dict[str, Any] | None = None
    context_schema: dict[str, Any] | None = None


class GraphDrawing(BaseModel):
    """``Graph.to_json()`` of the project's graph: nodes and edges."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


class Run(BaseModel):
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: datetime
    updated_at: datetime
    status: RunStatus
    metadata: dict[str, Any]
    multitask_strategy: MultitaskStrategy
    cancel_reason: str | None = None


class UpdatedState(BaseModel):
    checkpoint: Checkpoint
    configurable: dict[str, Any]
    checkpoint_id: str | None = None


class FinalValues(RootModel[dict[str, Any]]):
    """The state values the run ended with; ``__interrupt__`` lists the pending
    ``interrupt()`` calls, ``__error__`` ``{"error", "message"}`` says why it failed."""


# -- bodies ----------------------------------------------------------------------------


class CheckpointRef(_Body):
    """A checkpoint a client hands back (any subset of its keys)."""

    thread_id: str | None = None
    checkpoint_ns: str | None = None
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class AssistantSearch(_Body):
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)
    sort_by: Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"] | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None


class ThreadCreate(_Body):
    thread_id: str | None = Field(None, min_length=1, max_length=64)
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    supersteps: list[Any] | None = Field(None, description="Not served: refused when given")
    ttl: dict[str, Any] | int | None = Field(None, description="Accepted, not applied")


class ThreadSearch(_Body):
    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    ids: list[str] | None = None
    status: ThreadStatus | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)
    sort_by: (
        Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"] | None
    ) = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = Field(None, description="Accepted; whole threads are returned")
    extract: dict[str, str] | None = Field(None, description="Not served: refused when given")


class StateAt(_Body):
    checkpoint: CheckpointRef
    subgraphs: bool = False
    select: list[str] | None = None


class StateUpdate(_Body):
    values: dict[str, Any] | None = None
    as_node: str | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = None


class HistoryQuery(_Body):
    limit: int = Field(10, ge=1, le=1000)
    before: str | CheckpointRef | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: CheckpointRef | None = None
    select: list[str] | None = None


class RunCommand(_Body):
    update: dict[str, Any] | list[Any] | None = None
    resume: Any = None
    goto: str | dict[str, Any] | list[Any] | None = None


class RunConfig(BaseModel):
    """A LangGraph config. ``configurable.wtb_variants`` ``{node: variant}`` and
    ``configurable.wtb_workflow_variant`` choose the variant a new thread runs."""

    model_config = ConfigDict(extra="allow")

    tags: list[str] | None = None
    recursion_limit: int | None = None
    configurable: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class RunCreate(_Body):
    assistant_id: str
    input: dict[str, Any] | None = None
    command: RunCommand | None = None
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    stream_mode: str | list[str] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    feedback_keys: list[str] | None = None
    webhook: str | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = None
    checkpoint_during: bool | None = None
    multitask_strategy: MultitaskStrategy | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    on_disconnect: Literal["cancel", "continue"] | None = None
    on_completion: Literal["delete", "keep"] | None = None
    after_seconds: float | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    strict_resume: bool | None = None
    langsmith_tracer: dict[str, Any] | None = None


ThreadTask.model_rebuild()
