"""Request bodies and the responses the SDK has no model for.

Responses reuse the SDK's models where it has one (``ExecutionResult``, ``Checkpoint``,
``AuditEntry``, ``FileSnapshot``, ``BatchRow``, ``Comparison``, ``ExecutionPage``,
``StateDiff``). Bodies refuse unknown fields (a misspelt ``varaint_config`` is a 422, not
silently ignored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wtb_core.batch.models import BatchRow, BatchStatus
from wtb_core.domain.models import ExecutionStatus, TestCase
from wtb_core.server.errors import ERROR_RESPONSES

_STRICT = ConfigDict(extra="forbid")


# -- errors --------------------------------------------------------------------------------


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the typed error body for ``statuses`` (the
    application declares every status on every route too: ``errors.ERROR_RESPONSES``)."""
    return {status: ERROR_RESPONSES[status] for status in statuses}


# -- projects ------------------------------------------------------------------------------


class RegisterProject(BaseModel):
    """``POST /api/v1/projects``: what to import and register."""

    model_config = _STRICT

    ref: str = Field(
        min_length=1,
        description="A wtb_project.yaml path, or module:attribute naming a WorkflowProject "
        "or a function returning a (compiled) StateGraph",
    )
    name: str | None = Field(
        None, description="Project name for a graph factory (default: the function's name)"
    )


class ProjectSummary(BaseModel):
    """A project as listed. ``error`` says why a project stored by an earlier process
    cannot be loaded here (its other fields are then empty)."""

    name: str
    description: str = ""
    nodes: list[str] = Field(default_factory=list)
    current_version: str | None = None
    error: str | None = None


class VersionInfo(BaseModel):
    """One entry of a project's version history (``WorkflowProject.versions()``; read
    from a ``ProjectVersion``'s attributes)."""

    version: str
    number: int
    kind: str = Field(description="initial, node_update, workflow_update or restore")
    created_at: datetime
    node: str | None = None
    reason: str = ""
    changelog: str = ""
    restored_from: int | None = None
    dropped_variants: list[str] = Field(default_factory=list)


class ProjectDetail(BaseModel):
    """A project: its nodes, the variants of each node (``"default"`` first), its workflow
    variants and its version history (oldest first)."""

    name: str
    description: str = ""
    nodes: list[str]
    variants: dict[str, list[str]]
    workflow_variants: list[str]
    current_version: str
    versions: list[VersionInfo]


class ProjectGraph(BaseModel):
    """The graph as Mermaid text (``compiled.get_graph().draw_mermaid()``)."""

    project: str
    workflow_variant: str | None = None
    mermaid: str


# -- executions ----------------------------------------------------------------------------


class StartExecution(BaseModel):
    """``POST /api/v1/executions``: ``bench.run``'s arguments."""

    model_config = _STRICT

    project: str
    initial_state: dict[str, Any] = Field(default_factory=dict)
    variant_config: dict[str, str] = Field(
        default_factory=dict, description="{node: variant} to run instead of the defaults"
    )
    workflow_variant: str | None = None
    breakpoints: list[str] | None = Field(
        None, description="Nodes to pause before (this run and every resume of it)"
    )


class StartedExecution(BaseModel):
    """The answer ``202``: the execution is stored and runs on the server's pool; poll
    ``GET /api/v1/executions/{execution_id}`` (the ``Location``) or watch the stream."""

    execution_id: str
    status: ExecutionStatus


class StateValues(BaseModel):
    """The state at ``checkpoint_id`` (``null``: at the head)."""

    execution_id: str
    checkpoint_id: str | None
    values: dict[str, Any]


class Deleted(BaseModel):
    execution_id: str
    deleted: bool = True


# -- control -------------------------------------------------------------------------------


class ResumeExecution(BaseModel):
    """``POST .../resume``: ``resume`` answers pending ``interrupt()`` calls (a dict
    ``{interrupt_id: answer}`` when several wait); ``updates`` edits the state first."""

    model_config = _STRICT

    resume: Any = None
    updates: dict[str, Any] | None = None
    as_node: str | None = None


class Rollback(BaseModel):
    model_config = _STRICT

    checkpoint_id: str


class Fork(BaseModel):
    model_config = _STRICT

    checkpoint_id: str
    updates: dict[str, Any] | None = None
    as_node: str | None = None


class UpdateState(BaseModel):
    model_config = _STRICT

    values: dict[str, Any]
    as_node: str | None = Field(
        None, description="Write as if this node returned the values (default: the last one)"
    )


# -- batches -------------------------------------------------------------------------------


class StartBatch(BaseModel):
    """``POST /api/v1/batches``: ``bench.run_batch_test``'s arguments (evaluators by name)."""

    model_config = _STRICT

    project: str
    variant_matrix: list[dict[str, str]] = Field(
        description='Combinations: [{}, {"retriever": "bm25"}, {"_workflow": "name"}]'
    )
    test_cases: list[TestCase | dict[str, Any]] = Field(
        description="Each a TestCase ({inputs, expected?, name?, metadata?}) or a plain dict "
        "of inputs"
    )
    evaluators: list[str] = Field(
        default_factory=list, description="Evaluator names (builtins or registered by plugins)"
    )
    repetitions: int = Field(1, ge=1)
    runner: str | None = Field(None, description="sequential, threadpool, ... (default: config)")
    parallelism: int | None = Field(None, ge=1)


class ResumeBatch(BaseModel):
    """``POST .../resume``: run the cells without a row (``retry_failed``: failed ones too)."""

    model_config = _STRICT

    retry_failed: bool = False
    evaluators: list[str] | None = Field(None, description="Default: the batch's own")
    runner: str | None = None
    parallelism: int | None = Field(None, ge=1)


class StartedBatch(BaseModel):
    """The answer ``202``: the batch is stored and runs on the server's pool."""

    batch_id: str
    status: BatchStatus


class BatchRowPage(BaseModel):
    """``limit`` rows from ``offset`` of ``total`` matching ones; ``next_offset`` is
    ``null`` on the last page."""

    items: list[BatchRow]
    total: int
    offset: int
    next_offset: int | None = None


# -- plugins -------------------------------------------------------------------------------


class PluginDescription(BaseModel):
    """What ``wtb plugins`` shows for one plugin."""

    name: str
    version: str | None = None
    origin: str = Field(description="builtin, entry point or in-process")
    registers: dict[str, list[str]] = Field(default_factory=dict)
    hooks: list[str] = Field(default_factory=list)
