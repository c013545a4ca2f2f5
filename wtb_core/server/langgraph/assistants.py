"""``/info`` and ``/assistants``: the server and its projects, one assistant per project."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import typing
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import TypeAdapter

from wtb_core import __version__
from wtb_core.errors import WTBError
from wtb_core.project import WorkflowProject
from wtb_core.server.langgraph.context import ApiDep, LangGraphApi
from wtb_core.server.langgraph.encoding import jsonable
from wtb_core.server.langgraph.mapping import (
    UnsupportedRequestError,
    assistant_id_of,
    find_project,
)
from wtb_core.server.langgraph.models import (
    Assistant,
    AssistantSearch,
    GraphDrawing,
    GraphSchema,
    ServerInfo,
)

router = APIRouter(tags=["langgraph: assistants"])

VARIANTS_KEY = "wtb_variants"
WORKFLOW_VARIANT_KEY = "wtb_workflow_variant"


@functools.cache
def _langgraph_version() -> str:
    try:
        return version("langgraph")
    except PackageNotFoundError:
        return "unknown"


@router.get("/info", response_model=ServerInfo)
async def info() -> ServerInfo:
    """What this server is: WTB's version, LangGraph's, and the features served."""
    return ServerInfo(
        version=__version__,
        langgraph_py_version=_langgraph_version(),
        flags={"assistants": True, "crons": False, "langsmith": False},
        host={"kind": "wtb", "project_id": None, "revision_id": None},
        metadata={"server": "wtb serve"},
    )


def render_assistant(project: WorkflowProject) -> Assistant:
    """``project`` as the assistant of its graph; ``metadata`` lists its nodes and
    variants (the values ``config.configurable.wtb_variants`` takes)."""
    versions = project.versions()
    return Assistant(
        assistant_id=assistant_id_of(project.name),
        graph_id=project.name,
        name=project.name,
        description=project.description or None,
        config={},
        context={},
        created_at=versions[0].created_at,
        updated_at=versions[-1].created_at,
        metadata={
            "created_by": "wtb",
            "project_version": project.current_version,
            "nodes": project.node_names(),
            "variants": project.list_variants(),
            "workflow_variants": project.list_workflow_variants(),
        },
        version=versions[-1].number,
    )


def _matches(assistant: Assistant, query: AssistantSearch) -> bool:
    if query.graph_id is not None and assistant.graph_id != query.graph_id:
        return False
    if query.name is not None and query.name.lower() not in assistant.name.lower():
        return False
    metadata = query.metadata or {}
    return all(assistant.metadata.get(k) == v for k, v in metadata.items())


def _loadable(api: LangGraphApi) -> list[WorkflowProject]:
    """The projects this process can load (one stored by an earlier process from code it
    cannot import again is left out)."""
    catalog = api.services.catalog
    projects = []
    for name in catalog.names():
        with contextlib.suppress(WTBError):
            projects.append(catalog.get(name))
    return projects


def search_assistants(api: LangGraphApi, query: AssistantSearch) -> list[Assistant]:
    found = [render_assistant(project) for project in _loadable(api)]
    found = [a for a in found if _matches(a, query)]
    key = query.sort_by or "name"
    found.sort(key=lambda a: getattr(a, key), reverse=query.sort_order == "desc")
    return found[query.offset : query.offset + query.limit]


@router.post("/assistants/search", response_model=list[Assistant])
async def search(body: AssistantSearch, api: ApiDep) -> list[Assistant]:
    """The projects, by ``graph_id``, ``name`` (a substring) and ``metadata``."""
    return await asyncio.to_thread(search_assistants, api, body)


@router.get("/assistants/{assistant_id}", response_model=Assistant)
async def get_assistant(assistant_id: str, api: ApiDep) -> Assistant:
    """One project, by its name or assistant id."""
    project = await asyncio.to_thread(find_project, api, assistant_id)
    return await asyncio.to_thread(render_assistant, project)


def _xray(value: str) -> bool | int:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value.isdigit():
        return int(value)
    raise UnsupportedRequestError(f"xray={value!r}: pass true, false or a depth (an integer)")


def _drawing(api: LangGraphApi, assistant_id: str, xray: bool | int) -> GraphDrawing:
    project = find_project(api, assistant_id)
    graph = api.services.catalog.graphs.get(project, {}, None)
    drawing = graph.get_graph(xray=xray).to_json()
    for node in drawing["nodes"]:
        if isinstance(node.get("data"), dict):
            node["data"].pop("id", None)  # the module path of the node's callable
    return GraphDrawing(nodes=jsonable(drawing["nodes"]), edges=jsonable(drawing["edges"]))


@router.get("/assistants/{assistant_id}/graph", response_model=GraphDrawing)
async def get_graph(
    assistant_id: str,
    api: ApiDep,
    xray: Annotated[str, Query(description="true, false or a subgraph depth")] = "false",
) -> GraphDrawing:
    """The project's graph (its current version, default variants) as nodes and edges."""
    return await asyncio.to_thread(_drawing, api, assistant_id, _xray(xray))


