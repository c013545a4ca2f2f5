"""Registers batch runner ``ray`` and environment provider ``ray`` (entry point ``ray``)."""

from wtb_core import hookimpl
from wtb_ray.environment import RayEnvironmentProvider
from wtb_ray.runner import RayBatchRunner


@hookimpl
def wtb_register_batch_runners(register):
    register("ray", RayBatchRunner)


@hookimpl
def wtb_register_environment_providers(register):
    register("ray", RayEnvironmentProvider)
