"""What the plugin's fixtures do: open a test's bench, read the ``wtb`` marker, and run the
marked project (``WorkflowRunner``, the ``wtb_run`` fixture's value).

Projects are named by a ``module:attribute`` reference (a ``WorkflowProject`` or a graph
factory, as ``wtb serve --project`` takes them), a ``wtb_project.yaml`` file, a
``WorkflowProject``, or the name of a project registered on the bench (by the
``wtb_projects`` fixture, or by the test itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wtb_core.errors import ConfigurationError, WTBError
from wtb_core.testing.outcomes import Inspection, Outcomes
from wtb_core.testing.session_results import RunRecord, call_case, run_record

if TYPE_CHECKING:
    import pytest

    from wtb_core.batch.scoring import Evaluator
    from wtb_core.project import WorkflowProject
    from wtb_core.sdk.bench import WTBTestBench

MARKER = "wtb"


def open_bench(data_dir: Path, projects: Iterable[str | WorkflowProject]) -> WTBTestBench:
    """A bench on ``data_dir`` with ``projects`` registered. The stack is ``StackConfig``'s
    (``wtb.toml``, ``WTB_*``) but for the data directory, and the checkpoint store is the
    in-memory one unless the configuration names one."""
    from wtb_core.config import StackConfig
    from wtb_core.sdk.bench import WTBTestBench

    config = StackConfig(data_dir=data_dir)
    if "checkpoint_store" not in config.model_fields_set:
        config = StackConfig(data_dir=data_dir, checkpoint_store="memory")
    bench = WTBTestBench(config=config)
    try:
        for project in projects:
            register(bench, project, "wtb_projects")
    except BaseException:
        bench.close()
        raise
    return bench


def inspection(bench: WTBTestBench) -> Inspection:
    """Where ``bench`` keeps what a finished test leaves behind."""
    data_dir = bench.config.data_dir.resolve()
    return Inspection(data_dir, bench.config.checkpoint_store != "memory")


def register(bench: WTBTestBench, project: Any, where: str) -> str:
    """Register the project ``project`` names (see the module) unless it is a name the bench
    has; return its name. ``where`` says who named it, for the error messages."""
    from wtb_core.cli.common import is_yaml_project, project_from_ref
    from wtb_core.project import WorkflowProject

    if isinstance(project, WorkflowProject):
        return bench.register_project(project).name
    if not isinstance(project, str) or not project:
        raise ConfigurationError(
            f"{where}: a project is a 'module:attribute' reference, a wtb_project.yaml path, a "
            f"WorkflowProject or a registered project's name, not {project!r}"
        )
    if ":" in project or is_yaml_project(project):
        try:
            return bench.register_project(project_from_ref(project, None)).name
        except WTBError as exc:
            raise type(exc)(f"{where}: {exc}") from exc
    if project in bench.list_projects():
        return project
    registered = ", ".join(bench.list_projects()) or "none"
    raise ConfigurationError(
        f"{where}: no project {project!r} is registered (registered: {registered}); name it "
        "by a 'module:attribute' reference (a WorkflowProject or a graph factory), or return "
        "it from a wtb_projects fixture in your conftest.py"
    )


@dataclass(frozen=True)
class Marker:
    """The ``wtb`` marker's arguments, checked."""

    project: Any
    repetitions: int
    evaluators: list[Any]


