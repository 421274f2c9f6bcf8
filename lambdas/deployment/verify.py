"""verify: the endpoint is InService AND on the endpoint config this deployment last asked for.

Event  ``{"deployment_id": str}``
Result ``{deployment_id, endpoint_name, endpoint_config_name, endpoint_status: "InService", verified: true}``

Creating/Updating/SystemUpdating/RollingBack (or weights still moving) -> ``EndpointNotReady`` (retry);
InService on another config -> ``SilentRollbackDetected`` naming both configs (recorded as ``last_error``);
Failed/UpdateRollbackFailed/OutOfService/Deleting -> ``EndpointFailed``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lambdas.deployment import events
from lambdas.deployment.endpoint import check_serving, describe_endpoint
from lambdas.deployment.errors import SilentRollbackDetected, StepOutOfOrder
from lambdas.deployment.runtime import Aws, deployment_clients, deployment_env, history_store
from lambdas.deployment.scaling import resume_if_suspended
from lambdas.deployment.settings import DeploymentEnv
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger, metrics


def verify(event: object, *, env: DeploymentEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    store = history_store(env, aws)
    deployment = store.get(events.deployment_id(request))
    expected = deployment.requested_config
    if not expected:
        raise StepOutOfOrder(f"deployment '{deployment.deployment_id}' has not asked for an endpoint update yet")
    state = describe_endpoint(aws.sagemaker, env.endpoint_name)
    try:
        check_serving(state, expected)
    except SilentRollbackDetected as error:
        store.update(deployment, last_error=f"{events.format_time(now)} SilentRollbackDetected: {error}")
        metrics.add_metric(name="SilentRollbackDetected", unit="Count", value=1)
        raise
    # The endpoint is InService on the requested config: scaling suspended for the update comes back now.
    resume_if_suspended(aws, store, deployment, state=state)
    metrics.add_metric(name="DeploymentVerified", unit="Count", value=1)
    return {
        "deployment_id": deployment.deployment_id,
        "endpoint_name": env.endpoint_name,
        "endpoint_config_name": expected,
        "endpoint_status": state.status,
        "verified": True,
    }


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return verify(event, env=deployment_env(), aws=deployment_clients(), now=request_time(events.as_mapping(event)))
