"""Threads, their state, history and state edits through the real ``langgraph_sdk``
client, compared with the bench's own ``get_state`` / ``get_checkpoints``."""

from __future__ import annotations

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

from tests import workflows
from tests.conftest import register
from wtb_core.domain.models import ExecutionStatus


@pytest.fixture
def client(live):
    return get_sync_client(url=live.url, api_key=None)


def _ids(states):
    return [s["checkpoint"]["checkpoint_id"] for s in states]


def test_threads_are_created_found_and_searched(client):
    first = client.threads.create(metadata={"user": "ann", "tags": {"team": "a", "x": 1}})
    assert (first["status"], first["values"], first["metadata"]["user"]) == ("idle", None, "ann")
    assert first["created_at"] == first["updated_at"]
    second = client.threads.create(thread_id="chat-2", metadata={"user": "bob"})
    assert second["thread_id"] == "chat-2"
    with pytest.raises(ConflictError, match="exists already"):
        client.threads.create(thread_id="chat-2")
    same = client.threads.create(thread_id="chat-2", if_exists="do_nothing")
    assert same["metadata"] == {"user": "bob"}
    assert client.threads.get("chat-2")["thread_id"] == "chat-2"

    assert [t["thread_id"] for t in client.threads.search(metadata={"user": "ann"})] == [
        first["thread_id"]
    ]
    found = client.threads.search(metadata={"tags": {"team": "a"}})  # containment
    assert [t["thread_id"] for t in found] == [first["thread_id"]]
    assert [t["thread_id"] for t in client.threads.search()] == ["chat-2", first["thread_id"]]
    assert len(client.threads.search(limit=1, offset=1)) == 1
    assert [t["thread_id"] for t in client.threads.search(ids=["chat-2"])] == ["chat-2"]

    client.runs.wait("chat-2", "human", input={"query": "q"})
    assert [t["thread_id"] for t in client.threads.search(status="interrupted")] == ["chat-2"]
    assert client.threads.search(metadata={"graph_id": "human"})[0]["thread_id"] == "chat-2"
    assert client.threads.search(values={"query": "q"})[0]["thread_id"] == "chat-2"
    assert client.threads.search(status="error") == []
    by_state = client.threads.search(sort_by="state_updated_at")  # one has no state yet
    assert [t["thread_id"] for t in by_state] == ["chat-2", first["thread_id"]]


def test_unknown_and_bad_threads_are_refused(client):
    with pytest.raises(NotFoundError, match="thread 'missing' not found"):
        client.threads.get("missing")
    with pytest.raises(NotFoundError):
        client.threads.get_state("missing")
    with pytest.raises(NotFoundError):
        client.threads.get_history("missing")
    with pytest.raises(NotFoundError):
        client.threads.update_state("missing", {"query": "x"})
    with pytest.raises(UnprocessableEntityError, match="is not valid"):
        client.threads.create(thread_id="no/slashes")
    tid = client.threads.create()["thread_id"]
    with pytest.raises(UnprocessableEntityError, match="has no run yet"):
        client.threads.update_state(tid, {"query": "x"})
    with pytest.raises(NotFoundError, match="has no run yet"):
        client.threads.get_state(tid, checkpoint_id="nope")
    client.runs.wait(tid, "linear", input={"query": "q"})
    with pytest.raises(NotFoundError, match="does not belong"):
        client.threads.get_state(tid, checkpoint_id="nope")
    with pytest.raises(UnprocessableEntityError, match="root graph"):
        client.threads.get_state(tid, checkpoint={"thread_id": tid, "checkpoint_ns": "sub:1"})
    with pytest.raises(UnprocessableEntityError, match="is not thread"):
        client.threads.get_state(tid, checkpoint={"thread_id": "other", "checkpoint_id": "x"})


def test_an_empty_thread_has_an_empty_state(client):
    tid = client.threads.create()["thread_id"]
    state = client.threads.get_state(tid)
    assert state["values"] == {} and state["next"] == [] and state["metadata"] == {}
    assert state["checkpoint"] == {
        "thread_id": tid,
        "checkpoint_ns": "",
        "checkpoint_id": None,
        "checkpoint_map": None,
    }
    assert client.threads.get_history(tid) == []


def test_state_and_history_are_the_benchs(client, served_bench):
    tid = client.threads.create()["thread_id"]
    client.runs.wait(tid, "human", input={"query": "q"})
    execution = served_bench.get_execution(tid)
    checkpoints = served_bench.get_checkpoints(tid)

    state = client.threads.get_state(tid)
    assert state["values"] == served_bench.get_state(tid) == execution.state
    assert state["checkpoint"]["checkpoint_id"] == execution.checkpoint_id
    assert state["checkpoint"]["thread_id"] == tid
    assert state["parent_checkpoint"]["checkpoint_id"] == checkpoints[-2].checkpoint_id
    assert tuple(state["next"]) == checkpoints[-1].next == ("ask",)
    assert state["interrupts"] == [{"value": i.value, "id": i.id} for i in execution.interrupts]
    (task,) = state["tasks"]
    assert (task["name"], task["interrupts"], task["error"]) == ("ask", state["interrupts"], None)
    assert state["metadata"]["source"] == "loop" and state["metadata"]["step"] == 1

    history = client.threads.get_history(tid)
    assert _ids(history) == [c.checkpoint_id for c in checkpoints][::-1]
    assert [tuple(h["next"]) for h in history] == [c.next for c in checkpoints][::-1]
    assert [h["values"] for h in history] == [c.values for c in checkpoints][::-1]
    for cp in checkpoints:
        at = client.threads.get_state(tid, checkpoint_id=cp.checkpoint_id)
        assert at["values"] == served_bench.get_state(tid, cp.checkpoint_id)
        posted = client.threads.get_state(
            tid,
            checkpoint={"thread_id": tid, "checkpoint_ns": "", "checkpoint_id": cp.checkpoint_id},
        )
        assert posted == at

    assert _ids(client.threads.get_history(tid, limit=2)) == _ids(history)[:2]
    older = client.threads.get_history(tid, before=history[0]["checkpoint_id"])
    assert _ids(older) == _ids(history)[1:]
    as_dict = client.threads.get_history(tid, before={"checkpoint_id": _ids(history)[1]}, limit=1)
    assert _ids(as_dict) == _ids(history)[2:3]
    with pytest.raises(UnprocessableEntityError, match="filter key"):
        client.threads.get_history(tid, metadata={"a'b": 1})
    loops = client.threads.get_history(tid, metadata={"source": "loop"})
    assert [h["metadata"]["source"] for h in loops] == ["loop"] * (len(history) - 1)


