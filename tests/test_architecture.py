"""The hexagon: the kernel talks to ports; adapters that need heavy drivers live in plugins."""

from __future__ import annotations

import ast
from pathlib import Path

KERNEL = Path(__file__).resolve().parent.parent / "wtb_core"
FORBIDDEN = ("ray", "psycopg", "psycopg_pool", "grpc", "uv", "wtb_ray", "wtb_postgres",
             "wtb_filetrack", "wtb_uvenv", "wtb_grpc")  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_kernel_never_imports_drivers_or_plugins():
    offenders = {
        str(path.relative_to(KERNEL)): sorted(_imports(path) & set(FORBIDDEN))
        for path in KERNEL.rglob("*.py")
        if _imports(path) & set(FORBIDDEN)
    }
    assert offenders == {}


def test_importing_the_kernel_does_not_load_langgraph():
    import subprocess
    import sys

    code = "import sys, wtb_core, wtb_core.errors; print('langgraph' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
