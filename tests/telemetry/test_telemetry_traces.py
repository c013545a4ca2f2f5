"""The span tree of real runs, read back from the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage
from opentelemetry.trace import StatusCode

from tests.conftest import register
from tests.telemetry import graphs
from wtb_core import WTBTestBench
from wtb_core.domain.models import ExecutionStatus
from wtb_core.telemetry import content
from wtb_core.telemetry.settings import SWITCHES


@pytest.fixture(autouse=True)
def _fresh(provider):
    graphs.FLAKY["fail"] = True
    graphs.BARRIER.reset()
    graphs.INNER["provider"] = provider


def _by_name(spans, name):
    return [s for s in spans if s.name == name]


def test_a_run_is_one_execution_span_with_a_child_span_per_node_run(bench, spans):
    project = register(bench, graphs.shapes, "shapes")
    result = bench.run(project, {"count": 0})
    assert result.status is ExecutionStatus.PAUSED  # at the interrupt()
    finished = spans.get_finished_spans()
    (root,) = _by_name(finished, "invoke_workflow shapes")
    attrs = root.attributes
    assert attrs["gen_ai.operation.name"] == "invoke_workflow"
    assert attrs["gen_ai.workflow.name"] == "shapes"
    assert attrs["gen_ai.conversation.id"] == f"wtb-{result.execution_id}"
    assert attrs["wtb.execution_id"] == result.execution_id
    assert attrs["wtb.status"] == "paused"
    assert "wtb.project_version" in attrs
    nodes = [s for s in finished if s.name.startswith("node ")]
    assert sorted(s.name for s in nodes) == sorted(
        ["node plan", "node plan", "node work", "node work", "node flaky", "node flaky", "node ask"]
    )
    for span in nodes:  # every node span is a child of the execution span, in its trace
        assert span.parent.span_id == root.context.span_id
        assert span.context.trace_id == root.context.trace_id
        assert root.start_time <= span.start_time <= span.end_time <= root.end_time
    plans = sorted(_by_name(nodes, "node plan"), key=lambda s: s.start_time)
    assert [s.attributes["wtb.step"] for s in plans] == [1, 2]  # the conditional loop
    checkpoints = {c.checkpoint_id for c in bench.get_checkpoints(result.execution_id)}
    for span in plans:
        assert span.attributes["wtb.status"] == "completed"
        assert span.attributes["wtb.checkpoint_id"] in checkpoints
    first, second = _by_name(nodes, "node work")  # the Send fan-out: overlapping siblings
    assert first.attributes["wtb.step"] == second.attributes["wtb.step"]
    assert first.start_time < second.end_time and second.start_time < first.end_time
    assert first.attributes["wtb.checkpoint_id"] == second.attributes["wtb.checkpoint_id"]
    failed, retried = sorted(_by_name(nodes, "node flaky"), key=lambda s: s.start_time)
    assert (failed.attributes["wtb.attempt"], retried.attributes["wtb.attempt"]) == (1, 2)
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "ConnectionError"
    assert failed.attributes["wtb.status"] == "failed"
    assert "wtb.checkpoint_id" not in failed.attributes
    assert [e.name for e in failed.events] == ["exception"]
    assert retried.attributes["wtb.status"] == "completed"
    assert retried.status.status_code is not StatusCode.ERROR
    (ask,) = _by_name(nodes, "node ask")
    assert ask.attributes["wtb.status"] == "interrupted"
    assert [e.name for e in ask.events] == ["interrupt"]


def test_spans_opened_inside_a_node_nest_under_it_with_its_wtb_attributes(bench, spans):
    project = register(bench, graphs.shapes, "shapes")
    result = bench.run(project, {"count": 0})
    finished = spans.get_finished_spans()
    works = {s.context.span_id: s for s in _by_name(finished, "node work")}
    inner = _by_name(finished, "chat model")
    assert len(inner) == 2
    for span in inner:
        assert span.parent.span_id in works
        assert span.attributes["wtb.node"] == "work"
        assert span.attributes["wtb.execution_id"] == result.execution_id


def test_resume_is_a_new_execution_span_and_the_interrupted_node_runs_again(bench, spans):
    project = register(bench, graphs.shapes, "shapes")
    paused = bench.run(project, {"count": 0})
    spans.clear()
    done = bench.resume(paused.execution_id, resume="yes")
    assert done.status is ExecutionStatus.COMPLETED
    finished = spans.get_finished_spans()
    (root,) = _by_name(finished, "invoke_workflow shapes")
    assert root.attributes["wtb.status"] == "completed"
    assert [s.name for s in finished if s.name.startswith("node ")] == ["node ask"]


def test_a_failed_run_sets_error_type_and_status(bench, spans):
    project = register(bench, graphs.broken, "broken")
    result = bench.run(project, {})
    assert result.status is ExecutionStatus.FAILED
    finished = spans.get_finished_spans()
    (root,) = _by_name(finished, "invoke_workflow broken")
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes["error.type"] == "KeyError"
    assert root.attributes["wtb.status"] == "failed"
    (node,) = _by_name(finished, "node explode")
    assert node.attributes["error.type"] == "KeyError"


def test_variants_and_time_travel_are_traced(bench, spans):
    project = register(bench, graphs.shapes, "shapes")
    bench.get_project(project).register_variant("plan", "fast", graphs.plan)
    paused = bench.run(project, {"count": 0}, variant_config={"plan": "fast"})
    (root,) = _by_name(spans.get_finished_spans(), "invoke_workflow shapes")
    assert root.attributes["wtb.variant.plan"] == "fast"
    plans = _by_name(spans.get_finished_spans(), "node plan")
    assert {s.attributes["wtb.variant"] for s in plans} == {"fast"}
    first = bench.get_checkpoints(paused.execution_id)[-2].checkpoint_id
    spans.clear()
    bench.rollback(paused.execution_id, first)
    forked = bench.fork(paused.execution_id, first)
    bench.update_state(forked.execution_id, {"count": 5})
    names = [s.name for s in spans.get_finished_spans()]
    assert names == ["rollback shapes", "fork shapes", "update_state shapes"]
    fork_span = spans.get_finished_spans()[1]
    assert fork_span.attributes["wtb.execution_id"] == paused.execution_id
    assert fork_span.attributes["wtb.fork.execution_id"] == forked.execution_id
    assert fork_span.attributes["wtb.checkpoint_id"] == first


def test_tracing_off_opens_no_span(data_dir, spans):
    from wtb_core.config import StackConfig

    config = StackConfig(data_dir=data_dir, tracing=False)
    with WTBTestBench(config=config, load_entrypoints=False) as bench:
        assert SWITCHES.tracing is False
        project = register(bench, graphs.broken, "broken")
        bench.run(project, {})
    assert spans.get_finished_spans() == ()


def test_a_subgraph_node_is_one_node_span_and_its_inner_nodes_none(bench, spans):
    """A compiled subgraph added as a node has no callable to observe: its span comes
    from LangGraph's callbacks, next to the function nodes' own."""
    result = bench.run(register(bench, graphs.with_subgraph, "nested"), {"count": 0})
    assert result.status is ExecutionStatus.COMPLETED and result.state["count"] == 3
    finished = spans.get_finished_spans()
    (root,) = _by_name(finished, "invoke_workflow nested")
    nodes = sorted((s for s in finished if s.name.startswith("node ")), key=lambda s: s.start_time)
    assert [s.name for s in nodes] == ["node plan", "node sub"]
    for span in nodes:
        assert span.parent.span_id == root.context.span_id
        assert span.attributes["wtb.status"] == "completed"
        assert span.attributes["wtb.checkpoint_id"]
    assert [s.attributes["wtb.step"] for s in nodes] == [1, 2]


@pytest.mark.parametrize("setting", [None, "false", "true", "SPAN_ONLY"])
def test_message_content_is_recorded_only_when_the_user_opts_in(bench, spans, monkeypatch, setting):
    if setting is None:
        monkeypatch.delenv(content.ENV, raising=False)
    else:
        monkeypatch.setenv(content.ENV, setting)
    project = register(bench, graphs.chat, "chat")
    result = bench.run(project, {"messages": [HumanMessage("What is LangGraph?", id="h1")]})
    assert result.status is ExecutionStatus.COMPLETED
    (root,) = _by_name(spans.get_finished_spans(), "invoke_workflow chat")
    recorded = {k for k in root.attributes if k.startswith("gen_ai.") and "messages" in k}
    if setting in (None, "false"):
        assert recorded == set()
        return
    assert json.loads(root.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is LangGraph?"}]}
    ]
    call, tool, reply = json.loads(root.attributes["gen_ai.output.messages"])
    assert call["role"] == "assistant"
    assert call["parts"][-1] == {
        "type": "tool_call",
        "id": "call-1",
        "name": "search",
        "arguments": {"q": "What is LangGraph?"},
    }
    assert tool == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call-1", "response": "3 documents"}],
    }
    assert reply["parts"] == [{"type": "text", "content": "LangGraph is a graph runtime [d1]"}]