def test_update_state_then_continue(client, served_bench):
    tid = client.threads.create()["thread_id"]
    client.runs.wait(tid, "linear", input={"query": "q"}, interrupt_before=["grade"])
    updated = client.threads.update_state(tid, {"query": "edited"}, as_node="retrieve")
    head = served_bench.get_execution(tid).checkpoint_id
    assert updated["checkpoint"] == {
        "thread_id": tid,
        "checkpoint_ns": "",
        "checkpoint_id": head,
        "checkpoint_map": None,
    }
    assert client.threads.get_state(tid)["values"]["query"] == "edited"
    assert served_bench.get_checkpoints(tid)[-1].source == "update"
    values = client.runs.wait(tid, "linear")
    assert (values["query"], values["log"]) == ("edited", ["retrieve", "grade", "generate"])

    with pytest.raises(UnprocessableEntityError, match="no key 'nope'"):
        client.threads.update_state(tid, {"nope": 1})
    with pytest.raises(UnprocessableEntityError, match="values is null"):
        client.threads.update_state(tid, None, as_node="retrieve")


def test_update_at_a_past_checkpoint_branches_there(client, served_bench):
    tid = client.threads.create()["thread_id"]
    client.runs.wait(tid, "linear", input={"query": "q"})
    after_retrieve = served_bench.get_checkpoints(tid)[2]
    client.threads.update_state(
        tid, {"query": "past"}, as_node="retrieve", checkpoint_id=after_retrieve.checkpoint_id
    )
    lineage = served_bench.get_checkpoints(tid)
    assert lineage[-2].checkpoint_id == after_retrieve.checkpoint_id
    assert lineage[-1].source == "update"
    assert client.threads.get_state(tid)["next"] == ["grade"]
    assert client.runs.wait(tid, "linear")["query"] == "past"


def test_copy_forks_from_a_checkpoint(client, served_bench):
    """Studio's "fork from here": update_state(None, as_node="__copy__", checkpoint_id=...)
    then a run; the thread branches from that checkpoint as bench.fork + resume does."""
    tid = client.threads.create()["thread_id"]
    client.runs.wait(tid, "linear", input={"query": "q"})
    after_retrieve = served_bench.get_checkpoints(tid)[2]
    copied = client.threads.update_state(
        tid, None, as_node="__copy__", checkpoint_id=after_retrieve.checkpoint_id
    )
    assert copied["checkpoint"]["checkpoint_id"] == after_retrieve.checkpoint_id
    execution = served_bench.get_execution(tid)
    assert (execution.status, execution.next) == (ExecutionStatus.PAUSED, ("grade",))
    workflows.CALLS.clear()
    values = client.runs.wait(tid, "linear", checkpoint=copied["checkpoint"])
    assert workflows.CALLS == ["grade", "generate"]

    reference = served_bench.run("linear", {"query": "q"})
    cp = served_bench.get_checkpoints(reference.execution_id)[2]
    fork = served_bench.fork(reference.execution_id, cp.checkpoint_id)
    assert values == served_bench.resume(fork.execution_id).state
    with pytest.raises(UnprocessableEntityError, match="pass values null"):
        client.threads.update_state(tid, {"query": "x"}, as_node="__copy__")


def test_an_execution_run_elsewhere_is_a_thread(client, served_bench):
    result = served_bench.run("human", {"query": "native"})
    thread = client.threads.get(result.execution_id)
    assert thread["status"] == "interrupted"
    assert thread["metadata"]["graph_id"] == "human"
    assert thread["values"] == result.state
    (pending,) = result.interrupts
    assert list(thread["interrupts"].values()) == [[{"value": pending.value, "id": pending.id}]]
    assert client.threads.get_state(result.execution_id)["values"] == result.state
    final = client.runs.wait(result.execution_id, "human", command={"resume": "ok"})
    assert final == served_bench.get_state(result.execution_id)


def test_subgraph_tasks_and_failed_tasks_in_the_state(client, served_bench):
    register(served_bench, workflows.with_subgraph)
    tid = client.threads.create()["thread_id"]
    client.runs.wait(tid, "with_subgraph", input={}, interrupt_before=["sub"])
    (task,) = client.threads.get_state(tid)["tasks"]
    assert task["name"] == "sub"
    assert task["checkpoint"]["thread_id"] == tid
    assert task["checkpoint"]["checkpoint_ns"].startswith("sub:")
    nested = client.threads.get_state(tid, subgraphs=True)
    assert nested["values"] == served_bench.get_state(tid)

    failed = client.threads.create()["thread_id"]
    client.runs.wait(failed, "failing", input={}, raise_error=False)
    (task,) = client.threads.get_state(failed)["tasks"]
    assert task["name"] == "flaky"
    assert task["error"] == "ValueError('flaky node failed on purpose')"  # as LangGraph has it
    assert client.threads.get(failed)["error"] == served_bench.get_execution(failed).error
