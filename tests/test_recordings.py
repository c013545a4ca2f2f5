"""Recorded node outputs (record / replay): what a replay serves, what it refuses, where
recordings live (surviving restarts, exported to files) and how replays show."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from typing import TypedDict

import pytest
from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph

from tests.cli_helpers import as_json, assert_error, cli, ok
from wtb_core import (
    ConfigurationError,
    ExecutionStatus,
    ProjectError,
    RecordingNotFoundError,
    WorkflowProject,
    WTBTestBench,
    hookimpl,
)
from wtb_core.engine.recorded import input_digest

CALLS: Counter[str] = Counter()


class RAG(TypedDict, total=False):
    query: str
    documents: list[str]
    answer: str


def retriever(state: RAG) -> RAG:
    """An external call: a different answer every time it is called."""
    CALLS["retriever"] += 1
    return {"documents": [state["query"], uuid.uuid4().hex]}


def bm25(state: RAG) -> RAG:
    CALLS["bm25"] += 1
    return {"documents": [state["query"], "bm25", uuid.uuid4().hex]}


def generator(state: RAG) -> RAG:
    CALLS["generator"] += 1
    return {"answer": " | ".join(state["documents"])}


async def async_retriever(state: RAG) -> RAG:
    CALLS["async_retriever"] += 1
    return {"documents": [state["query"], uuid.uuid4().hex]}


def make_graph(first=retriever) -> StateGraph:
    g = StateGraph(RAG)
    g.add_node("retriever", first)
    g.add_node("generator", generator)
    g.add_edge(START, "retriever")
    g.add_edge("retriever", "generator")
    g.add_edge("generator", END)
    return g


CASES = [{"query": "a"}, {"query": "b"}]


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()


@pytest.fixture
def rag(bench: WTBTestBench) -> str:
    project = WorkflowProject("rag", make_graph, recorded_nodes=["retriever"])
    project.register_variant(node="retriever", name="bm25", implementation=bm25)
    bench.register_project(project)
    return project.name


def states(batch) -> dict[tuple[str, str], dict]:
    return {(r.combination_label, r.case): r.state for r in batch.results}


def test_record_then_replay_gives_identical_states_without_calling_the_node(bench, rag):
    recorded = bench.run_batch_test(rag, [{}, {"retriever": "bm25"}], CASES, record=True)
    assert {r.status for r in recorded.results} == {ExecutionStatus.COMPLETED}
    assert CALLS == {"retriever": 2, "bm25": 2, "generator": 4}

    CALLS.clear()
    replayed = bench.run_batch_test(
        rag, [{}, {"retriever": "bm25"}], CASES, replay=recorded.batch_id, repetitions=2
    )
    assert {r.status for r in replayed.results} == {ExecutionStatus.COMPLETED}
    assert CALLS == {"generator": 8}  # the recorded node is never called
    for row in replayed.results:
        assert row.state == states(recorded)[(row.combination_label, row.case)]


def test_a_single_run_records_under_its_execution_id_and_replays(bench, rag):
    first = bench.run(rag, {"query": "q"}, record=True)
    again = bench.run(rag, {"query": "q"}, replay=first.execution_id)
    assert again.status is ExecutionStatus.COMPLETED
    assert again.state == first.state
    assert CALLS["retriever"] == 1


class Listener:
    def __init__(self) -> None:
        self.events: list = []

    @hookimpl
    def wtb_on_event(self, event) -> None:
        self.events.append(event)


def test_replayed_nodes_say_so_in_their_events_and_the_audit_trail(data_dir):
    listener = Listener()
    bench = WTBTestBench(data_dir=data_dir, plugins=[listener], load_entrypoints=False)
    bench.register_project(WorkflowProject("rag", make_graph, recorded_nodes=["retriever"]))
    rag = "rag"
    bench.run(rag, {"query": "q"}, record="calls")
    heard = listener.events
    heard.clear()
    replayed = bench.run(rag, {"query": "q"}, replay="calls")
    audit = [(e.event_type, e.node, e.message) for e in bench.audit(replayed.execution_id)]
    assert ("node_started", "retriever", "") in audit
    assert ("node_completed", "retriever", "replayed from recording calls") in audit
    assert ("node_completed", "generator", "") in audit  # a called node says nothing
    [event] = [e for e in heard if e.node == "retriever" and e.type.value == "node_completed"]
    assert event.data["replayed_from"] == "calls"
    [entry] = bench.recording_entries("calls")
    assert event.data["recording_key"] == entry.key
    bench.close()


def test_an_input_without_a_recording_fails_only_its_cell_naming_node_and_key(bench, rag):
    bench.run_batch_test(rag, [{}], CASES, record="two")
    batch = bench.run_batch_test(rag, [{}], [*CASES, {"query": "new"}], replay="two")
    by_case = {r.case: r for r in batch.results}
    assert by_case["case-0"].status is ExecutionStatus.COMPLETED
    assert by_case["case-1"].status is ExecutionStatus.COMPLETED
    failed = by_case["case-2"]
    assert failed.status is ExecutionStatus.FAILED
    assert "RecordingMissingError" in failed.error
    assert "node 'retriever'" in failed.error and "recording 'two'" in failed.error
    assert "on_missing='call'" in failed.error  # says what to do
    key = failed.error.split("(key ")[1].split(")")[0]
    assert len(key) == 32
    assert CALLS["retriever"] == 2  # only the recording run called it
    assert bench.list_executions(status="running") == []
    audit = bench.audit(failed.execution_id)
    assert any(e.event_type == "node_failed" and e.node == "retriever" for e in audit)
    assert not any(e.node == "generator" for e in audit)


def test_on_missing_call_calls_the_node_only_for_inputs_without_a_recording(bench, rag):
    bench.run_batch_test(rag, [{}], CASES, record="two")
    CALLS.clear()
    batch = bench.run_batch_test(
        rag, [{}], [*CASES, {"query": "new"}], replay="two", on_missing="call"
    )
    assert {r.status for r in batch.results} == {ExecutionStatus.COMPLETED}
    assert CALLS["retriever"] == 1
    assert bench.get_recording("two").entries == 2  # a replay does not write


def test_on_missing_record_adds_what_the_recording_lacks(bench, rag):
    bench.run(rag, {"query": "a"}, record="grow")
    bench.run(rag, {"query": "new"}, replay="grow", on_missing="record")
    assert bench.get_recording("grow").entries == 2
    CALLS.clear()
    bench.run(rag, {"query": "new"}, replay="grow")
    assert CALLS["retriever"] == 0


def test_a_variant_has_its_own_key(bench, rag):
    bench.run(rag, {"query": "q"}, record="default-only")
    result = bench.run(rag, {"query": "q"}, {"retriever": "bm25"}, replay="default-only")
    assert result.status is ExecutionStatus.FAILED
    assert "variant 'bm25'" in result.error
    bench.run(rag, {"query": "q"}, {"retriever": "bm25"}, record="default-only")
    entries = bench.recording_entries("default-only")
    assert sorted(e.variant for e in entries) == ["bm25", "default"]
    assert len({e.key for e in entries}) == 2


def test_the_input_digest_ignores_key_order_and_message_ids():
    assert input_digest("n", {"a": 1, "b": [1, 2]}) == input_digest("n", {"b": [1, 2], "a": 1})
    assert input_digest("n", {"a": 1}) != input_digest("n", {"a": 2})
    one = {"messages": [HumanMessage("hi", id="1")]}
    other = {"messages": [HumanMessage("hi", id="2")]}
    assert input_digest("n", one) == input_digest("n", other)
    assert input_digest("n", one) != input_digest("n", {"messages": [HumanMessage("ho")]})


def test_an_input_that_cannot_be_keyed_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match=r"recorded node 'n'.*recorded_nodes"):
        input_digest("n", {"handle": object()})


RECORDER = """
import sys, uuid
from typing import TypedDict
from langgraph.graph import END, START, StateGraph
from wtb_core import WorkflowProject, WTBTestBench

