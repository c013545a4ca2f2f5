"""The plugin is installed as a pytest11 entry point and costs little to load."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points


def test_wtb_core_registers_the_plugin_with_pytest():
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["wtb"] == "wtb_core.testing.pytest_plugin"


def test_loading_the_plugin_imports_neither_langgraph_nor_numpy():
    code = (
        "import sys, wtb_core.testing, wtb_core.testing.pytest_plugin\n"
        "heavy = ('langgraph', 'numpy', 'sqlalchemy', 'xdist')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_the_conformance_suites_and_expect_are_exported():
    import wtb_core.testing as testing
    from wtb_core.testing.checkpoint_store import CheckpointStoreContract
    from wtb_core.testing.expectations import expect

    assert testing.CheckpointStoreContract is CheckpointStoreContract
    assert testing.expect is expect
