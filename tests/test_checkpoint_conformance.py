"""LangGraph's checkpointer conformance suite against the kernel's stores, through AsyncSaver.

The suite (``langgraph-checkpoint-conformance``) is async, and the stores' savers are sync, so
each saver runs wrapped in ``wtb_core.engine.async_saver.AsyncSaver``. Its ``copy_thread``
tests run against WTB's copy (LangGraph's savers have none). wtb-postgres runs the same
suite in plugins/wtb-postgres/tests/test_conformance.py with the helpers below.
"""

from __future__ import annotations

import asyncio
import operator
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.test_utils import generate_checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from wtb_core.builtins.checkpoint_stores import MemoryCheckpointStore, SqliteCheckpointStore
from wtb_core.config import StackConfig
from wtb_core.engine.async_saver import AsyncSaver
from wtb_core.engine.threads import thread_config
from wtb_core.ports import CheckpointStore
from wtb_core.telemetry.saver import TimedSaver

# Optional capabilities LangGraph's own saver lacks (its sync method is BaseCheckpointSaver's,
# which raises NotImplementedError), so the suite is told to skip them. Every other
# capability must run and pass.
MISSING_IN_LANGGRAPH = {
    InMemorySaver: {
        "delete_for_runs": "LangGraph's InMemorySaver has no delete_for_runs",
        "prune": "LangGraph's InMemorySaver has no prune",
    },
    SqliteSaver: {
        "delete_for_runs": "LangGraph's SqliteSaver has no delete_for_runs",
        "prune": "LangGraph's SqliteSaver has no prune",
    },
}


def run_conformance(
    open_store: Callable[[], CheckpointStore], skips: dict[str, str], timed: bool = False
) -> None:
    """Run every capability's checks on ``AsyncSaver(store.saver)`` — with ``timed``, on
    ``AsyncSaver(TimedSaver(store.saver))``, what a bench with metrics on compiles async
    graphs over — a fresh store each.

    Fails on any failed check, and when the capabilities that did not run are not exactly
    ``skips`` (capability → reason).
    """

    @checkpointer_test(name="wtb", skip_capabilities=set(skips))
    async def checkpointer():
        store = open_store()
        try:
            saver = TimedSaver(store.saver, store.name) if timed else store.saver
            yield AsyncSaver(saver)
        finally:
            store.close()

    report = asyncio.run(validate(checkpointer))
    failures = [
        f"{cap}: {msg}" for cap, result in report.results.items() for msg in result.failures
    ]
    assert not failures, f"{len(failures)} conformance checks failed:\n" + "\n".join(failures)
    not_run = {cap for cap, result in report.results.items() if not result.passed}
    assert not_run == set(skips), f"capabilities not run: {sorted(not_run)}, expected {skips}"
    for cap, result in sorted(report.results.items()):
        outcome = f"skipped: {skips[cap]}" if cap in skips else f"{result.tests_passed} passed"
        print(f"{cap}: {outcome}")


def check_expected_skip(
    saver_type: type[BaseCheckpointSaver], capability: str, reason: str
) -> None:
    """Skip with ``reason``, after checking that ``saver_type`` still lacks ``capability``."""
    assert getattr(saver_type, capability) is getattr(BaseCheckpointSaver, capability), (
        f"{saver_type.__name__} now has {capability}: drop its expected skip"
    )
    pytest.skip(reason)


SAVER_TYPES = {"memory": InMemorySaver, "sqlite": SqliteSaver}


def _opener(name: str, tmp_path) -> Callable[[], CheckpointStore]:
    """Opens a fresh store of kind ``name`` each call."""
    if name == "memory":
        return MemoryCheckpointStore
    return lambda: SqliteCheckpointStore(StackConfig(data_dir=tmp_path / uuid.uuid4().hex))


@pytest.mark.parametrize("timed", [False, True], ids=["plain", "timed"])
@pytest.mark.parametrize("name", sorted(SAVER_TYPES))
def test_conformance(name, timed, tmp_path):
    run_conformance(_opener(name, tmp_path), MISSING_IN_LANGGRAPH[SAVER_TYPES[name]], timed)


