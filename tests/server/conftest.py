"""Fixtures of the server tests: a bench with the test workflows, served by real uvicorn."""

from __future__ import annotations

import httpx
import pytest

from tests import workflows
from tests.conftest import register
from wtb_core.server.threaded import ThreadedServer as LiveServer
from wtb_core.server.threaded import serve_in_thread as serve

PROJECTS = {
    "linear": workflows.linear,
    "human": workflows.human,
    "chain10": workflows.chain10,
    "slow": workflows.slow,
    "failing": workflows.failing,
}


@pytest.fixture
def served_bench(bench):
    for name, factory in PROJECTS.items():
        register(bench, factory, name)
    return bench


@pytest.fixture
def live(served_bench) -> LiveServer:
    server = serve(served_bench)
    yield server
    server.stop()


@pytest.fixture
def http(live) -> httpx.Client:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client
