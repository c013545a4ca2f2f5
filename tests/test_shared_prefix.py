"""Shared-prefix batches (``run_batch_test(..., reuse_prefix=True)``): same results as
independent cells, prefixes run once, real fork lineage, failures, resume and cancel."""

from __future__ import annotations

import threading

import pytest

from tests import prefix_workflows as wf
from tests.conftest import register
from wtb_core import ExecutionStatus, TestCase, WTBTestBench
from wtb_core.batch.models import BatchStatus
from wtb_core.integrity import cuts

MATRIX = [
    {},
    {"finish": "shout"},
    {"draft": "twice"},
    {"draft": "twice", "finish": "shout"},
]
CASES = [
    TestCase(inputs={"query": "loop"}, expected={"answer": "loop:3"}, name="loop"),
    TestCase(inputs={"query": "skip"}, expected={"answer": "skip:0"}, name="skip"),
]


@pytest.fixture
def project(bench: WTBTestBench) -> str:
    return register_looping(bench)


def _batch(bench: WTBTestBench, project: str, reuse: bool, **kwargs):
    options = {"runner": "threadpool", "parallelism": 4, "repetitions": 2, **kwargs}
    return bench.run_batch_test(
        project, MATRIX, CASES, evaluators=["exact_match"], reuse_prefix=reuse, **options
    )


def _by_cell(batch):
    return {(r.combination_index, r.case_index, r.repetition): r for r in batch.results}


def _nodes(bench: WTBTestBench, execution_id: str) -> list[tuple[str, ...]]:
    """The nodes whose writes each checkpoint of the execution holds, oldest first."""
    return [cp.nodes for cp in bench.get_checkpoints(execution_id)]


def _trunk_count(bench: WTBTestBench) -> int:
    """Trunks of every batch: the executions listed only with ``include_trunks``."""
    listed = {e.execution_id for e in bench.list_executions()}
    return len(
        [e for e in bench.list_executions(include_trunks=True) if e.execution_id not in listed]
    )


def register_looping(bench: WTBTestBench) -> str:
    """The looping project with its variants (the Postgres plugin's tests use it too)."""
    name = register(bench, wf.looping_answer)
    proj = bench.get_project(name)
    proj.register_variant("draft", "twice", wf.draft_twice)
    proj.register_variant("finish", "shout", wf.shout)
    wf.CALLS.clear()
    return name


def check_shared_matches_independent(bench: WTBTestBench, project: str, runner: str) -> None:
    """Shared prefixes give each cell the state, scores and node history of an independent
    cell, with the variants of its combination recorded."""
    naive = _batch(bench, project, False, runner=runner)
    shared = _batch(bench, project, True, runner=runner)
    assert shared.status is BatchStatus.COMPLETED and len(shared.results) == 16
    assert shared.warning is None
    plain, reused = _by_cell(naive), _by_cell(shared)
    assert plain.keys() == reused.keys()
    for key, row in plain.items():
        other = reused[key]
        assert other.status is row.status is ExecutionStatus.COMPLETED
        assert other.state == row.state
        assert other.scores == row.scores
        # the same history, node by node: the trunk's lineage followed by the branch
        assert _nodes(bench, other.execution_id) == _nodes(bench, row.execution_id)
        assert bench.get_execution(other.execution_id).variant_config == MATRIX[key[0]]
    assert {r.state["answer"] for r in shared.results} >= {"loop:3", "LOOP:4", "skip:0"}


@pytest.mark.parametrize("runner", ["sequential", "threadpool"])
def test_results_match_independent_cells_cell_by_cell(bench, project, runner):
    check_shared_matches_independent(bench, project, runner)


def test_the_prefix_runs_once_per_case_and_repetition(bench, project):
    _batch(bench, project, True)
    # 2 cases x 2 repetitions: prep once each, not once per combination
    assert wf.CALLS["prep"] == 4
    # draft (default) runs in the "loop" case only, by the two combinations using it,
    # three times each (the loop), twice per repetition
    assert wf.CALLS["draft"] == 2 * 3 * 1
    wf.CALLS.clear()
    _batch(bench, project, False)
    assert wf.CALLS["prep"] == 16


def test_a_cell_shares_its_trunks_checkpoints_and_is_an_ordinary_execution(bench, project):
    batch = _batch(bench, project, True, repetitions=1)
    loops = [r for r in batch.results if r.case == "loop"]
    histories = [bench.get_checkpoints(r.execution_id) for r in loops]
    firsts = {tuple(cp.checkpoint_id for cp in history[:3]) for history in histories}
    assert len(firsts) == 1  # input, START and prep: one lineage, the trunk's
    row = next(r for r in loops if r.combination == {"finish": "shout"})
    checkpoints = bench.get_checkpoints(row.execution_id)
    assert checkpoints[-1].values["answer"] == "LOOP:3"
    # rollback and fork work on the cell exactly as on an independent one
    fork = bench.fork(row.execution_id, checkpoints[2].checkpoint_id)
    assert bench.resume(fork.execution_id).state == row.state
    rolled = bench.rollback(row.execution_id, checkpoints[2].checkpoint_id)
    assert rolled.status is ExecutionStatus.PAUSED
    assert bench.resume(row.execution_id).state == row.state


