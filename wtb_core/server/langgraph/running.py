"""A run of the Agent Server API as the bench's operations (assistant = project, thread =
execution, run = a run or a resume of it).

What a run body asks for, on a thread whose execution is in a given state:

==========================================  ==============================================
the thread has no execution yet             ``executions.run`` (the input; the variants and
                                            ``interrupt_before`` become the execution's)
``checkpoint_id`` / ``checkpoint`` given    ``time_travel.rollback`` to it first (unless it
                                            is the head): LangGraph's run from a past
                                            checkpoint branches there, as rollback+resume
``command.resume`` / ``command.update``     ``executions.resume(resume=, updates=)``
``input``                                   ``executions.send`` (a new input over the state)
neither, execution completed                nothing runs; the state is the answer (as
                                            LangGraph's ``invoke(None)`` of a done thread)
neither                                     ``executions.resume`` (continue)
==========================================  ==============================================

Every check happens before the run starts, so a refused run is a 4xx and leaves no run
behind; an accepted run is driven on the server's ``JobPool`` (``LangGraphApi`` holds it
meanwhile) and its record, written when it ends, says how: ``success`` (completed, or
paused at an ``interrupt()`` or breakpoint, as the Agent Server says), ``error`` (failed),
``interrupted`` (cancelled by a client).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from wtb_core.domain.models import ExecutionResult, ExecutionStatus
from wtb_core.engine.runs import StreamTap
from wtb_core.errors import CheckpointNotFoundError
from wtb_core.project import WorkflowProject
from wtb_core.server.jobs import JobPool
from wtb_core.server.langgraph.assistants import VARIANTS_KEY, WORKFLOW_VARIANT_KEY
from wtb_core.server.langgraph.context import ActiveRun, LangGraphApi
from wtb_core.server.langgraph.encoding import error_parts, jsonable
from wtb_core.server.langgraph.mapping import (
    ThreadNotFoundError,
    ThreadView,
    UnsupportedRequestError,
    assistant_id_of,
    create_thread,
    find_project,
    resolve_thread,
)
from wtb_core.server.langgraph.models import CheckpointRef, RunCommand, RunCreate, RunStatus
from wtb_core.server.langgraph.snapshots import checkpoint_id_of
from wtb_core.server.langgraph.sse import STREAM_MODES
from wtb_core.storage.api_threads import StoredRun
from wtb_core.storage.database import utcnow


@dataclass(frozen=True)
class RunSpec:
    """A run body, checked and translated (nothing looked up on the thread yet)."""

    project: WorkflowProject
    assistant_id: str
    input: dict[str, Any] | None
    command: RunCommand | None
    checkpoint: CheckpointRef | str | None
    breakpoints: list[str] | None
    variants: dict[str, str] | None
    workflow_variant: str | None
    modes: list[str]
    metadata: dict[str, Any]
    cancel_on_disconnect: bool


def _refuse(message: str) -> UnsupportedRequestError:
    return UnsupportedRequestError(message + " (see docs/langgraph-api.md for what is served)")


def _selection(body: RunCreate) -> dict[str, Any]:
    """Where the variant selection is: ``config.configurable`` or ``context``."""
    configurable = dict((body.config.configurable if body.config else None) or {})
    context = dict(body.context or {})
    if configurable and context:
        raise _refuse("pass config.configurable or context, not both")
    return configurable or context


def _modes(stream_mode: str | list[str]) -> list[str]:
    modes = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
    unknown = [m for m in modes if m not in STREAM_MODES]
    if unknown:
        raise _refuse(
            f"stream_mode {', '.join(map(repr, unknown))} is not served; use "
            f"{', '.join(STREAM_MODES)}"
        )
    return list(dict.fromkeys(modes))


def spec_of(api: LangGraphApi, body: RunCreate, streaming: bool) -> RunSpec:
    """``body`` checked: what this server does not serve is refused here (422)."""
    project = find_project(api, body.assistant_id)
    if body.interrupt_after is not None:
        raise _refuse("interrupt_after is not served; use interrupt_before on the next node")
    if body.webhook is not None or body.after_seconds is not None:
        raise _refuse("webhook and after_seconds are not served")
    command = body.command
    if command is not None:
        if command.goto:
            raise _refuse("command.goto is not served; use command.resume or command.update")
        if command.update is not None and not isinstance(command.update, dict):
            raise _refuse("command.update must be a dict of state values")
        if body.input is not None:
            raise _refuse("pass input or command, not both")
    selection = _selection(body)
    variants = selection.get(VARIANTS_KEY)
    if variants is not None and not (
        isinstance(variants, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in variants.items())
    ):
        raise _refuse(f"configurable.{VARIANTS_KEY} must map node names to variant names")
    workflow_variant = selection.get(WORKFLOW_VARIANT_KEY)
    if workflow_variant is not None and not isinstance(workflow_variant, str):
        raise _refuse(f"configurable.{WORKFLOW_VARIANT_KEY} must be a workflow variant name")
    checkpoint: CheckpointRef | str | None = body.checkpoint_id or body.checkpoint
    if checkpoint is None and isinstance(selection.get("checkpoint_id"), str):
        checkpoint = selection["checkpoint_id"]
    breakpoints = body.interrupt_before
    return RunSpec(
        project=project,
        assistant_id=assistant_id_of(project.name),
        input=body.input,
        command=command,
        checkpoint=checkpoint,
        breakpoints=project.node_names() if breakpoints == "*" else breakpoints,
        variants=variants,
        workflow_variant=workflow_variant,
        modes=_modes(body.stream_mode) if streaming else [],
        metadata=dict(body.metadata or {}),
        cancel_on_disconnect=body.on_disconnect == "cancel",
    )


@dataclass(frozen=True)
class Prepared:
    """An accepted run about to start on its thread."""

    view: ThreadView
    spec: RunSpec
    run: StoredRun
    active: ActiveRun
    checkpoint_id: str | None

    @property
    def location(self) -> str:
        """``Content-Location`` of the run (the SDK's ``on_run_created`` reads it)."""
        return run_location(self.view.thread_id, self.run.run_id)


def run_location(thread_id: str, run_id: str) -> str:
    return f"/threads/{thread_id}/runs/{run_id}"


def _thread_for(
    api: LangGraphApi, thread_id: str | None, spec: RunSpec, if_not_exists: str | None
) -> ThreadView:
    assistant = {"graph_id": spec.project.name, "assistant_id": spec.assistant_id}
    if thread_id is None:  # a stateless run: a thread of its own, kept afterwards
        return create_thread(api, None, assistant, "raise", spec.project.name)
    try:
        return resolve_thread(api, thread_id)
    except ThreadNotFoundError:
        if if_not_exists != "create":
            raise
        return create_thread(api, thread_id, assistant, "do_nothing", spec.project.name)


def _check_fits(view: ThreadView, spec: RunSpec) -> None:
    execution = view.execution
    if execution is None:
        if spec.command is not None and spec.command.resume is not None:
            raise _refuse(f"thread {view.thread_id} has no run yet: nothing waits for a resume")
        if spec.checkpoint is not None:
            raise CheckpointNotFoundError(
                f"thread {view.thread_id} has no checkpoints yet; run it without checkpoint_id"
            )
        return
    if execution.project != spec.project.name:
        raise _refuse(
            f"thread {view.thread_id} runs project {execution.project!r}, not "
            f"{spec.project.name!r}; start a new thread for that assistant"
        )
    if spec.variants is not None and spec.variants != execution.variant_config:
        raise _refuse(
            f"thread {view.thread_id} runs the variants {execution.variant_config}; a variant "
            "selection applies to a thread's first run: start a new thread for another one"
        )
    if spec.workflow_variant is not None and spec.workflow_variant != execution.workflow_variant:
        raise _refuse(
            f"thread {view.thread_id} runs workflow variant {execution.workflow_variant!r}; "
            "start a new thread for another one"
        )


def prepare(api: LangGraphApi, thread_id: str | None, body: RunCreate, streaming: bool) -> Prepared:
    """Check ``body`` (``spec_of``), find (or create) the thread, check the run fits it,
    and hold the run (``pending``) in ``api``."""
    spec = spec_of(api, body, streaming)
    view = _thread_for(api, thread_id, spec, body.if_not_exists)
    _check_fits(view, spec)
    checkpoint_id = checkpoint_id_of(spec.checkpoint, view)
    stored = view.stored
    if stored is not None and (stored.project is None or "graph_id" not in stored.metadata):
        metadata = {
            "graph_id": spec.project.name,
            "assistant_id": spec.assistant_id,
            **stored.metadata,
        }
        api.store.update_thread(view.thread_id, project=spec.project.name, metadata=metadata)
    run = StoredRun(
        run_id=str(uuid.uuid4()),
        thread_id=view.thread_id,
        assistant_id=spec.assistant_id,
        status="pending",
        metadata=spec.metadata,
    )
    active = ActiveRun(run, view.execution_id)
    api.activate(active)
    return Prepared(view, spec, run, active, checkpoint_id)


def run_status(result: ExecutionResult, cancelled: bool) -> RunStatus:
    if result.status is ExecutionStatus.FAILED:
        return "error"
    if cancelled or result.status is ExecutionStatus.CANCELLED:
        return "interrupted"
    if result.status in (ExecutionStatus.RUNNING, ExecutionStatus.PENDING):
        return "error"
    return "success"


def final_values(result: ExecutionResult | None) -> dict[str, Any]:
    """What ``/wait`` and ``/join`` answer: the final state values, with ``__interrupt__``
    while ``interrupt()`` calls wait, or ``{"__error__": {"error", "message"}}``."""
    if result is None:
        return {}
    if result.status is ExecutionStatus.FAILED:
        kind, message = error_parts(result.error)
        return {"__error__": {"error": kind, "message": message}}
    values: dict[str, Any] = jsonable(result.state)
    if result.interrupts:
        values["__interrupt__"] = [
            {"value": jsonable(i.value), "id": i.id} for i in result.interrupts
        ]
    return values


def _drive(
    api: LangGraphApi,
    prepared: Prepared,
    tap: StreamTap | None,
    on_started: Callable[[str], None],
) -> ExecutionResult:
    """The service calls the run stands for (the table in the module docstring)."""
    services = api.services
    executions = services.executions
    spec, view = prepared.spec, prepared.view
    execution_id = view.execution_id
    if view.execution is None:
        return executions.run(
            spec.project.name,
            spec.input,
            spec.variants,
            spec.workflow_variant,
            spec.breakpoints,
            execution_id=execution_id,
            on_created=on_started,
            tap=tap,
        )
    checkpoint_id = prepared.checkpoint_id
    if checkpoint_id is not None and checkpoint_id != view.execution.checkpoint_id:
        services.time_travel.rollback(execution_id, checkpoint_id)
    command = spec.command
    if command is not None:
        return executions.resume(
            execution_id,
            resume=command.resume,
            updates=command.update if isinstance(command.update, dict) else None,
            on_started=on_started,
            tap=tap,
        )
    if spec.input is not None:
        return executions.send(execution_id, spec.input, on_started=on_started, tap=tap)
    current = services.inspection.get_execution(execution_id)
    if current.status is ExecutionStatus.COMPLETED:
        on_started(execution_id)
        if tap is not None and "values" in tap.modes:
            tap.on_chunk("values", current.state)
        return current
    return executions.resume(execution_id, on_started=on_started, tap=tap)


Ended = Callable[[ExecutionResult | None, BaseException | None], None]


def _work(
    api: LangGraphApi,
    prepared: Prepared,
    tap: StreamTap | None,
    ended: Ended | None,
    started: Callable[..., None],
) -> ExecutionResult:
    """The job: drive, store the run with how it ended, then tell ``ended`` (the stream).
    A run refused before it started is not stored."""
    run = prepared.run

    def on_started(_: str) -> None:
        prepared.active.began = True
        started()

    result: ExecutionResult | None = None
    failure: BaseException | None = None
    try:
        result = _drive(api, prepared, tap, on_started)
        status = run_status(result, prepared.active.cancelled)
        api.store.create_run(replace(run, status=status, error=result.error, updated_at=utcnow()))
        return result
    except BaseException as exc:
        failure = exc
        if prepared.active.began:
            error = f"{type(exc).__name__}: {exc}"
            api.store.create_run(replace(run, status="error", error=error, updated_at=utcnow()))
        raise
    finally:
        api.deactivate(run.run_id)
        if ended is not None:
            ended(result, failure)


async def launch(
    api: LangGraphApi,
    jobs: JobPool,
    prepared: Prepared,
    tap: StreamTap | None = None,
    ended: Ended | None = None,
) -> Future[ExecutionResult]:
    """Start the run on the pool; returns once it runs. A refusal before that (bad input,
    a busy thread, a full pool) is raised and leaves no run behind."""

    def work(started: Callable[..., None]) -> ExecutionResult:
        return _work(api, prepared, tap, ended, started)

    try:
        future = await jobs.start("execution", prepared.view.execution_id, work)
    except BaseException:
        api.deactivate(prepared.run.run_id)  # the pool refused it, or it was refused
        raise
    prepared.active.future = future
    return future


def submit(api: LangGraphApi, jobs: JobPool, prepared: Prepared) -> Future[ExecutionResult]:
    """``launch`` for a request that waits for the whole run: no wait for its start. A
    refusal before the start is the future's error with ``prepared.active.began``
    false."""
    try:
        future = jobs.submit(
            "execution",
            prepared.view.execution_id,
            lambda: _work(api, prepared, None, None, _no_answer),
        )
    except BaseException:
        api.deactivate(prepared.run.run_id)  # the pool refused it
        raise
    prepared.active.future = future
    return future


def _no_answer() -> None:
    """The start of a run whose request waits for its end: nothing to answer early."""
