"""What one drive of an execution takes (``RunRequest``, with an optional ``StreamTap``
watching LangGraph's stream) and gives back (``RunOutcome``); ``engine.driver`` drives it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wtb_core.domain.models import ExecutionStatus, PendingInterrupt
from wtb_core.ports.file_tracker import TrackedExecution

if TYPE_CHECKING:
    from wtb_core.engine.recorded import RecordingSpec


@dataclass(frozen=True)
class StreamTap:
    """A caller watching a drive's LangGraph stream. ``on_chunk(mode, chunk)`` is called on
    the driving thread for every chunk of ``modes`` (LangGraph stream modes: ``values``,
    ``updates``, ``debug``, ``custom``, ``messages``, ``checkpoints``, ``tasks``), in stream
    order, before the driver acts on it. It must be quick and must not keep the chunk
    (copy it); an error it raises is logged and the tap is dropped, never the execution."""

    modes: frozenset[str]
    on_chunk: Callable[[str, Any], None]


@dataclass
class RunRequest:
    """Everything ``drive`` needs about one execution."""

    execution_id: str
    project: str
    thread_id: str
    graph: Any
    head: str | None
    # True after a rollback or fork: run from ``head`` as LangGraph time travel
    # (``checkpoint_id`` in the config). False: continue the thread's newest checkpoint,
    # as ``invoke(None, {"thread_id": ...})`` does, so a resume after a failure or a
    # breakpoint re-runs only what had not finished and writes no fork checkpoint.
    address_head: bool = False
    # Told the first checkpoint a time-travel drive writes (the new branch's first), so the
    # caller can persist it: a crash later continues that branch, not the old head.
    on_new_branch: Callable[[str], None] | None = None
    breakpoints: list[str] = field(default_factory=list)
    recursion_limit: int = 25
    durability: str = "async"
    timeout: float | None = None
    workspace: Path | None = None
    tracked: TrackedExecution | None = None
    tap: StreamTap | None = None
    # For telemetry: the variants (metrics labels, span attributes) and project version.
    variants: dict[str, str] = field(default_factory=dict)
    workflow_variant: str | None = None
    project_version: str | None = None
    # Set when the graph records or replays node outputs (``engine.recorded``).
    recording: RecordingSpec | None = None


@dataclass
class RunOutcome:
    status: ExecutionStatus
    head: str | None
    state: dict[str, Any]
    next: tuple[str, ...] = ()
    interrupts: tuple[PendingInterrupt, ...] = ()
    error: str | None = None
    duration_ms: float = 0.0
    storage_failure: bool = False  # the store failed, not the workflow
