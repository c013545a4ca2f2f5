"""The project catalog: projects registered with a bench, remembered in the metadata store
and re-imported by a later process, and the compiled graph of each execution."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from wtb_core.config import EnvironmentConfig, ExecutionConfig, FileTrackingConfig
from wtb_core.engine.graph_cache import GraphCache
from wtb_core.errors import ConfigurationError, ProjectError, ProjectNotFoundError
from wtb_core.loading import import_reference
from wtb_core.project import YAML_REF, WorkflowProject
from wtb_core.sdk.stack import FileTrackerChoice
from wtb_core.storage.metadata import MetadataStore
from wtb_core.storage.tables import ExecutionRecord


class ProjectCatalog:
    """Registers, finds and lists projects; builds (and caches) their graphs.

    Thread-safe: the in-process projects live in a dict under a lock; the first caller to
    re-import a project from the metadata store wins and every caller gets that object.
    The graph cache has its own lock.
    """

    def __init__(
        self,
        metadata: MetadataStore,
        graphs: GraphCache,
        file_trackers: FileTrackerChoice,
        workspace: Path,
    ) -> None:
        self._metadata = metadata
        self._file_trackers = file_trackers
        self._workspace = workspace
        self.graphs = graphs  # the compiled graph of a project with some variants
        self._projects: dict[str, WorkflowProject] = {}
        self._lock = threading.Lock()

    def register(self, project: WorkflowProject) -> WorkflowProject:
        """Register (or replace) a project; it is remembered in the metadata store."""
        if not isinstance(project, WorkflowProject):
            raise ProjectError(
                f"register_project takes a WorkflowProject, not {type(project).__name__}"
            )
        if project.file_tracking.enabled:
            if refusal := self._file_trackers.refusal(project.name):
                raise ConfigurationError(refusal)
            project.file_tracking.tracked_roots(self._workspace)  # refuses paths leaving it
        project.node_names()  # builds the graph once: a broken factory fails here
        with self._lock:
            self._projects[project.name] = project
            self.graphs.forget(project.name)
        self._metadata.save_project(
            project.name,
            project.description,
            project.factory_ref,
            {
                "file_tracking": project.file_tracking.model_dump(mode="json"),
                "environment": project.environment.model_dump(mode="json"),
                "execution": project.execution.model_dump(mode="json"),
            },
        )
        return project

    def get(self, name: str) -> WorkflowProject:
        """A registered project; one registered by an earlier process is re-imported from
        its ``module:function`` graph factory (or its YAML file) when that is importable."""
        with self._lock:
            if name in self._projects:
                return self._projects[name]
        row = self._metadata.get_project(name)
        if row is not None and row.factory_ref and row.factory_ref.startswith(YAML_REF):
            project = WorkflowProject.from_yaml(row.factory_ref.removeprefix(YAML_REF))
            with self._lock:
                return self._projects.setdefault(name, project)
        if row is not None and row.factory_ref:
            project = WorkflowProject(
                name=row.name,
                graph_factory=import_reference(row.factory_ref, f"project {name!r}"),
                description=row.description,
                file_tracking=FileTrackingConfig.model_validate(
                    row.settings.get("file_tracking", {})
                ),
                environment=EnvironmentConfig.model_validate(row.settings.get("environment", {})),
                execution=ExecutionConfig.model_validate(row.settings.get("execution", {})),
            )
            with self._lock:
                return self._projects.setdefault(name, project)
        known = ", ".join(self.names()) or "none"
        hint = (
            " It was registered from code that cannot be imported again (a function in __main__"
            " or a closure): register it in this process too."
            if row is not None
            else ""
        )
        raise ProjectNotFoundError(
            f"project {name!r} is not registered with this bench (known: {known}).{hint} "
            "Call bench.register_project(WorkflowProject(...)) first"
        )

    def file_tracking(self, name: str) -> FileTrackingConfig:
        """A project's file tracking: the registered project's, else the one stored with it
        (nothing is imported), else none."""
        with self._lock:
            if name in self._projects:
                return self._projects[name].file_tracking
        row = self._metadata.get_project(name)
        settings = row.settings.get("file_tracking", {}) if row is not None else {}
        return FileTrackingConfig.model_validate(settings)

    def names(self) -> list[str]:
        """Every project name: registered here or stored by an earlier process."""
        names = {row.name for row in self._metadata.list_projects()}
        with self._lock:
            names.update(self._projects)
        return sorted(names)

    def graph_of(self, row: ExecutionRecord) -> Any:
        """The graph an execution ran: its project version and variants."""
        project = self.get(row.project)
        return self.graphs.get(
            project, row.variant_config, row.workflow_variant, row.project_version
        )
