"""``CheckpointStoreContract``: what every ``CheckpointStore`` must do (see the port)."""

from __future__ import annotations

import operator
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from wtb_core.engine.threads import thread_config
from wtb_core.errors import CheckpointNotFoundError
from wtb_core.ports import CheckpointStore, ThreadInventory


class _State(TypedDict, total=False):
    n: int
    log: Annotated[list[str], operator.add]


def _step(name: str) -> Any:
    def node(state: _State) -> dict[str, Any]:
        return {"n": state.get("n", 0) + 1, "log": [name]}

    return node


def _ask(state: _State) -> dict[str, Any]:
    return {"log": [f"answer:{interrupt('question')}"]}


def _graph(store: CheckpointStore, with_interrupt: bool = False) -> Any:
    builder = StateGraph(_State)
    names = ["a", "b", "c"]
    for name in names:
        builder.add_node(name, _step(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    if with_interrupt:
        builder.add_node("ask", _ask)
        builder.add_edge("b", "ask")
        builder.add_edge("ask", "c")
    else:
        builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder.compile(checkpointer=store.saver)


def _ids(graph: Any, thread_id: str) -> list[str]:
    history = graph.get_state_history(thread_config(thread_id))
    return sorted(s.config["configurable"]["checkpoint_id"] for s in history)


class CheckpointStoreContract:
    """Subclass and provide a ``store`` fixture yielding a fresh ``CheckpointStore``."""

    @pytest.fixture
    def store(self) -> CheckpointStore:  # pragma: no cover - provided by subclasses
        raise pytest.UsageError("subclasses of CheckpointStoreContract provide a store fixture")

    @staticmethod
    def thread() -> str:
        return f"contract-{uuid.uuid4().hex[:8]}"

    def test_is_a_checkpoint_store_with_a_langgraph_saver(self, store: CheckpointStore) -> None:
        assert isinstance(store, CheckpointStore)
        assert isinstance(store.saver, BaseCheckpointSaver)
        assert isinstance(store.name, str) and store.name

    def test_saver_checkpoints_every_super_step(self, store: CheckpointStore) -> None:
        graph, thread = _graph(store), self.thread()
        result = graph.invoke({"n": 0}, thread_config(thread))
        assert result == {"n": 3, "log": ["a", "b", "c"]}
        assert len(_ids(graph, thread)) == 5  # input, start, a, b, c

    def test_copy_thread_copies_the_lineage_and_leaves_the_source(
        self, store: CheckpointStore
    ) -> None:
        graph, source, target = _graph(store), self.thread(), self.thread()
        graph.invoke({"n": 0}, thread_config(source))
        history = list(graph.get_state_history(thread_config(source)))
        after_a = next(s for s in history if s.values.get("log") == ["a"])
        cut = after_a.config["configurable"]["checkpoint_id"]
        before = _ids(graph, source)

        store.copy_thread(source, target, cut)

        assert _ids(graph, source) == before
        assert _ids(graph, target) == [i for i in before if i <= cut]
        assert graph.get_state(thread_config(target)).values == after_a.values
        assert graph.invoke(None, thread_config(target, cut)) == {"n": 3, "log": ["a", "b", "c"]}

    def test_copy_thread_keeps_pending_writes(self, store: CheckpointStore) -> None:
        graph, source, target = _graph(store, with_interrupt=True), self.thread(), self.thread()
        graph.invoke({"n": 0}, thread_config(source))
        waiting = graph.get_state(thread_config(source))
        assert waiting.next == ("ask",) and waiting.interrupts
        head = waiting.config["configurable"]["checkpoint_id"]

        store.copy_thread(source, target, head)

        copied = graph.get_state(thread_config(target))
        assert [i.value for i in copied.interrupts] == ["question"]
        final = graph.invoke(Command(resume="yes"), thread_config(target))
        assert final["log"] == ["a", "b", "answer:yes", "c"]
        assert graph.get_state(thread_config(source)).next == ("ask",)

    def test_copy_thread_of_an_unknown_checkpoint_raises(self, store: CheckpointStore) -> None:
        graph, source = _graph(store), self.thread()
        graph.invoke({"n": 0}, thread_config(source))
        with pytest.raises(CheckpointNotFoundError, match="not in thread"):
            store.copy_thread(source, self.thread(), "no-such-checkpoint")

    def test_delete_thread_removes_it(self, store: CheckpointStore) -> None:
        graph, thread, other = _graph(store), self.thread(), self.thread()
        graph.invoke({"n": 0}, thread_config(thread))
        graph.invoke({"n": 0}, thread_config(other))
        store.delete_thread(thread)
        assert _ids(graph, thread) == []
        assert len(_ids(graph, other)) == 5

    def test_threads_run_concurrently(self, store: CheckpointStore) -> None:
        graph = _graph(store)
        threads = [self.thread() for _ in range(8)]
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda t: graph.invoke({"n": 0}, thread_config(t)), threads))
        assert all(r["n"] == 3 for r in results)
        assert all(len(_ids(graph, t)) == 5 for t in threads)

    def test_a_thread_inventory_lists_what_the_saver_holds(self, store: CheckpointStore) -> None:
        """Optional (``ThreadInventory``): what ``wtb integrity`` reads threads with."""
        if not isinstance(store, ThreadInventory):
            pytest.skip("this store reads its threads through its saver")
        graph, thread, other = _graph(store), self.thread(), self.thread()
        graph.invoke({"n": 0}, thread_config(thread))
        graph.invoke({"n": 0}, thread_config(other))
        assert {thread, other} <= store.thread_ids()
        assert sorted(store.checkpoint_ids(thread)) == _ids(graph, thread)
        store.delete_thread(thread)
        assert thread not in store.thread_ids() and store.checkpoint_ids(thread) == set()
