"""``Client``: the bench's calls over gRPC, returning the SDK's own models.

    with Client("127.0.0.1:50051", token=None) as c:
        r = c.run(project="rag", initial_state={"query": "hi"})
        for event in c.watch(execution_id=r.execution_id, since=0): ...

A ``WTBError`` the server raised arrives as the same class with the same message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc

from wtb_core import (
    AuditEntry,
    Checkpoint,
    ExecutionResult,
    ExecutionStatus,
    InvalidInputError,
    TestCase,
)
from wtb_core.plugin import BatchTestResult, Comparison
from wtb_grpc._gen import wtb_pb2 as pb
from wtb_grpc._gen import wtb_pb2_grpc
from wtb_grpc.batches import batch_result, case_spec, comparison_model, entries
from wtb_grpc.errors import rebuilt
from wtb_grpc.jsonvalues import dumps
from wtb_grpc.messages import (
    StreamEvent,
    audit_model,
    checkpoint_model,
    execution_result,
    status_value,
    stream_event,
)
from wtb_grpc.settings import MAX_MESSAGE_BYTES

_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
)


def _json_or_none(value: Any) -> str | None:
    return None if value is None else dumps(value)


def _names(evaluators: Iterable[str | Callable[..., Any]]) -> list[str]:
    names = list(evaluators)
    for evaluator in names:
        if not isinstance(evaluator, str):
            raise InvalidInputError(
                f"evaluator {evaluator!r} is a callable: over gRPC evaluators travel by name; "
                "register it in a plugin on the server (wtb_register_evaluators) and name it"
            )
    return [str(name) for name in names]


class EventStream(Iterator[StreamEvent]):
    """The events of one ``Watch`` call, in ``seq`` order, until ``cancel()`` (or the end
    of a ``for`` loop over ``Client.watch``, or leaving its ``with`` block)."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._cancelled = False

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> StreamEvent:
        try:
            return stream_event(next(self._call))
        except grpc.RpcError as exc:
            if self._cancelled and exc.code() is grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise rebuilt(exc) from None

    def cancel(self) -> None:
        """End the stream (the server's handler ends with it)."""
        self._cancelled = True
        self._call.cancel()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        self.cancel()


