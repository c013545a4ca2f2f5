"""``langgraph.pregel.remote.RemoteGraph`` driving the server as it drives a LangGraph
deployment: ``invoke``, ``stream``, ``get_state``, ``get_state_history``, ``update_state``
on a graph that calls ``interrupt()`` and on a plain chain, compared with the bench."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel.remote import RemoteException, RemoteGraph
from langgraph.types import Command, Interrupt
from langgraph_sdk.errors import NotFoundError

from tests import workflows
from wtb_core.domain.models import ExecutionStatus


def _config(thread_id):
    return {"configurable": {"thread_id": thread_id}}


def _ids(snapshots):
    return [s.config["configurable"]["checkpoint_id"] for s in snapshots]


def test_invoke_to_an_interrupt_resume_and_read_it_back(live, served_bench):
    graph = RemoteGraph("human", url=live.url)
    config = _config("rg-human")  # unknown thread: RemoteGraph creates it
    paused = graph.invoke({"query": "q"}, config)
    execution = served_bench.get_execution("rg-human")
    (pending,) = execution.interrupts
    assert paused == {
        **execution.state,
        "__interrupt__": [{"value": pending.value, "id": pending.id, "response_schema": None}],
    }
    snapshot = graph.get_state(config)
    assert snapshot.values == served_bench.get_state("rg-human")
    assert snapshot.next == ("ask",)
    assert snapshot.interrupts == (Interrupt(value=pending.value, id=pending.id),)
    assert snapshot.config["configurable"]["thread_id"] == "rg-human"
    assert snapshot.config["configurable"]["checkpoint_id"] == execution.checkpoint_id

    done = graph.invoke(Command(resume="approved"), config)
    assert done == served_bench.get_state("rg-human")
    assert done["answer"] == "approved"
    assert served_bench.get_execution("rg-human").status is ExecutionStatus.COMPLETED

    history = list(graph.get_state_history(config))
    checkpoints = served_bench.get_checkpoints("rg-human")
    assert _ids(history) == [c.checkpoint_id for c in checkpoints][::-1]
    assert [s.values for s in history] == [c.values for c in checkpoints][::-1]
    assert [s.next for s in history] == [c.next for c in checkpoints][::-1]
    first = history[-1].config
    assert graph.get_state(first).next == ("__start__",)
    assert len(list(graph.get_state_history(config, limit=2))) == 2
    older = list(graph.get_state_history(config, before=history[1].config))
    assert _ids(older) == _ids(history)[2:]
    updates = list(graph.get_state_history(config, filter={"source": "input"}))
    assert [s.metadata["source"] for s in updates] == ["input"]


def test_a_plain_chain_as_bare_langgraph_runs_it(live, served_bench):
    remote = RemoteGraph("linear", url=live.url)
    bare = workflows.linear().builder.compile(checkpointer=InMemorySaver())
    for graph, thread in ((remote, "rg-chain"), (bare, "bare")):
        assert graph.invoke({"query": "one"}, _config(thread))["log"] == [
            "retrieve",
            "grade",
            "generate",
        ]
    assert remote.get_state(_config("rg-chain")).values == bare.get_state(_config("bare")).values
    assert remote.get_state(_config("rg-chain")).next == ()

    streamed = list(remote.stream({"query": "two"}, _config("rg-chain")))
    expected = list(bare.stream({"query": "two"}, _config("bare")))
    assert streamed == expected  # updates, the default mode
    values = list(remote.stream({"query": "3"}, _config("rg-chain"), stream_mode="values"))
    assert values == list(bare.stream({"query": "3"}, _config("bare"), stream_mode="values"))
    modes = ["values", "updates"]
    both = [
        part[:2] for part in remote.stream({"query": "4"}, _config("rg-chain"), stream_mode=modes)
    ]
    assert both == list(
        bare.stream({"query": "4"}, _config("bare"), stream_mode=["values", "updates"])
    )
    assert remote.get_state(_config("rg-chain")).values == served_bench.get_state("rg-chain")

    stateless = remote.invoke({"query": "no thread"})
    assert stateless["query"] == "no thread"


def test_update_state_then_continue(live, served_bench):
    graph = RemoteGraph("linear", url=live.url)
    config = _config("rg-edit")
    graph.invoke({"query": "q"}, config, interrupt_before=["generate"])
    assert graph.get_state(config).next == ("generate",)
    new_config = graph.update_state(config, {"answer": "preset"}, as_node="grade")
    head = served_bench.get_execution("rg-edit").checkpoint_id
    assert new_config["configurable"]["checkpoint_id"] == head
    assert new_config["configurable"]["thread_id"] == "rg-edit"
    assert graph.get_state(new_config).values["answer"] == "preset"
    done = graph.invoke(None, config)
    assert done["log"] == ["retrieve", "grade", "generate"]
    assert served_bench.get_state("rg-edit") == done


def test_a_run_from_a_past_checkpoint(live, served_bench):
    graph = RemoteGraph("linear", url=live.url)
    config = _config("rg-past")
    graph.invoke({"query": "q"}, config)
    after_retrieve = served_bench.get_checkpoints("rg-past")[2]
    workflows.CALLS.clear()
    again = graph.invoke(None, config, checkpoint_id=after_retrieve.checkpoint_id)
    assert workflows.CALLS == ["grade", "generate"]
    assert again == served_bench.get_state("rg-past")


def test_a_failing_node_raises_remote_exception(live, served_bench):
    graph = RemoteGraph("failing", url=live.url)
    with pytest.raises(RemoteException) as failed:
        graph.invoke({"query": "q"}, _config("rg-fail"))
    assert failed.value.args[0] == {
        "error": "ValueError",
        "message": "flaky node failed on purpose",
    }
    assert served_bench.get_execution("rg-fail").status is ExecutionStatus.FAILED
    workflows.FAIL["flaky"] = False
    assert graph.invoke(None, _config("rg-fail"))["log"] == ["first", "flaky", "last"]


def test_an_unknown_thread_is_not_found(live):
    graph = RemoteGraph("human", url=live.url)
    with pytest.raises(NotFoundError):
        graph.get_state(_config("never-made"))
    with pytest.raises(NotFoundError):
        list(graph.get_state_history(_config("never-made")))
