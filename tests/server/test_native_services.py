"""The service operations the native API added, called in process: cursor paging of
executions, the state diff, a batch's paged rows, the ids and start callbacks a server
hands out, and ``project_from_ref`` of a ``WorkflowProject``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests import workflows
from tests.conftest import register
from wtb_core import WorkflowProject
from wtb_core.cli.common import CommandLineError, project_from_ref
from wtb_core.errors import ConfigurationError, InvalidStateError
from wtb_core.sdk.inspection import InvalidCursorError

PROJECT = WorkflowProject("module_project", workflows.chain3)


@pytest.fixture
def services(bench):
    register(bench, workflows.linear, "linear")
    register(bench, workflows.human, "human")
    return bench.services


def _all_pages(services, limit: int, **filters) -> list[str]:
    seen, cursor = [], None
    while True:
        page = services.inspection.page_executions(limit=limit, cursor=cursor, **filters)
        assert len(page.items) <= limit
        seen += [r.execution_id for r in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_paging_breaks_ties_of_creation_time_by_id(bench, services):
    ids = [bench.run("linear", {}).execution_id for _ in range(5)]
    same = datetime(2030, 1, 1, tzinfo=UTC)
    for execution_id in ids[1:4]:  # three executions created "at once"
        bench.stack.metadata.update_execution(execution_id, {"created_at": same})
    expected = [r.execution_id for r in bench.list_executions()]
    for limit in (1, 2, 3, 5, 6):
        assert _all_pages(services, limit) == expected, limit
    assert _all_pages(services, 2, status="completed") == expected
    assert _all_pages(services, 2, project="human") == []


def test_a_cursor_no_listing_made_is_refused(services):
    for cursor in ("x", "bm90IGpzb24", "WzEsMl0"):  # not base64 / not JSON / not a position
        with pytest.raises(InvalidCursorError, match="next_cursor"):
            services.inspection.page_executions(cursor=cursor)
    with pytest.raises(InvalidCursorError, match="limit"):
        services.inspection.page_executions(limit=0)


def test_the_diff_names_changed_keys_with_both_values(bench, services):
    run = bench.run("human", {"query": "q"})
    head_before = run.checkpoint_id
    done = bench.resume(run.execution_id, resume="ok")
    diff = services.inspection.diff(run.execution_id, head_before)
    assert diff.to_checkpoint == done.checkpoint_id
    assert [(c.key, c.change, c.before, c.after) for c in diff.changes] == [
        ("answer", "added", None, "ok"),
        ("log", "changed", ["draft"], ["draft", "publish"]),
        ("n", "changed", 1, 2),
    ]
    assert services.inspection.diff(run.execution_id, head_before, head_before).changes == []


def test_a_run_and_a_resume_report_when_they_start(bench, services):
    created: list[str] = []
    asked = services.executions.run("human", {}, execution_id="chosen", on_created=created.append)
    assert created == ["chosen"] and asked.execution_id == "chosen"
    started: list[str] = []
    with pytest.raises(InvalidStateError, match="resume="):
        services.executions.resume("chosen", on_started=started.append)
    assert started == []  # refused before it was claimed
    assert services.executions.resume("chosen", "yes", on_started=started.append).state["answer"]
    assert started == ["chosen"]


def test_a_batch_takes_its_id_and_reports_it_once_stored(bench, services):
    created: list[str] = []

    def stored(batch_id: str) -> None:
        created.append(batch_id)
        assert bench.get_batch(batch_id).results == []  # stored, no cell run yet

    batch = services.batches.run(
        "linear", [{}], [{"query": "x"}], batch_id="mine", on_created=stored
    )
    assert created == ["mine"] and batch.batch_id == "mine"
    with pytest.raises(InvalidStateError, match="exists already"):
        services.batches.run("linear", [{}], [{"query": "x"}], batch_id="mine")
    started: list[str] = []  # a completed batch resumes with nothing to run
    services.batches.resume("mine", retry_failed=True, on_started=started.append)
    assert started == ["mine"]


def test_batch_rows_are_filtered_and_paged(bench, services):
    bench.get_project("linear").register_variant("generate", "echo", workflows.echo_answer)
    batch = bench.run_batch_test(
        "linear", [{}, {"generate": "echo"}], [{"query": "a"}, {"query": "b"}], repetitions=2
    )
    rows = services.batches.rows
    assert rows(batch.batch_id) == (batch.results, 8)
    echo, total = rows(batch.batch_id, {"generate": "echo"})
    assert total == 4 and echo == batch.rows_for("generate=echo")
    case, total = rows(batch.batch_id, "generate=echo", case="case-1", limit=1, offset=1)
    assert total == 2 and [(r.case, r.repetition) for r in case] == [("case-1", 1)]
    assert rows(batch.batch_id, status="failed") == ([], 0)
    with pytest.raises(ConfigurationError, match="default, generate=echo"):
        rows(batch.batch_id, "nope=x")
    with pytest.raises(ConfigurationError, match="unknown status"):
        rows(batch.batch_id, status="sleeping")
    with pytest.raises(ConfigurationError, match="offset"):
        rows(batch.batch_id, offset=-1)


def test_project_from_ref_takes_a_workflow_project_as_it_is():
    ref = "tests.server.test_native_services:PROJECT"
    assert project_from_ref(ref, None) is PROJECT
    assert project_from_ref(ref, "module_project") is PROJECT
    with pytest.raises(CommandLineError, match="cannot rename"):
        project_from_ref(ref, "other")
    assert project_from_ref("tests.workflows:chain3", None).name == "chain3"
