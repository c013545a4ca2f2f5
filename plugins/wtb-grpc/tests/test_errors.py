"""Bad input over the wire: unknown ids, malformed JSON, refused states, missing tokens —
each the right status, and client-side the same ``WTBError`` class with its message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from wtb_core import (
    BatchNotFoundError,
    CheckpointNotFoundError,
    ConfigurationError,
    ExecutionNotFoundError,
    InvalidInputError,
    InvalidStateError,
    ProjectNotFoundError,
)
from wtb_grpc import AuthenticationError, Client, GrpcSettings, ThreadedGrpcServer
from wtb_grpc._gen import wtb_pb2 as pb
from wtb_grpc._gen import wtb_pb2_grpc
from wtb_grpc.errors import ERROR_TYPE

from .conftest import TOKEN


@pytest.fixture
def stub(server: ThreadedGrpcServer) -> Iterator[Any]:
    """The generated stub on a plain channel: requests a ``Client`` would never send."""
    with grpc.insecure_channel(server.address) as channel:
        yield wtb_pb2_grpc.WorkflowTestBenchStub(channel)


def refused(call: Any, request: Any, **kwargs: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=30, **kwargs)
    return caught.value


def error_type(error: grpc.RpcError) -> str | None:
    return dict(error.trailing_metadata() or ()).get(ERROR_TYPE)  # type: ignore[arg-type]


def test_unknown_ids_are_not_found(client: Client) -> None:
    with pytest.raises(ExecutionNotFoundError, match="'nope' does not exist"):
        client.get_execution("nope")
    with pytest.raises(ProjectNotFoundError, match="ghost"):
        client.run("ghost")
    with pytest.raises(BatchNotFoundError):
        client.get_batch("nope")
    r = client.run("linear", {})
    with pytest.raises(CheckpointNotFoundError):
        client.rollback(r.execution_id, "no-such-checkpoint")


def test_the_status_codes_on_the_wire(stub: Any, client: Client) -> None:
    missing = refused(stub.GetExecution, pb.ExecutionRef(execution_id="nope"))
    assert missing.code() is grpc.StatusCode.NOT_FOUND
    assert error_type(missing) == "ExecutionNotFoundError"
    done = client.run("linear", {})
    again = refused(stub.Stop, pb.ControlRequest(execution_id=done.execution_id))
    assert again.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error_type(again) == "InvalidStateError" and "already completed" in again.details()
    unknown_key = refused(stub.Run, pb.RunRequest(project="linear", initial_state_json='{"zz": 1}'))
    assert unknown_key.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error_type(unknown_key) == "InvalidInputError"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (pb.RunRequest(project="linear", initial_state_json="{bad"), "initial_state_json is not"),
        (pb.RunRequest(project="linear", initial_state_json="[1]"), "must be a JSON object"),
    ],
)
def test_malformed_json_state_is_an_invalid_argument(
    stub: Any, request_: Any, message: str
) -> None:
    error = refused(stub.Run, request_)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert message in error.details() and "send" in error.details()
    assert error_type(error) == "InvalidInputError"


def test_malformed_json_in_updates_and_cases(stub: Any, client: Client) -> None:
    r = client.run("human", {})
    bad = pb.UpdateStateRequest(execution_id=r.execution_id, values_json="nope")
    assert refused(stub.UpdateState, bad).code() is grpc.StatusCode.INVALID_ARGUMENT
    case = pb.CaseSpec(inputs_json="{")
    batch = pb.RunBatchRequest(project="linear", variant_matrix=[pb.VariantEntry()])
    batch.test_cases.append(case)
    error = refused(stub.RunBatchTest, batch)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "test_cases[0].inputs_json is not valid JSON" in error.details()


def test_refused_states_and_values_arrive_as_their_classes(client: Client) -> None:
    r = client.run("linear", {})
    with pytest.raises(InvalidStateError, match="already completed"):
        client.stop(r.execution_id)
    with pytest.raises(InvalidInputError, match="timeout 900"):
        client.pause(r.execution_id, timeout=900)
    with pytest.raises(InvalidInputError, match="evaluators travel by name"):
        client.run_batch_test("linear", [{}], [{}], evaluators=[lambda case, outcome: 1.0])
    with pytest.raises(ConfigurationError):
        client.run_batch_test("linear", [{}, {}], [{}])


def test_calls_without_the_token_are_unauthenticated(guarded: ThreadedGrpcServer) -> None:
    with Client(guarded.address) as anonymous:
        with pytest.raises(AuthenticationError, match="needs a token"):
            anonymous.list_projects()
        with pytest.raises(AuthenticationError):
            next(anonymous.watch(channels=["*"], since=0))
    wrong = Client(guarded.address, token="wrong-token-of-16-chars")
    with wrong, pytest.raises(AuthenticationError):
        wrong.list_projects()
    with Client(guarded.address, token=TOKEN) as allowed:
        assert "linear" in allowed.list_projects()
    with grpc.insecure_channel(guarded.address) as channel:
        stub = wtb_pb2_grpc.WorkflowTestBenchStub(channel)
        error = refused(stub.ListProjects, pb.ListProjectsRequest())
        assert error.code() is grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"host": "0.0.0.0"}, "exposes the bench beyond this machine"),
        ({"token": "short"}, "at least 16 characters"),
        ({"tls_cert": "cert.pem"}, "TLS needs both"),
    ],
)
def test_unsafe_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        GrpcSettings(**settings)
