"""Importing user code named by ``module:attribute`` references."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from wtb_core.errors import ProjectError


def import_reference(reference: str, what: str) -> Any:
    """Import ``package.module:attr.sub`` (the current directory is importable)."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ProjectError(
            f"{what}: {reference!r} is not a 'module:function' reference "
            "(for example 'myapp.workflows:create_graph')"
        )
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProjectError(
            f"{what}: cannot import module {module_name!r} ({exc}); make sure it is installed "
            "or on PYTHONPATH"
        ) from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ProjectError(
                f"{what}: module {module_name!r} has no attribute {attribute!r}"
            ) from None
    return target
