"""Many clients at once: reads and runs mixed, every one answered, nothing left running."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from wtb_core import ExecutionStatus

API = "/api/v1"
CLIENTS = 50


def _client_session(url: str, index: int) -> list[str]:
    """What went wrong for one client (empty when every answer was right)."""
    problems: list[str] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for call in range(4):
            if (index + call) % 2:
                response = http.post(
                    f"{API}/executions?wait=true",
                    json={"project": "linear", "initial_state": {"query": f"q{index}-{call}"}},
                )
                if response.status_code != 200 or response.json()["status"] != "completed":
                    problems.append(f"run: {response.status_code} {response.text[:200]}")
            else:
                for path in (f"{API}/projects", f"{API}/executions?limit=5", "/readyz"):
                    response = http.get(path)
                    if response.status_code != 200:
                        problems.append(f"GET {path}: {response.status_code} {response.text[:200]}")
    return problems


def test_fifty_concurrent_clients_mixing_reads_and_runs_all_succeed(live):
    barrier = threading.Barrier(CLIENTS)

    def client(index: int) -> list[str]:
        barrier.wait()
        return _client_session(live.url, index)

    with ThreadPoolExecutor(CLIENTS) as pool:
        problems = [p for found in pool.map(client, range(CLIENTS)) for p in found]
    assert problems == []
    executions = live.bench.list_executions()
    assert len(executions) == CLIENTS * 2
    assert {e.status for e in executions} == {ExecutionStatus.COMPLETED}
