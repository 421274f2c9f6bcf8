"""The moto 5.2.5 gaps this app's deployment and loop hit, one small module each, applied before the server starts.

Every module's docstring names the gap, the moto file and function it changes, and what the patch does
instead; the ``route_*`` modules send what moto does not really serve to ``tools.demo.emulators``. They change
moto's classes in this process only (the launcher serves moto in-process), so they are applied once, by
``apply_all``, and never in the test process that runs moto's decorators.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tools.demo.server.environment import DemoPaths

if TYPE_CHECKING:
    from tools.demo.emulators.runtime import Aws, DemoClock


# A 300 s guardrail bake takes 15 s: the story's background traffic (13 requests/s through the score Lambda)
# still gives the bake twice the invocations the comparison needs on two loaded cores; at 10x the whole
# story took 6 minutes on a quiet machine, most of it waiting.
DEFAULT_CLOCK_SPEEDUP = 20.0


@dataclass(frozen=True)
class ServerContext:
    """What a patch may need to know about the server it is applied to."""

    endpoint_url: str  # http://127.0.0.1:<port>, for code the emulator runs that calls AWS (Lambda handlers)
    account: str
    region: str
    python: str  # the interpreter that runs Lambda handlers (the project's venv)
    paths: DemoPaths
    clock_speedup: float = DEFAULT_CLOCK_SPEEDUP  # emulated waits (deployment bakes) run this much faster
    alarm_evaluation_seconds: float | None = None  # evaluate every alarm this often; None: only when asked

    @property
    def clock(self) -> DemoClock:
        """The server's one clock (state machines, endpoints, alarms, Lambda handlers: ``sfn_clock``)."""
        return server_clock(self.clock_speedup)


_clocks: dict[float, DemoClock] = {}


def server_clock(speedup: float) -> DemoClock:
    """This process's demo clock at ``speedup`` (created on first use)."""
    from tools.demo.emulators.runtime import DemoClock  # noqa: PLC0415

    if speedup not in _clocks:
        _clocks[speedup] = DemoClock(speedup=speedup)
    return _clocks[speedup]


def _modules() -> tuple[ModuleType, ...]:
    from tools.demo.server.patches import (  # noqa: PLC0415 - imported on apply: they import moto's models
        cfn_dynamic_references,
        cfn_errors,
        cfn_parameters,
        cfn_stack_outputs,
        cloudwatch_percentiles,
        events_schedules,
        events_targets,
        kms_key,
        lambda_layers,
        lambda_python,
        route_alarms,
        route_athena,
        route_endpoints,
        route_feature_store,
        route_pipelines,
        route_sagemaker_jobs,
        s3_bucket,
        sagemaker_feature_group,
        sagemaker_names,
        sagemaker_package_tags,
        sfn_clock,
        sfn_cloudformation,
        sfn_execution_names,
        ssm_parameter,
        ssm_public_parameters,
    )

    return (
        sfn_cloudformation,
        sfn_execution_names,
        lambda_python,
        lambda_layers,
        events_targets,
        cfn_errors,
        cfn_dynamic_references,
        cfn_parameters,
        ssm_public_parameters,
        ssm_parameter,
        cfn_stack_outputs,
        sagemaker_names,
        sagemaker_feature_group,
        sagemaker_package_tags,
        kms_key,
        s3_bucket,
        route_feature_store,
        route_pipelines,
        route_sagemaker_jobs,
        route_athena,
        route_endpoints,
        route_alarms,
        cloudwatch_percentiles,
        events_schedules,
        sfn_clock,
    )


_applied: list[str] = []
_aws: dict[str, Any] = {}


def emulator_aws(context: ServerContext) -> Aws:
    """The emulators' AWS clients, pointed at this server (one set per server, created on first use)."""
    from tools.demo.emulators.runtime import Aws  # noqa: PLC0415

    if context.endpoint_url not in _aws:
        _aws[context.endpoint_url] = Aws(region=context.region, endpoint_url=context.endpoint_url)
    found: Aws = _aws[context.endpoint_url]
    return found


def apply_all(context: ServerContext) -> list[str]:
    """Apply every patch once; returns the applied modules' names."""
    if not _applied:
        for module in _modules():
            module.apply(context)
            _applied.append(module.__name__.rsplit(".", 1)[-1])
    return list(_applied)
