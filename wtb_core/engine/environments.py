"""Resolving which ``EnvSpec`` a node runs in: base → workflow → node → variant."""

from __future__ import annotations

from wtb_core.config import EnvironmentConfig, EnvSpec
from wtb_core.project import WORKFLOW_KEY


def merge_env(base: EnvSpec | None, override: EnvSpec | None) -> EnvSpec | None:
    """``override`` on top of ``base``: dependencies appended (a package named again takes
    the later pin), variables merged, the later Python version and requirements file win."""
    if base is None or override is None:
        return override or base
    by_name = {_package(dep): dep for dep in base.dependencies}
    by_name.update({_package(dep): dep for dep in override.dependencies})
    fields = override.model_fields_set
    return EnvSpec(
        python_version=override.python_version
        if "python_version" in fields
        else base.python_version,
        dependencies=list(by_name.values()),
        requirements_file=override.requirements_file or base.requirements_file,
        env_vars={**base.env_vars, **override.env_vars},
    )


def _package(requirement: str) -> str:
    for i, char in enumerate(requirement):
        if char in "<>=!~;[ @":
            return requirement[:i].strip().lower().replace("_", "-")
    return requirement.strip().lower().replace("_", "-")


def resolve_env(
    config: EnvironmentConfig,
    node: str,
    variant: str | None = None,
    workflow_variant: str | None = None,
) -> EnvSpec | None:
    """The environment ``node`` (running ``variant``) needs, or ``None`` for the current one."""
    if config.use_current_env:
        return None
    env = config.default_env
    if workflow_variant is not None:
        env = merge_env(env, config.variant_environments.get(f"{WORKFLOW_KEY}:{workflow_variant}"))
    if config.granularity in ("node", "variant"):
        env = merge_env(env, config.node_environments.get(node))
    if config.granularity == "variant" and variant is not None:
        env = merge_env(env, config.variant_environments.get(f"{node}:{variant}"))
    return env
