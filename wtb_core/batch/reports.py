"""Rendering batch results: a ``Comparison`` as rich tables, Markdown or plain text, threshold
checks on it, and the rows as JUnit XML for CI systems."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from wtb_core.batch.models import BatchRow, is_measurement
from wtb_core.batch.stats import CI_METHODS
from wtb_core.domain.models import ExecutionStatus

if TYPE_CHECKING:
    from wtb_core.batch.comparison import (
        CombinationStats,
        Comparison,
        MetricDelta,
        PairedComparison,
    )
    from wtb_core.batch.stats import Interval

RATES = ("success_rate", "pass_rate")
BASELINE_MARK = " (baseline)"
TEXT_COLUMNS = ("combination", "matrix entry", "metric", "method")  # left-aligned
_MISSING = "—"
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Grid = tuple[list[str], list[list[str]]]  # header, rows


# --- Comparison -----------------------------------------------------------------------------


def rich_tables(comparison: Comparison) -> list[Table]:
    """The summary table, the metrics table when there are scores, then one paired table per
    combination other than the baseline."""
    return [_rich(title, grid, caption) for title, grid, caption in _sections(comparison, 5)]


def plain_text(comparison: Comparison) -> str:
    """The rich tables as plain text, 120 columns wide."""
    if not comparison.combinations:
        return "no rows\n"
    console = Console(record=True, width=120, file=io.StringIO(), color_system=None)
    for table in rich_tables(comparison):
        console.print(table)
    return console.export_text()


def markdown(comparison: Comparison) -> str:
    """GitHub-flavoured Markdown: one section per table, its notes as a list under it; the
    summary also shows each combination's matrix entry (as JSON)."""
    parts = []
    for title, grid, notes in _sections(comparison, None, entries=True):
        parts += [f"### {title}", _markdown_table(*grid)]
        if notes:
            parts.append("\n".join(f"- {line}" for line in notes))
    return "\n\n".join(parts) + "\n"


def fails_under(comparison: Comparison, thresholds: Mapping[str, float]) -> list[str]:
    """Messages for every combination whose metric mean (or rate) is below its minimum, for
    every threshold naming a metric the batch lacks, and for a batch without rows."""
    if not comparison.combinations:
        return ["the batch has no rows to check"]
    known = {metric for stats in comparison.combinations for metric in stats.metrics}
    messages = []
    for name, minimum in thresholds.items():
        if name not in RATES and name not in known:
            choices = ", ".join([*RATES, *sorted(known)])
            messages.append(f"{name}: not a metric of this batch (it has: {choices})")
            continue
        for stats in comparison.combinations:
            value = _threshold_value(stats, name)
            label = stats.combination_label
            if value is None:
                messages.append(f"{label}: no {name} score to hold to {minimum:g}")
            elif value < minimum:
                messages.append(f"{label}: {name} {value:.3f} < {minimum:g}")
    return messages


def _threshold_value(stats: CombinationStats, name: str) -> float | None:
    if name in RATES:
        rate: float = getattr(stats, name)
        return rate
    metric = stats.metrics.get(name)
    return metric.mean if metric else None


def _sections(
    comparison: Comparison, flaky_limit: int | None, entries: bool = False
) -> list[tuple[str, Grid, list[str]]]:
    """(title, grid, notes) of each table: the summary, the metrics, one per paired comparison;
    ``flaky_limit`` caps the flaky cases named per combination (None: all); ``entries`` adds
    each combination's matrix entry to the summary."""
    pct = _pct(comparison.confidence)
    flaky = _flaky(comparison, flaky_limit)
    sections = [(f"Batch summary ({pct} CIs)", _summary(comparison, entries), flaky)]
    if any(stats.metrics for stats in comparison.combinations):
        title = f"Metrics (mean over cases, {pct} CIs)"
        sections.append((title, _metrics(comparison), _metric_notes(comparison)))
    shared = [SHARED_PREFIX_NOTE] if comparison.shared_prefix else []
    for pair in comparison.paired:
        grid, notes = _paired(pair)
        title = f"{pair.combination_label} vs baseline {pair.baseline_label} (paired per case)"
        sections.append((title, grid, [*notes, *shared]))
    return sections


SHARED_PREFIX_NOTE = (
    "shared prefix: per case and repetition, both combinations ran the nodes before their "
    "first differing node once and forked from there (a paired design with a common "
    "upstream: the upstream's variance drops out of the paired deltas)"
)


def _label(comparison: Comparison, label: str) -> str:
    baseline = comparison.paired and label == comparison.baseline_label
    return label + BASELINE_MARK if baseline else label


