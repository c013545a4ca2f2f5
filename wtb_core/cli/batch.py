"""``wtb batch``: batch tests from the command line.

``wtb batch PROJECT --cases cases.jsonl [--matrix matrix.yaml]`` (short for ``wtb batch run
...``) runs every (combination × test case × repetition) cell under a progress bar, prints
the comparison and writes JUnit XML / Markdown on request; ``--fail-under METRIC=VALUE``
exits 1 when a combination falls short, for CI. ``wtb batch show | resume | cancel ID`` work
on stored batches and ``wtb batches`` lists them. ``wtb batch fork EXEC CKPT --matrix FILE``
forks an execution at a checkpoint once per combination (``bench.fork_batch``).

``cli.batch_inputs`` reads the cases and matrix files (their formats are in its docstring)
and the option values. ``--json`` output gives each row's ``combination`` as its matrix
entry (``{"retriever": "bm25"}``) and its ``combination_label`` (``retriever=bm25``, what the
tables print); ``--baseline`` takes either form.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from typer.core import TyperGroup

from wtb_core.cli import render
from wtb_core.cli.arguments import resolve_checkpoint
from wtb_core.cli.batch_inputs import (
    check_baseline,
    load_cases,
    load_matrix,
    parse_baseline,
    parse_thresholds,
    resolve_evaluators,
)
from wtb_core.cli.common import (
    CommandLineError,
    JsonFlag,
    NameOpt,
    ProjectArg,
    Session,
    is_yaml_project,
    project_from_ref,
    session,
)

if TYPE_CHECKING:
    from typer._click import Context as ClickContext

    from wtb_core.batch.comparison import Comparison
    from wtb_core.batch.service import BatchProgress, BatchTestResult

RUN = "run"
OnProgress = Callable[["BatchProgress"], None]


class _BatchGroup(TyperGroup):
    """``wtb batch``: a first argument that is neither a subcommand nor ``--help`` starts
    ``run``, so ``wtb batch PROJECT ...`` is ``wtb batch run PROJECT ...``."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [RUN, *args]
        return super().parse_args(ctx, args)


# -- input files -----------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandLineError(f"cannot write {path}: {exc.strerror or exc}") from None


# -- running and reporting -------------------------------------------------------------------


def _progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed[/]"),
        TextColumn("{task.fields[running]} running"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )


def _updates(progress: Progress) -> OnProgress:
    """An ``on_progress`` callback moving a new task of ``progress`` (the SDK calls it from
    worker threads; ``Progress.update`` takes a lock)."""
    task = progress.add_task("batch", total=None, failed=0, running=0)

    def update(p: BatchProgress) -> None:
        progress.update(
            task,
            description=f"batch {p.batch_id}",
            total=p.total,
            completed=p.done,
            failed=p.failed,
            running=p.running,
        )

    return update


def _with_progress(
    s: Session, start: Callable[[OnProgress | None], BatchTestResult]
) -> BatchTestResult:
    """``start(on_progress)`` under a progress bar; without one for ``--json``."""
    if s.as_json:
        return start(None)
    with _progress_bar(s.console) as progress:
        return start(_updates(progress))


def _comparison(batch: BatchTestResult, baseline: str | None) -> Comparison:
    """The batch's comparison against ``--baseline`` (a label or a matrix entry; one that is
    no combination of the batch is a ``CommandLineError`` listing them)."""
    check_baseline(baseline, batch.combinations, "this batch")
    return batch.comparison(parse_baseline(baseline))


def _hint(s: Session, batch: BatchTestResult) -> Text:
    what, action = ("finish it", "resume") if batch.missing_cells else ("show it again", "show")
    command = render.wtb_command(s.bench.config.data_dir, f"batch {action} {batch.batch_id}")
    return Text(f"{what}: {command}", style="dim")


def _report(
    s: Session,
    batch: BatchTestResult,
    comparison: Comparison,
    thresholds: dict[str, float] | None = None,
) -> None:
    """Print the batch and its comparison; print every ``--fail-under`` shortfall on stderr
    and exit 1 when there is one."""
    failures = comparison.fails_under(thresholds) if thresholds else []
    s.show(
        {**render.batch_json(batch, comparison), "fail_under": failures},
        lambda: Group(render.batch_view(batch, comparison), _hint(s, batch)),
    )
    for line in failures:
        typer.echo(f"fail-under: {line}", err=True)
    if failures:
        raise typer.Exit(1)


# -- commands --------------------------------------------------------------------------------

