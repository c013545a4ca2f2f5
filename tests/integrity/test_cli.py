"""``wtb integrity``: a table (or ``--json``), exit 0 when clean and 1 when problems are
left; ``--repair`` applies the safe repairs, deletions only with ``--yes``."""

from __future__ import annotations

import json

import pytest

from tests import workflows
from tests.cli_helpers import Invoke, cli, ok
from tests.conftest import register
from tests.integrity.test_checks import _dead_owner
from wtb_core import WTBTestBench


@pytest.fixture
def wtb(data_dir, monkeypatch) -> Invoke:
    return cli(data_dir, monkeypatch)


@pytest.fixture
def stuck(data_dir) -> str:
    """A paused execution edited to look like a run whose process died."""
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        paused = bench.run(register(bench, workflows.linear), {}, breakpoints=["generate"])
        bench.stack.metadata.update_execution(
            paused.execution_id, {"status": "running", "owner": _dead_owner()}
        )
    return paused.execution_id


def test_a_clean_bench_exits_0(wtb, data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.run(register(bench, workflows.linear), {})
    result = ok(wtb("integrity"))
    assert "clean (checked 1 executions, 1 threads" in result.stdout
    assert json.loads(ok(wtb("integrity", "--json")).stdout)["clean"] is True


def test_problems_exit_1_and_the_repair_fixes_them(wtb, stuck):
    found = wtb("integrity")
    assert found.exit_code == 1
    assert "stale_running" in found.stdout and stuck in found.stdout
    report = json.loads(wtb("integrity", "--json").stdout)
    assert report["clean"] is False
    assert [f["kind"] for f in report["findings"]] == ["stale_running"]
    repaired = wtb("integrity", "--repair", "--json")
    assert repaired.exit_code == 0, repaired.output
    [action] = json.loads(repaired.stdout)["repairs"]
    assert action["action"] == "marked failed" and action["applied"] is True
    assert ok(wtb("integrity")).stdout.strip().startswith("clean")
    assert json.loads(ok(wtb("resume", stuck, "--json")).stdout)["status"] == "completed"


def test_deletions_are_a_dry_run_without_yes(wtb, data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        left = bench.run(register(bench, workflows.linear), {})
        bench.stack.metadata.update_execution(left.execution_id, {"batch_id": "killed-batch"})
    dry = wtb("integrity", "--repair")
    assert dry.exit_code == 1
    assert (
        "would delete the execution" in dry.stdout and "unreferenced_cell_execution" in dry.stdout
    )
    done = ok(wtb("integrity", "--repair", "--yes"))
    assert "deleted the execution and its checkpoints" in done.stdout
    assert json.loads(ok(wtb("executions", "--json")).stdout) == []


def test_integrity_is_listed_in_the_help(wtb):
    assert "integrity" in ok(wtb("--help")).stdout
    help_text = ok(wtb("integrity", "--help")).stdout
    for option in ("--deep", "--repair", "--yes", "--json"):
        assert option in help_text
