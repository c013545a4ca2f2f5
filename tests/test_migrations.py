"""A data directory made before the newest migration opens, upgrades and keeps its data."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from tests import workflows
from tests.conftest import register
from wtb_core import ExecutionStatus, WTBTestBench
from wtb_core.storage.database import MIGRATIONS


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def test_a_data_dir_at_0006_upgrades_to_the_server_tables_and_keeps_its_executions(data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        project = register(bench, workflows.linear)
        done = bench.run(project, {"query": "q"})
        audit_before = [(e.event_type, e.node) for e in bench.audit(done.execution_id)]
        url = bench.config.metadata_url()
    engine = create_engine(url)
    with engine.connect() as connection:
        config = _alembic(url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")  # the schema of every data dir made before 0007
        connection.commit()
    assert "api_threads" not in inspect(engine).get_table_names()

    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        register(bench, workflows.linear)
        again = bench.get_execution(done.execution_id)
        assert again.status is ExecutionStatus.COMPLETED and again.state == done.state
        assert [(e.event_type, e.node) for e in bench.audit(done.execution_id)] == audit_before
        assert bench.get_checkpoints(done.execution_id)
    tables = inspect(engine).get_table_names()
    assert {"api_threads", "api_runs"} <= set(tables)
    assert "batch_id" in {c["name"] for c in inspect(engine).get_columns("audit_events")}
    with engine.connect() as connection:
        head = ScriptDirectory.from_config(_alembic(url)).get_current_head()
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    engine.dispose()


def test_a_data_dir_at_0007_upgrades_to_the_outbox_and_keeps_a_running_claim(data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        project = register(bench, workflows.linear)
        paused = bench.run(project, {"query": "q"}, breakpoints=["generate"])
        url = bench.config.metadata_url()
    engine = create_engine(url)
    with engine.connect() as connection:
        config = _alembic(url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")  # the schema of every data dir made before 0008
        connection.execute(
            text("UPDATE executions SET status = 'running', owner = 'elsewhere:1' WHERE id = :id"),
            {"id": paused.execution_id},
        )
        connection.commit()
    assert "outbox" not in inspect(engine).get_table_names()

    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        register(bench, workflows.linear)
        row = bench.stack.metadata.get_execution(paused.execution_id)
        assert row.heartbeat_at is not None  # a running row's claim counts from its last write
        assert row.batch_id is None
        assert bench.get_execution(paused.execution_id).status is ExecutionStatus.RUNNING
        report = bench.check_integrity()
        assert report.clean and report.checked["executions"] == 1
    assert "outbox" in inspect(engine).get_table_names()
    columns = {c["name"] for c in inspect(engine).get_columns("executions")}
    assert {"heartbeat_at", "batch_id"} <= columns
    engine.dispose()
