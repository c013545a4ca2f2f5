"""The ``wtb`` command line: run workflows, inspect and time-travel their executions, and
batch-test their variants (``wtb_core.cli.batch``). PROJECT arguments are a
``wtb_project.yaml`` file or a ``module:function`` graph factory.

``main()`` (the console script) loads the plugins once, lets them add commands through the
``wtb_register_commands`` hook, and runs the app. Every command opens a ``WTBTestBench`` on
the data directory (``--data-dir``, else ``StackConfig``'s) on first use and closes it when
the command ends (``cli.common.Session``, shared with plugins' commands). ``--json``
prints the SDK's models as JSON instead of tables.

Errors and exit codes: 0 when the command did what was asked, 1 for every error, whatever
found it — a ``WTBError`` from the bench (a bad project or cases file, a bad setting in
``wtb.toml`` or ``WTB_*``, an unknown execution) or a usage error click finds (an unknown
command or option, a missing argument, ``--limit 0``) — and ``--fail-under`` falling short
is 1 too. Each error is one ``error: <message>`` line on stderr; a usage error's ends with
the ``--help`` to read. Click's separate exit code 2 for usage errors is not kept: which
part catches a mistake (click's parser for ``--limit 0``, WTB for ``--input '{'``) is an
implementation detail a user cannot see, so one code says "failed" and the line says why.
With no arguments, ``wtb`` and ``wtb batch`` print their help and exit 1 (nothing was done),
as git does. ``_Group.main`` does all this, so plugin commands and typer's ``CliRunner``
get the same treatment as the console script.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from wtb_core.cli import batch, integrity, metrics, recordings, render
from wtb_core.cli.arguments import parse_json, parse_object, parse_variants, resolve_checkpoint
from wtb_core.cli.common import (
    CommandLineError,
    ExecArg,
    JsonFlag,
    NameOpt,
    ProjectArg,
    Session,
    project_from_ref,
    session,
)
from wtb_core.cli.serve import serve
from wtb_core.errors import WTBError

if TYPE_CHECKING:
    from typer._click import Context as ClickContext

    from wtb_core.registry import PluginRegistry
    from wtb_core.sdk.bench import WTBTestBench


def error_line(exc: BaseException) -> str:
    """``error: <message>`` on a single line."""
    return "error: " + " ".join(str(exc).splitlines())


if TYPE_CHECKING:  # the typer this project is checked with vendors click
    from typer._click import exceptions as click_exceptions
else:
    try:  # recent typer vendors click as typer._click
        from typer._click import exceptions as click_exceptions
    except ImportError:  # pragma: no cover - older typer runs on click itself
        from click import exceptions as click_exceptions


def usage_error(exc: click_exceptions.UsageError) -> CommandLineError:
    """Click's usage error as one sentence: what was wrong (with the value typer refused,
    when it says which), then the ``--help`` to read."""
    from pydantic import ValidationError

    message = exc.format_message().strip().rstrip(".")
    if isinstance(exc.__cause__, ValidationError):  # typer checked the value with pydantic
        errors = exc.__cause__.errors()
        given = errors[0].get("input") if errors else None
        if given is not None:
            message += f" (got {given})"
    command = exc.ctx.command_path if exc.ctx is not None else "wtb"
    return CommandLineError(f"{message[:1].lower()}{message[1:]}; see '{command} --help'")


def _fail(exc: WTBError) -> NoReturn:
    typer.echo(error_line(exc), err=True)
    sys.exit(1)


class _Group(TyperGroup):
    """The root command: every error — a ``WTBError`` from any command, a click usage
    error — is one ``error: <message>`` line on stderr and exit 1 (the module docstring)."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except WTBError as exc:
            typer.echo(error_line(exc), err=True)
            raise typer.Exit(1) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line and exit; with ``standalone_mode=False``, click's own
        non-standalone behaviour (errors raised, the exit code returned)."""
        options: dict[str, Any] = {"windows_expand_args": windows_expand_args, **extra}
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **options)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **options)
        except click_exceptions.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                if exc.format_message().strip():  # rich has printed it already otherwise
                    typer.echo(exc.format_message())
                sys.exit(1)
            _fail(usage_error(exc))
        except click_exceptions.ClickException as exc:  # e.g. a typer.FileText option
            _fail(CommandLineError(exc.format_message()))
        except typer.Abort:  # end of input at a prompt
            _fail(CommandLineError("aborted: the input ended before a prompt was answered"))
        except WTBError as exc:  # raised while parsing, outside any command
            _fail(exc)
        # Non-standalone click returns the exit code of a typer.Exit (--help's 0, a failed
        # command's 1, Ctrl-C's 130), and None when the command returned normally.
        sys.exit(result if type(result) is int else 0)


# -- argument parsing ------------------------------------------------------------------------


def _short_ids(
    bench: WTBTestBench, execution_id: str, extra: Iterable[str | None] = ()
) -> dict[str, str]:
    """Short ids for the execution's checkpoints (all branches) and ``extra`` ids: unique
    among them, so each can be given back as a prefix."""
    ids = [c.checkpoint_id for c in bench.get_checkpoints(execution_id, all_branches=True)]
    return render.short_ids([*ids, *extra])


# -- commands --------------------------------------------------------------------------------

CheckpointArg = Annotated[
    str, typer.Argument(metavar="CP", help="Checkpoint id, or a unique prefix of one.")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Where the embedded databases live (default: StackConfig's data_dir, .wtb).",
    ),
]


def root(ctx: typer.Context, data_dir: DataDirOpt = None, as_json: JsonFlag = False) -> None:
    """WTB, the Workflow Test Bench for LangGraph: run workflows with a checkpoint at every
    node boundary, then roll them back, fork and resume them."""
    current = Session(data_dir=data_dir, as_json=as_json)
    ctx.obj = current
    ctx.call_on_close(current.close)


def run(
    ctx: typer.Context,
    project: ProjectArg,
    input_json: Annotated[
        str, typer.Option("--input", "-i", metavar="JSON", help="Initial state as a JSON object.")
    ] = "{}",
    variant: Annotated[
        list[str] | None,
        typer.Option(metavar="NODE=NAME", help="Run variant NAME of NODE (repeatable)."),
    ] = None,
    workflow_variant: Annotated[
        str | None, typer.Option(metavar="NAME", help="Run the workflow variant NAME.")
    ] = None,
    breakpoint_: Annotated[
        list[str] | None,
        typer.Option("--breakpoint", "-b", metavar="NODE", help="Pause before NODE (repeatable)."),
    ] = None,
    name: NameOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Register PROJECT and run it from --input until it completes, fails or pauses."""
    s = session(ctx, as_json)
    initial_state = parse_object(input_json, "--input")
    variants = parse_variants(variant)
    project_ = s.bench.register_project(project_from_ref(project, name))
    result = s.bench.run(
        project_.name, initial_state, variants, workflow_variant, breakpoints=breakpoint_
    )
    s.show(result, lambda: render.execution_view(result))


