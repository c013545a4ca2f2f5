"""Generate ``wtb_grpc/_gen`` from ``proto/wtb/v1/wtb.proto`` with pinned generators.

    python plugins/wtb-grpc/scripts/generate_proto.py            # rewrite wtb_grpc/_gen
    python plugins/wtb-grpc/scripts/generate_proto.py --out DIR  # write elsewhere (tests)

The generator is ``grpcio-tools`` ``GRPCIO_TOOLS`` (its protoc writes protobuf 4.25.1
gencode, which checks no runtime version, so the package's ``protobuf>=4.25.1`` floor stays
wide; its gRPC plugin predates ``GRPC_GENERATED_VERSION`` checks). Run by any other
interpreter, the script runs itself again through ``uv run --isolated --with
grpcio-tools==GRPCIO_TOOLS`` (uv from ``PATH`` or beside the interpreter).

protoc names modules after the proto's path (``wtb.v1.wtb_pb2``); the package keeps them
flat in ``wtb_grpc._gen``, so the two references to that name are rewritten.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

GRPCIO_TOOLS = "1.62.3"
PLUGIN = Path(__file__).resolve().parent.parent
PROTO_ROOT = PLUGIN / "proto"
PROTO = "wtb/v1/wtb.proto"
GEN = PLUGIN / "wtb_grpc" / "_gen"
PACKAGE = "wtb_grpc._gen"
INIT = '"""Generated from proto/wtb/v1/wtb.proto by scripts/generate_proto.py: do not edit."""\n'


def _pinned() -> bool:
    try:
        return importlib.metadata.version("grpcio-tools") == GRPCIO_TOOLS
    except importlib.metadata.PackageNotFoundError:
        return False


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        raise SystemExit("generate_proto.py needs uv (pip install uv) to run the pinned protoc")
    return found


def _rerun_pinned(out: Path) -> int:
    command = [
        _uv(), "run", "--isolated", "--no-project", "--quiet",
        "--python", sys.executable, "--with", f"grpcio-tools=={GRPCIO_TOOLS}",
        "python", __file__, "--out", str(out),
    ]  # fmt: skip
    return subprocess.run(command, check=False).returncode


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"{path.name}: expected {old!r} in the generated code")
    path.write_text(text.replace(old, new))


def generate(out: Path) -> None:
    """Write ``__init__.py``, ``wtb_pb2.py``, ``wtb_pb2.pyi`` and ``wtb_pb2_grpc.py`` to
    ``out`` (created; files already there are replaced)."""
    from grpc_tools import protoc  # type: ignore[import-untyped, unused-ignore]

    include = Path(protoc.__file__).parent / "_proto"  # google/protobuf/*.proto
    with tempfile.TemporaryDirectory() as scratch:
        args = [
            "protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--python_out={scratch}",
            f"--pyi_out={scratch}", f"--grpc_python_out={scratch}", PROTO,
        ]  # fmt: skip
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {PROTO}")
        made = Path(scratch) / "wtb" / "v1"
        out.mkdir(parents=True, exist_ok=True)
        for name in ("wtb_pb2.py", "wtb_pb2.pyi", "wtb_pb2_grpc.py"):
            shutil.copyfile(made / name, out / name)
    _rewrite(out / "wtb_pb2.py", "'wtb.v1.wtb_pb2'", f"'{PACKAGE}.wtb_pb2'")
    _rewrite(
        out / "wtb_pb2_grpc.py", "from wtb.v1 import wtb_pb2", f"from {PACKAGE} import wtb_pb2"
    )
    (out / "__init__.py").write_text(INIT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GEN, help="directory to write (default: _gen)")
    out = parser.parse_args().out.resolve()
    if not _pinned():
        return _rerun_pinned(out)
    os.chdir(PROTO_ROOT)
    generate(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
