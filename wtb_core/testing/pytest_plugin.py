"""WTB's pytest plugin, registered by the ``pytest11`` entry point ``wtb`` of ``wtb-core``.

* Fixtures: ``wtb_bench`` (a bench on a per-test temporary data directory, closed after the
  test), ``wtb_run`` (runs the project of the test's ``wtb`` marker; ``runs``) and
  ``wtb_projects`` (projects registered on every ``wtb_bench``; override it in a conftest).
* The marker ``@pytest.mark.wtb(project=..., repetitions=1, evaluators=())``.
* After the session: ``--wtb-gate`` gates (``gates``) and the ``--wtb-baseline``
  comparison (``baseline``) over what every ``wtb_bench`` test ran (``session_results``),
  a terminal summary (``summary``) and a non-zero exit status when one fails;
  ``--wtb-save-baseline`` writes the baseline. Each test's metrics are JUnit XML
  properties (``wtb.<metric>``).
* ``--wtb-record DIR`` / ``--wtb-replay DIR`` (``--wtb-record-missing``): every
  ``wtb_bench`` records or replays the outputs of the nodes projects mark as external
  (``recordings``).
* Under pytest-xdist the workers' runs are sent to the controller, which checks the gates.

Importing this module is cheap (pytest loads it in every session): WTB itself is imported
when a fixture or an option needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from wtb_core.sdk.bench import WTBTestBench
    from wtb_core.testing.baseline import Values
    from wtb_core.testing.gates import Gate
    from wtb_core.testing.recordings import TestRecordings
    from wtb_core.testing.runs import WorkflowRunner
    from wtb_core.testing.session_results import RunRecord, SessionResults
    from wtb_core.testing.summary import SessionReport

CONFIDENCE = 0.95  # of the intervals gates and JUnit properties use
MARKER_HELP = (
    "wtb(project, repetitions=1, evaluators=()): the WTB project the wtb_run fixture runs "
    "(a 'module:attribute' reference, a wtb_project.yaml, a WorkflowProject or a registered "
    "name), how many times each call runs, and the evaluators that score each run"
)


@dataclass
class _Session:
    """The plugin's state for one pytest session (in ``config.stash``)."""

    gates: list[Gate]
    use_ci: bool
    baseline_path: Path | None
    baseline: Values | None
    save_path: Path | None
    alpha: float
    min_effect: float
    recordings: TestRecordings | None = None
    results: SessionResults | None = None
    report: SessionReport | None = None

    @property
    def checks(self) -> bool:
        """Whether the session ends with gates, a baseline comparison or a baseline written."""
        return bool(self.gates) or self.baseline is not None or self.save_path is not None

    def session_results(self) -> SessionResults:
        if self.results is None:
            from wtb_core.testing.session_results import SessionResults

            self.results = SessionResults()
        return self.results


