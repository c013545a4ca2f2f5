"""Shared-prefix execution: the cells of one (test case, repetition) that use the same
workflow variant run the nodes before their first differing node once, then fork.

A *group* is the combinations of the matrix with one workflow variant. For a group, its
*trunk* runs with breakpoints before the nodes whose variant differs within it; at the
pause, the group is split by the variants of the differing nodes about to run, and each
part forks the trunk at its head and goes on with breakpoints before the nodes that still
differ within it — a tree of forks, down to one branch (the cell's execution) per
combination. Loops, conditional edges, ``Send`` fan-out and parallel super-steps need
nothing more: they decide which nodes are about to run when a breakpoint is reached.

Trunks are memoised per batch by their ``prefix_key`` (case, repetition, workflow
variant and the fork path), stored on their execution, so a resumed batch reuses the ones
that finished and continues a failed one, or one a crash cut off, from its newest
checkpoint: no finished node of a trunk runs again. Repetitions and test cases are never
shared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from wtb_core.batch.models import BatchRow, Cell
from wtb_core.batch.scoring import Evaluator, cell_fields, make_row, score, split_combination
from wtb_core.domain.models import ExecutionResult, ExecutionStatus, TestCase
from wtb_core.errors import WTBError
from wtb_core.project import WORKFLOW_KEY, WorkflowProject
from wtb_core.storage.database import utcnow


class BranchingExecutions(Protocol):
    """What shared prefixes need of single executions (the SDK's ``BatchBranches``)."""

    def start(
        self,
        project: str,
        initial_state: Mapping[str, Any],
        variant_config: Mapping[str, str],
        workflow_variant: str | None,
        breakpoints: Sequence[str],
        prefix_key: str | None,
    ) -> ExecutionResult:
        """Run a new execution of the current batch until it stops (``prefix_key``: a trunk)."""
        ...

    def branch(
        self,
        execution_id: str,
        checkpoint_id: str,
        variant_config: Mapping[str, str],
        breakpoints: Sequence[str],
        prefix_key: str | None,
        run: bool,
    ) -> ExecutionResult:
        """Fork ``execution_id`` at ``checkpoint_id`` with these variants and breakpoints
        and, when ``run``, continue the fork until it stops."""
        ...

    def first_nodes(self, project: str, workflow_variant: str | None) -> frozenset[str] | None:
        """The nodes the graph's first super-step runs, when ``START`` has only plain
        edges (``None`` when a conditional edge leaves it: known only once it ran)."""
        ...

    def ran_nothing(self, result: ExecutionResult) -> bool:
        """Whether ``result`` stopped before its first node ran (at the checkpoint its
        input made): nothing to share, so its branches start from the inputs."""
        ...

    def resume(self, execution_id: str) -> ExecutionResult:
        """Continue a trunk that failed or whose run a crash cut off, from its newest
        checkpoint, with its own breakpoints (``bench.resume``)."""
        ...

    def trunks(self, batch_id: str) -> dict[str, ExecutionResult]:
        """The stored trunks of a batch by ``prefix_key``: per key the newest that
        finished (paused at its breakpoints or completed), else the newest one."""
        ...


def prefix_refusal(project: WorkflowProject, runner: object, can_branch: bool) -> str | None:
    """Why a batch that asked for shared prefixes runs its cells independently here, or
    ``None``. Forks need a runner that runs cells in this process (``in_process = True``:
    the builtin ``sequential`` and ``threadpool``) and a project that tracks no files
    (each cell has a workspace of its own)."""
    name = getattr(runner, "name", type(runner).__name__)
    if not can_branch:
        return "reuse_prefix ignored: this batch service cannot fork executions"
    if not getattr(runner, "in_process", False):
        return (
            f"reuse_prefix ignored: the {name!r} runner runs cells away from this process, so "
            "they cannot fork a shared trunk; every cell ran independently (use the "
            "threadpool runner to share prefixes)"
        )
    if project.file_tracking.enabled:
        return (
            f"reuse_prefix ignored: project {project.name!r} tracks files and every cell "
            "works in a workspace of its own; every cell ran independently"
        )
    return None


def variant(combination: Mapping[str, str], node: str) -> str:
    """The variant ``combination`` chooses for ``node`` (``default`` when it says none)."""
    return combination.get(node, "default")


def differing(combinations: Sequence[Mapping[str, str]]) -> list[str]:
    """The nodes whose variant is not the same in every combination, sorted."""
    nodes = {node for combo in combinations for node in combo if node != WORKFLOW_KEY}
    return sorted(n for n in nodes if len({variant(c, n) for c in combinations}) > 1)


def group_of(matrix: Sequence[Mapping[str, str]], index: int) -> list[int]:
    """The indices of the combinations with the workflow variant of ``matrix[index]``."""
    workflow = matrix[index].get(WORKFLOW_KEY)
    return [i for i, combo in enumerate(matrix) if combo.get(WORKFLOW_KEY) == workflow]


_REUSED = (ExecutionStatus.PAUSED, ExecutionStatus.COMPLETED)  # a trunk that finished


class _Slot:
    """One trunk of the tree: run once, by the first cell that needs it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.result: ExecutionResult | None = None
        self.error: WTBError | None = None


class SharedPrefixes:
    """The fork tree of one batch run: ``run(cell)`` walks the cell's path through it,
    running (or reusing) each trunk on the way, and returns the cell's own execution with
    the time its whole path took. Thread-safe: cells of one tree may run at once; a trunk
    another cell is running is waited for."""

    def __init__(
        self,
        executions: BranchingExecutions,
        project: str,
        matrix: Sequence[Mapping[str, str]],
        stored: Mapping[str, ExecutionResult],
    ) -> None:
        self._executions = executions
        self._project = project
        self._matrix = [dict(c) for c in matrix]
        self._stored = dict(stored)
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()
        self._first: dict[str | None, frozenset[str] | None] = {}

    def _first_nodes(self, workflow: str | None) -> frozenset[str]:
        """The nodes the first super-step surely runs (empty when unknown)."""
        with self._lock:
            if workflow not in self._first:
                self._first[workflow] = self._executions.first_nodes(self._project, workflow)
            return self._first[workflow] or frozenset()

    def run(self, cell: Cell) -> ExecutionResult:
        matrix = self._matrix
        members = group_of(matrix, cell.combination_index)
        nodes, workflow = split_combination(cell.combination)
        key = f"k{cell.case_index}/r{cell.repetition}/{workflow or ''}"
        parent: ExecutionResult | None = None
        spent = 0.0
        while len(members) > 1:
            diff = differing([matrix[i] for i in members])
            at_start = sorted(self._first_nodes(workflow).intersection(diff))
            if parent is None and at_start:
                # The first super-step differs: a trunk would stop before any node ran.
                members, key = _split(matrix, members, cell.combination, at_start, key)
                continue
            trunk = self._trunk(key, parent, matrix[members[0]], workflow, diff, cell.inputs)
            spent += trunk.duration_ms
            if trunk.status in (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED):
                return trunk.model_copy(update={"duration_ms": spent})
            about = [n for n in trunk.next if n in diff] if not trunk.interrupts else []
            if trunk.status is not ExecutionStatus.PAUSED or not about:
                # Completed, or stopped at an interrupt(): no differing node ever ran, so
                # every combination's execution is the trunk's end.
                end = self._branch(trunk, nodes, [], None, run=False)
                return end.model_copy(update={"duration_ms": spent})
            members, key = _split(matrix, members, cell.combination, about, key)
            parent = None if parent is None and self._executions.ran_nothing(trunk) else trunk
        if parent is None:
            own = self._executions.start(self._project, cell.inputs, nodes, workflow, [], None)
        else:
            own = self._branch(parent, nodes, [], None, run=True)
        return own.model_copy(update={"duration_ms": spent + own.duration_ms})

    def _branch(
        self,
        parent: ExecutionResult,
        nodes: Mapping[str, str],
        breakpoints: Sequence[str],
        key: str | None,
        run: bool,
    ) -> ExecutionResult:
        head = parent.checkpoint_id
        assert head is not None  # a trunk that stopped without failing has a checkpoint
        return self._executions.branch(parent.execution_id, head, nodes, breakpoints, key, run)

    def _trunk(
        self,
        key: str,
        parent: ExecutionResult | None,
        representative: Mapping[str, str],
        workflow: str | None,
        breakpoints: list[str],
        inputs: Mapping[str, Any],
    ) -> ExecutionResult:
        """The trunk at ``key``: stored by an earlier run of the batch, run by another cell,
        or run now (from the inputs at the root, else forked from ``parent``)."""
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
        with slot.lock:
            if slot.error is not None:
                raise slot.error
            if slot.result is None:
                nodes = split_combination(representative)[0]

                def start() -> ExecutionResult:
                    if parent is None:
                        return self._executions.start(
                            self._project, inputs, nodes, workflow, breakpoints, key
                        )
                    return self._branch(parent, nodes, breakpoints, key, run=True)

                stored = self._stored.get(key)
                if stored is not None and stored.status in _REUSED:
                    slot.result = stored
                elif stored is not None and stored.status is ExecutionStatus.FAILED:
                    cut_off = stored.execution_id
                    slot.result = _once(slot, lambda: self._executions.resume(cut_off))
                else:  # none yet, or one a cancel stopped: a cancelled trunk is not resumed
                    slot.result = _once(slot, start)
            return slot.result


def _split(
    matrix: Sequence[Mapping[str, str]],
    members: list[int],
    combination: Mapping[str, str],
    about: Sequence[str],
    key: str,
) -> tuple[list[int], str]:
    """The members choosing ``combination``'s variants of the nodes ``about`` to run, and
    the key of their part of the tree."""
    mine = [variant(combination, n) for n in about]
    part = [i for i in members if [variant(matrix[i], n) for n in about] == mine]
    return part, key + "/" + ",".join(f"{n}={v}" for n, v in zip(about, mine, strict=True))


def _once(slot: _Slot, start: Callable[[], ExecutionResult]) -> ExecutionResult:
    """``start()``, remembering a refusal so that the trunk's other cells fail with it too."""
    try:
        return start()
    except WTBError as exc:
        slot.error = exc
        raise


def run_shared_cell(
    tree: SharedPrefixes, case: TestCase, cell: Cell, evaluators: Mapping[str, Evaluator]
) -> BatchRow:
    """``cells.run_cell`` for a shared-prefix batch: the cell's path through the tree,
    scored like an independent cell (its duration is the whole path's)."""
    try:
        result = tree.run(cell)
    except WTBError as exc:
        return BatchRow(
            **cell_fields(cell), status=ExecutionStatus.FAILED, error=str(exc), finished_at=utcnow()
        )
    completed = result.status is ExecutionStatus.COMPLETED
    scores, errors = score(case, result, evaluators) if completed else ({}, {})
    return make_row(cell, result, scores, errors)
