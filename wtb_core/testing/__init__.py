"""Testing with WTB: conformance suites for plugin authors, and ``expect(...)``.

Subclass a contract in your plugin's tests and provide its fixture::

    from wtb_core.testing import CheckpointStoreContract

    class TestMyStore(CheckpointStoreContract):
        @pytest.fixture
        def store(self):
            s = MyStore(...)
            yield s
            s.close()

``expect(outcome)`` checks executions with messages that show the state, the failing key
and the execution id (``wtb_core.testing.expectations``). The pytest plugin (fixtures
``wtb_bench``, ``wtb_run``, the ``wtb`` marker, ``--wtb-gate`` and baselines) is
``wtb_core.testing.pytest_plugin``, loaded by pytest through its entry point.

Names are imported on first use: pytest imports this package in every session.
"""

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "CheckpointStoreContract": "wtb_core.testing.checkpoint_store",
    "Outcomes": "wtb_core.testing.outcomes",
    "expect": "wtb_core.testing.expectations",
}

if TYPE_CHECKING:  # the same names, for type checkers (kept in step with _LAZY)
    from wtb_core.testing.checkpoint_store import CheckpointStoreContract
    from wtb_core.testing.expectations import expect
    from wtb_core.testing.outcomes import Outcomes


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # looked up each time, so a re-imported module is never half-seen
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'wtb_core.testing' has no attribute {name!r}")


__all__ = ["CheckpointStoreContract", "Outcomes", "expect"]
