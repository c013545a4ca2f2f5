"""The ``wtb`` command line, driven through typer's CliRunner (and once as the real script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.cli_helpers import Invoke, as_json, assert_error, cli, ok
from wtb_core import hookimpl
from wtb_core.cli.app import build_app
from wtb_core.registry import PluginRegistry

RAG = "wtb_core.demo.rag:create_rag_graph"
LOOPING = json.dumps({"question": "How do I undo a run?"})  # grade loops back once
DIRECT = json.dumps({"question": "What is LangGraph?"})  # enough documents at once


@pytest.fixture
def wtb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """``wtb(*args)``: run the CLI on this test's own data directory."""
    return cli(tmp_path / "wtb-data", monkeypatch)


def run_looping(wtb: Invoke) -> dict[str, Any]:
    return as_json(wtb, "run", RAG, "--input", LOOPING)


def checkpoint_where(wtb: Invoke, execution_id: str, **match: list[str]) -> list[dict]:
    cps = as_json(wtb, "checkpoints", execution_id)
    return [c for c in cps if all(c[k] == v for k, v in match.items())]


# -- run ---------------------------------------------------------------------------------------


def test_run_prints_a_completed_execution(wtb: Invoke) -> None:
    out = ok(wtb("run", RAG, "--input", DIRECT)).stdout
    assert "completed" in out
    assert "create_rag_graph" in out  # the project is named after the function
    assert "LangGraph builds stateful agent workflows" in out


def test_run_json_has_the_execution_result_fields(wtb: Invoke) -> None:
    result = as_json(wtb, "run", RAG, "--input", DIRECT, "--name", "rag")
    assert result["status"] == "completed"
    assert result["project"] == "rag"
    assert result["state"]["answer"].endswith("[d1, d2]")
    assert len(result["checkpoint_id"]) == 36  # full ids in JSON
    assert result["next"] == [] and result["error"] is None
    assert {"execution_id", "duration_ms", "created_at", "interrupts"} <= set(result)


def test_run_with_a_breakpoint_pauses_before_that_node(wtb: Invoke) -> None:
    result = as_json(wtb, "run", RAG, "-i", DIRECT, "--breakpoint", "generate")
    assert result["status"] == "paused"
    assert result["next"] == ["generate"]
    assert "answer" not in result["state"]


def test_run_with_a_variant_uses_its_config(wtb: Invoke) -> None:
    result = as_json(wtb, "run", RAG, "-i", DIRECT, "--variant", "retrieve=default")
    assert result["variant_config"] == {"retrieve": "default"}
    assert_error(wtb("run", RAG, "--variant", "retrieve=bm25"), "no variant 'bm25'")
    assert_error(wtb("run", RAG, "--variant", "retrieve"), "NODE=NAME")


def test_bad_input_json_is_one_error_line(wtb: Invoke) -> None:
    assert_error(wtb("run", RAG, "--input", "{question: hi}"), "--input is not valid JSON")
    assert_error(wtb("run", RAG, "--input", "[1, 2]"), "--input must be a JSON object")


def test_unknown_project_reference_is_one_error_line(wtb: Invoke) -> None:
    assert_error(wtb("run", "wtb_core.demo.rag:nope"), "has no attribute 'nope'")
    assert_error(wtb("run", "no_such_module_xyz:f"), "cannot import module")


# -- inspecting --------------------------------------------------------------------------------


def test_checkpoints_lists_the_lineage_oldest_first(wtb: Invoke) -> None:
    run = run_looping(wtb)
    cps = as_json(wtb, "checkpoints", run["execution_id"])
    assert [c["step"] for c in cps] == list(range(-1, 8))
    assert [c["nodes"] for c in cps].count(["retrieve"]) == 2  # the loop ran twice
    assert cps[-1]["checkpoint_id"] == run["checkpoint_id"]
    table = ok(wtb("checkpoints", run["execution_id"])).stdout
    assert "rewrite_query" in table and "generate" in table
    assert "→" in table  # the head is marked