def executions(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this project's.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="Only this status, e.g. completed.")
    ] = None,
    limit: Annotated[int | None, typer.Option(metavar="N", min=1, help="At most N.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List executions, newest first."""
    s = session(ctx, as_json)
    results = s.bench.list_executions(project=project, status=status, limit=limit)
    s.show(results, lambda: render.executions_table(results))


def checkpoints(
    ctx: typer.Context,
    execution_id: ExecArg,
    all_branches: Annotated[
        bool, typer.Option("--all-branches", help="Include checkpoints left by rollbacks.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List an execution's checkpoints, oldest first (the head is marked with an arrow)."""
    s = session(ctx, as_json)
    shown = s.bench.get_checkpoints(execution_id, all_branches=all_branches)
    head = s.bench.get_execution(execution_id).checkpoint_id
    s.show(shown, lambda: render.checkpoints_table(shown, head, _short_ids(s.bench, execution_id)))


def state(
    ctx: typer.Context,
    execution_id: ExecArg,
    checkpoint: Annotated[
        str | None,
        typer.Option(metavar="CP", help="Checkpoint id or unique prefix (default: the head)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the state values at the head (or at --checkpoint)."""
    s = session(ctx, as_json)
    target = resolve_checkpoint(s.bench, execution_id, checkpoint) if checkpoint else None
    values = s.bench.get_state(execution_id, target)
    s.show(values, lambda: render.state_table(values))


def rollback(
    ctx: typer.Context, execution_id: ExecArg, checkpoint: CheckpointArg, as_json: JsonFlag = False
) -> None:
    """Move the execution back to a checkpoint; it is then paused (continue with resume)."""
    s = session(ctx, as_json)
    result = s.bench.rollback(execution_id, resolve_checkpoint(s.bench, execution_id, checkpoint))
    s.show(result, lambda: render.execution_view(result))


def fork(
    ctx: typer.Context,
    execution_id: ExecArg,
    checkpoint: CheckpointArg,
    set_json: Annotated[
        str | None, typer.Option("--set", metavar="JSON", help="State updates (a JSON object).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fork: a new paused execution copied up to a checkpoint, with optional state edits."""
    s = session(ctx, as_json)
    updates = parse_object(set_json, "--set")
    target = resolve_checkpoint(s.bench, execution_id, checkpoint)
    result = s.bench.fork(execution_id, target, updates=updates)
    s.show(result, lambda: render.execution_view(result))


def resume(
    ctx: typer.Context,
    execution_id: ExecArg,
    answer: Annotated[
        str | None, typer.Option(metavar="JSON", help="The answer for a pending interrupt().")
    ] = None,
    set_json: Annotated[
        str | None,
        typer.Option("--set", metavar="JSON", help="State updates (a JSON object), applied first."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Continue a paused, failed or rolled-back execution from its head."""
    s = session(ctx, as_json)
    resume_value = None if answer is None else parse_json(answer, "--answer")
    updates = parse_object(set_json, "--set")
    result = s.bench.resume(execution_id, resume=resume_value, updates=updates)
    s.show(result, lambda: render.execution_view(result))


def stop(ctx: typer.Context, execution_id: ExecArg, as_json: JsonFlag = False) -> None:
    """Cancel an execution; its checkpoints stay."""
    s = session(ctx, as_json)
    result = s.bench.stop(execution_id)
    s.show(result, lambda: render.execution_view(result))


def audit(ctx: typer.Context, execution_id: ExecArg, as_json: JsonFlag = False) -> None:
    """Show an execution's audit trail, oldest first."""
    s = session(ctx, as_json)
    entries = s.bench.audit(execution_id)
    logged = [e.checkpoint_id for e in entries]
    s.show(entries, lambda: render.audit_table(entries, _short_ids(s.bench, execution_id, logged)))


def plugins_command(registry: PluginRegistry | None) -> Callable[..., None]:
    """The ``plugins`` command over ``registry`` (default: a registry loaded on call)."""

    def plugins(
        ctx: typer.Context,
        all_: Annotated[bool, typer.Option("--all", help="Include the builtin plugins.")] = False,
        as_json: JsonFlag = False,
    ) -> None:
        """List installed plugins: version, origin, what they register, their hooks; then
        which file tracker the stack uses, and why."""
        from wtb_core.config import StackConfig
        from wtb_core.registry import PluginRegistry
        from wtb_core.sdk.stack import choose_file_tracker

        s = session(ctx, as_json)
        loaded = registry or PluginRegistry()
        infos = loaded.describe(include_builtins=all_)
        s.show(infos, lambda: render.plugins_table(infos))
        if not s.as_json:  # --json stays the list of plugins scripts read
            try:
                chosen = choose_file_tracker(StackConfig(), loaded).describe()
            except (ValueError, WTBError) as exc:  # wtb.toml or a WTB_* variable is invalid
                chosen = f"file tracker: unknown (the configuration cannot be read: {exc})"
            s.console.print(chosen, markup=False, highlight=False, soft_wrap=True)

    return plugins


def demo(ctx: typer.Context, data_dir: DataDirOpt = None, as_json: JsonFlag = False) -> None:
    """Run the guided tour: a RAG workflow run, rolled back, resumed and forked, then a
    batch test comparing two retrievers."""
    from wtb_core.demo.tour import run_tour

    s = session(ctx, as_json, data_dir)
    summary = run_tour(s.bench, Console(quiet=True) if s.as_json else s.console)
    if s.as_json:
        typer.echo(render.to_json(summary))


# -- assembly --------------------------------------------------------------------------------


def build_app(registry: PluginRegistry | None = None) -> typer.Typer:
    """The ``wtb`` app; with a ``registry``, its plugins' commands are added too."""
    app = typer.Typer(
        cls=_Group,
        name="wtb",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,
    )
    app.callback()(root)
    for command in (run, executions, checkpoints, state, rollback, fork, resume, stop, audit):
        app.command()(command)
    app.command("plugins")(plugins_command(registry))
    app.command()(demo)
    app.command()(serve)
    batch.add_commands(app)
    integrity.add_commands(app)
    metrics.add_commands(app)
    recordings.add_commands(app)
    if registry is not None:
        registry.add_commands(app)
    return app


def main() -> None:
    """Console script: load plugins once (honouring ``WTB_LOAD_PLUGINS`` /
    ``WTB_DISABLE_PLUGINS``), then run the command line."""
    from wtb_core.registry import PluginRegistry

    try:
        registry = PluginRegistry()
    except WTBError as exc:
        typer.echo(error_line(exc), err=True)
        raise SystemExit(1) from None
    build_app(registry)()
