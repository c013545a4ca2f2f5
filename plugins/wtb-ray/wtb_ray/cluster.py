"""Reaching a Ray cluster, and checking a resource request against it."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import ray

from wtb_core import ConfigurationError, WTBError
from wtb_core.plugin import RayConfig

_lock = threading.Lock()


def connect(config: RayConfig, address: str | None = None, num_cpus: int | None = None) -> None:
    """Make sure this process is connected to Ray.

    ``address`` (``WTB_RAY_ADDRESS``) wins over ``config.address``. ``"auto"`` joins a
    running cluster and starts a local one in this process when none is reachable;
    ``"local"`` always starts a local one; ``"ray://host:port"`` connects a client. A
    local Ray's workers get this process's ``sys.path`` and ``WTB_*`` variables.
    """
    with _lock:
        if ray.is_initialized():
            return
        target = address or config.address
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "ignore_reinit_error": True,
        }
        if config.object_store_memory:
            options["object_store_memory"] = config.object_store_memory
        if target not in ("auto", "local"):
            ray.init(address=target, **options)
            return
        if target == "auto":
            try:
                ray.init(address="auto", **options)
                return
            except ConnectionError:
                pass  # no cluster running: start one here
        ray.init(num_cpus=num_cpus, runtime_env=_local_runtime_env(), **options)


def _local_runtime_env() -> dict[str, Any]:
    """Workers of a local Ray import what this process imports and see its WTB_* settings."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    settings = {k: v for k, v in os.environ.items() if k.startswith("WTB_")}
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(paths), **settings}}


def _alive_nodes() -> list[dict[str, Any]]:
    """The cluster's alive nodes, as ``ray.nodes()`` describes them."""
    nodes: Callable[[], list[dict[str, Any]]] = ray.nodes  # ray leaves it unannotated
    return [node for node in nodes() if node.get("Alive")]


def cluster_nodes() -> int:
    """How many alive nodes the cluster has."""
    return len(_alive_nodes())


def check_satisfiable(node: str, options: dict[str, Any]) -> None:
    """Raise ``WTBError`` when no alive node of the cluster could ever run the request
    (Ray would otherwise queue it forever)."""
    wanted = {
        "CPU": options.get("num_cpus", 0) or 0,
        "GPU": options.get("num_gpus", 0) or 0,
        "memory": options.get("memory", 0) or 0,
        **options.get("resources", {}),
    }
    wanted = {k: v for k, v in wanted.items() if v}
    nodes = [n["Resources"] for n in _alive_nodes()]
    if any(all(have.get(k, 0) >= v for k, v in wanted.items()) for have in nodes):
        return
    largest = {k: max((have.get(k, 0) for have in nodes), default=0) for k in wanted}
    raise WTBError(
        f"node {node!r} asks for {_show(wanted)}, which no node of the Ray cluster has "
        f"(largest available: {_show(largest)}); lower its NodeResourceConfig or add a node "
        "that has it"
    )


def _show(resources: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in resources.items()) or "nothing"


def python_matches(requested: str) -> None:
    """Ray runtime envs cannot change the Python version of the cluster's workers."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if requested and requested != running and not running.startswith(requested + "."):
        raise ConfigurationError(
            f"EnvSpec asks for Python {requested} but the Ray workers run {running}; Ray "
            "runtime environments cannot change the Python version: use the uv environment "
            "provider (wtb-uvenv) or a cluster running that Python"
        )
