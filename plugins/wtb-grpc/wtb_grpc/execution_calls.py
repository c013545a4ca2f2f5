"""The calls on executions: run, resume, pause, stop, rollback, fork, update_state and
the reads. Each calls the one service operation the REST route calls; runs and resumes
are driven on the server's job pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wtb_core import ExecutionResult, InvalidInputError
from wtb_grpc._gen import wtb_pb2 as pb
from wtb_grpc.calls import Calls, Context, blocking, finished, ignore_start, translated
from wtb_grpc.jsonvalues import dumps, loads, loads_object
from wtb_grpc.messages import (
    audit_message,
    checkpoint_message,
    execution_message,
    optional,
    status_of,
)

MAX_TIMEOUT = 300.0


def _timeout(request: pb.ControlRequest) -> float:
    timeout = request.timeout if request.HasField("timeout") else 10.0
    if not 0 <= timeout <= MAX_TIMEOUT:
        raise InvalidInputError(
            f"timeout {timeout} is out of range: give 0 to {MAX_TIMEOUT:g} seconds"
        )
    return timeout


def _json(request: Any, field: str, object_only: bool = True) -> Any:
    if not request.HasField(field):
        return None
    text = getattr(request, field)
    return loads_object(text, field) if object_only else loads(text, field)


class ExecutionCalls(Calls):
    async def _drive_execution(
        self, key: str, work: Callable[[Callable[[str], None]], ExecutionResult], detach: bool
    ) -> pb.Execution:
        """Drive ``work(started)`` on the pool; answer with its result, or (``detach``)
        with the execution as stored once ``started(id)`` was called."""
        if not detach:
            job = self.jobs.submit("execution", key, lambda: work(ignore_start))
            return execution_message(await finished(job))
        ids: list[str] = []

        def starting(started: Callable[..., None]) -> ExecutionResult:
            def on_start(execution_id: str) -> None:
                ids.append(execution_id)
                started()

            return work(on_start)

        future = await self.jobs.start("execution", key, starting)
        if future.done() and future.exception() is None:  # already stopped (a short run)
            return execution_message(future.result())
        return execution_message(await blocking(self.services.inspection.get_execution, ids[0]))

    @translated
    async def Run(self, request: pb.RunRequest, context: Context) -> pb.Execution:
        initial_state = _json(request, "initial_state_json")
        execution_id = optional(request, "execution_id")
        run = self.services.executions.run

        def work(started: Callable[[str], None]) -> ExecutionResult:
            return run(
                request.project,
                initial_state,
                dict(request.variant_config),
                optional(request, "workflow_variant"),
                list(request.breakpoints) or None,
                execution_id=execution_id,
                on_created=started,
            )

        return await self._drive_execution(execution_id or request.project, work, request.detach)

    @translated
    async def Resume(self, request: pb.ResumeRequest, context: Context) -> pb.Execution:
        answer = _json(request, "resume_json", object_only=False)
        updates = _json(request, "updates_json")
        resume = self.services.executions.resume

        def work(started: Callable[[str], None]) -> ExecutionResult:
            return resume(
                request.execution_id,
                answer,
                updates,
                optional(request, "as_node"),
                on_started=started,
            )

        return await self._drive_execution(request.execution_id, work, request.detach)

    @translated
    async def Pause(self, request: pb.ControlRequest, context: Context) -> pb.Execution:
        pause = self.services.executions.pause
        return execution_message(await blocking(pause, request.execution_id, _timeout(request)))

    @translated
    async def Stop(self, request: pb.ControlRequest, context: Context) -> pb.Execution:
        stop = self.services.executions.stop
        return execution_message(await blocking(stop, request.execution_id, _timeout(request)))

    @translated
    async def Rollback(self, request: pb.RollbackRequest, context: Context) -> pb.Execution:
        rollback = self.services.time_travel.rollback
        result = await blocking(rollback, request.execution_id, request.checkpoint_id)
        return execution_message(result)

    @translated
    async def Fork(self, request: pb.ForkRequest, context: Context) -> pb.Execution:
        updates = _json(request, "updates_json")
        result = await blocking(
            self.services.time_travel.fork,
            request.execution_id,
            request.checkpoint_id,
            updates,
            optional(request, "as_node"),
        )
        return execution_message(result)

    @translated
    async def UpdateState(self, request: pb.UpdateStateRequest, context: Context) -> pb.Execution:
        values = loads_object(request.values_json, "values_json")
        result = await blocking(
            self.services.time_travel.update_state,
            request.execution_id,
            values,
            optional(request, "as_node"),
        )
        return execution_message(result)

    # -- reads -----------------------------------------------------------------------------

    @translated
    async def GetExecution(self, request: pb.ExecutionRef, context: Context) -> pb.Execution:
        get = self.services.inspection.get_execution
        return execution_message(await blocking(get, request.execution_id))

    @translated
    async def ListExecutions(
        self, request: pb.ListExecutionsRequest, context: Context
    ) -> pb.ExecutionList:
        status = status_of(request.status) if request.status else None
        results = await blocking(
            self.services.inspection.list_executions,
            optional(request, "project"),
            status,
            optional(request, "limit"),
            dict(request.variant_config) or None,
        )
        return pb.ExecutionList(executions=[execution_message(r) for r in results])

    @translated
    async def GetState(self, request: pb.GetStateRequest, context: Context) -> pb.StateValues:
        checkpoint_id = optional(request, "checkpoint_id")
        values = await blocking(
            self.services.inspection.get_state, request.execution_id, checkpoint_id
        )
        return pb.StateValues(
            execution_id=request.execution_id,
            checkpoint_id=checkpoint_id,
            values_json=dumps(values),
        )

    @translated
    async def GetCheckpoints(
        self, request: pb.GetCheckpointsRequest, context: Context
    ) -> pb.CheckpointList:
        checkpoints = await blocking(
            self.services.inspection.get_checkpoints, request.execution_id, request.all_branches
        )
        return pb.CheckpointList(checkpoints=[checkpoint_message(c) for c in checkpoints])

    @translated
    async def Audit(self, request: pb.ExecutionRef, context: Context) -> pb.AuditTrail:
        entries = await blocking(self.services.inspection.audit, request.execution_id)
        return pb.AuditTrail(entries=[audit_message(e) for e in entries])

    @translated
    async def ListProjects(
        self, request: pb.ListProjectsRequest, context: Context
    ) -> pb.ProjectList:
        return pb.ProjectList(names=await blocking(self.services.catalog.names))
