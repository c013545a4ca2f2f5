"""Fixtures: a bench with the ``cas`` tracker in-process, a workspace, a file-writing workflow."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

import wtb_filetrack.plugin
from wtb_core import StackConfig, WorkflowProject, WTBTestBench, current_workspace
from wtb_core.config import FileTrackingConfig

TRACKING = FileTrackingConfig(enabled=True, tracked_paths=["out/"])


class DocState(TypedDict, total=False):
    step: int


def _out(name: str) -> Path:
    path = current_workspace() / "out" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def draft(state: DocState) -> DocState:
    _out("a.txt").write_text("draft")
    _out("keep.txt").write_text("keep")
    _out("gone.txt").write_text("deleted by revise")
    _out("debug.log").write_text("log1\n")
    return {"step": 1}


def revise(state: DocState) -> DocState:
    _out("a.txt").write_text("revised")
    _out("gone.txt").unlink()
    _out("new/b.txt").write_text("created by revise")
    with _out("debug.log").open("a") as log:
        log.write("log2\n")
    return {"step": 2}


def publish(state: DocState) -> DocState:
    _out("c.txt").write_text("published")
    return {"step": 3}


def documents() -> StateGraph:
    """draft → revise → publish, each writing files under ``<workspace>/out``."""
    g = StateGraph(DocState)
    for node in (draft, revise, publish):
        g.add_node(node.__name__, node)
    g.add_edge(START, "draft")
    g.add_edge("draft", "revise")
    g.add_edge("revise", "publish")
    g.add_edge("publish", END)
    return g


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for name in [v for v in os.environ if v.startswith("WTB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def workspace(tmp_path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.fixture
def bench(data_dir, workspace):
    config = StackConfig(data_dir=data_dir, file_tracker="cas")
    with WTBTestBench(
        config=config, plugins=[wtb_filetrack.plugin], load_entrypoints=False, workspace=workspace
    ) as b:
        yield b


@pytest.fixture
def make_docs(bench):
    """``make_docs(name, tracking)`` registers the ``documents`` workflow; returns the name."""

    def make(name: str, tracking: FileTrackingConfig = TRACKING) -> str:
        bench.register_project(WorkflowProject(name, documents, file_tracking=tracking))
        return name

    return make


@pytest.fixture
def docs(make_docs) -> str:
    """The ``documents`` workflow registered with file tracking of ``out/``."""
    return make_docs("docs")


@pytest.fixture
def checkpoint_after(bench):
    """``checkpoint_after(execution_id, node)``: the checkpoint holding ``node``'s writes."""

    def find(execution_id: str, node: str) -> str:
        [cp] = [c for c in bench.get_checkpoints(execution_id) if node in c.nodes]
        return cp.checkpoint_id

    return find


class Files:
    """Looking at a directory tree."""

    @staticmethod
    def tree(root: Path) -> dict[str, str]:
        """Every file under ``root`` (relative POSIX path → text)."""
        return {
            p.relative_to(root).as_posix(): p.read_text()
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }

    @staticmethod
    def stats(root: Path) -> dict[str, tuple[int, int]]:
        """(inode, mtime_ns) of every file under ``root``."""
        return {
            p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in root.rglob("*")
            if p.is_file()
        }

    @staticmethod
    def age(root: Path, seconds: float = 60) -> None:
        """Move every file's mtime ``seconds`` back (out of the racily-clean window)."""
        past = time.time() - seconds
        for p in root.rglob("*"):
            if p.is_file() and not p.is_symlink():
                os.utime(p, (past, past))


@pytest.fixture
def files() -> type[Files]:
    return Files
