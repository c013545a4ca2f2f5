"""Data directories made by earlier versions keep working now that the tracker keeps its own
chunks (``wtb_filetrack.chunks``, moved out of the kernel): the chunks it keeps equal the
kernel's ``split``, so commit ids are those earlier versions stored; the tables' migration
head is the one those data directories are at; and a data directory's file snapshots are
listed and restored by a bench opened on it afresh."""

from __future__ import annotations

import random

from alembic.config import Config
from alembic.script import ScriptDirectory

import wtb_filetrack.plugin
from tests.test_file_commits import fragments_of, manifest_of
from wtb_core import StackConfig, WTBTestBench
from wtb_core.storage.database import MIGRATIONS
from wtb_core.storage.file_commits import commit_id_of, split
from wtb_filetrack.chunks import ChunkedManifest

# Computed by the kernel's ChunkedManifest and split before the move (and stored by every
# data directory that snapshotted this tree): changing the chunk format changes these.
COMMIT_OF_3000_FILES = "d363b2d2ce395af767a9987f5d4d57fb3b6735aac1dc1f3ddfc2d79b922f89c8"
COMMIT_OF_A_FILE_AND_A_LINK = "7f3ad52f0313fe0394542c3fcfe2e1caf006b2a4530bc78c90ffbb6b27af3049"
MIGRATION_HEAD = "0011"  # 0008 comparisons, 0009 outbox, 0010 shared prefixes, 0011 recordings
# change no file table


def test_chunks_kept_up_to_date_equal_a_fresh_split():
    rng = random.Random(7)
    manifest = manifest_of(3000)
    chunked = ChunkedManifest(fragments_of(manifest))
    for _ in range(200):
        changed = set()
        for _ in range(rng.randrange(1, 40)):
            roll = rng.random()
            if roll < 0.4 and manifest:  # remove (ends of runs included)
                path = rng.choice(sorted(manifest))
                del manifest[path]
            else:  # add or modify
                path = f"out/d{rng.randrange(20)}/f{rng.randrange(6000):05}.bin"
                manifest[path] = {"hash": "0" * 64, "size": rng.randrange(99), "mode": 0o600}
            changed.add(path)
        fragments = fragments_of(manifest)
        got = chunked.update(fragments, changed)
        want = split(sorted(fragments), fragments)
        assert [c.id for c in got] == [c.id for c in want]
    assert sum(len(c.paths) for c in got) == len(manifest)


def test_commit_ids_are_those_earlier_versions_stored():
    fragments = fragments_of(manifest_of(3000))
    kept = ChunkedManifest(fragments).chunks
    assert commit_id_of([c.id for c in kept]) == COMMIT_OF_3000_FILES
    assert commit_id_of([c.id for c in split(sorted(fragments), fragments)]) == (
        COMMIT_OF_3000_FILES
    )
    small = fragments_of(
        {"out/a.txt": {"hash": "a" * 64, "size": 5, "mode": 0o644}, "out/link": {"link": "a.txt"}}
    )
    assert commit_id_of([c.id for c in ChunkedManifest(small).chunks]) == (
        COMMIT_OF_A_FILE_AND_A_LINK
    )


def test_the_file_commit_tables_are_at_the_head_existing_data_directories_have():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [MIGRATION_HEAD], (
        "a new migration: check that a data directory at 0006 with file snapshots still "
        "opens and restores, then update MIGRATION_HEAD"
    )


def test_a_reopened_data_directory_lists_and_restores_its_file_snapshots(
    bench, docs, data_dir, workspace, checkpoint_after, files
):
    done = bench.run(docs, {})
    draft = checkpoint_after(done.execution_id, "draft")
    listed = bench.get_file_snapshots(done.execution_id)
    project = bench.get_project(docs)
    bench.close()

    config = StackConfig(data_dir=data_dir, file_tracker="cas")
    with WTBTestBench(
        config=config, plugins=[wtb_filetrack.plugin], load_entrypoints=False, workspace=workspace
    ) as reopened:
        reopened.register_project(project)
        assert reopened.get_file_snapshots(done.execution_id) == listed
        reopened.rollback(done.execution_id, draft)
        assert files.tree(workspace / "out") == {
            "a.txt": "draft",
            "gone.txt": "deleted by revise",
            "keep.txt": "keep",
            "debug.log": "log1\nlog2\n",
        }