class Client:
    """A connection to ``wtb grpc serve`` at ``target`` (``host:port``). ``token``: the
    server's; ``root_certificates`` (PEM bytes or a file): speak TLS, trusting them;
    ``timeout``: seconds any one unary call may take (default: no limit)."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        token: str | None = None,
        *,
        root_certificates: bytes | str | Path | None = None,
        timeout: float | None = None,
    ) -> None:
        if root_certificates is None:
            self._channel = grpc.insecure_channel(target, options=_OPTIONS)
        else:
            pem = (
                root_certificates
                if isinstance(root_certificates, bytes)
                else Path(root_certificates).read_bytes()
            )
            credentials = grpc.ssl_channel_credentials(root_certificates=pem)
            self._channel = grpc.secure_channel(target, credentials, options=_OPTIONS)
        self._stub = wtb_pb2_grpc.WorkflowTestBenchStub(self._channel)  # type: ignore[no-untyped-call]
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, name: str, request: Any) -> Any:
        try:
            return getattr(self._stub, name)(
                request, metadata=self._metadata, timeout=self._timeout
            )
        except grpc.RpcError as exc:
            raise rebuilt(exc) from None

    # -- executions --------------------------------------------------------------------

    def run(
        self,
        project: str,
        initial_state: Mapping[str, Any] | None = None,
        variant_config: Mapping[str, str] | None = None,
        workflow_variant: str | None = None,
        breakpoints: Iterable[str] | None = None,
        *,
        execution_id: str | None = None,
        detach: bool = False,
    ) -> ExecutionResult:
        """``bench.run``; with ``detach``, answered once the execution is stored and runs."""
        request = pb.RunRequest(
            project=project,
            initial_state_json=_json_or_none(initial_state),
            variant_config=dict(variant_config or {}),
            workflow_variant=workflow_variant,
            breakpoints=list(breakpoints or ()),
            execution_id=execution_id,
            detach=detach,
        )
        return execution_result(self._call("Run", request))

    def resume(
        self,
        execution_id: str,
        resume: Any = None,
        updates: Mapping[str, Any] | None = None,
        as_node: str | None = None,
        *,
        detach: bool = False,
    ) -> ExecutionResult:
        request = pb.ResumeRequest(
            execution_id=execution_id,
            resume_json=_json_or_none(resume),
            updates_json=_json_or_none(updates),
            as_node=as_node,
            detach=detach,
        )
        return execution_result(self._call("Resume", request))

    def pause(self, execution_id: str, timeout: float = 10.0) -> ExecutionResult:
        request = pb.ControlRequest(execution_id=execution_id, timeout=timeout)
        return execution_result(self._call("Pause", request))

    def stop(self, execution_id: str, timeout: float = 10.0) -> ExecutionResult:
        request = pb.ControlRequest(execution_id=execution_id, timeout=timeout)
        return execution_result(self._call("Stop", request))

    def rollback(self, execution_id: str, checkpoint_id: str) -> ExecutionResult:
        request = pb.RollbackRequest(execution_id=execution_id, checkpoint_id=checkpoint_id)
        return execution_result(self._call("Rollback", request))

    def fork(
        self,
        execution_id: str,
        checkpoint_id: str,
        updates: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> ExecutionResult:
        request = pb.ForkRequest(
            execution_id=execution_id,
            checkpoint_id=checkpoint_id,
            updates_json=_json_or_none(updates),
            as_node=as_node,
        )
        return execution_result(self._call("Fork", request))

    def update_state(
        self, execution_id: str, values: Mapping[str, Any], as_node: str | None = None
    ) -> ExecutionResult:
        request = pb.UpdateStateRequest(
            execution_id=execution_id, values_json=dumps(dict(values)), as_node=as_node
        )
        return execution_result(self._call("UpdateState", request))

    # -- reading -----------------------------------------------------------------------

    def get_execution(self, execution_id: str) -> ExecutionResult:
        return execution_result(
            self._call("GetExecution", pb.ExecutionRef(execution_id=execution_id))
        )

    def list_executions(
        self,
        project: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        variant_config: Mapping[str, str] | None = None,
    ) -> list[ExecutionResult]:
        request = pb.ListExecutionsRequest(
            project=project,
            status=status_value(status) if status is not None else 0,  # type: ignore[arg-type]
            limit=limit,
            variant_config=dict(variant_config or {}),
        )
        return [execution_result(m) for m in self._call("ListExecutions", request).executions]

    def get_state(self, execution_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        request = pb.GetStateRequest(execution_id=execution_id, checkpoint_id=checkpoint_id)
        values: dict[str, Any] = json.loads(self._call("GetState", request).values_json)
        return values

    def get_checkpoints(self, execution_id: str, all_branches: bool = False) -> list[Checkpoint]:
        request = pb.GetCheckpointsRequest(execution_id=execution_id, all_branches=all_branches)
        return [checkpoint_model(m) for m in self._call("GetCheckpoints", request).checkpoints]

    def audit(self, execution_id: str) -> list[AuditEntry]:
        request = pb.ExecutionRef(execution_id=execution_id)
        return [audit_model(m) for m in self._call("Audit", request).entries]

    def list_projects(self) -> list[str]:
        return list(self._call("ListProjects", pb.ListProjectsRequest()).names)

    # -- batch tests -------------------------------------------------------------------

    def run_batch_test(
        self,
        project: str,
        variant_matrix: Sequence[Mapping[str, str]],
        test_cases: Sequence[TestCase | Mapping[str, Any]],
        evaluators: Iterable[str | Callable[..., Any]] | None = None,
        parallelism: int | None = None,
        runner: str | None = None,
        repetitions: int = 1,
        *,
        detach: bool = False,
    ) -> BatchTestResult:
        """``bench.run_batch_test`` with evaluators by name; with ``detach``, answered
        once the batch is stored."""
        request = pb.RunBatchRequest(
            project=project,
            variant_matrix=entries(variant_matrix),
            test_cases=[case_spec(case) for case in test_cases],
            evaluators=_names(evaluators or ()),
            parallelism=parallelism,
            runner=runner,
            repetitions=repetitions,
            detach=detach,
        )
        return batch_result(self._call("RunBatchTest", request))

    def get_batch(self, batch_id: str) -> BatchTestResult:
        return batch_result(self._call("GetBatch", pb.BatchRef(batch_id=batch_id)))

    def comparison(
        self, batch_id: str, baseline: str | Mapping[str, str] | None = None
    ) -> Comparison:
        """``bench.get_batch(batch_id).comparison(baseline)``, computed by the server."""
        request = pb.ComparisonRequest(batch_id=batch_id)
        if isinstance(baseline, str):
            request.baseline_label = baseline
        elif baseline is not None:
            request.baseline_entry.variants.update(dict(baseline))
        return comparison_model(self._call("GetComparison", request))

    def cancel_batch(self, batch_id: str) -> BatchTestResult:
        return batch_result(self._call("CancelBatch", pb.BatchRef(batch_id=batch_id)))

    def resume_batch(
        self,
        batch_id: str,
        evaluators: Iterable[str | Callable[..., Any]] | None = None,
        retry_failed: bool = False,
        runner: str | None = None,
        parallelism: int | None = None,
        *,
        detach: bool = False,
    ) -> BatchTestResult:
        request = pb.ResumeBatchRequest(
            batch_id=batch_id,
            evaluators=None if evaluators is None else pb.EvaluatorNames(names=_names(evaluators)),
            retry_failed=retry_failed,
            runner=runner,
            parallelism=parallelism,
            detach=detach,
        )
        return batch_result(self._call("ResumeBatch", request))

    # -- events ------------------------------------------------------------------------

    def watch(
        self,
        execution_id: str | None = None,
        batch_id: str | None = None,
        project: str | None = None,
        *,
        channels: Iterable[str] = (),
        since: int | None = None,
    ) -> EventStream:
        """The stored events matching any of the channels (``execution_id`` …, or
        ``channels`` such as ``"*"``) after ``since`` first, then live ones; ``since=None``:
        live events from now on. Runs until cancelled: ``with c.watch(...) as events:``
        cancels on leaving the block (a ``for`` loop left with ``break`` cancels once the
        stream is garbage collected)."""
        named = {"execution": execution_id, "batch": batch_id, "project": project}
        wanted = [f"{kind}:{value}" for kind, value in named.items() if value is not None]
        wanted += channels
        request = pb.WatchRequest(channels=wanted, since_seq=since)
        return EventStream(self._stub.Watch(request, metadata=self._metadata))
