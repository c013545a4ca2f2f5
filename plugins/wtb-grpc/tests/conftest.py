"""Fixtures: a SQLite bench with the kernel's test workflows, served by a real gRPC server
on a free loopback port, and a ``Client`` talking to it over the socket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import workflows
from wtb_core import WorkflowProject, WTBTestBench
from wtb_grpc import Client, GrpcSettings, ThreadedGrpcServer, serve_in_thread

PROJECTS = {
    "linear": workflows.linear,
    "human": workflows.human,
    "chain10": workflows.chain10,
    "failing": workflows.failing,
    "dozing": workflows.dozing,
}
TOKEN = "s3cret-token-of-16+chars"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in [v for v in os.environ if v.startswith("WTB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)
    workflows.CALLS.clear()
    workflows.FAIL["flaky"] = True
    workflows.GATE.clear()
    yield
    workflows.GATE.set()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def open_bench(data_dir: Path) -> WTBTestBench:
    bench = WTBTestBench(data_dir=data_dir, load_entrypoints=False)
    for name, factory in PROJECTS.items():
        project = WorkflowProject(name, factory)
        if name == "linear":
            project.register_variant("generate", "echo", workflows.echo_answer)
        bench.register_project(project)
    return bench


@pytest.fixture
def bench(data_dir: Path) -> Iterator[WTBTestBench]:
    with open_bench(data_dir) as b:
        yield b


@pytest.fixture
def server(bench: WTBTestBench) -> Iterator[ThreadedGrpcServer]:
    served = serve_in_thread(bench)
    yield served
    served.stop()


@pytest.fixture
def client(server: ThreadedGrpcServer) -> Iterator[Client]:
    with Client(server.address, timeout=60) as c:
        yield c


@pytest.fixture
def guarded(bench: WTBTestBench) -> Iterator[ThreadedGrpcServer]:
    """A server that wants ``TOKEN``."""
    served = serve_in_thread(bench, GrpcSettings(port=0, token=TOKEN))
    yield served
    served.stop()
