"""The dashboard's file panel with wtb-filetrack on: a checkpoint's tracked files and what
changed in them against its parent, in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.dashboard.conftest import chromium_path
from wtb_core.server.threaded import serve_in_thread


@pytest.fixture
def served(bench):
    server = serve_in_thread(bench)
    yield server
    server.stop()


def test_a_checkpoint_shows_its_files_and_what_changed_against_its_parent(
    bench, docs, checkpoint_after, served
):
    done = bench.run(docs, {})
    revised = checkpoint_after(done.execution_id, "revise")
    drafted = checkpoint_after(done.execution_id, "draft")
    snapshots = {s.checkpoint_id: s.files for s in bench.get_file_snapshots(done.execution_id)}
    before, after = snapshots[drafted], snapshots[revised]
    expected = {
        **{p: "added" for p in after.keys() - before.keys()},
        **{p: "removed" for p in before.keys() - after.keys()},
        **{p: "changed" for p in after.keys() & before.keys() if after[p] != before[p]},
    }
    assert set(expected.values()) == {"added", "removed", "changed"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{served.url}/#/executions/{done.execution_id}?checkpoint={revised}")
        rows = page.locator("table.files tbody tr")
        expect(rows).to_have_count(len(before.keys() | after.keys()))
        for path, change in expected.items():
            row = rows.filter(has_text=path)
            expect(row).to_have_class(change)
        browser.close()
