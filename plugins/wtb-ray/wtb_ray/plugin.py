"""Registers batch runner ``ray`` and environment provider ``ray`` (entry point ``ray``)."""

from wtb_core.plugin import BatchRunnerRegister, EnvironmentProviderRegister, hookimpl
from wtb_ray.environment import RayEnvironmentProvider
from wtb_ray.runner import RayBatchRunner


@hookimpl
def wtb_register_batch_runners(register: BatchRunnerRegister) -> None:
    register(RayBatchRunner.name, RayBatchRunner)


@hookimpl
def wtb_register_environment_providers(register: EnvironmentProviderRegister) -> None:
    register(RayEnvironmentProvider.name, RayEnvironmentProvider)
