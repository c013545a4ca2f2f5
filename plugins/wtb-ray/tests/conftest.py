"""One local Ray (2 CPUs) for the whole test session; every test has its own data dir."""

from __future__ import annotations

import os

import pytest
import ray

from wtb_core.config import RayConfig
from wtb_ray.cluster import connect


@pytest.fixture(scope="session", autouse=True)
def ray_session():
    previous = os.environ.get("WTB_LOAD_PLUGINS")
    os.environ["WTB_LOAD_PLUGINS"] = "ray"  # workers load only this plugin's entry point
    connect(RayConfig(address="local"), num_cpus=2)
    try:
        yield
    finally:
        ray.shutdown()
        if previous is None:
            os.environ.pop("WTB_LOAD_PLUGINS", None)
        else:
            os.environ["WTB_LOAD_PLUGINS"] = previous


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for name in [v for v in os.environ if v.startswith("WTB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)
