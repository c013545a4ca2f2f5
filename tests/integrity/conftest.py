"""Fixtures of the integrity tests: a PostgreSQL database per test (as wtb-postgres's tests
make them), the case server that forks a child per SIGKILL case, and the tally of cut
points exercised, printed at the end of the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

SERVER = os.environ.get("WTB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
ROOT = Path(__file__).parents[2]
OUTCOMES: list[tuple[str, str, str, str]] = []  # (cut point, action, store, outcome)


@pytest.fixture
def pg_url():
    """``postgresql://…/wtb_integrity_<random>``: created for the test, dropped after it."""
    psycopg = pytest.importorskip("psycopg")
    name = f"wtb_integrity_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class CaseServer:
    """``python -m tests.hardening.killable --cases``: one process importing everything
    once; each ``run(case)`` forks a child there that is SIGKILLed at the case's cut."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WTB_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.hardening.killable", "--cases"],
            cwd=ROOT,
            env={**env, "WTB_LOAD_PLUGINS": ""},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, case: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(case) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, "the case server died"
        return json.loads(answer)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(30)


@pytest.fixture(scope="session")
def case_server():
    server = CaseServer()
    yield server
    server.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not OUTCOMES:
        return
    write = terminalreporter.write_line
    points = {cut for cut, *_ in OUTCOMES}
    write("")
    write(f"integrity cut points: {len(points)} exercised in {len(OUTCOMES)} cases")
    for (action, store), n in sorted(Counter((a, s) for _, a, s, _ in OUTCOMES).items()):
        write(f"  {action} on {store}: {n} cases")
    for outcome, n in sorted(Counter(o for *_, o in OUTCOMES).items()):
        write(f"  {n:3d} × {outcome}")