BatchArg = Annotated[str, typer.Argument(metavar="ID", help="Batch id.")]
BaselineOpt = Annotated[
    str | None,
    typer.Option(
        metavar="LABEL",
        help="Combination to compare the others with: its label, e.g. 'retriever=bm25', or "
        "its matrix entry, e.g. '{retriever: bm25}' (default: the first).",
    ),
]
ParallelismOpt = Annotated[
    int | None,
    typer.Option(
        "--parallelism", "-j", metavar="N", min=1, help="Cells at once (default: the runner's)."
    ),
]


def run_batch(
    ctx: typer.Context,
    project: ProjectArg,
    cases: Annotated[
        Path, typer.Option(metavar="FILE", help="Test cases, one JSON object per line.")
    ],
    matrix: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="YAML/JSON list of {node: variant} combinations (default: the project as is).",
        ),
    ] = None,
    runner: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="sequential, threadpool, ray (default: configured)."),
    ] = None,
    parallelism: ParallelismOpt = None,
    repetitions: Annotated[
        int, typer.Option(metavar="N", min=1, help="Runs of every (combination, case).")
    ] = 1,
    evaluator: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="Evaluator name or module:function (repeatable; default: latency, plus "
            "exact_match when cases have expected values).",
        ),
    ] = None,
    baseline: BaselineOpt = None,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            metavar="METRIC=VALUE",
            help="Exit 1 when a combination's mean METRIC (or success_rate, pass_rate) is "
            "below VALUE (repeatable).",
        ),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write the rows as JUnit XML.")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write the comparison as Markdown.")
    ] = None,
    reuse_prefix: Annotated[
        bool,
        typer.Option(
            "--reuse-prefix",
            help="Run the nodes before the first differing node once per case and "
            "repetition, then fork (deterministic upstream nodes only).",
        ),
    ] = False,
    name: NameOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Run every (combination × case × repetition) cell of PROJECT and compare the
    combinations."""
    from wtb_core.batch.reports import junit_xml

    s = session(ctx, as_json)
    test_cases = load_cases(cases)
    combinations = load_matrix(matrix)
    thresholds = parse_thresholds(fail_under)
    check_baseline(baseline, combinations, "the matrix")
    evaluators = resolve_evaluators(evaluator, test_cases)
    project_ = s.bench.register_project(project_from_ref(project, name))
    batch = _with_progress(
        s,
        lambda on_progress: s.bench.run_batch_test(
            project_.name,
            combinations,
            test_cases,
            evaluators,
            parallelism=parallelism,
            runner=runner,
            repetitions=repetitions,
            on_progress=on_progress,
            reuse_prefix=reuse_prefix,
        ),
    )
    comparison = _comparison(batch, baseline)
    if junit is not None:
        _write(junit, junit_xml(batch.batch_id, batch.results))
    if markdown is not None:
        _write(markdown, comparison.to_markdown())
    _report(s, batch, comparison, thresholds)


def show_batch(
    ctx: typer.Context, batch_id: BatchArg, baseline: BaselineOpt = None, as_json: JsonFlag = False
) -> None:
    """Show a batch: its status, how many cells have rows, and the comparison."""
    s = session(ctx, as_json)
    batch = s.bench.get_batch(batch_id)
    comparison = _comparison(batch, baseline)
    s.show(render.batch_json(batch, comparison), lambda: render.batch_view(batch, comparison))


def resume_batch(
    ctx: typer.Context,
    batch_id: BatchArg,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run the failed cells again too.")
    ] = False,
    parallelism: ParallelismOpt = None,
    project: Annotated[
        str | None,
        typer.Option(
            metavar="PROJECT",
            help="Register this YAML file or module:function first: the batch's project as "
            "it was, variants included.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the cells of a batch that have no row (with --retry-failed, failed ones too)."""
    s = session(ctx, as_json)
    batch = s.bench.get_batch(batch_id)
    failed = render.failed_rows(batch)
    if not batch.missing_cells and not (retry_failed and failed):
        s.show(render.batch_summary(batch), lambda: _nothing_missing(batch, failed))
        return
    if project is not None:
        _register_as(s, project, batch.project)
    resumed = _with_progress(
        s,
        lambda on_progress: s.bench.resume_batch(
            batch_id, retry_failed=retry_failed, parallelism=parallelism, on_progress=on_progress
        ),
    )
    _report(s, resumed, _comparison(resumed, None))


def _nothing_missing(batch: BatchTestResult, failed: int) -> Text:
    text = Text(f"batch {batch.batch_id}: no cell is missing ({len(batch.results)} rows); ")
    text.append(
        f"--retry-failed runs its {failed} failed cell(s) again" if failed else "nothing to run"
    )
    return text


