"""Shared fixtures: every test gets its own data directory and loads no entry points."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from tests import workflows
from wtb_core import WorkflowProject, WTBTestBench

SAMPLE = Path(__file__).parent / "sample_plugin"  # a real plugin, never installed

pytest_plugins = ["pytester"]  # tests/pytest_plugin runs WTB's pytest plugin in pytester


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


@pytest.fixture
def sample_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Make the sample plugin discoverable through its entry point for this test only, as
    an installed one is: a ``*.dist-info`` written from its pyproject.toml into a temporary
    directory, that directory and the plugin's source first on ``sys.path``. Returns the
    ``PYTHONPATH`` that does the same for a subprocess."""
    project = tomllib.loads((SAMPLE / "pyproject.toml").read_text())["project"]
    site = tmp_path / "site-packages"
    dist_info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    points = "".join(f"{k} = {v}\n" for k, v in project["entry-points"]["wtb"].items())
    (dist_info / "entry_points.txt").write_text(f"[wtb]\n{points}")
    monkeypatch.syspath_prepend(str(SAMPLE))
    monkeypatch.syspath_prepend(str(site))
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    return {"PYTHONPATH": os.pathsep.join([str(site), str(SAMPLE), *inherited])}
