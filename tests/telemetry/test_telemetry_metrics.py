"""Prometheus metrics read back from a real registry after real runs and batches."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from tests import workflows
from tests.conftest import register
from tests.telemetry import graphs
from wtb_core import WTBTestBench
from wtb_core.config import StackConfig
from wtb_core.domain.models import ExecutionStatus
from wtb_core.telemetry import exposition

ROOT = Path(__file__).resolve().parents[2]
NAMES = (
    "wtb_executions_total",
    "wtb_execution_duration_seconds",
    "wtb_node_duration_seconds",
    "wtb_node_failures_total",
    "wtb_checkpoints_total",
    "wtb_batch_cells_total",
    "wtb_batch_cells_in_flight",
    "wtb_file_snapshot_seconds",
    "wtb_checkpoint_write_seconds",
)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


@pytest.fixture(autouse=True)
def _fresh():
    graphs.FLAKY["fail"] = True
    graphs.BARRIER.reset()


def test_a_run_counts_its_execution_nodes_checkpoints_and_failures(bench, registry):
    project = register(bench, graphs.shapes, "shapes")
    result = bench.run(project, {"count": 0})
    assert result.status is ExecutionStatus.PAUSED
    assert value(registry, "wtb_executions_total", project="shapes", status="paused") == 1
    for status in ("completed", "failed", "cancelled"):  # created at zero for rate()
        assert (
            registry.get_sample_value(
                "wtb_executions_total", {"project": "shapes", "status": status}
            )
            == 0
        )
    labels = {"project": "shapes", "node": "work", "variant": "default"}
    assert value(registry, "wtb_node_duration_seconds_count", **labels) == 2  # the fan-out
    flaky = {"project": "shapes", "node": "flaky", "variant": "default"}
    assert value(registry, "wtb_node_failures_total", **flaky) == 0  # its retry succeeded
    assert registry.get_sample_value("wtb_node_failures_total", labels) == 0
    stored = len(bench.get_checkpoints(result.execution_id))
    assert value(registry, "wtb_checkpoints_total", project="shapes") == stored
    assert value(registry, "wtb_execution_duration_seconds_count", project="shapes") == 1
    done = bench.resume(result.execution_id, resume="yes")
    assert done.status is ExecutionStatus.COMPLETED
    assert value(registry, "wtb_executions_total", project="shapes", status="completed") == 1
    assert value(registry, "wtb_execution_duration_seconds_count", project="shapes") == 2
    broken = register(bench, graphs.broken, "broken")
    bench.run(broken, {})
    failed = {"project": "broken", "node": "explode", "variant": "default"}
    assert value(registry, "wtb_node_failures_total", **failed) == 1
    assert value(registry, "wtb_executions_total", project="broken", status="failed") == 1


@pytest.mark.parametrize("runner", ["threadpool", "sequential"])
def test_batch_metrics_equal_the_batch_rows(bench, registry, runner):
    project = register(bench, workflows.failing, "failing")
    workflows.FAIL["flaky"] = True
    batch = bench.run_batch_test(
        project, [{}], [{"query": "a"}, {"query": "b"}], runner=runner, repetitions=2
    )
    rows = Counter((r.combination_label, r.status.value) for r in batch.results)
    assert sum(rows.values()) == 4
    for (combination, status), count in rows.items():
        labels = {"project": "failing", "combination": combination, "status": status}
        assert value(registry, "wtb_batch_cells_total", **labels) == count
    (combination,) = {r.combination_label for r in batch.results}
    ok = {"project": "failing", "combination": combination, "status": "completed"}
    assert registry.get_sample_value("wtb_batch_cells_total", ok) == 0  # pre-created
    assert value(registry, "wtb_executions_total", project="failing", status="failed") == 4
    assert value(registry, "wtb_batch_cells_in_flight") == 0


@pytest.mark.parametrize("store", ["sqlite", "memory"])
def test_the_stores_writes_are_timed_one_put_per_checkpoint(registry, data_dir, store):
    config = StackConfig(data_dir=data_dir, checkpoint_store=store)
    with WTBTestBench(config=config, load_entrypoints=False) as bench:
        puts = {"store": store, "operation": "put"}
        writes = {"store": store, "operation": "put_writes"}
        assert registry.get_sample_value("wtb_checkpoint_write_seconds_count", puts) == 0
        project = register(bench, workflows.linear, "linear")
        result = bench.run(project, {"query": "q"})
        stored = len(bench.get_checkpoints(result.execution_id))
        assert value(registry, "wtb_checkpoint_write_seconds_count", **puts) == stored
        assert value(registry, "wtb_checkpoint_write_seconds_count", **writes) >= stored - 1
        assert value(registry, "wtb_checkpoint_write_seconds_sum", **puts) > 0


def test_metrics_off_counts_nothing(data_dir, registry):
    config = StackConfig(data_dir=data_dir, metrics=False)
    with WTBTestBench(config=config, load_entrypoints=False) as bench:
        project = register(bench, graphs.broken, "broken")
        bench.run(project, {})
    assert value(registry, "wtb_executions_total", project="broken", status="failed") == 0
    assert (
        value(registry, "wtb_checkpoint_write_seconds_count", store="sqlite", operation="put") == 0
    )


def test_get_metrics_serves_the_prometheus_page(bench, registry):
    from fastapi.testclient import TestClient

    from wtb_core.server.app import create_app

    project = register(bench, graphs.broken, "broken")
    bench.run(project, {})
    with TestClient(create_app(bench), base_url="http://127.0.0.1") as client:
        page = client.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    families = {f.name for f in text_string_to_metric_families(page.text)}
    assert {"wtb_executions", "wtb_node_failures", "wtb_batch_cells"} <= families
    assert 'wtb_executions_total{project="broken",status="failed"} 1.0' in page.text


_CHILD = """
import sys
from tests.telemetry import graphs
from tests.conftest import register
from wtb_core import WTBTestBench
with WTBTestBench(data_dir=sys.argv[1], load_entrypoints=False) as bench:
    bench.run(register(bench, graphs.broken, "broken"), {})