def _variants_schema(project: WorkflowProject) -> dict[str, Any]:
    nodes = {
        node: {"type": "string", "enum": names, "default": "default"}
        for node, names in project.list_variants().items()
        if len(names) > 1
    }
    workflows = project.list_workflow_variants()
    return {
        "title": "Configurable",
        "type": "object",
        "properties": {
            VARIANTS_KEY: {
                "type": "object",
                "description": "{node: variant} for a new thread's first run",
                "properties": nodes,
                "additionalProperties": False,
            },
            WORKFLOW_VARIANT_KEY: {
                "anyOf": [{"type": "string", "enum": workflows}, {"type": "null"}],
                "default": None,
                "description": "A workflow variant for a new thread's first run",
            },
        },
    }


def _schema(build: Any) -> dict[str, Any] | None:
    with contextlib.suppress(Exception):  # a schema a graph cannot describe is left out
        schema = build()
        return dict(schema) if schema else None
    return None


def _keys_schema(schema: Any) -> dict[str, Any]:
    """A state class's JSON schema key by key (pydantic refuses a whole ``typing.TypedDict``
    before Python 3.12); a key whose type has no schema takes any value."""
    properties: dict[str, Any] = {}
    for key, hint in typing.get_type_hints(schema).items():
        properties[key] = _schema(lambda hint=hint: TypeAdapter(hint).json_schema()) or {}
    return {
        "title": getattr(schema, "__name__", "State"),
        "type": "object",
        "properties": properties,
    }


def _class_schema(build: Any, schema: Any) -> dict[str, Any] | None:
    return _schema(build) or _schema(lambda: _keys_schema(schema))


def _schemas(api: LangGraphApi, assistant_id: str) -> GraphSchema:
    project = find_project(api, assistant_id)
    graph = api.services.catalog.graphs.get(project, {}, None)
    builder = graph.builder
    return GraphSchema(
        graph_id=project.name,
        input_schema=_class_schema(graph.get_input_jsonschema, builder.input_schema),
        output_schema=_class_schema(graph.get_output_jsonschema, builder.output_schema),
        state_schema=_class_schema(
            lambda: TypeAdapter(builder.state_schema).json_schema(), builder.state_schema
        ),
        config_schema=_variants_schema(project),
        context_schema=_schema(graph.get_context_jsonschema),
    )


@router.get("/assistants/{assistant_id}/schemas", response_model=GraphSchema)
async def get_schemas(assistant_id: str, api: ApiDep) -> GraphSchema:
    """JSON schemas of the graph's input, output and state; ``config_schema`` describes
    the variant selection ``config.configurable`` takes."""
    return await asyncio.to_thread(_schemas, api, assistant_id)
