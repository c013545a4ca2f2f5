"""Running batch cells away from the driver, e.g. in Ray worker processes.

A ``DetachedExecutor`` is a bench without a metadata store: it builds the checkpoint store
and graphs from the same ``StackConfig``, runs a cell as a real checkpointed execution,
and returns a ``DetachedResult`` (row + execution record + audit events) that the driver
writes. Run again with the same execution id, it resumes from the cell's last durable
checkpoint instead of starting over — nodes that finished are not run again.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from wtb_core.batch.models import Cell, DetachedResult
from wtb_core.batch.scoring import Evaluator, make_row, score, split_combination
from wtb_core.builtins.file_trackers import NoFileTracker
from wtb_core.config import StackConfig
from wtb_core.domain.events import Event, EventType
from wtb_core.domain.models import ExecutionStatus, TestCase
from wtb_core.engine.driver import ExecutionDriver
from wtb_core.engine.events import audit_row
from wtb_core.engine.graph_cache import GraphCache, NodeWrapper, environment_wrapper
from wtb_core.engine.records import (
    execution_record,
    execution_result,
    outcome_fields,
    process_owner,
    thread_id_of,
)
from wtb_core.engine.runs import RunRequest
from wtb_core.engine.threads import thread_config
from wtb_core.project import WorkflowProject
from wtb_core.registry import PluginRegistry
from wtb_core.storage.database import utcnow
from wtb_core.storage.tables import ExecutionRecord
from wtb_core.telemetry.saver import timed


class DetachedExecutor:
    """Runs cells as executions; never writes the metadata store. Thread-safe."""

    def __init__(
        self,
        config: StackConfig,
        wrap: NodeWrapper | None = None,
        plugins: Iterable[object] = (),
        load_entrypoints: bool = True,
    ) -> None:
        self.config = config
        self.registry = PluginRegistry(plugins, load_entrypoints=load_entrypoints)
        self.store = self.registry.checkpoint_store(config.checkpoint_store, config)
        provider = self.registry.environment_provider(config.environment_provider, config)
        saver = timed(self.store.saver, config.checkpoint_store, config.metrics)
        self.graphs = GraphCache(saver, wrap or environment_wrapper(provider))
        self._events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._driver = ExecutionDriver(
            self._collect, NoFileTracker(), lambda: self.store.saver.serde
        )
        self.owner = process_owner()

    def _collect(self, event: Event) -> None:
        self.registry.emit(event)
        with self._lock:
            self._events[event.execution_id].append(audit_row(event))

    def run_cell(
        self,
        project: WorkflowProject,
        case: TestCase,
        cell: Cell,
        evaluators: Mapping[str, Evaluator],
        execution_id: str,
        workspace: Path | None = None,
    ) -> DetachedResult:
        """Run (or resume) one cell as execution ``execution_id`` and score it."""
        nodes, workflow_variant = split_combination(cell.combination)
        version = project.current_version
        graph = self.graphs.get(project, nodes, workflow_variant, version)
        thread_id = thread_id_of(execution_id)
        latest = self.store.saver.get_tuple(thread_config(thread_id))
        head = latest.config["configurable"]["checkpoint_id"] if latest else None
        started = utcnow()
        self._collect(
            Event(
                type=EventType.EXECUTION_RESUMED if head else EventType.EXECUTION_STARTED,
                execution_id=execution_id,
                project=project.name,
                checkpoint_id=head,
                message="retried from its last checkpoint" if head else "",
                data={"variants": nodes, "worker": self.owner},
            )
        )
        request = RunRequest(
            execution_id=execution_id,
            project=project.name,
            thread_id=thread_id,
            graph=graph,
            head=head,
            recursion_limit=project.execution.recursion_limit,
            durability="sync",  # a worker may die: its retry must not repeat finished nodes
            timeout=project.execution.default_timeout,
            workspace=workspace,
        )
        outcome = self._driver.drive(request, None if head else cell.inputs, lambda o: o)
        if outcome.status is ExecutionStatus.COMPLETED:
            self._collect(
                Event(
                    type=EventType.EXECUTION_COMPLETED,
                    execution_id=execution_id,
                    project=project.name,
                    checkpoint_id=outcome.head,
                )
            )
        record = execution_record(
            execution_id=execution_id,
            project=project.name,
            status=outcome.status,
            initial_state=cell.inputs,
            variant_config=nodes,
            workflow_variant=workflow_variant,
            project_version=version,
            owner=self.owner,
            workspace=str(workspace) if workspace else None,
            created_at=started,
            batch_id=cell.batch_id,
        )
        record.update(outcome_fields(outcome), duration_ms=outcome.duration_ms, updated_at=utcnow())
        result = execution_result(ExecutionRecord(**record))
        scores, errors = (
            score(case, result, evaluators)
            if result.status is ExecutionStatus.COMPLETED
            else ({}, {})
        )
        with self._lock:
            events = self._events.pop(execution_id, [])
        return DetachedResult(
            row=make_row(cell, result, scores, errors),
            execution=record,
            events=events,
        )

    def close(self) -> None:
        self.store.close()
