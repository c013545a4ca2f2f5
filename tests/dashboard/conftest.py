"""A real ``wtb serve`` (a subprocess on a free port, its own data dir) and a headless
Chromium (Debian's, driven by Playwright) for the dashboard tests. Screenshots of each
page go to ``test-artifacts/dashboard/`` (git-ignored)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.server.test_shutdown import _free_port, _wait_ready

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
WTB = Path(sys.executable).with_name("wtb")
PROJECTS = ["linear", "human", "napper", "parallel", "fan_out"]


@dataclass
class Served:
    url: str
    data_dir: Path
    http: httpx.Client


def chromium_path() -> str:
    found = os.environ.get("WTB_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "headless Chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module-scoped: Playwright's sync API runs an event loop on this thread while it is
    # open, and tests after these call asyncio.run.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir, port = tmp_path_factory.mktemp("dashboard") / "data", _free_port()
    projects = [a for p in PROJECTS for a in ("--project", f"tests.dashboard.projects:{p}")]
    env = {**os.environ, "WTB_LOAD_PLUGINS": "", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [str(WTB), "--data-dir", str(data_dir), "serve", "--port", str(port), *projects],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        with httpx.Client(base_url=url, timeout=30) as http:
            yield Served(url, data_dir, http)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def page(browser: Browser, served: Served, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], errors  # no script error on any page
