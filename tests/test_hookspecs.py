"""Meta-test: every hook is documented and exercised by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

from wtb_core import hookspecs

HOOKS = [name for name, obj in vars(hookspecs).items() if name.startswith("wtb_") and callable(obj)]
TESTS = Path(__file__).parent
PLUGIN_TESTS = TESTS.parent / "plugins"
# Hooks whose caller does not exist yet, with the reason. Keep this empty when possible.
NO_CALLER_YET = {
    "wtb_register_routes": "no REST server yet: the hook is part of the contract for it",
}


def _test_sources() -> str:
    files = [*TESTS.rglob("*.py"), *PLUGIN_TESTS.glob("*/tests/**/*.py")]
    return "\n".join(p.read_text() for p in files if p.name != Path(__file__).name)


def test_every_hook_has_a_contract_docstring_and_the_wtb_prefix():
    assert len(HOOKS) == 8
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 60, f"{name} needs a docstring stating its contract"


def test_every_hook_is_exercised_by_a_test():
    sources = _test_sources()
    untested = [
        name for name in HOOKS if f"def {name}(" not in sources and name not in NO_CALLER_YET
    ]
    assert not [name for name in NO_CALLER_YET if f"def {name}(" in sources], (
        "a hook in NO_CALLER_YET has a test now: remove it from the list"
    )
    assert not untested, f"hooks without a test implementing them: {untested}"
