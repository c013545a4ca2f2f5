"""The hexagon: the kernel talks to ports; adapters that need heavy drivers live in plugins."""

from __future__ import annotations

import ast
import re
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


def _kernel_imports(path: Path) -> set[str]:
    """The ``wtb_core`` modules ``path`` imports (absolute imports, at any depth)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.startswith("wtb_core.")}


def test_batch_tests_do_not_import_the_sdk():
    """``wtb_core.batch`` runs cells through its ``ExecutionRunner`` port, not the bench."""
    offenders = {
        str(path.relative_to(KERNEL)): sorted(
            name for name in _kernel_imports(path) if name.startswith("wtb_core.sdk")
        )
        for path in (KERNEL / "batch").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_the_kernel_does_not_load_langgraph():
    import subprocess
    import sys

    code = (
        "import sys, wtb_core, wtb_core.errors\n"
        "from wtb_core.plugin import CheckpointStoreRegister, hookimpl\n"
        "print('langgraph' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


# -- the plugin boundary ---------------------------------------------------------------------

ROOT = KERNEL.parent
PLUGIN_PACKAGES = sorted(
    [*ROOT.glob("plugins/*/wtb_*"), *ROOT.glob("tests/sample_plugin/wtb_*")]
)  # the sample plugin is a third-party plugin too
PUBLIC = {"wtb_core", "wtb_core.plugin"}
PLUGIN_NAME = re.compile(r"\bwtb[-_](?:postgres|ray|filetrack|uvenv|grpc)\b")
INSTALL_HINTS = KERNEL / "install_hints.py"


def _all_imports(path: Path) -> set[str]:
    """Every module ``path`` imports (under ``TYPE_CHECKING`` too); ``from pkg import name``
    gives ``pkg.name`` when that is a module of the kernel."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if _is_kernel_module(f"{node.module}.{alias.name}")
            )
    return names


def _is_kernel_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return name.startswith("wtb_core.") and (path.with_suffix(".py").is_file() or path.is_dir())


def test_plugin_packages_import_only_wtb_core_and_wtb_core_plugin():
    assert len(PLUGIN_PACKAGES) >= 4
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _all_imports(path)
            if name.split(".")[0] == "wtb_core" and name not in PUBLIC
        )
        for package in PLUGIN_PACKAGES
        for path in package.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}, (
        "a plugin imports a kernel module: use what wtb_core.plugin (or wtb_core) exports, "
        "or add the name there if plugins really need it"
    )


def _code_strings(tree: ast.AST) -> list[str]:
    """The string constants of ``tree`` that are code, not documentation: a string standing
    alone as a statement (a docstring, an attribute's docstring) documents."""
    documentation = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in documentation
    ]


def _plugin_names(path: Path) -> list[str]:
    texts = _code_strings(ast.parse(path.read_text(), filename=str(path)))
    return sorted({name for text in texts for name in PLUGIN_NAME.findall(text)})


def test_the_kernel_names_plugins_only_in_its_table_of_install_hints():
    """Messages, field descriptions and defaults name no plugin package or distribution:
    "pip install wtb-postgres" comes from ``wtb_core.install_hints``. Docstrings and comments
    may mention plugins (they document where a feature comes from)."""
    offenders = {
        str(path.relative_to(KERNEL)): _plugin_names(path)
        for path in KERNEL.rglob("*.py")
        if path != INSTALL_HINTS
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    assert PLUGIN_NAME.search(INSTALL_HINTS.read_text())


def test_the_plugin_module_exports_what_its_type_checking_imports_name():
    """``wtb_core.plugin`` loads its names on first use: the table it loads them from and
    the imports type checkers read must list the same names from the same modules."""
    import wtb_core.plugin as plugin

    tree = ast.parse(Path(plugin.__file__).read_text())
    [checking] = [node for node in tree.body if isinstance(node, ast.If)]
    typed = {
        alias.name: node.module
        for node in ast.walk(checking)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == plugin._HOME
    assert sorted(plugin.__all__) == sorted(typed)
    for name in plugin.__all__:
        assert getattr(plugin, name) is not None, name


# -- import cycles ---------------------------------------------------------------------------

# Cycles being broken right now, each as the set of its modules; the test fails on any other
# cycle, and on a listed one that is gone (take it off the list).
KNOWN_CYCLES: list[set[str]] = []


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST, module: str, package: bool) -> set[str]:
    """Modules a module imports when it runs: ``if TYPE_CHECKING:`` blocks left out,
    imports inside functions kept."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + package]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _kernel_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in KERNEL.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = _runtime_imports(tree, module, path.name == "__init__.py")
        graph[module] = {name for name in imported if name in paths and name != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_kernel_modules_import_each_other_without_cycles():
    """Built with ``ast`` over ``wtb_core/**/*.py``. Imports under ``if TYPE_CHECKING:`` do
    not count (they never run). Imports inside functions do count: deferring an import
    saves start-up time but the two modules still depend on each other, so a cycle through
    one is still a cycle. ``from pkg import name`` counts as importing ``pkg.name`` when that
    is a module; importing a submodule does not count as importing its package's
    ``__init__``."""
    cycles = _cycles(_kernel_graph())
    new = [sorted(cycle) for cycle in cycles if cycle not in KNOWN_CYCLES]
    gone = [sorted(cycle) for cycle in KNOWN_CYCLES if cycle not in cycles]
    assert new == [], f"import cycles among kernel modules: {new}"
    assert gone == [], f"these cycles are broken: take them off KNOWN_CYCLES: {gone}"


def test_the_cycle_finder_finds_a_cycle_through_a_function_local_import():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import wtb_core.c\n"
    a = _runtime_imports(ast.parse(source + "def f():\n    import wtb_core.b\n"), "a", False)
    assert a == {"typing", "typing.TYPE_CHECKING", "wtb_core.b"}
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [{"a", "b", "c"}]
