"""Environment provider ``uv``: each node with an ``EnvSpec`` runs in a worker process of
a content-addressed uv virtual environment, built on first use and reused warm."""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Any

from wtb_core import ConfigurationError, StackConfig, WTBError
from wtb_core.plugin import EnvSpec, NodeCallable
from wtb_uvenv.build import BuiltEnv, ensure_built, key_lock
from wtb_uvenv.callables import target_of
from wtb_uvenv.errors import EnvironmentBuildError
from wtb_uvenv.interpreters import Interpreter, find_interpreter
from wtb_uvenv.keys import Requirements, Resolution, resolve
from wtb_uvenv.remote import RemoteNode, Site
from wtb_uvenv.settings import UvEnvSettings
from wtb_uvenv.usage import Lease, record_use
from wtb_uvenv.uvcli import UvFailed
from wtb_uvenv.worker_pool import EnvPool

_OPEN: weakref.WeakSet[UvEnvironmentProvider] = weakref.WeakSet()


class UvEnvironmentProvider:
    """Wraps each node that has an environment so that it runs in that environment's
    workers; nodes without one run in this process. ``close()`` stops every worker."""

    name = "uv"

    def __init__(self, config: StackConfig, settings: UvEnvSettings | None = None) -> None:
        self.config = config
        self.settings = (settings or UvEnvSettings()).located(config.data_dir)
        self.built: list[str] = []  # keys of the environments this provider built
        self._lock = threading.Lock()
        self._locks: dict[Any, threading.Lock] = {}
        self._interpreters: dict[str, Interpreter] = {}
        self._resolutions: dict[tuple[Requirements, str], Resolution | str] = {}
        self._failed: dict[str, str] = {}  # key -> uv's message
        self._pools: dict[str, EnvPool] = {}
        self._uses: set[tuple[str, Site]] = set()
        self._closed = False
        _OPEN.add(self)

    def wrap_node(
        self, project: str, node: str, variant: str | None, env: EnvSpec | None, func: NodeCallable
    ) -> NodeCallable:
        if env is None:
            return func
        site = Site(project, node, variant)
        interpreter = self.interpreter(env.python_version)
        try:
            requirements = Requirements.of(env)
        except OSError as exc:
            raise ConfigurationError(
                f"requirements_file {env.requirements_file!r} of {site.describe()} cannot be "
                f"read ({exc.strerror or exc}); give the path of a readable requirements file"
            ) from None
        target = target_of(node, func, interpreter)
        return RemoteNode(self, site, env, requirements, interpreter, target).callable()

    def _lock_for(self, key: Any) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def interpreter(self, request: str) -> Interpreter:
        """The local interpreter for ``python_version`` ``request`` (looked up once)."""
        with self._lock_for(("python", request)):
            if request not in self._interpreters:
                self._interpreters[request] = find_interpreter(
                    request, self.settings.cache, self.settings.root
                )
            return self._interpreters[request]

    def ensure(self, env: EnvSpec, site: Site | None = None) -> tuple[BuiltEnv, bool]:
        """The environment ``env`` resolves to, built unless it exists (and whether this
        call built it) — without starting a worker."""
        site = site or Site("-", "-", None)
        requirements = Requirements.of(env)
        resolution = self._resolve(site, requirements, self.interpreter(env.python_version))
        with key_lock(self.settings.root, resolution.key):
            return self._build(site, resolution, requirements)

    def pool(self, site: Site, requirements: Requirements, interpreter: Interpreter) -> EnvPool:
        """The workers of the environment ``site`` needs, built and started on first use."""
        resolution = self._resolve(site, requirements, interpreter)
        key = resolution.key
        with self._lock_for(key):
            pool = self._pools.get(key)
            if pool is None:
                with key_lock(self.settings.root, key):  # gc waits while the lease is taken
                    env, _ = self._build(site, resolution, requirements)
                    lease = Lease(env)
                size, timeout = self.settings.workers_per_env, self.settings.start_timeout
                pool = EnvPool(env, lease, size, timeout)
                with self._lock:
                    if self._closed:
                        pool.close()
                        raise WTBError(f"{site.describe()} cannot run: its bench is closed")
                    self._pools[key] = pool
            if (key, site) not in self._uses:
                self._uses.add((key, site))
                record_use(pool.env, site.project, site.node, site.variant)
        return pool

    def _resolve(
        self, site: Site, requirements: Requirements, interpreter: Interpreter
    ) -> Resolution:
        spec_key = (requirements, interpreter.path)
        with self._lock_for(spec_key):
            found = self._resolutions.get(spec_key)
            if found is None:
                try:
                    found = resolve(requirements, interpreter, self.settings)
                except UvFailed as failed:
                    found = failed.message
                self._resolutions[spec_key] = found
        if isinstance(found, str):
            raise EnvironmentBuildError(_build_failed(site, "resolve", found))
        return found

    def _build(
        self, site: Site, resolution: Resolution, requirements: Requirements
    ) -> tuple[BuiltEnv, bool]:
        if resolution.key in self._failed:
            failed = self._failed[resolution.key]
            raise EnvironmentBuildError(_build_failed(site, "install", failed))
        spec = {
            "python": resolution.interpreter.minor,
            "dependencies": list(requirements.dependencies),
            "requirements_file": requirements.requirements_file,
        }
        try:
            env, built = ensure_built(resolution, self.settings, spec)
        except UvFailed as failed:
            self._failed[resolution.key] = failed.message
            raise EnvironmentBuildError(_build_failed(site, "install", failed.message)) from None
        if built:
            self.built.append(resolution.key)
        return env, built

    def worker_pids(self) -> list[int]:
        """The process ids of this provider's live workers."""
        with self._lock:
            pools = list(self._pools.values())
        return [pid for pool in pools for pid in pool.pids()]

    def close(self) -> None:
        """Stop every worker, note the environments' last use and release them."""
        with self._lock:
            self._closed = True
            pools, self._pools = dict(self._pools), {}
        for key, site in self._uses:
            if key in pools:
                record_use(pools[key].env, site.project, site.node, site.variant)
        for pool in pools.values():
            pool.close()
        _OPEN.discard(self)


def _build_failed(site: Site, step: str, message: str) -> str:
    return (
        f"the uv environment of {site.describe()} cannot be built — uv could not {step} its "
        f"requirements:\n{message}\nFix the EnvSpec's dependencies or requirements_file; only "
        "the runs that need this environment fail"
    )


@atexit.register
def _close_all() -> None:
    """Stop the workers of benches still open when the interpreter exits."""
    for provider in list(_OPEN):
        provider.close()
