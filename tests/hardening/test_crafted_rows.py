"""Reading stored data never runs code: a crafted checkpoint row is a StorageError."""

from __future__ import annotations

import sqlite3

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from tests import workflows
from tests.conftest import register
from tests.hardening.crafted import CALL, packed
from wtb_core import StorageError, WorkflowProject, WTBTestBench


def _craft_sqlite(bench, execution_id, marker) -> None:
    """Rewrite the head checkpoint's ``query`` value in checkpoints.sqlite."""
    saver = bench.stack.checkpoints.saver
    head = bench.get_execution(execution_id).checkpoint_id
    tup = saver.get_tuple(
        {
            "configurable": {
                "thread_id": f"wtb-{execution_id}",
                "checkpoint_ns": "",
                "checkpoint_id": head,
            }
        }
    )
    value = dict(tup.checkpoint)
    value["channel_values"] = {**value["channel_values"], "query": CALL}
    with sqlite3.connect(bench.stack.checkpoints.path) as conn:
        conn.execute(
            "UPDATE checkpoints SET checkpoint = ? WHERE checkpoint_id = ?",
            (packed(value, f"touch {marker}"), head),
        )


def test_a_crafted_sqlite_checkpoint_is_refused_not_run(data_dir, tmp_path):
    marker = tmp_path / "pwned"
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        done = bench.run(register(bench, workflows.linear), {"query": "q"})
        _craft_sqlite(bench, done.execution_id, marker)
        with pytest.raises(StorageError, match=r"names os\.system, which the checkpoint"):
            bench.get_state(done.execution_id)
        with pytest.raises(StorageError, match=r"os\.system"):
            bench.get_checkpoints(done.execution_id)
    assert not marker.exists()

    # The same row read by LangGraph's default serializer runs the command: the test's
    # row is a real attack, not a malformed one.
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(data_dir / "checkpoints.sqlite", check_same_thread=False)
    permissive = SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=True))
    permissive.get_tuple(
        {"configurable": {"thread_id": f"wtb-{done.execution_id}", "checkpoint_ns": ""}}
    )
    conn.close()
    assert marker.exists()


def test_wtb_state_reports_a_crafted_row_in_one_line(data_dir, tmp_path, monkeypatch):
    from tests.cli_helpers import cli

    marker = tmp_path / "pwned"
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        done = bench.run(register(bench, workflows.linear), {"query": "q"})
        _craft_sqlite(bench, done.execution_id, marker)
    result = cli(data_dir, monkeypatch)("state", done.execution_id)
    assert result.exit_code == 1
    assert "os.system" in result.output and "Traceback" not in result.output
    assert not marker.exists()


def test_types_of_registered_schemas_and_the_configured_allowlist_are_read(data_dir):
    from langchain_core.messages import AIMessage

    from tests.differential import graphs

    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(WorkflowProject("t", graphs.pydantic_command))
        done = bench.run("t", {"title": "disk full"})
        assert bench.get_state(done.execution_id)["notes"][-1] == "normal"
        bench.register_project(WorkflowProject("a", graphs.react_agent))
        agent = bench.run("a", {"messages": [("user", "q")]})
        assert isinstance(bench.get_state(agent.execution_id)["messages"][-1], AIMessage)
