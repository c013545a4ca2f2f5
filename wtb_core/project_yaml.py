"""Loading a ``WorkflowProject`` from a ``wtb_project.yaml`` file (the format below).

```yaml
name: rag_pipeline                         # required
description: RAG Pipeline for Q&A
version: "1.0"                             # label of the initial version
workflow:                                  # required
  module: myapp.workflows
  factory: create_rag_graph
  state_schema: myapp.schemas.RAGState     # or myapp.schemas:RAGState
variants:
  nodes:
    retriever:
      - {name: bm25, module: myapp.retrievers, function: bm25_retriever,
         description: "", environment: {python: "3.12"}, resources: {num_cpus: 2}}
  workflows:
    - {name: with_reranker, module: myapp.workflows, factory: create_rag_with_reranker,
       description: "", state_schema: myapp.schemas.RerankState}
file_tracking: {enabled: true, paths: [./data/]}          # FileTrackingConfig
environment: {granularity: node, default: {python: "3.12"}, nodes: {}, variants: {}}
execution: {batch_executor: ray, ray: {address: auto}, node_resources: {}}
```

The config blocks are the pydantic models of ``wtb_core.config``; besides their field
names they accept short keys (``paths``, ``default``, ``nodes``, ``variants``,
``python``, ``ray``). Module references are imported with the YAML file's directory at the
front of ``sys.path``. Unknown keys are refused. Every problem is a ``ProjectError`` reading
``<file>: <key path>: <problem>``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import yaml
from pydantic import BaseModel, ValidationError

from wtb_core.config import (
    EnvironmentConfig,
    EnvSpec,
    ExecutionConfig,
    FileTrackingConfig,
    NodeResourceConfig,
)
from wtb_core.config_errors import not_utf8
from wtb_core.errors import ProjectError
from wtb_core.loading import import_reference
from wtb_core.project_checks import (
    INITIAL_VERSION,
    check_name,
    check_version_label,
    is_node_implementation,
)

if TYPE_CHECKING:
    from wtb_core.project import WorkflowProject

Model = TypeVar("Model", bound=BaseModel)

_TOP = (
    "name",
    "description",
    "version",
    "workflow",
    "variants",
    "file_tracking",
    "environment",
    "execution",
)
_WORKFLOW = ("module", "factory", "state_schema")
_VARIANTS = ("nodes", "workflows")
_NODE_VARIANT = ("name", "module", "function", "description", "environment", "resources")
_WORKFLOW_VARIANT = ("name", "module", "factory", "description", "state_schema")

_SHORT_KEYS: dict[type[BaseModel], dict[str, str]] = {
    FileTrackingConfig: {"paths": "tracked_paths"},
    EnvSpec: {"python": "python_version"},
    EnvironmentConfig: {
        "default": "default_env",
        "nodes": "node_environments",
        "variants": "variant_environments",
    },
    ExecutionConfig: {"ray": "ray_config"},
}


def load_project(
    path: str | os.PathLike[str], project_class: type[WorkflowProject]
) -> WorkflowProject:
    """Build a ``project_class`` from the YAML file at ``path``, its variants registered."""
    return _Loader(Path(path)).load(project_class)


def _key(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _loc_path(where: str, loc: list[Any]) -> str:
    return where + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


class _Loader:
    """One YAML file being loaded; every error names the file and a key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, where: str, problem: str) -> ProjectError:
        return ProjectError(
            f"{self.path}: {where}: {problem}" if where else f"{self.path}: {problem}"
        )

    @contextmanager
    def _at(self, where: str) -> Iterator[None]:
        """Report a ``ProjectError`` of the project API as a problem of ``where``."""
        try:
            yield
        except ProjectError as exc:
            raise self.error(where, str(exc)) from exc

    # -- the document ------------------------------------------------------------------

    def load(self, project_class: type[WorkflowProject]) -> WorkflowProject:
        data = self._document()
        self._on_sys_path()
        self._known(data, "", _TOP)
        name = self._required_text(data, "name", "")
        with self._at("name"):
            check_name("project", name)
        version = self._text(data, "version", "") or INITIAL_VERSION
        with self._at("version"):
            check_version_label(version)
        workflow = self._mapping(data.get("workflow"), "workflow", required=True)
        self._known(workflow, "workflow", _WORKFLOW)
        project = project_class(
            name=name,
            graph_factory=self._callable(workflow, "workflow", "factory"),
            state_schema=self._schema(workflow, "workflow"),
            description=self._text(data, "description", "") or "",
            file_tracking=self._model(
                FileTrackingConfig, data.get("file_tracking"), "file_tracking"
            ),
            environment=self._model(EnvironmentConfig, data.get("environment"), "environment"),
            execution=self._model(ExecutionConfig, data.get("execution"), "execution"),
            initial_version=version,
        )
        with self._at("workflow.factory"):
            project.node_names()  # builds the graph: a broken factory fails here
        variants = self._mapping(data.get("variants"), "variants")
        self._known(variants, "variants", _VARIANTS)
        self._node_variants(project, variants.get("nodes"))
        self._workflow_variants(project, variants.get("workflows"))
        return project

    def _document(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise self.error("", f"cannot read the project file ({exc.strerror or exc})") from exc
        except UnicodeDecodeError as exc:
            raise self.error("", f"{not_utf8(exc)}; save the file as UTF-8") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise self.error("", f"not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise self.error(
                "", f"must hold a mapping with 'name' and 'workflow' keys, not {_kind(data)}"
            )
        return data

    def _on_sys_path(self) -> None:
        directory = str(self.path.resolve().parent)
        if directory not in sys.path:
            sys.path.insert(0, directory)

    # -- variants ----------------------------------------------------------------------

    def _node_variants(self, project: WorkflowProject, value: Any) -> None:
        for node, items in self._mapping(value, "variants.nodes").items():
            where = _key("variants.nodes", node)
            if node not in project.node_names():
                raise self.error(
                    where,
                    f"the workflow has no node {node!r} to vary; its nodes are: "
                    f"{', '.join(project.node_names())}",
                )
            for index, item in enumerate(self._list(items, where)):
                self._node_variant(project, node, item, f"{where}[{index}]")

    def _node_variant(self, project: WorkflowProject, node: str, item: Any, where: str) -> None:
        entry = self._mapping(item, where, required=True)
        self._known(entry, where, _NODE_VARIANT)
        name = self._required_text(entry, "name", where)
        implementation = self._callable(entry, where, "function")
        environment = entry.get("environment")
        resources = entry.get("resources")
        env = (
            None
            if environment is None
            else self._model(EnvSpec, environment, f"{where}.environment")
        )
        res = (
            None
            if resources is None
            else self._model(NodeResourceConfig, resources, f"{where}.resources")
        )
        with self._at(where):
            project.register_variant(
                node, name, implementation, self._text(entry, "description", where) or "", env, res
            )

    def _workflow_variants(self, project: WorkflowProject, value: Any) -> None:
        for index, item in enumerate(self._list(value, "variants.workflows")):
            where = f"variants.workflows[{index}]"
            entry = self._mapping(item, where, required=True)
            self._known(entry, where, _WORKFLOW_VARIANT)
            name = self._required_text(entry, "name", where)
            factory = self._callable(entry, where, "factory")
            schema = self._schema(entry, where)
            with self._at(where):
                project.register_workflow_variant(
                    name, factory, self._text(entry, "description", where) or "", schema
                )

    # -- references --------------------------------------------------------------------

    def _callable(self, entry: dict[str, Any], where: str, attr_key: str) -> Callable[..., Any]:
        """Import ``entry[module]:entry[attr_key]``, which must be callable (a node's
        ``function`` may also be a Runnable, such as a ``ToolNode``)."""
        module = self._required_text(entry, "module", where)
        attribute = self._required_text(entry, attr_key, where)
        self._import_module(module, _key(where, "module"))
        target = import_reference(f"{module}:{attribute}", f"{self.path}: {_key(where, attr_key)}")
        node = attr_key == "function"
        if not (is_node_implementation(target) if node else callable(target)):
            wanted = "a function or a Runnable" if node else "callable"
            raise self.error(
                _key(where, attr_key),
                f"{module}:{attribute} is not {wanted} (it is {_kind(target)})",
            )
        return cast(Callable[..., Any], target)

    def _schema(self, entry: dict[str, Any], where: str) -> type | None:
        """The class ``entry[state_schema]`` names (``module.Class`` or ``module:Class``)."""
        reference = self._text(entry, "state_schema", where)
        if reference is None:
            return None
        key = _key(where, "state_schema")
        module, _, attribute = (
            reference.partition(":") if ":" in reference else reference.rpartition(".")
        )
        if not module or not attribute:
            raise self.error(
                key, f"{reference!r} is not a 'module.Class' or 'module:Class' reference"
            )
        self._import_module(module, key)
        schema = import_reference(f"{module}:{attribute}", f"{self.path}: {key}")
        if not isinstance(schema, type):
            raise self.error(
                key, f"{reference} is {_kind(schema)}, not a class such as a TypedDict"
            )
        return schema

    def _import_module(self, module: str, where: str) -> None:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise self.error(
                where,
                f"cannot import module {module!r} ({type(exc).__name__}: {exc}); it must be "
                "installed, on PYTHONPATH or next to the YAML file",
            ) from exc

    # -- config blocks -----------------------------------------------------------------

    def _model(self, model: type[Model], value: Any, where: str) -> Model:
        """Validate a block as ``model``, accepting the short keys (module docstring)."""
        values = dict(self._mapping(value, where))
        spelled = self._long_keys(model, values, where)
        if model is EnvironmentConfig:
            self._env_specs(values, spelled, where)
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            raise self._invalid(exc, spelled, where) from exc

    def _long_keys(
        self, model: type[BaseModel], values: dict[str, Any], where: str
    ) -> dict[str, str]:
        """Rename short keys in place; returns ``{field: key as written}`` for renamed ones."""
        spelled: dict[str, str] = {}
        for short, field in _SHORT_KEYS.get(model, {}).items():
            if short in values:
                if field in values:
                    raise self.error(where, f"give {short!r} or {field!r}, not both")
                values[field] = values.pop(short)
                spelled[field] = short
        return spelled

    def _env_specs(self, values: dict[str, Any], spelled: dict[str, str], where: str) -> None:
        """Validate the ``EnvSpec`` blocks of an environment block (they take short keys)."""

        def path(field: str) -> str:
            return _key(where, spelled.get(field, field))

        if values.get("default_env") is not None:
            values["default_env"] = self._model(EnvSpec, values["default_env"], path("default_env"))
        for field in ("node_environments", "variant_environments"):
            if field in values:
                specs = self._mapping(values[field], path(field))
                values[field] = {
                    name: self._model(EnvSpec, spec, _key(path(field), name))
                    for name, spec in specs.items()
                }

    def _invalid(self, exc: ValidationError, spelled: dict[str, str], where: str) -> ProjectError:
        problems = []
        for error in exc.errors():
            loc = list(error["loc"])
            if loc and loc[0] in spelled:
                loc[0] = spelled[loc[0]]
            hint = ""
            if error["type"] == "string_type" and isinstance(error.get("input"), int | float):
                hint = ' (quote it: YAML reads 3.10 as the number 3.1, "3.10" as text)'
            problems.append(f"{_loc_path(where, loc)}: {error['msg']}{hint}")
        return self.error("", "; ".join(problems))

    # -- plain values ------------------------------------------------------------------

    def _known(self, data: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                raise self.error(
                    _key(where, key), f"unknown key; expected one of: {', '.join(allowed)}"
                )

    def _mapping(self, value: Any, where: str, required: bool = False) -> dict[Any, Any]:
        if value is None:
            if required:
                raise self.error(where, "missing (required)")
            return {}
        if not isinstance(value, dict):
            raise self.error(where, f"must be a mapping, not {_kind(value)}")
        return value

    def _list(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(where, f"must be a list, not {_kind(value)}")
        return value

    def _required_text(self, data: dict[str, Any], key: str, where: str) -> str:
        value = self._text(data, key, where)
        if value is None:
            raise self.error(_key(where, key), "missing (required)")
        return value

    def _text(self, data: dict[str, Any], key: str, where: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            hint = " (quote it)" if isinstance(value, int | float) else ""
            raise self.error(_key(where, key), f"must be a string, not {_kind(value)}{hint}")
        return value


def _kind(value: Any) -> str:
    return f"a {type(value).__name__}"