def test_trunks_belong_to_the_batch_and_are_hidden_from_listings(bench, project):
    batch = _batch(bench, project, True, repetitions=1)
    listed = {e.execution_id for e in bench.list_executions()}
    assert listed == {r.execution_id for r in batch.results}
    everything = bench.list_executions(include_trunks=True)
    trunks = [e for e in everything if e.execution_id not in listed]
    # paused before a differing node, or completed (in "skip" no draft variant ever runs)
    assert {e.status for e in trunks} == {ExecutionStatus.PAUSED, ExecutionStatus.COMPLETED}
    comparison = bench.get_batch(batch.batch_id).comparison()
    assert comparison.shared_prefix is True
    assert "shared prefix: per case and repetition" in comparison.to_markdown()
    assert "shared prefix" not in _batch(bench, project, False).comparison().to_markdown()
    # trunks are not what a killed batch leaves behind: integrity finds nothing to delete
    report = bench.check_integrity()
    assert report.clean and not report.findings, report.findings


def test_a_failing_trunk_fails_every_dependent_cell_once(bench, project):
    cases = [TestCase(inputs={"query": "explode"}, name="bad"), *CASES[:1]]
    batch = bench.run_batch_test(project, MATRIX, cases, runner="threadpool", reuse_prefix=True)
    bad = [r for r in batch.results if r.case == "bad"]
    assert len(bad) == 4 and all(r.status is ExecutionStatus.FAILED for r in bad)
    assert {r.error for r in bad} == {"RuntimeError: prep cannot read the query"}
    assert len({r.execution_id for r in bad}) == 1  # the one trunk that failed
    assert wf.CALLS["prep"] == 2  # once for "bad", once for "loop"
    assert all(r.status is ExecutionStatus.COMPLETED for r in batch.results if r.case == "loop")
    assert not bench.list_executions(status="running", include_trunks=True)


def test_resume_after_a_crash_reuses_the_finished_trunks(bench, project):
    crash = cuts.FailAt("batch.after_row", nth=3)
    cuts.install(crash)
    try:
        with pytest.raises(cuts.InjectedFault):
            _batch(bench, project, True, runner="sequential", repetitions=1)
    finally:
        cuts.install(None)
    [killed] = bench.list_batches()
    assert killed.status is BatchStatus.INTERRUPTED and len(killed.results) == 3
    prep_before = wf.CALLS["prep"]
    done = bench.resume_batch(killed.batch_id)
    assert done.status is BatchStatus.COMPLETED and len(done.results) == 8
    assert wf.CALLS["prep"] == prep_before  # no trunk ran again
    # as many trunks as an uninterrupted run of the same batch makes
    resumed = _trunk_count(bench)
    _batch(bench, project, True, repetitions=1)
    assert _trunk_count(bench) == 2 * resumed
    expected = _by_cell(_batch(bench, project, False, repetitions=1))
    assert {k: r.state for k, r in _by_cell(done).items()} == {
        k: r.state for k, r in expected.items()
    }


def test_cancel_mid_tree_then_resume_finishes_it(bench, project):
    started = threading.Event()
    holder: dict[str, str] = {}

    def on_progress(progress):
        holder["id"] = progress.batch_id
        if progress.done >= 1 and not started.is_set():
            started.set()
            bench.cancel_batch(progress.batch_id)

    batch = _batch(bench, project, True, runner="sequential", on_progress=on_progress)
    assert batch.status is BatchStatus.CANCELLED and 0 < len(batch.results) < 16
    assert not bench.list_executions(status="running", include_trunks=True)
    done = bench.resume_batch(batch.batch_id)
    assert done.status is BatchStatus.COMPLETED and len(done.results) == 16
    assert wf.CALLS["prep"] == 4  # the trunks the cancelled run made were reused


def test_reuse_prefix_must_be_a_flag(bench, project):
    from wtb_core import ConfigurationError

    with pytest.raises(ConfigurationError, match="reuse_prefix"):
        bench.run_batch_test(project, MATRIX, CASES, reuse_prefix="yes")
    assert bench.list_batches() == []


def test_reuse_prefix_with_record_or_replay_is_refused_before_anything_runs(bench, project):
    from wtb_core import InvalidInputError

    with pytest.raises(InvalidInputError, match="reuse_prefix and record / replay"):
        bench.run_batch_test(
            project, MATRIX, CASES, reuse_prefix=True, record=True, recorded_nodes=["draft"]
        )
    assert bench.list_batches() == [] and bench.list_executions() == []
    assert bench.list_recordings() == []


