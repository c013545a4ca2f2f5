"""``/api/v1/projects``: the projects a server serves, their variants, versions and graph."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from wtb_core.cli.common import project_from_ref
from wtb_core.errors import WTBError
from wtb_core.project import WorkflowProject
from wtb_core.sdk.catalog import ProjectCatalog
from wtb_core.server.deps import ServicesDep, SettingsDep
from wtb_core.server.errors import error_body
from wtb_core.server.native.models import (
    ProjectDetail,
    ProjectGraph,
    ProjectSummary,
    RegisterProject,
    VersionInfo,
    error_responses,
)

router = APIRouter(prefix="/projects", tags=["projects"], responses=error_responses(404, 422))


def _summary(catalog: ProjectCatalog, name: str) -> ProjectSummary:
    try:
        project = catalog.get(name)
        return ProjectSummary(
            name=name,
            description=project.description,
            nodes=project.node_names(),
            current_version=project.current_version,
        )
    except WTBError as exc:  # stored by an earlier process, not importable here
        return ProjectSummary(name=name, error=str(exc))


def _detail(project: WorkflowProject) -> ProjectDetail:
    return ProjectDetail(
        name=project.name,
        description=project.description,
        nodes=project.node_names(),
        variants=project.list_variants(),
        workflow_variants=project.list_workflow_variants(),
        current_version=project.current_version,
        versions=[VersionInfo.model_validate(v, from_attributes=True) for v in project.versions()],
    )


@router.get("", response_model=list[ProjectSummary])
async def list_projects(services: ServicesDep) -> list[ProjectSummary]:
    """Every project: registered in this process or stored by an earlier one."""

    def read() -> list[ProjectSummary]:
        return [_summary(services.catalog, name) for name in services.catalog.names()]

    return await asyncio.to_thread(read)


@router.get("/{name}", response_model=ProjectDetail)
async def get_project(name: str, services: ServicesDep) -> ProjectDetail:
    """One project with its nodes, variants per node, workflow variants and versions."""
    return await asyncio.to_thread(lambda: _detail(services.catalog.get(name)))


@router.get("/{name}/graph", response_model=ProjectGraph)
async def project_graph(
    name: str, services: ServicesDep, workflow_variant: str | None = None
) -> ProjectGraph:
    """The project's graph (or a workflow variant's) as Mermaid text."""

    def draw() -> ProjectGraph:
        project = services.catalog.get(name)
        graph = services.catalog.graphs.get(project, {}, workflow_variant)
        return ProjectGraph(
            project=name,
            workflow_variant=workflow_variant,
            mermaid=graph.get_graph().draw_mermaid(),
        )

    return await asyncio.to_thread(draw)


@router.post(
    "",
    response_model=ProjectDetail,
    status_code=201,
    responses=error_responses(403),
)
async def register_project(
    body: RegisterProject, services: ServicesDep, settings: SettingsDep
) -> ProjectDetail | JSONResponse:
    """Import and register a project (``module:attribute`` or a YAML file). This imports
    code the request names, so it is off unless the server was started with
    ``--allow-project-registration`` (which needs a token)."""
    if not settings.allow_project_registration:
        message = (
            "registering projects over HTTP imports code and is off on this server; start it "
            "with --allow-project-registration and a --token, or pass the project to "
            "`wtb serve --project`"
        )
        return JSONResponse(error_body("ProjectRegistrationDisabled", message), 403)

    def register() -> ProjectDetail:
        project = project_from_ref(body.ref, body.name)
        return _detail(services.catalog.register(project))

    return await asyncio.to_thread(register)
