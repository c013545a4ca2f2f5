"""Fixtures: one environment root and one uv cache for the whole session (environments
built by one test are reused warm by the next), a bench with the ``uv`` provider per test,
and small graphs over the node functions of ``sample_nodes/uvenv_nodes.py``.

The first build of each environment downloads its packages (a fresh clone has a cold
cache); every later build and every other test reuses them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

import wtb_uvenv.plugin
from wtb_core import StackConfig, WTBTestBench

SAMPLE_NODES = Path(__file__).parent / "sample_nodes"
sys.path.insert(0, str(SAMPLE_NODES))  # the project's source directory, as a user's would be

import uvenv_nodes  # noqa: E402

TOMLI_NEW, TOMLI_OLD = "2.0.1", "1.2.3"


class State(TypedDict, total=False):
    seen: dict[str, Any]
    module: str
    executable: str
    cwd: str
    flag: Any
    pid: int
    steps: list[str]
    query: str
    pid_file: str
    sleep: float
    result: Any
    handle: Any
    messages: list[Any]
    kind: str


def chain(*nodes: tuple[str, Callable[..., Any]]) -> Callable[[], StateGraph[Any]]:
    """A graph factory: the named nodes one after the other."""

    def factory() -> StateGraph[Any]:
        graph = StateGraph(State)
        previous = START
        for name, func in nodes:
            graph.add_node(name, func)
            graph.add_edge(previous, name)
            previous = name
        graph.add_edge(previous, END)
        return graph

    return factory


@pytest.fixture(scope="session")
def uv_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The session's environment root and uv cache (one file system: hard links)."""
    base = tmp_path_factory.mktemp("uvenv")
    dirs = {"WTB_UVENV_ENV_ROOT": base / "envs", "WTB_UVENV_CACHE_DIR": base / "uv-cache"}
    saved = {name: os.environ.get(name) for name in dirs}
    os.environ.update({name: str(path) for name, path in dirs.items()})
    yield dirs
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, uv_dirs: dict[str, Path]) -> None:
    for name in [v for v in os.environ if v.startswith("WTB_") and v not in uv_dirs]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.fixture
def make_bench(tmp_path: Path, workspace: Path) -> Iterator[Callable[..., WTBTestBench]]:
    """``make_bench(plugins=(), **stack_fields)``: a bench with the ``uv`` provider, closed
    after the test."""
    benches: list[WTBTestBench] = []

    def make(plugins: tuple[object, ...] = (), **fields: Any) -> WTBTestBench:
        fields.setdefault("data_dir", tmp_path / "data")
        config = StackConfig(environment_provider="uv", **fields)
        bench = WTBTestBench(
            config=config,
            plugins=[wtb_uvenv.plugin, *plugins],
            load_entrypoints=False,
            workspace=workspace,
        )
        benches.append(bench)
        return bench

    yield make
    for bench in benches:
        bench.close()


@pytest.fixture
def bench(make_bench: Callable[..., WTBTestBench]) -> WTBTestBench:
    return make_bench()


def provider_of(bench: WTBTestBench) -> Any:
    """The bench's ``uv`` provider."""
    return bench.stack.environment


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


__all__ = ["TOMLI_NEW", "TOMLI_OLD", "State", "alive", "chain", "provider_of", "uvenv_nodes"]
