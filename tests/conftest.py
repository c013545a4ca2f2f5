"""Shared fixtures: every test gets its own data directory and loads no entry points."""

from __future__ import annotations

import os

import pytest

from tests import workflows
from wtb_core import WorkflowProject, WTBTestBench


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for name in [v for v in os.environ if v.startswith("WTB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)  # no stray wtb.toml; a default .wtb/ lands in tmp
    workflows.CALLS.clear()
    workflows.FAIL["flaky"] = True
    workflows.GATE.clear()
    workflows.STARTED.clear()
    yield
    workflows.GATE.set()


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def bench(data_dir):
    """A bench on the embedded default (SQLite files in a fresh data dir)."""
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as b:
        yield b


def register(bench: WTBTestBench, factory, name: str | None = None, **kwargs) -> str:
    """Register ``factory`` as a project (named after it) and return the name."""
    project = WorkflowProject(name or factory.__name__, factory, **kwargs)
    bench.register_project(project)
    return project.name
