"""``BatchBranches``: the executions shared-prefix batches (``batch.prefix``) and forked
batches (``batch.forked``) are made of — trunks run with breakpoints, forks with other
variants — over the bench's own ``ExecutionService`` and ``TimeTravelService``, so every
branch is an ordinary fork."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.graph import START

from wtb_core.batch.forked import ForkPoint
from wtb_core.domain.models import ExecutionResult, ExecutionStatus
from wtb_core.engine.records import new_execution_id
from wtb_core.engine.threads import thread_config
from wtb_core.errors import CheckpointNotFoundError
from wtb_core.sdk.catalog import ProjectCatalog
from wtb_core.sdk.executions import ExecutionService
from wtb_core.sdk.inspection import InspectionService
from wtb_core.sdk.ledger import ExecutionLedger
from wtb_core.sdk.time_travel import TimeTravelService

_FINISHED = (ExecutionStatus.PAUSED, ExecutionStatus.COMPLETED)


class BatchBranches:
    """Implements ``batch.forked.ForkingExecutions`` (``batch.prefix.BranchingExecutions``
    and fork points); thread-safe as its services are."""

    def __init__(
        self,
        ledger: ExecutionLedger,
        executions: ExecutionService,
        time_travel: TimeTravelService,
        inspection: InspectionService,
        catalog: ProjectCatalog,
    ) -> None:
        self._ledger = ledger
        self._catalog = catalog
        self._inspection = inspection
        self._executions = executions
        self._time_travel = time_travel

    def start(
        self,
        project: str,
        initial_state: Mapping[str, Any],
        variant_config: Mapping[str, str],
        workflow_variant: str | None,
        breakpoints: Sequence[str],
        prefix_key: str | None,
    ) -> ExecutionResult:
        return self._executions.run(
            project, initial_state, variant_config, workflow_variant, breakpoints,
            prefix_key=prefix_key,
        )  # fmt: skip

    def branch(
        self,
        execution_id: str,
        checkpoint_id: str,
        variant_config: Mapping[str, str],
        breakpoints: Sequence[str],
        prefix_key: str | None,
        run: bool,
    ) -> ExecutionResult:
        fork_id = new_execution_id()
        with self._ledger.holding(fork_id):
            row = self._time_travel.branch(
                execution_id, checkpoint_id, variant_config, breakpoints, prefix_key,
                fork_id=fork_id, running=run,
            )  # fmt: skip
            return self._executions.drive_fork(row) if run else self._ledger.result(row)

    def fork_point(self, execution_id: str, checkpoint_id: str) -> ForkPoint:
        row = self._ledger.fetch(execution_id)
        by_id = {
            cp.checkpoint_id: cp
            for cp in self._inspection.get_checkpoints(execution_id, all_branches=True)
        }
        if checkpoint_id not in by_id:
            raise CheckpointNotFoundError(
                f"checkpoint {checkpoint_id!r} is not one of execution {execution_id}'s; list "
                "them with bench.get_checkpoints / wtb checkpoints EXEC"
            )
        ran: set[str] = set()
        current: str | None = checkpoint_id
        while current is not None and current in by_id:
            ran.update(by_id[current].nodes)
            current = by_id[current].parent_checkpoint_id
        return ForkPoint(
            execution_id=row.id,
            checkpoint_id=checkpoint_id,
            project=row.project,
            variant_config=dict(row.variant_config or {}),
            workflow_variant=row.workflow_variant,
            ran=frozenset(ran),
            state=dict(by_id[checkpoint_id].values),
        )

    def first_nodes(self, project: str, workflow_variant: str | None) -> frozenset[str] | None:
        builder = self._catalog.graphs.get(self._catalog.get(project), {}, workflow_variant).builder
        if any(source == START for source in builder.branches):
            return None
        return frozenset(end for source, end in builder.edges if source == START)

    def ran_nothing(self, result: ExecutionResult) -> bool:
        if result.checkpoint_id is None:
            return True
        row = self._ledger.fetch(result.execution_id)
        saver = self._ledger.checkpoints.saver
        tup = saver.get_tuple(thread_config(row.thread_id, result.checkpoint_id))
        return tup is not None and (tup.metadata or {}).get("step", 0) <= 0

    def resume(self, execution_id: str) -> ExecutionResult:
        return self._executions.resume(execution_id)

    def trunks(self, batch_id: str) -> dict[str, ExecutionResult]:
        ledger = self._ledger
        found: dict[str, ExecutionResult] = {}
        for row in ledger.metadata.prefix_trunks(batch_id):  # oldest first: newest wins
            result = ledger.result(row)
            key = row.prefix_key
            if key is None or (key in found and found[key].status in _FINISHED):
                continue
            found[key] = result
        return found
