"""``wtb serve`` runs the outbox processor periodically: an operation another process left
half-way while the server runs is settled without a restart."""

from __future__ import annotations

import time

from tests import workflows
from tests.conftest import register
from tests.integrity.test_checks import _dead_owner
from wtb_core.server.settings import ServeSettings
from wtb_core.server.threaded import serve_in_thread


def test_the_server_settles_a_cut_off_operation_while_it_runs(bench):
    done = bench.run(register(bench, workflows.linear), {})
    server = serve_in_thread(bench, ServeSettings(port=0, outbox_interval=0.05))
    try:
        metadata = bench.stack.metadata
        row_id = metadata.open_operation(  # a delete whose process died after the intent
            "delete",
            done.execution_id,
            owner=_dead_owner(),
            payload={"thread_id": f"wtb-{done.execution_id}"},
        )
        deadline = time.monotonic() + 10
        while metadata.operation(row_id).state == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metadata.operation(row_id).state == "done"
        assert not metadata.execution_exists(done.execution_id)
        assert bench.check_integrity().clean
    finally:
        server.stop()
