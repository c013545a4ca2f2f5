"""A workflow whose nodes a test can kill the process in (SIGKILL), for crash tests.

Each node appends its name to ``<state["dir"]>/calls`` before doing anything else, so the
test counts node runs across processes. ``<dir>/kill-at`` names the node that kills its
process (and is removed first, so the node runs normally next time).

The fault-injection tests of multi-store operations (``tests/integrity``) use the
``files`` project below — nodes writing tracked files — and its ``SCENARIOS``: each sets
up what an operation needs, then arms a cut point (``wtb_core.integrity.cuts``) and runs
the operation. ``python -m tests.hardening.killable --cases`` is a case server: it imports
everything once, then for each JSON line on stdin forks a child that runs one scenario
with a SIGKILL armed at the cut point, and answers with the child's exit status.
"""

from __future__ import annotations

import json
import operator
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from wtb_core import StackConfig, WorkflowProject, WTBTestBench, current_workspace
from wtb_core.config import ExecutionConfig, FileTrackingConfig
from wtb_core.integrity.cuts import FailAt, install


class KillState(TypedDict, total=False):
    dir: str
    log: Annotated[list[str], operator.add]


def _node(name: str):
    def node(state: KillState) -> dict[str, Any]:
        folder = Path(state["dir"])
        with open(folder / "calls", "a") as calls:
            calls.write(name + "\n")
        kill_at = folder / "kill-at"
        if kill_at.exists() and kill_at.read_text() == name:
            kill_at.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        return {"log": [name]}

    return node


