"""What the commands of the ``wtb`` app share — the kernel's (``cli.app``, ``cli.batch``)
and those plugins add through ``wtb_register_commands`` (``wtb_core.plugin`` re-exports
them): the invocation's ``Session`` and its bench, the error for a malformed argument, the
parameter types of the common options and arguments, and loading a PROJECT argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from wtb_core.cli import render
from wtb_core.errors import WTBError

if TYPE_CHECKING:
    from wtb_core.project import WorkflowProject
    from wtb_core.sdk.bench import WTBTestBench


class CommandLineError(WTBError):
    """An argument on the command line is malformed (bad JSON, bad ``--variant``, an unknown
    or ambiguous checkpoint prefix)."""


@dataclass
class Session:
    """One invocation's options and its bench, opened on first use."""

    data_dir: Path | None = None
    as_json: bool = False
    console: Console = field(default_factory=Console)
    _bench: WTBTestBench | None = None

    @property
    def bench(self) -> WTBTestBench:
        if self._bench is None:
            from wtb_core.config import directory_problem

            problem = self.data_dir is not None and directory_problem(self.data_dir)
            if problem:
                raise CommandLineError(
                    f"--data-dir {problem}; give a directory (it is created if missing)"
                )
            from wtb_core.sdk.bench import WTBTestBench

            self._bench = WTBTestBench(data_dir=self.data_dir)
        return self._bench

    def close(self) -> None:
        if self._bench is not None:
            bench, self._bench = self._bench, None
            bench.close()

    def show(self, value: Any, human: Callable[[], Any]) -> None:
        """Print ``value`` as JSON with ``--json``; otherwise print what ``human()`` returns."""
        if self.as_json:
            typer.echo(render.to_json(value))
        else:
            self.console.print(human())


def session(ctx: typer.Context, as_json: bool = False, data_dir: Path | None = None) -> Session:
    """The invocation's session, with a command's own ``--json`` / ``--data-dir`` applied."""
    current = ctx.ensure_object(Session)
    current.as_json = current.as_json or as_json
    if data_dir is not None:
        current.data_dir = data_dir
    return current


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ExecArg = Annotated[str, typer.Argument(metavar="EXEC", help="Execution id (full).")]
ProjectArg = Annotated[
    str,
    typer.Argument(
        metavar="PROJECT",
        help="A wtb_project.yaml file, or module:function returning a (compiled) StateGraph.",
    ),
]
NameOpt = Annotated[
    str | None,
    typer.Option(
        metavar="NAME", help="Project name for module:function (default: the function's)."
    ),
]


YAML_SUFFIXES = (".yaml", ".yml")


def is_yaml_project(ref: str) -> bool:
    """Whether a PROJECT argument names a ``wtb_project.yaml`` file (not ``module:function``)."""
    return ref.endswith(YAML_SUFFIXES) or Path(ref).is_file()


def project_from_ref(ref: str, name: str | None) -> WorkflowProject:
    """The project ``ref`` names: a ``wtb_project.yaml`` file (named by the file),
    ``module:attribute`` naming a ``WorkflowProject`` (used as it is), or ``module:function``
    returning a StateGraph or compiled graph, registered as ``name`` (default: the
    function's name)."""
    from wtb_core.project import WorkflowProject

    if is_yaml_project(ref):
        if name is not None:
            raise CommandLineError(
                f"--name cannot rename the YAML project {ref}: its name is the file's `name:`"
            )
        return WorkflowProject.from_yaml(ref)
    from wtb_core.loading import import_reference

    factory = import_reference(ref, "project")
    if isinstance(factory, WorkflowProject):
        if name is not None and name != factory.name:
            raise CommandLineError(
                f"--name cannot rename the project {ref} names: it is the WorkflowProject "
                f"{factory.name!r} (name it there, or point at its graph factory instead)"
            )
        return factory
    return WorkflowProject(name or ref.rpartition(":")[2].rpartition(".")[2], factory)
