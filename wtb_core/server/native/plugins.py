"""``/api/v1/plugins``: what is installed and what each plugin registers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from wtb_core.server.deps import BenchDep
from wtb_core.server.native.models import PluginDescription

router = APIRouter(prefix="/plugins", tags=["plugins"])


@router.get("", response_model=list[PluginDescription])
async def list_plugins(
    bench: BenchDep,
    builtins: Annotated[bool, Query(description="Include WTB's own builtin plugins")] = False,
) -> list[PluginDescription]:
    """Every loaded plugin with its version, origin, registrations and hooks (what
    ``wtb plugins`` prints)."""
    return [
        PluginDescription(**asdict(info))
        for info in bench.plugins.describe(include_builtins=builtins)
    ]