def test_state_at_the_head_and_at_a_checkpoint_prefix(wtb: Invoke) -> None:
    run = run_looping(wtb)
    eid = run["execution_id"]
    assert as_json(wtb, "state", eid) == run["state"]
    first_retrieve = checkpoint_where(wtb, eid, nodes=["retrieve"])[0]["checkpoint_id"]
    state = as_json(wtb, "state", eid, "--checkpoint", first_retrieve[:20])
    assert state["documents"] == ["d4"] and state["attempts"] == 1
    assert "question" in ok(wtb("state", eid)).stdout


def test_rollback_moves_the_head_and_state_shows_the_old_values(wtb: Invoke) -> None:
    run = run_looping(wtb)
    eid = run["execution_id"]
    target = checkpoint_where(wtb, eid, nodes=["retrieve"])[0]["checkpoint_id"]
    rolled = as_json(wtb, "rollback", eid, target)
    assert rolled["status"] == "paused"
    assert rolled["checkpoint_id"] == target
    assert rolled["next"] == ["grade"]
    state = as_json(wtb, "state", eid)
    assert state["documents"] == ["d4"] and "answer" not in state
    assert "paused" in ok(wtb("executions")).stdout


def test_resume_after_rollback_reaches_the_same_answer(wtb: Invoke) -> None:
    run = run_looping(wtb)
    eid = run["execution_id"]
    target = checkpoint_where(wtb, eid, nodes=["retrieve"])[0]["checkpoint_id"]
    ok(wtb("rollback", eid, target))
    resumed = as_json(wtb, "resume", eid)
    assert resumed["status"] == "completed"
    assert resumed["state"]["answer"] == run["state"]["answer"]
    every = as_json(wtb, "checkpoints", eid, "--all-branches")
    assert len(every) > len(as_json(wtb, "checkpoints", eid))  # the old branch stays


def test_fork_with_set_then_resume_gives_a_new_answer(wtb: Invoke) -> None:
    run = run_looping(wtb)
    eid = run["execution_id"]
    before_generate = checkpoint_where(wtb, eid, next=["generate"])[-1]["checkpoint_id"]
    fork = as_json(wtb, "fork", eid, before_generate, "--set", '{"relevant": ["d6"]}')
    assert fork["status"] == "paused"
    assert fork["parent_execution_id"] == eid
    assert fork["execution_id"] != eid
    assert fork["state"]["relevant"] == ["d6"]
    done = as_json(wtb, "resume", fork["execution_id"])
    assert done["status"] == "completed"
    assert done["state"]["answer"].endswith("[d6]")
    assert as_json(wtb, "state", eid)["answer"] == run["state"]["answer"]  # source unchanged


def test_resume_with_set_edits_the_state_first(wtb: Invoke) -> None:
    paused = as_json(wtb, "run", RAG, "-i", DIRECT, "--breakpoint", "generate")
    edit = '{"relevant": ["d8", "d3"]}'
    done = as_json(wtb, "resume", paused["execution_id"], "--set", edit)
    assert done["status"] == "completed"
    assert done["state"]["answer"].endswith("[d8, d3]")


def test_resume_rejects_bad_json_and_an_unwanted_answer(wtb: Invoke) -> None:
    paused = as_json(wtb, "run", RAG, "-i", DIRECT, "--breakpoint", "generate")
    eid = paused["execution_id"]
    assert_error(wtb("resume", eid, "--set", "{oops"), "--set is not valid JSON")
    assert_error(wtb("resume", eid, "--answer", "nope"), "--answer is not valid JSON")
    assert_error(wtb("resume", eid, "--answer", '"yes"'), "not waiting at an interrupt()")


def test_stop_cancels_a_paused_execution(wtb: Invoke) -> None:
    paused = as_json(wtb, "run", RAG, "-i", DIRECT, "--breakpoint", "generate")
    eid = paused["execution_id"]
    assert as_json(wtb, "stop", eid)["status"] == "cancelled"
    assert_error(wtb("resume", eid), "was stopped")


def test_audit_lists_the_events_oldest_first(wtb: Invoke) -> None:
    eid = run_looping(wtb)["execution_id"]
    events = [e["event_type"] for e in as_json(wtb, "audit", eid)]
    assert events[0] == "execution_started"
    assert events[-1] == "execution_completed"
    assert "execution_completed" in ok(wtb("audit", eid)).stdout