def read_marker(node: pytest.Item) -> Marker:
    """The ``wtb`` marker closest to ``node`` (on the test, its class or its module);
    ``ConfigurationError`` saying what to write when it is missing or malformed."""
    from wtb_core.batch import arguments

    mark = node.get_closest_marker(MARKER)
    if mark is None:
        raise ConfigurationError(
            f"{node.nodeid} uses wtb_run without a wtb marker: add "
            "@pytest.mark.wtb(project='myapp.graphs:project') to the test (or "
            "pytestmark = pytest.mark.wtb(...) to its module)"
        )
    options = dict(mark.kwargs)
    if len(mark.args) > 1 or (mark.args and "project" in options):
        raise ConfigurationError(
            f"@pytest.mark.wtb{mark.args!r}: give the project once, as its only positional "
            "argument or as project=..."
        )
    if mark.args:
        options["project"] = mark.args[0]
    unknown = sorted(set(options) - {"project", "repetitions", "evaluators"})
    if unknown:
        raise ConfigurationError(
            f"@pytest.mark.wtb: unknown argument(s) {', '.join(unknown)}; it takes project, "
            "repetitions and evaluators"
        )
    if "project" not in options:
        raise ConfigurationError(
            "@pytest.mark.wtb needs project=... (for example project='myapp.graphs:project')"
        )
    try:
        repetitions = arguments.count(
            "repetitions", options.get("repetitions", 1), "runs of each wtb_run call", 3
        )
        evaluators = arguments.evaluators(options.get("evaluators"))
    except ConfigurationError as exc:
        raise ConfigurationError(f"@pytest.mark.wtb: {exc}") from None
    return Marker(options["project"], repetitions, evaluators)


class WorkflowRunner:
    """``wtb_run``: runs the marked project ``repetitions`` times per call, scores every run
    with the marker's evaluators, records it for gates and baselines, and fails the test
    (naming the execution and how to inspect it) when a run fails or an evaluator raises."""

    def __init__(
        self,
        bench: WTBTestBench,
        test: str,
        marker: Marker,
        record: Callable[[RunRecord], None],
    ) -> None:
        from wtb_core.batch.evaluator_specs import resolve_evaluators

        self._bench = bench
        self._test = test
        self._repetitions = marker.repetitions
        self._evaluators: dict[str, Evaluator] = resolve_evaluators(
            bench.plugins, marker.evaluators
        )[0]
        self._project = register(bench, marker.project, "@pytest.mark.wtb(project=...)")
        self._record = record
        self._inspection = inspection(bench)

    def __call__(
        self,
        initial_state: Mapping[str, Any] | None = None,
        variant_config: Mapping[str, str] | None = None,
        workflow_variant: str | None = None,
        *,
        expected: Mapping[str, Any] | None = None,
    ) -> Outcomes:
        """Run the project from ``initial_state`` (with ``variant_config`` /
        ``workflow_variant``) once per repetition; ``expected`` is what evaluators compare
        the final state with (a ``TestCase``'s ``expected``)."""
        __tracebackhide__ = True
        import pytest

        from wtb_core.batch.scoring import score
        from wtb_core.domain.models import ExecutionStatus, TestCase

        case = TestCase(
            inputs=dict(initial_state or {}),
            expected=dict(expected) if expected is not None else None,
        )
        key = call_case(initial_state, variant_config, workflow_variant, expected)
        runs = []
        problems = []
        for repetition in range(self._repetitions):
            outcome = self._bench.run(
                self._project, initial_state, variant_config, workflow_variant
            )
            scores, errors = score(case, outcome, self._evaluators)
            self._record(run_record(self._test, key, outcome, scores, errors))
            runs.append(outcome)
            problem = _problem(outcome.status is ExecutionStatus.FAILED, outcome.error, errors)
            if problem:
                problems.append((repetition, outcome.execution_id, problem))
        if problems:
            pytest.fail(self._failure(problems), pytrace=False)
        return Outcomes(runs, self._inspection)

    def _failure(self, problems: Sequence[tuple[int, str, str]]) -> str:
        count = self._repetitions
        lines = [f"wtb_run: {len(problems)} of {count} runs of project {self._project!r} failed"]
        for repetition, execution_id, problem in problems:
            lines.append(f"run {repetition + 1} of {count}: execution {execution_id} {problem}")
            lines.append(f"  {self._inspection.hint(execution_id)}")
        return "\n".join(lines)


def _problem(failed: bool, error: str | None, score_errors: Mapping[str, str]) -> str | None:
    """What went wrong in a run: its node's error, or an evaluator's."""
    if failed:
        return f"failed: {error or 'no error recorded'}"
    if score_errors:
        found = "; ".join(f"{name}: {text}" for name, text in score_errors.items())
        return f"completed, but an evaluator failed: {found}"
    return None
