"""The committed ``wtb_grpc/_gen`` is what the pinned generator makes of the proto, and
it works with the runtime floors the package declares."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PLUGIN = Path(__file__).resolve().parent.parent
SCRIPT = PLUGIN / "scripts" / "generate_proto.py"
GEN = PLUGIN / "wtb_grpc" / "_gen"
UV = Path(sys.executable).with_name("uv")


def test_regenerating_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "_gen"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    made = {p.name: p.read_bytes() for p in out.iterdir()}
    committed = {p.name: p.read_bytes() for p in GEN.iterdir() if p.is_file()}
    assert sorted(made) == sorted(committed)
    changed = [name for name in made if made[name] != committed[name]]
    assert changed == [], (
        f"{changed} differ from what {SCRIPT.name} generates: run "
        "`.venv/bin/python plugins/wtb-grpc/scripts/generate_proto.py` and commit _gen"
    )


CHECK = """
from google.protobuf import __version__ as protobuf
import grpc
from wtb_grpc._gen import wtb_pb2, wtb_pb2_grpc
event = wtb_pb2.Event(seq=3, type="node_completed", batch_id=None)
again = wtb_pb2.Event.FromString(event.SerializeToString())
assert again.seq == 3 and not again.HasField("batch_id"), again
assert wtb_pb2_grpc.WorkflowTestBenchStub(grpc.insecure_channel("127.0.0.1:1"))
print(protobuf, grpc.__version__)
"""


def test_the_generated_code_works_with_the_declared_floors() -> None:
    """protobuf 4.25.1 and grpcio 1.62.3 (pyproject's floors), outside the workspace."""
    result = subprocess.run(
        [str(UV), "run", "--isolated", "--no-project", "--quiet", "--python", sys.executable,
         "--with", "protobuf==4.25.1", "--with", "grpcio==1.62.3",
         "python", "-W", "error", "-c", CHECK],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(PLUGIN)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["4.25.1", "1.62.3"]
