"""``GET /metrics`` on ``wtb serve``: the Prometheus page, behind the server's guard (its
token, when one is set, like every other route: metrics name projects and variants)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics_page(request: Request) -> Response:
    """Prometheus metrics of this process (of all processes in multiprocess mode)."""
    from wtb_core.telemetry.exposition import render

    body, content_type = await asyncio.to_thread(render, request.headers.get("accept"))
    return Response(body, media_type=content_type)