def _summary(comparison: Comparison, entries: bool = False) -> Grid:
    repeated = any(stats.repetitions > 1 for stats in comparison.combinations)
    header = ["combination", *(["matrix entry"] if entries else []), "n", "completed"]
    header += ["success", "pass"]
    header += ["pass^k", "pass@k", "flaky"] if repeated else []
    header += ["p50 ms", "p95 ms"]
    rows = []
    for stats in comparison.combinations:
        row = [_label(comparison, stats.combination_label)]
        row += [f"`{_entry(stats.combination)}`"] if entries else []
        row += [str(stats.n), str(stats.n_completed)]
        row += [_rate(stats.success_rate, stats.success_ci), _rate(stats.pass_rate, stats.pass_ci)]
        if repeated:
            row += [_share(stats.pass_hat_k), _share(stats.pass_at_k), str(len(stats.flaky_cases))]
        row += _numbers(stats.latency_p50_ms, stats.latency_p95_ms)
        rows.append(row)
    return header, rows


def _metrics(comparison: Comparison) -> Grid:
    """Long format, the combination named on its first row only; an ``errors`` column when
    some metric has errors."""
    errors = _has_errors(comparison)
    header = ["combination", "metric", "cases", *(["errors"] if errors else [])]
    header += ["mean", "CI", "method"]
    rows = []
    for stats in comparison.combinations:
        label = _label(comparison, stats.combination_label)
        for i, (metric, value) in enumerate(stats.metrics.items()):
            mean, low, high = _numbers(value.mean, *(value.ci or (None, None)))
            ci = f"[{low}, {high}]" if value.ci else _MISSING
            counts = [str(value.n_cases), *([str(value.n_errors)] if errors else [])]
            method = value.ci_method or _MISSING
            rows.append(["" if i else label, metric, *counts, mean, ci, method])
    return header, rows


def _has_errors(comparison: Comparison) -> bool:
    return any(m.n_errors for stats in comparison.combinations for m in stats.metrics.values())


def _metric_notes(comparison: Comparison) -> list[str]:
    """What each CI method used means, and what ``errors`` counts when there are any."""
    metrics = [m for stats in comparison.combinations for m in stats.metrics.values()]
    used = {m.ci_method for m in metrics}
    notes = [f"{method}: {text}" for method, text in CI_METHODS.items() if method in used]
    if _has_errors(comparison):
        notes.append(
            "errors: rows whose evaluator raised or returned a non-finite score (NaN, ±inf); "
            "they count neither in cases nor in the mean"
        )
    return notes


def _entry(combination: Mapping[str, str]) -> str:
    """A matrix entry as compact JSON."""
    return json.dumps(dict(combination), ensure_ascii=False)


def _paired(pair: PairedComparison) -> tuple[Grid, list[str]]:
    header = ["metric", "cases", "baseline", "other", "Δ", "Δ CI", "p", "test"]
    deltas = [*pair.metrics.items(), ("pass_rate", pair.pass_rate)]
    rows = [[metric, *_delta_cells(delta), "sign-flip"] for metric, delta in deltas]
    mcnemar = f"McNemar b={pair.mcnemar_b} c={pair.mcnemar_c}"
    rows.append(
        ["passed (all reps)", str(pair.n_cases), *[_MISSING] * 4, _p(pair.mcnemar_p), mcnemar]
    )
    notes = [pair.note] if pair.note else [f"{m}: {d.note}" for m, d in deltas if d.note]
    return (header, rows), notes


def _delta_cells(delta: MetricDelta) -> list[str]:
    low, high = delta.ci or (None, None)
    base, other = _numbers(delta.baseline_mean, delta.mean, like=(low, high, delta.delta))
    change, low_text, high_text = _numbers(delta.delta, low, high, signed=True)
    ci = f"[{low_text}, {high_text}]" if delta.ci else _MISSING
    return [str(delta.n_cases), base, other, change, ci, _p(delta.p_value)]


def _flaky(comparison: Comparison, limit: int | None) -> list[str]:
    lines = []
    for stats in comparison.combinations:
        cases = [f"{case.case} ({case.passes}/{case.runs})" for case in stats.flaky_cases]
        if limit is not None and len(cases) > limit:
            cases = [*cases[:limit], f"… {len(cases) - limit} more"]
        if cases:
            lines.append(f"flaky in {stats.combination_label}: {', '.join(cases)}")
    return lines