@pytest.mark.parametrize(
    ("name", "capability"),
    [
        (name, cap)
        for name in sorted(SAVER_TYPES)
        for cap in MISSING_IN_LANGGRAPH[SAVER_TYPES[name]]
    ],
)
def test_expected_skip(name, capability):
    saver_type = SAVER_TYPES[name]
    check_expected_skip(saver_type, capability, MISSING_IN_LANGGRAPH[saver_type][capability])


# AsyncSaver as a graph's checkpointer under astream: parallel async nodes, an interrupt,
# resume, history, and a copied thread answering history like its source.


class _State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _async_step(name: str):
    async def node(state: _State) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"log": [name]}

    return node


def _ask(state: _State) -> dict[str, Any]:
    return {"log": [f"answer:{interrupt('question')}"]}


async def _drive(saver: AsyncSaver) -> None:
    builder = StateGraph(_State)
    for name in ("a", "b"):
        builder.add_node(name, _async_step(name))
        builder.add_edge(START, name)
        builder.add_edge(name, "ask")
    builder.add_node("ask", _ask)
    builder.add_edge("ask", END)
    graph = builder.compile(checkpointer=saver)
    config = thread_config("src")

    async for _ in graph.astream({"log": []}, config):
        pass
    paused = await graph.aget_state(config)
    assert paused.next == ("ask",)
    assert [i.value for i in paused.interrupts] == ["question"]
    async for _ in graph.astream(Command(resume="yes"), config):
        pass
    done = await graph.aget_state(config)
    assert sorted(done.values["log"][:2]) == ["a", "b"]
    assert done.values["log"][2:] == ["answer:yes"]

    await saver.acopy_thread("src", "dst")

    async def history(thread_id: str) -> list[tuple[Any, ...]]:
        return [
            (s.values, s.next, s.config["configurable"]["checkpoint_id"], len(s.tasks))
            async for s in graph.aget_state_history(thread_config(thread_id))
        ]

    assert await history("dst") == await history("src")
    assert len(await history("src")) == 4  # input, start, a+b (paused at ask), ask


def check_astream(store: CheckpointStore) -> None:
    asyncio.run(_drive(AsyncSaver(store.saver)))


async def _list_while_writing(saver: AsyncSaver, n: int) -> None:
    config = thread_config("big")
    for i in range(n):
        checkpoint = generate_checkpoint(channel_values={"i": i}, channel_versions={"i": i + 1})
        config = await saver.aput(config, checkpoint, {"step": i}, {"i": i + 1})
    listed = []
    # Write while the listing is open: SqliteSaver.list holds its lock until exhausted, so a
    # lazily stepped iterator would deadlock here.
    async for tup in saver.alist(thread_config("big")):
        listed.append(tup.checkpoint["channel_values"]["i"])
        await saver.aput_writes(tup.config, [("seen", True)], "reader")
    assert listed == list(range(n - 1, -1, -1))
    assert [t.pending_writes for t in saver.list(thread_config("big"), limit=1)] == [
        [("reader", "seen", True)]
    ]


def check_large_list(store: CheckpointStore, n: int = 1000) -> None:
    asyncio.run(_list_while_writing(AsyncSaver(store.saver), n))


@pytest.fixture(params=sorted(SAVER_TYPES))
def store(request, tmp_path):
    store = _opener(request.param, tmp_path)()
    yield store
    store.close()


def test_a_graph_runs_under_astream_with_async_saver(store):
    check_astream(store)


def test_alist_returns_a_large_thread_and_lets_the_caller_write_meanwhile(store):
    check_large_list(store)


def test_async_saver_uses_the_wrapped_savers_serde_versions_and_allowlist():
    inner = InMemorySaver(serde=JsonPlusSerializer(allowed_msgpack_modules=None))  # strict
    saver = AsyncSaver(inner)
    assert isinstance(saver, BaseCheckpointSaver)
    assert saver.serde is inner.serde
    assert saver.config_specs == inner.config_specs
    assert saver.get_next_version(None, None).startswith(f"{1:032}.")  # InMemorySaver's
    clone = saver.with_allowlist([("my_module", "MyType")])
    assert isinstance(clone, AsyncSaver)
    assert type(clone.wrapped) is InMemorySaver and clone.wrapped is not inner
    assert clone.serde is clone.wrapped.serde and clone.serde is not inner.serde
    assert saver.with_allowlist([]) is saver