"""


def test_multiprocess_mode_sums_every_process_behind_one_page(tmp_path, monkeypatch):
    directory = tmp_path / "prom"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "WTB_LOAD_PLUGINS": ""}
    for n in range(2):
        subprocess.run(
            [sys.executable, "-c", _CHILD, str(tmp_path / f"data{n}")],
            cwd=ROOT, env=env, check=True, timeout=120,
        )  # fmt: skip
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    page, _ = exposition.render()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page.decode())
        for s in family.samples
    }
    key = ("wtb_executions_total", (("project", "broken"), ("status", "failed")))
    assert samples[key] == 2


def test_multiprocess_dir_that_is_missing_is_a_configuration_error(tmp_path, monkeypatch):
    from wtb_core.errors import ConfigurationError

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "nope"))
    with pytest.raises(ConfigurationError, match="is not a directory"):
        exposition.render()


def test_wtb_metrics_serve_refuses_without_multiprocess_mode(monkeypatch):
    from typer.testing import CliRunner

    from wtb_core.cli.app import build_app

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    result = CliRunner().invoke(build_app(None), ["metrics", "serve", "--port", "9999"])
    assert result.exit_code != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in result.output


def test_the_grafana_dashboard_queries_only_metrics_that_exist(bench, registry):
    project = register(bench, workflows.failing, "failing")
    bench.run_batch_test(project, [{}], [{"query": "a"}], runner="sequential")
    families = list(text_string_to_metric_families(exposition.render()[0].decode()))
    exposed = {s.name for f in families for s in f.samples} | {f.name for f in families}
    assert set(NAMES) <= exposed
    dashboard = json.loads((ROOT / "docs/grafana/wtb.json").read_text())
    queries = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    used = {name for expr in queries for name in re.findall(r"\bwtb_[a-z_]+\b", expr)}
    assert len(queries) >= 8 and used
    assert used <= exposed & (set(NAMES) | {f"{n}_bucket" for n in NAMES}), used - exposed
