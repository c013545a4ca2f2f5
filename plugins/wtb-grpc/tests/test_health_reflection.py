"""The standard health service and server reflection answer (so grpcurl needs no proto
file), over plaintext and over TLS."""

from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from wtb_core import WTBTestBench
from wtb_grpc import Client, GrpcSettings, ServerUnavailableError, ThreadedGrpcServer
from wtb_grpc import serve_in_thread as serve

from .conftest import TOKEN

SERVING = health_pb2.HealthCheckResponse.SERVING


def test_health_answers_serving(server: ThreadedGrpcServer) -> None:
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "wtb.v1.WorkflowTestBench"):
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert answer.status == SERVING


def test_health_needs_no_token(guarded: ThreadedGrpcServer) -> None:
    with grpc.insecure_channel(guarded.address) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert answer.status == SERVING


def test_reflection_describes_the_service(server: ThreadedGrpcServer) -> None:
    with grpc.insecure_channel(server.address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {"wtb.v1.WorkflowTestBench", "grpc.health.v1.Health"} <= services
        pool = DescriptorPool(database)
        service = pool.FindServiceByName("wtb.v1.WorkflowTestBench")
        assert {"Run", "Fork", "GetCheckpoints", "Watch"} <= set(service.methods_by_name)
        watch = service.methods_by_name["Watch"]
        assert watch.output_type.full_name == "wtb.v1.Event"
        assert "since_seq" in pool.FindMessageTypeByName("wtb.v1.WatchRequest").fields_by_name


def _certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_with_a_token(bench: WTBTestBench, tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    settings = GrpcSettings(port=0, token=TOKEN, tls_cert=cert, tls_key=key)
    served = serve(bench, settings)
    try:
        with Client(served.address, token=TOKEN, root_certificates=cert, timeout=10) as c:
            assert c.run("linear", {}).state["n"] == 3
        plaintext = Client(served.address, token=TOKEN, timeout=5)
        with plaintext, pytest.raises(ServerUnavailableError):
            plaintext.list_projects()
    finally:
        served.stop()