def _rich(title: str, grid: Grid, caption: list[str]) -> Table:
    header, rows = grid
    table = Table(title=title, caption="\n".join(caption) or None, caption_justify="left")
    for name in header:
        text_column = name in TEXT_COLUMNS
        table.add_column(name, justify="left" if text_column else "right", overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    align = ["---" if name in TEXT_COLUMNS else "---:" for name in header]
    return "\n".join([line(header), "|" + "|".join(align) + "|", *map(line, rows)])


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _numbers(
    *values: float | None, signed: bool = False, like: Sequence[float | None] = ()
) -> list[str]:
    """``values`` formatted alike: no decimals from 100 up, one from 10, else three (the
    magnitude also counts the ``like`` values); None as a dash."""
    present = [abs(v) for v in (*values, *like) if v is not None]
    largest = max(present, default=0.0)
    decimals = 0 if largest >= 100 else 1 if largest >= 10 else 3
    spec = f"{'+' if signed else ''}.{decimals}f"
    return [_MISSING if v is None else format(v, spec) for v in values]


def _rate(value: float, ci: Interval) -> str:
    return f"{_share(value)} [{_share(ci[0])}, {_share(ci[1])}]"


def _share(value: float | None) -> str:
    return _MISSING if value is None else f"{value:.0%}"


def _p(value: float | None) -> str:
    if value is None:
        return _MISSING
    return "<0.001" if value < 0.001 else f"{value:.3f}"


# --- JUnit XML ------------------------------------------------------------------------------


def junit_xml(batch_id: str, rows: Sequence[BatchRow]) -> str:
    """JUnit XML: one ``<testsuite>`` per combination (named by its label, its matrix entry
    as JSON in the ``combination`` property), one ``<testcase>`` per row; a failed
    execution is an ``<error>``, a completed row that did not pass a ``<failure>``."""
    suites: dict[int, list[BatchRow]] = {}
    for row in sorted(rows, key=lambda r: (r.combination_index, r.case_index, r.repetition)):
        suites.setdefault(row.combination_index, []).append(row)
    root = ET.Element("testsuites", name=_clean(batch_id))
    for suite_rows in suites.values():
        first = suite_rows[0]
        suite = ET.SubElement(root, "testsuite", name=_clean(first.combination_label))
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(
            properties, "property", name="combination", value=_clean(_entry(first.combination))
        )
        for row in suite_rows:
            _testcase(suite, row)
        _set_counts(suite, suite_rows)
    _set_counts(root, rows)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def write_junit(path: str | Path, batch_id: str, rows: Sequence[BatchRow]) -> Path:
    """Write ``junit_xml(batch_id, rows)`` to ``path`` (parents created); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(junit_xml(batch_id, rows), encoding="utf-8")
    return target


def _set_counts(element: ET.Element, rows: Sequence[BatchRow]) -> None:
    errors = sum(row.status is not ExecutionStatus.COMPLETED for row in rows)
    failures = sum(row.status is ExecutionStatus.COMPLETED and not row.passed for row in rows)
    element.set("tests", str(len(rows)))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("time", _seconds(sum(row.duration_ms for row in rows)))


def _testcase(suite: ET.Element, row: BatchRow) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_clean(row.combination_label),
        name=_clean(f"{row.case}[rep {row.repetition}]"),
        time=_seconds(row.duration_ms),
    )
    if row.status is not ExecutionStatus.COMPLETED:
        text = row.error or f"execution {row.status.value}"
        error = ET.SubElement(
            case, "error", message=_clean(text.strip().split("\n", 1)[0]), type=row.status.value
        )
        error.text = _clean(text)
    elif not row.passed:
        failure = ET.SubElement(case, "failure", message=_clean(_failure_message(row)))
        failure.text = _clean(_score_report(row))
    if row.execution_id:
        ET.SubElement(case, "system-out").text = f"execution_id: {row.execution_id}"


def _failure_message(row: BatchRow) -> str:
    low = [
        f"{metric}={value:.3f}"
        for metric, value in sorted(row.scores.items())
        if not is_measurement(metric) and not value >= 0.5
    ]
    parts = [f"below 0.5: {', '.join(low)}"] if low else []
    if row.score_errors:
        parts.append(f"evaluator errors: {', '.join(sorted(row.score_errors))}")
    return "; ".join(parts)


def _score_report(row: BatchRow) -> str:
    lines = [f"{metric} = {value:.6g}" for metric, value in sorted(row.scores.items())]
    lines += [f"{metric} error: {error}" for metric, error in sorted(row.score_errors.items())]
    return "\n".join(lines)


def _seconds(milliseconds: float) -> str:
    return f"{milliseconds / 1000:.3f}"


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (ANSI escapes in tracebacks, for one)."""
    return _XML_INVALID.sub("", text)