_SESSION = pytest.StashKey[_Session]()
_RUNS = pytest.StashKey[list["RunRecord"]]()  # on a test item: the runs it made


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wtb", "WTB workflow tests: gates and baselines")
    group.addoption(
        "--wtb-gate",
        action="append",
        default=[],
        metavar="GATE",
        help="Fail the session unless METRIC>=NUMBER (or <=, >, <) holds for the aggregate "
        "of every batch and marked test, e.g. 'exact_match>=0.8', 'latency_p95_ms<=2000', "
        "'pass_rate>=0.9' (repeatable).",
    )
    group.addoption(
        "--wtb-gate-ci",
        action="store_true",
        help="Gate on the 95%% interval's bound (lower for >=, upper for <=), not the value.",
    )
    group.addoption(
        "--wtb-baseline",
        metavar="PATH",
        type=Path,
        help="Compare each test's metrics with this baseline file (written by "
        "--wtb-save-baseline); a significant regression fails the session.",
    )
    group.addoption(
        "--wtb-save-baseline",
        metavar="PATH",
        type=Path,
        help="Write this session's metrics per test and case to PATH, as a baseline.",
    )
    group.addoption(
        "--wtb-alpha",
        type=float,
        default=0.05,
        metavar="P",
        help="Significance level of the baseline comparison (default 0.05).",
    )
    group.addoption(
        "--wtb-min-effect",
        type=float,
        default=0.0,
        metavar="X",
        help="A regression against the baseline must be worse than this (default 0).",
    )
    group.addoption(
        "--wtb-record",
        metavar="DIR",
        type=Path,
        help="Record the outputs of the nodes projects mark as external (recorded_nodes) "
        "in DIR, one file per test.",
    )
    group.addoption(
        "--wtb-replay",
        metavar="DIR",
        type=Path,
        help="Serve recorded outputs from DIR instead of calling those nodes; an input "
        "without a recording fails the run, naming the node.",
    )
    group.addoption(
        "--wtb-record-missing",
        action="store_true",
        help="With --wtb-replay: call a node whose input has no recording and add its "
        "output to the test's file.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    option = config.option
    gates: list[Gate] = []
    baseline = None
    recordings = None
    worker = hasattr(config, "workerinput")  # an xdist worker: the controller checks
    if option.wtb_record or option.wtb_replay or option.wtb_record_missing:
        from wtb_core.errors import WTBError
        from wtb_core.testing.recordings import TestRecordings

        try:
            recordings = TestRecordings(
                option.wtb_record, option.wtb_replay, option.wtb_record_missing
            )
        except WTBError as exc:
            raise pytest.UsageError(str(exc)) from None
    if not worker:
        from wtb_core.errors import WTBError

        try:
            gates, baseline = _read_options(config)
        except WTBError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[_SESSION] = _Session(
        gates=gates,
        use_ci=option.wtb_gate_ci,
        baseline_path=option.wtb_baseline,
        baseline=baseline,
        save_path=None if worker else option.wtb_save_baseline,
        alpha=option.wtb_alpha,
        min_effect=option.wtb_min_effect,
        recordings=recordings,
    )


def _read_options(config: pytest.Config) -> tuple[list[Gate], Values | None]:
    """The gates and the baseline the options name (``WTBError`` for bad ones)."""
    option = config.option
    gates = []
    if option.wtb_gate:
        from wtb_core.testing.gates import parse_gate

        gates = [parse_gate(text) for text in option.wtb_gate]
    baseline = None
    if option.wtb_baseline is not None:
        from wtb_core.batch.regression import check_level
        from wtb_core.errors import ConfigurationError
        from wtb_core.testing.baseline import load

        try:
            check_level(option.wtb_alpha, option.wtb_min_effect)
        except ConfigurationError as exc:
            raise ConfigurationError(f"--wtb-alpha / --wtb-min-effect: {exc}") from None
        baseline = load(option.wtb_baseline)
    return gates, baseline


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def wtb_projects() -> list[Any]:
    """Projects registered on every ``wtb_bench``: ``WorkflowProject``s, ``module:attribute``
    references or ``wtb_project.yaml`` paths. None by default; override it in a conftest.py
    so tests (and the ``wtb`` marker) can name projects by their names."""
    return []


@pytest.fixture
def wtb_bench(
    request: pytest.FixtureRequest, tmp_path: Path, wtb_projects: list[Any]
) -> Iterator[WTBTestBench]:
    """A ``WTBTestBench`` on ``<tmp_path>/wtb`` with the ``wtb_projects`` registered,
    in-memory checkpoints unless ``wtb.toml`` / ``WTB_CHECKPOINT_STORE`` name a store;
    closed after the test. Every batch it ran, and every ``wtb_run`` run, counts for the
    session's gates and baseline and is in the test's JUnit properties."""
    from wtb_core.testing.runs import open_bench
    from wtb_core.testing.session_results import batch_records

    item = request.node
    bench = open_bench(tmp_path / "wtb", wtb_projects)
    records = item.stash.setdefault(_RUNS, [])
    recordings = item.config.stash[_SESSION].recordings
    try:
        if recordings is not None:
            recordings.start(bench, item.nodeid)
        yield bench
    finally:
        try:
            for batch in reversed(bench.list_batches()):  # oldest first
                records.extend(batch_records(item.nodeid, batch))
            if recordings is not None:
                recordings.finish(bench, item.nodeid)
        finally:
            bench.close()
            _finish_test(item, records)


@pytest.fixture
def wtb_run(request: pytest.FixtureRequest, wtb_bench: WTBTestBench) -> WorkflowRunner:
    """Runs the project of the test's ``wtb`` marker: ``wtb_run(initial_state,
    variant_config=None, workflow_variant=None, *, expected=None)`` runs it ``repetitions``
    times and returns the ``Outcomes`` (a list of ``ExecutionResult``); a run that fails,
    or an evaluator that raises, fails the test with the execution id and how to inspect
    it."""
    from wtb_core.testing.runs import WorkflowRunner, read_marker

    item = request.node
    records = item.stash.setdefault(_RUNS, [])
    return WorkflowRunner(wtb_bench, item.nodeid, read_marker(item), records.append)


def _finish_test(item: pytest.Item, records: list[RunRecord]) -> None:
    """Count a test's runs for the session and add its metrics to its JUnit properties."""
    if not records:
        return
    from wtb_core.testing.measures import junit_properties

    item.config.stash[_SESSION].session_results().add(records)
    item.user_properties.extend(junit_properties(records, CONFIDENCE))


# -- xdist -------------------------------------------------------------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: add the runs a worker sent."""
    from wtb_core.testing.session_results import WORKEROUTPUT_KEY

    sent = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
    if sent:
        node.config.stash[_SESSION].session_results().merge_json(sent)


# -- the end of the session ----------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A worker sends its runs; otherwise check the gates and the baseline, write the
    baseline, and make the exit status non-zero when a gate or the baseline fails."""
    config = session.config
    state = config.stash.get(_SESSION, None)
    if state is None:
        return
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        if state.results is not None:
            from wtb_core.testing.session_results import WORKEROUTPUT_KEY

            workeroutput[WORKEROUTPUT_KEY] = state.results.to_json()
        return
    if not state.checks:
        return
    state.report = _check(state)
    session.exitstatus = state.report.exit_status(int(session.exitstatus))


def _check(state: _Session) -> SessionReport:
    from wtb_core.testing import baseline
    from wtb_core.testing.gates import evaluate
    from wtb_core.testing.summary import SessionReport

    records = state.session_results().records
    report = SessionReport(gates=evaluate(state.gates, records, state.use_ci, CONFIDENCE))
    if state.baseline is not None:
        current = baseline.case_values(records)
        report.changes = baseline.compare(state.baseline, current, state.alpha, state.min_effect)
        report.baseline = state.baseline_path
        report.new_tests = baseline.new_tests(state.baseline, current)
    if state.save_path is not None:
        baseline.save(state.save_path, records)
        report.saved = state.save_path
        report.saved_tests = len({record.test for record in records})
    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    state = config.stash.get(_SESSION, None)
    if state is None or state.report is None:
        return
    from wtb_core.testing.summary import render

    writer = config.get_terminal_writer()
    terminalreporter.write_sep("=", "wtb")
    verbose = config.get_verbosity() > 0
    terminalreporter.write(render(state.report, writer.fullwidth, writer.hasmarkup, verbose))