class S(TypedDict, total=False):
    query: str
    meta: dict
    documents: list[str]

def retriever(state):
    return {"documents": [uuid.uuid4().hex]}

def make_graph():
    g = StateGraph(S)
    g.add_node("retriever", retriever)
    g.add_edge(START, "retriever")
    g.add_edge("retriever", END)
    return g

project = WorkflowProject("recorder", make_graph, recorded_nodes=["retriever"])
if __name__ == "__main__":
    with WTBTestBench(data_dir=sys.argv[1]) as bench:
        bench.register_project(project)
        result = bench.run("recorder", {"query": "q", "meta": {"z": 1, "a": {"y", "x"}}},
                           record="proc")
        print(result.state["documents"][0])
"""


def test_a_recording_made_by_another_process_replays_after_a_restart(tmp_path, monkeypatch):
    (tmp_path / "recorder.py").write_text(textwrap.dedent(RECORDER))
    data_dir = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "recorder.py", str(data_dir)],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONHASHSEED": "random",
                                                            "WTB_LOAD_PLUGINS": "",
                                                            "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    recorded = done.stdout.strip()
    monkeypatch.syspath_prepend(str(tmp_path))
    from recorder import project  # type: ignore[import-not-found]

    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(project)
        assert [r.name for r in bench.list_recordings()] == ["proc"]
        state = {"query": "q", "meta": {"a": {"x", "y"}, "z": 1}}  # same input, other order
        result = bench.run("recorder", state, replay="proc")
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.state["documents"] == [recorded]


def test_an_exported_recording_replays_in_another_data_directory(bench, rag, tmp_path):
    recorded = bench.run(rag, {"query": "q"}, record="to-commit")
    path = bench.export_recording("to-commit", tmp_path / "recordings" / "rag.json")
    document = json.loads(path.read_text())
    assert document["format"] == "wtb-recording" and document["name"] == "to-commit"
    assert document["entries"][0]["output"]["documents"] == recorded.state["documents"]

    with WTBTestBench(data_dir=tmp_path / "elsewhere", load_entrypoints=False) as other:
        other.register_project(WorkflowProject("rag", make_graph, recorded_nodes=["retriever"]))
        imported = other.import_recording(path, name="ci")
        assert (imported.name, imported.entries) == ("ci", 1)
        CALLS.clear()
        replayed = other.run("rag", {"query": "q"}, replay="ci")
    assert replayed.state == recorded.state
    assert CALLS["retriever"] == 0


def test_a_file_that_is_not_a_recording_is_refused(bench, tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"format": "wtb-pytest-baseline", "version": 1}))
    with pytest.raises(ConfigurationError, match=r"not a WTB recording file.*export"):
        bench.import_recording(path)
    path.write_text("{")
    with pytest.raises(ConfigurationError, match="not JSON"):
        bench.import_recording(path)
    assert bench.list_recordings() == []


def test_async_nodes_record_and_replay(bench):
    project = WorkflowProject(
        "async_rag", lambda: make_graph(async_retriever), recorded_nodes=["retriever"]
    )
    bench.register_project(project)
    first = bench.run("async_rag", {"query": "q"}, record="async")
    again = bench.run("async_rag", {"query": "q"}, replay="async")
    assert again.state == first.state
    assert CALLS["async_retriever"] == 1
    missing = bench.run("async_rag", {"query": "other"}, replay="async")
    assert missing.status is ExecutionStatus.FAILED and "node 'retriever'" in missing.error


def test_bad_arguments_are_refused_before_anything_runs(bench, rag):
    with pytest.raises(RecordingNotFoundError, match=r"'nope'.*record one first"):
        bench.run_batch_test(rag, [{}], CASES, replay="nope")
    with pytest.raises(ConfigurationError, match=r"exclude each other.*on_missing='record'"):
        bench.run(rag, {"query": "q"}, record=True, replay="x")
    with pytest.raises(ConfigurationError, match="on_missing must be one of"):
        bench.run(rag, {"query": "q"}, replay="x", on_missing="skip")
    with pytest.raises(ConfigurationError, match="only with"):
        bench.run(rag, {"query": "q"}, on_missing="call")
    with pytest.raises(ProjectError, match=r"'nowhere' are not nodes.*retriever, generator"):
        bench.run_batch_test(rag, [{}], CASES, record=True, recorded_nodes=["nowhere"])
    with pytest.raises(ConfigurationError, match="threadpool"):
        bench.run_batch_test(rag, [{}], CASES, record=True, runner="ray")
    plain = WorkflowProject("plain", make_graph)
    bench.register_project(plain)
    with pytest.raises(ProjectError, match=r"records no nodes.*recorded_nodes="):
        bench.run("plain", {"query": "q"}, record=True)
    with pytest.raises(ProjectError, match="list of node names"):
        WorkflowProject("bad", make_graph, recorded_nodes="retriever")
    assert bench.list_batches() == [] and bench.list_executions() == []
    assert CALLS == {}


def test_recorded_nodes_can_be_chosen_per_batch(bench):
    bench.register_project(WorkflowProject("plain", make_graph))
    batch = bench.run_batch_test("plain", [{}], CASES, record=True, recorded_nodes=["generator"])
    assert bench.get_recording(batch.batch_id).nodes == {"generator": 2}
    CALLS.clear()
    bench.run_batch_test(
        "plain", [{}], CASES, replay=batch.batch_id, recorded_nodes=["generator"],
        on_missing="call",
    )  # fmt: skip
    # retriever is not recorded: new documents, so generator inputs with no recording
    assert CALLS == {"retriever": 2, "generator": 2}
    assert bench.get_recording(batch.batch_id).nodes == {"generator": 2}


def test_a_resumed_replay_batch_keeps_replaying(bench, rag):
    bench.run_batch_test(rag, [{}], CASES, record="base")
    replayed = bench.run_batch_test(rag, [{}], [*CASES, {"query": "new"}], replay="base")
    assert [r.status.value for r in replayed.results] == ["completed", "completed", "failed"]
    recorded = bench.run(rag, {"query": "new"}, replay="base", on_missing="record")
    CALLS.clear()
    resumed = bench.resume_batch(replayed.batch_id, retry_failed=True)
    assert [r.status.value for r in resumed.results] == ["completed"] * 3
    assert CALLS == {"generator": 1}  # the retried cell replayed what was added
    assert resumed.results[2].state == recorded.state


def test_the_command_line_lists_shows_exports_imports_and_deletes_recordings(
    bench, rag, data_dir, tmp_path, monkeypatch
):
    bench.run(rag, {"query": "q"}, record="cli")
    wtb = cli(data_dir, monkeypatch)
    listed = as_json(wtb, "recordings", "list")
    assert [(r["name"], r["entries"], r["nodes"]) for r in listed] == [("cli", 1, {"retriever": 1})]
    assert "cli" in ok(wtb("recordings", "list")).stdout
    shown = as_json(wtb, "recordings", "show", "cli")
    [entry] = shown["entries"]
    assert (entry["node"], entry["variant"]) == ("retriever", "default")
    table = ok(wtb("recordings", "show", "cli")).stdout
    assert entry["key"] in table.replace("\n", "").replace("│", "").replace(" ", "")
    path = tmp_path / "cli.json"
    ok(wtb("recordings", "export", "cli", str(path)))
    ok(wtb("recordings", "delete", "cli"))
    assert as_json(wtb, "recordings", "list") == []
    assert_error(wtb("recordings", "show", "cli"), "no recording named 'cli'")
    assert_error(wtb("recordings", "delete", "cli"), "wtb recordings list")
    imported = as_json(wtb, "recordings", "import", str(path), "--name", "back")
    assert (imported["name"], imported["entries"]) == ("back", 1)
    assert_error(wtb("recordings", "import", str(tmp_path / "missing.json")), "cannot read")
