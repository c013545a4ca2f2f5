"""What the session found, as the terminal summary prints it (rich tables) and the exit
status it gives."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wtb_core.batch.stats import Interval
from wtb_core.testing.baseline import MetricChange
from wtb_core.testing.gates import GateResult

OK, TESTS_FAILED, USAGE_ERROR, NO_TESTS_COLLECTED = 0, 1, 4, 5  # pytest.ExitCode values
_MISSING = "—"


@dataclass
class SessionReport:
    """The gates checked, the baseline comparison (``None`` without ``--wtb-baseline``) and
    the baseline written (``saved``)."""

    gates: list[GateResult] = field(default_factory=list)
    changes: list[MetricChange] | None = None
    baseline: Path | None = None
    new_tests: list[str] = field(default_factory=list)
    saved: Path | None = None
    saved_tests: int = 0

    @property
    def failing_gates(self) -> list[GateResult]:
        return [result for result in self.gates if not result.passed]

    @property
    def regressions(self) -> list[MetricChange]:
        return [change for change in self.changes or [] if change.regressed]

    def exit_status(self, status: int) -> int:
        """The session's exit status given pytest's: a gate naming a metric nothing measured
        is a usage error (4), a failing gate or a regression a failure (1); pytest's own
        status stands unless it was 0 or 5 (no tests)."""
        if status not in (OK, NO_TESTS_COLLECTED):
            return status
        if any(result.unmeasured for result in self.gates):
            return USAGE_ERROR
        if self.failing_gates or self.regressions:
            return TESTS_FAILED
        return status


def render(report: SessionReport, width: int, markup: bool, verbose: bool) -> str:
    """The summary: the gates table, the baseline comparison, then one line per failing
    gate and regression and one for the baseline written."""
    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=markup,
        color_system="standard" if markup else None,
        highlight=False,
    )
    if report.gates:
        console.print(_gates_table(report.gates))
    if report.changes is not None:
        for part in _baseline_lines(report, verbose):
            console.print(part)
    for result in report.failing_gates:
        kind = "ERROR" if result.unmeasured else "FAILED"
        problem = escape(result.problem or "")
        console.print(f"[red]{kind}[/] gate {escape(result.gate.text)}: {problem}")
    for change in report.regressions:
        console.print(f"[red]REGRESSED[/] {escape(change.test)}: {escape(_regression(change))}")
    if report.saved is not None:
        console.print(escape(f"baseline of {report.saved_tests} tests written to {report.saved}"))
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def _gates_table(results: list[GateResult]) -> Table:
    table = Table(title="WTB gates (every batch and marked test of the session)")
    longest = max(len(result.gate.text) for result in results)
    table.add_column("gate", no_wrap=True, min_width=longest)
    for name in ("value", "interval", "over"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("held to")
    table.add_column("result", no_wrap=True)
    for result in results:
        found = result.measure
        if result.passed:
            verdict = "[green]passed[/]"
        else:
            verdict = "[red]not measured[/]" if result.unmeasured else "[red]FAILED[/]"
        table.add_row(
            escape(result.gate.text),
            _MISSING if found is None else f"{found.value:.4g}",
            _interval(found.ci if found else None),
            _MISSING if found is None else f"{found.n} {found.unit}",
            escape(result.basis),
            verdict,
        )
    return table


def _baseline_lines(report: SessionReport, verbose: bool) -> list[Table | str]:
    """The baseline comparison: a table of the regressions and of what could not be
    tested (of every metric compared with ``verbose``), then a line of counts."""
    changes = report.changes or []
    shown = [c for c in changes if verbose or c.regressed or c.note]
    tests = len({change.test for change in changes})
    counts = (
        f"baseline {report.baseline}: {len(changes)} metrics of {tests} tests compared, "
        f"{len(report.regressions)} regressed"
    )
    if report.new_tests:
        counts += f"; tests not in the baseline: {len(report.new_tests)}"
    if len(shown) < len(changes):
        counts += " (-v lists every metric compared)"
    if not shown:
        return [escape(counts)]
    table = Table(title=escape(f"WTB baseline {report.baseline}: this session − baseline"))
    table.add_column("test", overflow="fold")
    table.add_column("metric", overflow="fold")
    table.add_column("compared", no_wrap=True)
    for name in ("baseline", "now", "delta", "CI", "p"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("result")
    for change in shown:
        verdict = "[red]REGRESSED[/]" if change.regressed else escape(change.note or "ok")
        table.add_row(
            escape(change.test),
            escape(change.metric),
            change.method,
            f"{change.baseline_mean:.3g}",
            f"{change.mean:.3g}",
            f"{change.delta:+.3g}",
            _interval(change.ci, signed=True),
            _MISSING if change.p_value is None else f"{change.p_value:.3g}",
            verdict,
        )
    return [table, escape(counts)]


def _regression(change: MetricChange) -> str:
    text = (
        f"{change.metric} {change.mean:.4g} against {change.baseline_mean:.4g} in the "
        f"baseline, delta {change.delta:+.4g}"
    )
    if change.paired and change.ci is not None and change.p_value is not None:
        low, high = change.ci
        return f"{text} (CI {low:+.4g} to {high:+.4g}), p = {change.p_value:.3g} ({change.method})"
    return f"{text}: the intervals of the two sessions' runs do not overlap ({change.method})"


def _interval(ci: Interval | None, signed: bool = False) -> str:
    if ci is None:
        return _MISSING
    spec = "+.3g" if signed else ".3g"
    return escape(f"[{ci[0]:{spec}}, {ci[1]:{spec}}]")