def _rows(saver, thread_id: str) -> set[tuple]:
    """Every checkpoint (all namespaces) of a thread with its parent and pending writes."""
    return {
        (
            t.config["configurable"]["checkpoint_ns"],
            t.config["configurable"]["checkpoint_id"],
            (t.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
            tuple(sorted((w[0], w[1]) for w in t.pending_writes or ())),
        )
        for t in saver.list({"configurable": {"thread_id": thread_id}})
    }


def test_the_sqlite_stores_copy_is_the_savers_copy(bench):
    """Forks copy threads with set-based SQL on SQLite: the same rows, subgraph
    checkpoints included, as copying through the saver's own list/put/put_writes."""
    from tests import workflows
    from wtb_core.engine.threads import copy_lineage

    project = register(bench, workflows.with_subgraph)
    done = bench.run(project, {})
    store, saver = bench.stack.checkpoints, bench.stack.checkpoints.saver
    source = f"wtb-{done.execution_id}"
    for checkpoint in bench.get_checkpoints(done.execution_id)[1:]:
        cp = checkpoint.checkpoint_id
        store.copy_thread(source, f"sql-{cp}", cp)
        copy_lineage(saver, source, f"saver-{cp}", cp)
        copied = _rows(saver, f"sql-{cp}")
        assert copied == _rows(saver, f"saver-{cp}")
        assert any(ns for ns, *_ in copied) or checkpoint.step < 2  # subgraph rows too


@pytest.mark.parametrize(
    ("factory", "variants", "matrix"),
    [
        (  # a parallel super-step: left and right run together, right differs
            "parallel",
            {"right": ("right2", wf.tagged("right2")), "join": ("join2", wf.tagged("join2"))},
            [{}, {"right": "right2"}, {"join": "join2"}, {"right": "right2", "join": "join2"}],
        ),
        (  # Send fan-out: the Send target differs, then the node after it
            "fan_out",
            {"work": ("loud", wf.work_loud), "summarize": ("again", wf.tagged("again"))},
            [{}, {"work": "loud"}, {"summarize": "again"}],
        ),
    ],
)
def test_parallel_steps_and_send_fan_out_match_independent_cells(bench, factory, variants, matrix):
    from tests import workflows

    name = register(bench, getattr(workflows, factory))
    for node, (variant_name, implementation) in variants.items():
        bench.get_project(name).register_variant(node, variant_name, implementation)
    cases = [{"query": "a"}, {"query": "b"}]
    naive = bench.run_batch_test(name, matrix, cases, runner="threadpool")
    shared = bench.run_batch_test(name, matrix, cases, runner="threadpool", reuse_prefix=True)
    plain, reused = _by_cell(naive), _by_cell(shared)
    assert plain.keys() == reused.keys() and len(plain) == 2 * len(matrix)
    for key, row in plain.items():
        assert reused[key].status is ExecutionStatus.COMPLETED
        assert reused[key].state == row.state
        assert _nodes(bench, reused[key].execution_id) == _nodes(bench, row.execution_id)
    assert _trunk_count(bench) > 0  # something was shared


def test_a_batch_differing_at_the_first_node_shares_nothing_and_makes_no_trunk(bench):
    """Every combination differs at the node START leads to: nothing can be shared, so the
    cells run from their inputs as independent cells do (no trunk, no fork)."""
    from tests import workflows

    name = register(bench, workflows.linear)
    bench.get_project(name).register_variant("retrieve", "other", wf.tagged("other"))
    matrix = [{}, {"retrieve": "other"}]
    naive = bench.run_batch_test(name, matrix, [{"query": "q"}], runner="sequential")
    shared = bench.run_batch_test(
        name, matrix, [{"query": "q"}], runner="sequential", reuse_prefix=True
    )
    assert _trunk_count(bench) == 0
    assert [r.state for r in shared.results] == [r.state for r in naive.results]
    for row in shared.results:
        assert bench.get_execution(row.execution_id).parent_execution_id is None


def test_a_trunk_that_ran_no_node_is_not_forked(bench):
    """Behind a conditional edge from START the first nodes are known only once the trunk
    stops: one that stopped before any node ran is not forked, its cells start afresh."""
    name = register(bench, wf.routed_answer)
    bench.get_project(name).register_variant("prep", "quiet", wf.prep_quiet)
    matrix = [{}, {"prep": "quiet"}]
    naive = bench.run_batch_test(name, matrix, [{"query": "loop"}], runner="sequential")
    shared = bench.run_batch_test(
        name, matrix, [{"query": "loop"}], runner="sequential", reuse_prefix=True
    )
    assert _trunk_count(bench) == 1  # the one that stopped before prep
    assert [r.state for r in shared.results] == [r.state for r in naive.results]
    for row in shared.results:
        assert bench.get_execution(row.execution_id).parent_execution_id is None
        assert _nodes(bench, row.execution_id) == _nodes(bench, naive.results[0].execution_id)