def fork_batch(
    ctx: typer.Context,
    execution_id: Annotated[str, typer.Argument(metavar="EXEC", help="Execution id.")],
    checkpoint_id: Annotated[
        str, typer.Argument(metavar="CKPT", help="Checkpoint id, or a unique prefix of one.")
    ],
    matrix: Annotated[
        Path,
        typer.Option(
            metavar="FILE",
            help="YAML/JSON list of {node: variant} combinations, changing only nodes that "
            "have not run at CKPT.",
        ),
    ],
    repetitions: Annotated[
        int, typer.Option(metavar="N", min=1, help="Runs of every combination.")
    ] = 1,
    evaluator: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="Evaluator name or module:function (repeatable; default: latency).",
        ),
    ] = None,
    runner: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="sequential or threadpool (default: configured)."),
    ] = None,
    parallelism: ParallelismOpt = None,
    baseline: BaselineOpt = None,
    project: Annotated[
        str | None,
        typer.Option(
            metavar="PROJECT",
            help="Register this YAML file or module:function first: the execution's project "
            "as it was, variants included.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fork execution EXEC at checkpoint CKPT once per combination (and repetition), run
    each fork to its end and compare them: what would each variant have done from here?"""
    s = session(ctx, as_json)
    if project is not None:
        _register_as(s, project, s.bench.get_execution(execution_id).project)
    checkpoint_id = resolve_checkpoint(s.bench, execution_id, checkpoint_id)
    combinations = load_matrix(matrix)
    check_baseline(baseline, combinations, "the matrix")
    evaluators = resolve_evaluators(evaluator, [])
    batch = _with_progress(
        s,
        lambda on_progress: s.bench.fork_batch(
            execution_id,
            checkpoint_id,
            combinations,
            repetitions,
            evaluators,
            parallelism=parallelism,
            runner=runner,
            on_progress=on_progress,
        ),
    )
    _report(s, batch, _comparison(batch, baseline))


def _register_as(s: Session, ref: str, name: str) -> None:
    """Register the project ``ref`` names, which must be the project called ``name``."""
    project = project_from_ref(ref, None if is_yaml_project(ref) else name)
    if project.name != name:
        raise CommandLineError(f"--project {ref} is project {project.name!r}, not {name!r}")
    s.bench.register_project(project)


def cancel_batch(ctx: typer.Context, batch_id: BatchArg, as_json: JsonFlag = False) -> None:
    """Mark a batch cancelled; its finished rows stay and resume runs the rest."""
    s = session(ctx, as_json)
    batch = s.bench.cancel_batch(batch_id)
    s.show(render.batch_summary(batch), lambda: render.batch_table(batch))


def batches(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this project's.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List batches, newest first."""
    s = session(ctx, as_json)
    found = s.bench.list_batches(project)
    s.show([render.batch_summary(b) for b in found], lambda: render.batches_table(found))


def parity(
    ctx: typer.Context,
    project: ProjectArg,
    cases: Annotated[
        Path, typer.Option(metavar="FILE", help="Test cases, one JSON object per line.")
    ],
    runners: Annotated[
        str, typer.Option(metavar="A,B", help="The two runners to compare.")
    ] = "threadpool,ray",
    matrix: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="YAML/JSON list of {node: variant} combinations."),
    ] = None,
    evaluator: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME", help="Evaluator name or module:function (repeatable)."),
    ] = None,
    parallelism: ParallelismOpt = None,
    name: NameOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the same batch on two runners and report cells whose state or scores differ
    (exit 1 when any does)."""
    from wtb_core.batch.parity import ParityChecker

    s = session(ctx, as_json)
    pair = tuple(r.strip() for r in runners.split(","))
    if len(pair) != 2 or not all(pair):
        raise CommandLineError(f"--runners {runners!r} must name two runners, like threadpool,ray")
    test_cases = load_cases(cases)
    project_ = s.bench.register_project(project_from_ref(project, name))
    report = ParityChecker(s.bench).check(
        project_.name,
        test_cases,
        load_matrix(matrix),
        resolve_evaluators(evaluator, test_cases),
        runners=pair,
        parallelism=parallelism,
    )
    s.show(report.model_dump(mode="json"), lambda: str(report))
    if not report.ok:
        raise typer.Exit(1)


def add_commands(app: typer.Typer) -> None:
    """Add the ``batch`` group and the ``batches`` command to ``app``."""
    group = typer.Typer(
        cls=_BatchGroup,
        no_args_is_help=True,
        help="Batch tests: run a project over test cases and a variant matrix, then compare "
        "the combinations. 'wtb batch PROJECT ...' is short for 'wtb batch run PROJECT ...'.",
    )
    group.command(RUN)(run_batch)
    group.command("show")(show_batch)
    group.command("resume")(resume_batch)
    group.command("cancel")(cancel_batch)
    group.command("fork")(fork_batch)
    app.add_typer(group, name="batch")
    app.command()(batches)
    app.command()(parity)
