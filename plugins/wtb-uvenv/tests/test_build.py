"""Environments are content-addressed and built atomically: concurrent first use builds
once, a crash mid-build leaves nothing that is ever used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from wtb_core import StackConfig
from wtb_core.config import EnvSpec
from wtb_uvenv.build import MARKER, TMP_PREFIX
from wtb_uvenv.provider import UvEnvironmentProvider

SPEC = EnvSpec(dependencies=["tomli==2.0.1"])


@pytest.fixture
def fresh_root(tmp_path, monkeypatch):
    """An empty environment root (the session's uv cache stays: builds are warm)."""
    root = tmp_path / "fresh-envs"
    monkeypatch.setenv("WTB_UVENV_ENV_ROOT", str(root))
    return root


def _provider(tmp_path):
    return UvEnvironmentProvider(StackConfig(data_dir=tmp_path / "data"))


def _in_subprocess(code: str, **kwargs) -> subprocess.Popen[str]:
    script = "from wtb_core import StackConfig\nfrom wtb_core.config import EnvSpec\n" + code
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


ENSURE = """
from wtb_uvenv.provider import UvEnvironmentProvider
provider = UvEnvironmentProvider(StackConfig(data_dir={data!r}))
env, built = provider.ensure(EnvSpec(dependencies=["tomli==2.0.1"]))
print(env.key, built)
"""


def test_concurrent_first_use_by_threads_and_a_process_builds_once(tmp_path, fresh_root):
    other = _in_subprocess(ENSURE.format(data=str(tmp_path / "other")))
    providers = [_provider(tmp_path) for _ in range(3)]
    start = threading.Barrier(3)
    results: list[tuple[str, bool]] = []

    def first_use(provider: UvEnvironmentProvider) -> None:
        start.wait()
        env, built = provider.ensure(SPEC)
        results.append((env.key, built))

    threads = [threading.Thread(target=first_use, args=(p,)) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out, err = other.communicate(timeout=120)
    assert other.returncode == 0, err
    key, built = out.split()
    results.append((key, built == "True"))

    assert len({k for k, _ in results}) == 1
    assert sorted(b for _, b in results) == [False, False, False, True]
    assert [p.name for p in fresh_root.iterdir() if not p.name.startswith(".")] == [key]
    assert not list(fresh_root.glob(f"{TMP_PREFIX}*"))


def test_a_crash_mid_build_is_recovered_and_never_used(tmp_path, fresh_root):
    crash = textwrap.dedent("""
        import os
        from wtb_uvenv import build
        build._write_marker = lambda *args: os._exit(9)  # the process dies before the marker
    """) + ENSURE.format(data=str(tmp_path / "data"))
    crashed = _in_subprocess(crash)
    _, err = crashed.communicate(timeout=120)
    assert crashed.returncode == 9, err
    [half] = fresh_root.glob(f"{TMP_PREFIX}*")
    assert list(half.glob("lib/python*/site-packages/tomli"))  # installed, never completed
    key = half.name.removeprefix(TMP_PREFIX).split("-")[0]
    assert not (fresh_root / key).exists()

    env, built = _provider(tmp_path).ensure(SPEC)
    assert (env.key, built) == (key, True)
    assert not half.exists() and (env.path / MARKER).is_file()

    (env.path / MARKER).unlink()  # a directory without the marker is not an environment
    (env.path / "junk").write_text("left by something else")
    env, built = _provider(tmp_path).ensure(SPEC)
    assert built and not (env.path / "junk").exists()
    imported = subprocess.run(
        [str(env.python), "-c", "import tomli, sys; print(tomli.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.startswith(str(env.path))


def test_the_key_is_the_resolved_set_and_bytecode_is_compiled_with_final_paths(
    tmp_path, fresh_root
):
    provider = _provider(tmp_path)
    same, _ = provider.ensure(EnvSpec(dependencies=["tomli==2.0.1"], env_vars={"A": "1"}))
    loose, _ = provider.ensure(EnvSpec(dependencies=["tomli>=2,<2.0.2"]))  # resolves alike
    other, _ = provider.ensure(EnvSpec(dependencies=["tomli==1.2.3"]))
    assert same.key == loose.key != other.key
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("tomli==2.0.1\n")
    from_file, _ = provider.ensure(EnvSpec(requirements_file=str(requirements)))
    assert from_file.key != same.key  # the file's contents are part of the key

    [pyc] = same.path.glob("lib/python*/site-packages/tomli/__pycache__/_parser.*.pyc")
    assert str(same.path) in pyc.read_bytes().decode("latin-1")  # not the temporary path
    assert TMP_PREFIX not in pyc.read_bytes().decode("latin-1")
