"""Conformance suites for plugin authors.

Subclass a contract in your plugin's tests and provide its fixture::

    from wtb_core.testing import CheckpointStoreContract

    class TestMyStore(CheckpointStoreContract):
        @pytest.fixture
        def store(self):
            s = MyStore(...)
            yield s
            s.close()
"""

from wtb_core.testing.checkpoint_store import CheckpointStoreContract

__all__ = ["CheckpointStoreContract"]