def test_executions_filters_by_status(wtb: Invoke) -> None:
    done = as_json(wtb, "run", RAG, "-i", DIRECT)
    paused = as_json(wtb, "run", RAG, "-i", DIRECT, "--breakpoint", "grade")
    completed = as_json(wtb, "executions", "--status", "completed")
    assert [r["execution_id"] for r in completed] == [done["execution_id"]]
    everything = as_json(wtb, "executions")
    assert [r["execution_id"] for r in everything] == [paused["execution_id"], done["execution_id"]]
    assert len(as_json(wtb, "executions", "--limit", "1")) == 1
    assert done["execution_id"] in ok(wtb("executions", "--status", "completed")).stdout
    assert_error(wtb("executions", "--status", "finished"), "unknown status")


# -- errors ------------------------------------------------------------------------------------


def test_unknown_execution_is_one_error_line(wtb: Invoke) -> None:
    for command in ("checkpoints", "state", "audit", "resume", "stop"):
        assert_error(wtb(command, "nope"), "'nope' does not exist")


def test_unknown_or_ambiguous_checkpoint_prefix_is_an_error(wtb: Invoke) -> None:
    eid = run_looping(wtb)["execution_id"]
    ids = [c["checkpoint_id"] for c in as_json(wtb, "checkpoints", eid)]
    assert_error(wtb("rollback", eid, "zzzz"), "has no checkpoint 'zzzz'")
    shared = os.path.commonprefix(ids)  # noqa: RUF071 - a string prefix, not a path
    assert_error(wtb("fork", eid, shared), "matches 9 checkpoints")


# -- plugins, demo, the console script ---------------------------------------------------------


def test_plugins_all_json_lists_the_builtins(wtb: Invoke) -> None:
    infos = {p["name"]: p for p in as_json(wtb, "plugins", "--all")}
    stores = infos["wtb_core.builtins.checkpoint_stores"]
    assert stores["origin"] == "builtin"
    assert stores["registers"]["checkpoint_store"] == ["memory", "sqlite"]
    assert stores["hooks"] == ["wtb_register_checkpoint_stores"]
    assert "wtb_core.builtins.checkpoint_stores" in ok(wtb("plugins", "--all")).stdout
    assert all(p["origin"] != "builtin" for p in as_json(wtb, "plugins"))


class _CommandPlugin:
    @hookimpl
    def wtb_register_commands(self, cli: Any) -> None:
        @cli.command("hello")
        def hello() -> None:
            print("hello from a plugin")


def test_plugins_add_commands_through_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    registry = PluginRegistry([_CommandPlugin()], load_entrypoints=False)
    result = ok(CliRunner().invoke(build_app(registry), ["hello"]))
    assert result.stdout == "hello from a plugin\n"


def test_demo_runs_on_a_fresh_and_on_a_reused_data_dir(wtb: Invoke, tmp_path: Path) -> None:
    out = ok(wtb("demo", "--data-dir", str(tmp_path / "demo"))).stdout
    assert "rollback" in out and "fork" in out
    assert "same answer" in out
    assert f"wtb --data-dir {tmp_path / 'demo'} serve" in out.replace("\n", "")
    summary = as_json(wtb, "demo", "--data-dir", str(tmp_path / "demo"))
    assert summary["same_answer"] is True
    assert summary["replayed_answer"] == summary["answer"]
    assert summary["fork_answer"] != summary["answer"]
    runs_per_demo = 2 + 12  # the run and its fork, then a 2-combination x 6-case batch
    assert (
        len(as_json(wtb, "--data-dir", str(tmp_path / "demo"), "executions")) == 2 * runs_per_demo
    )


def test_the_wtb_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("wtb")
    env = {**os.environ, "WTB_LOAD_PLUGINS": ""}
    done = subprocess.run(
        [str(script), "--json", "plugins", "--all"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = [p["name"] for p in json.loads(done.stdout)]
    assert "wtb_core.builtins.checkpoint_stores" in names