def abc() -> StateGraph:
    builder = StateGraph(KillState)
    for name in "abc":
        builder.add_node(name, _node(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder


def project() -> WorkflowProject:
    # sync durability: every finished node's checkpoint is on disk before the next starts
    return WorkflowProject("abc", abc, execution=ExecutionConfig(durability="sync"))


def shared_project() -> WorkflowProject:
    """``abc`` with a variant ``loud`` of ``c`` (it logs ``C``), for shared-prefix batches."""
    abc_project = project()
    abc_project.register_variant("c", "loud", _node("C"))
    return abc_project


SHARED_MATRIX: list[dict[str, str]] = [{}, {"c": "loud"}]
"""A shared-prefix batch of ``abc``: ``a`` and ``b`` are its trunk, ``c`` differs."""


# -- the files project and the scenarios of the fault-injection tests ------------------------

TRACKING = FileTrackingConfig(enabled=True, tracked_paths=["out/"])


class FileState(TypedDict, total=False):
    tag: str
    log: Annotated[list[str], operator.add]
    note: str


def _file_node(name: str):
    def node(state: FileState) -> dict[str, Any]:
        out = current_workspace() / "out"
        out.mkdir(exist_ok=True)
        (out / f"{name}.txt").write_text(f"{name}:{state.get('tag')}:{len(state.get('log', []))}")
        return {"log": [name]}

    return node


def files_graph() -> StateGraph:
    """a -> b -> c, each writing ``out/<node>.txt`` (``expected_files`` of the state)."""
    builder = StateGraph(FileState)
    for name in "abc":
        builder.add_node(name, _file_node(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder


def files_project() -> WorkflowProject:
    return WorkflowProject(
        "files",
        files_graph,
        file_tracking=TRACKING,
        execution=ExecutionConfig(durability="sync"),
    )


def expected_files(state: dict[str, Any]) -> dict[str, str]:
    """The tracked files a ``files`` execution has at a checkpoint with this state."""
    tag, log = state.get("tag"), state.get("log", [])
    return {f"{name}.txt": f"{name}:{tag}:{i}" for i, name in enumerate(log)}


def open_bench(
    data_dir: str | Path, workspace: str | Path, database_url: str | None = None, **more: Any
):
    """A bench with the ``cas`` file tracker, on SQLite or (``database_url``) PostgreSQL;
    ``more``: further ``StackConfig`` settings."""
    import wtb_filetrack.plugin

    plugins: list[object] = [wtb_filetrack.plugin]
    settings: dict[str, Any] = {"data_dir": Path(data_dir), "file_tracker": "cas", **more}
    if database_url:
        import wtb_postgres.plugin

        plugins.append(wtb_postgres.plugin)
        settings.update(checkpoint_store="postgres", database_url=database_url)
    return WTBTestBench(
        config=StackConfig(**settings),
        plugins=plugins,
        load_entrypoints=False,
        workspace=workspace,
    )


def _after(bench: WTBTestBench, execution_id: str, node: str) -> str:
    return next(c.checkpoint_id for c in bench.get_checkpoints(execution_id) if node in c.nodes)


def _run(bench: WTBTestBench, arm: Callable[[], None]) -> None:
    arm()
    bench.run("files", {"tag": "r"})


def _resume(bench: WTBTestBench, arm: Callable[[], None]) -> None:
    paused = bench.run("files", {"tag": "r"}, breakpoints=["b"])
    arm()
    bench.resume(paused.execution_id)


def _rollback(bench: WTBTestBench, arm: Callable[[], None]) -> None:
    done = bench.run("files", {"tag": "r"})
    target = _after(bench, done.execution_id, "a")
    arm()
    bench.rollback(done.execution_id, target)


def _fork(bench: WTBTestBench, arm: Callable[[], None]) -> None:
    done = bench.run("files", {"tag": "r"})
    target = _after(bench, done.execution_id, "a")
    arm()
    bench.fork(done.execution_id, target, updates={"note": "forked"})


def _update_state(bench: WTBTestBench, arm: Callable[[], None]) -> None:
    paused = bench.run("files", {"tag": "r"}, breakpoints=["c"])
    arm()
    bench.update_state(paused.execution_id, {"note": "edited"})


def _delete_gc(bench: WTBTestBench, arm: Callable[[], None]) -> None:
    from wtb_filetrack.gc import collect_garbage

    first = bench.run("files", {"tag": "first"})
    bench.run("files", {"tag": "second"})  # the workspace now holds the second's files
    arm()
    bench.delete_execution(first.execution_id)
    collect_garbage(bench)


def _batch(bench: WTBTestBench, arm: Callable[[], None]) -> None:
    arm()
    bench.run_batch_test(
        "files",
        [{}],
        [{"tag": "k0"}, {"tag": "k1"}],
        runner="threadpool",
        parallelism=2,
        repetitions=2,
    )


SCENARIOS: dict[str, Callable[[WTBTestBench, Callable[[], None]], None]] = {
    "run": _run,
    "resume": _resume,
    "rollback": _rollback,
    "fork": _fork,
    "update_state": _update_state,
    "delete_gc": _delete_gc,
    "batch": _batch,
}
"""Each sets up what its operation needs and calls ``arm()`` just before the operation."""


def run_scenario(case: dict[str, Any], action: str) -> FailAt:
    """Run ``case["scenario"]`` on a new bench, arming ``FailAt(case["cut"], action,
    case["nth"])`` before its operation; the injector is removed afterwards."""
    import tests.hardening.killable as this  # the factories must be importable back

    injector = FailAt(case["cut"], action, case.get("nth", 1))
    try:
        with open_bench(case["data_dir"], case["workspace"], case.get("database_url")) as bench:
            bench.register_project(this.files_project())
            SCENARIOS[case["scenario"]](bench, lambda: install(injector))
    finally:
        install(None)
    return injector


def serve_cases() -> None:
    """The case server (``--cases``): a child forked per case (everything is imported by
    then, and this process holds no thread or connection to inherit)."""
    import wtb_filetrack.plugin  # noqa: F401 -- imported once, before any fork
    import wtb_postgres.plugin  # noqa: F401

    for line in sys.stdin:
        case = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os.dup2(2, 1)  # the child's prints must not reach the answers
            code = 0
            try:
                run_scenario(case, "kill")
            except BaseException:
                traceback.print_exc()
                code = 3
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        signalled = os.WIFSIGNALED(status)
        answer = {
            "signal": os.WTERMSIG(status) if signalled else None,
            "code": None if signalled else os.WEXITSTATUS(status),
        }
        print(json.dumps(answer), flush=True)


if __name__ == "__main__" and sys.argv[1:] == ["--cases"]:
    serve_cases()
elif __name__ == "__main__":  # python -m tests.hardening.killable DATA_DIR DIR VERB [ID [CP]]
    data_dir, folder, verb, *rest = sys.argv[1:]
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(shared_project() if verb == "shared-batch" else project())
        if verb == "run":
            bench.run("abc", {"dir": folder}, breakpoints=rest or None)
        elif verb == "resume":
            bench.resume(rest[0])
        elif verb == "rollback-resume":
            bench.rollback(rest[0], rest[1])
            bench.resume(rest[0])
        elif verb == "shared-batch":
            cases = [{"dir": folder}]
            bench.run_batch_test(
                "abc", SHARED_MATRIX, cases, runner="sequential", reuse_prefix=True
            )
