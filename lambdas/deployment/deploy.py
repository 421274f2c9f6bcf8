"""deploy: move the endpoint to the prepared config; action ``ab_step``: set the challenger's A/B weight.

Event (deploy)  ``{"deployment_id": str, "action"?: "deploy", "now"?: iso}``
Result          ``{deployment_id, strategy, endpoint_name, endpoint_config_name, update_requested: bool,
                   endpoint_status}``
Event (ab_step) ``{"deployment_id": str, "action": "ab_step", "step_index": int, "now"?: iso}``
Result          ``{deployment_id, step_index, weight_percent, next_step_index: int | null, final_step: bool,
                   update_requested: bool}``

- ``blue_green``/``canary``/``linear``: UpdateEndpoint with DeploymentConfig (BlueGreenUpdatePolicy, traffic
  routing by strategy, AutoRollbackConfiguration on ``alarm_names``), RetainAllVariantProperties false;
- ``shadow``/``ab``: UpdateEndpoint to the shadow / two-variant config with no DeploymentConfig (SageMaker's
  default blue/green, all at once: guardrails require unchanged variant names, and these configs add one).
  The ab config starts the challenger at weight 0; ``ab_step`` i sets it to ``ab.weight_steps_percent[i]``
  with UpdateEndpointWeightsAndCapacities. Step i > 0 requires a passing ``compare`` recorded at step i - 1.

Idempotent: if the endpoint is already on (or updating to) the requested config, UpdateEndpoint is not called
again; an A/B step whose weights are already set is not sent again. If this deployment asked for the update
before and the endpoint is now InService elsewhere, SageMaker rolled it back: ``SilentRollbackDetected``, never
a second deployment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lambdas.deployment import events
from lambdas.deployment.endpoint import IN_SERVICE, check_serving, describe_endpoint, guardrail_deployment_config
from lambdas.deployment.errors import DeploymentConflict, MalformedRequest, StepOutOfOrder
from lambdas.deployment.gates import require_passing_comparison
from lambdas.deployment.history import DEPLOYING, PREPARED
from lambdas.deployment.runtime import Aws, deployment_clients, deployment_env, history_store
from lambdas.deployment.scaling import update_endpoint
from lambdas.deployment.settings import CHALLENGER_VARIANT, DeploymentEnv, Strategy
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger


def deploy(event: object, *, env: DeploymentEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    action = request.get("action", "deploy")
    if action == "ab_step":
        return ab_step(request, env=env, aws=aws, now=now)
    if action != "deploy":
        raise MalformedRequest(f"action: {action!r} is not one of 'deploy', 'ab_step'")
    store = history_store(env, aws)
    deployment = store.get(events.deployment_id(request))
    if deployment.status not in (PREPARED, DEPLOYING):
        raise StepOutOfOrder(
            f"deployment '{deployment.deployment_id}' is {deployment.status}; deploy needs it prepared"
        )
    strategy = Strategy(deployment.strategy)
    target = deployment.deploy_config
    state = describe_endpoint(aws.sagemaker, env.endpoint_name)
    requested = False
    if not state.is_on_or_heading_to(target):
        if deployment.status == DEPLOYING:
            check_serving(state, target)  # asked before, now elsewhere: rolled back (or still rolling back)
        if state.status != IN_SERVICE:
            check_serving(state, state.config_name)  # EndpointNotReady / EndpointFailed
        if state.config_name != deployment.previous_endpoint_config_name:
            raise DeploymentConflict(
                f"endpoint '{env.endpoint_name}' moved from '{deployment.previous_endpoint_config_name}' to "
                f"'{state.config_name}' since deployment '{deployment.deployment_id}' was prepared"
            )
        deployment_config = guardrail_deployment_config(strategy, env.settings) if strategy.uses_guardrails else None
        update_endpoint(
            aws,
            store,
            deployment,
            endpoint=env.endpoint_name,
            live_config=state.config_name,
            target_config=target,
            deployment_config=deployment_config,
        )
        requested = True
    if deployment.status == PREPARED or deployment.requested_config != target:
        deployment = store.update(
            deployment, status=DEPLOYING, requested_config=target, update_requested_at=events.format_time(now)
        )
    result = {
        "deployment_id": deployment.deployment_id,
        "strategy": deployment.strategy,
        "endpoint_name": env.endpoint_name,
        "endpoint_config_name": target,
        "update_requested": requested,
        "endpoint_status": state.status,
    }
    logger.info("deploy", extra=result)
    return result


def ab_step(event: object, *, env: DeploymentEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    steps = env.settings.ab.weight_steps_percent
    index = events.optional_int(request, "step_index", low=0, high=len(steps) - 1)
    if index is None:
        raise MalformedRequest(f"step_index: missing (0 to {len(steps) - 1}, for weights {list(steps)} percent)")
    store = history_store(env, aws)
    deployment = store.get(events.deployment_id(request))
    if deployment.strategy != Strategy.AB.value or deployment.status != DEPLOYING:
        raise StepOutOfOrder(
            f"deployment '{deployment.deployment_id}' is a {deployment.strategy} deployment in status "
            f"{deployment.status}; ab_step needs an ab deployment that has been deployed"
        )
    applied = deployment.ab_step_index
    if index not in (applied, applied + 1):
        raise StepOutOfOrder(f"ab_step {index} requested, but the last step applied is {applied}")
    if index == applied + 1 and index > 0:
        require_passing_comparison(deployment, at_step=index - 1)

    state = describe_endpoint(aws.sagemaker, env.endpoint_name)
    if state.status != IN_SERVICE or state.config_name != deployment.deploy_config:
        check_serving(state, deployment.deploy_config)
    weight = steps[index] / 100.0
    desired = {env.variant_name: round(1.0 - weight, 6), CHALLENGER_VARIANT: round(weight, 6)}
    current = {str(v.get("VariantName")): float(v["DesiredWeight"]) for v in state.variants if "DesiredWeight" in v}
    settled = all(name in current and abs(current[name] - w) < 1e-9 for name, w in desired.items())
    if not settled:
        aws.sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=env.endpoint_name,
            DesiredWeightsAndCapacities=[{"VariantName": name, "DesiredWeight": w} for name, w in desired.items()],
        )
    if applied != index:
        deployment = store.update(deployment, ab_step_index=index, update_requested_at=events.format_time(now))
    result = {
        "deployment_id": deployment.deployment_id,
        "step_index": index,
        "weight_percent": steps[index],
        "next_step_index": index + 1 if index + 1 < len(steps) else None,
        "final_step": index == len(steps) - 1,
        "update_requested": not settled,
    }
    logger.info("ab step", extra=result)
    return result


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return deploy(event, env=deployment_env(), aws=deployment_clients(), now=request_time(events.as_mapping(event)))
