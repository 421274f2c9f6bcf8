"""sleep / wake: an environment with an idle schedule has no endpoint outside working hours (ADR 0020).

Event  ``{"action": "sleep" | "wake"}`` (the schedule's two EventBridge rules)
Result ``{endpoint_name, action, outcome, endpoint_config_name}``

sleep: records the endpoint config the endpoint serves (an item ``IDLE`` of the model's history partition), then
deletes the endpoint. It leaves the endpoint alone (outcome ``busy``) while a deployment is unfinished or the
endpoint is not InService on a single-variant config: a night never cuts a deployment short.
wake: creates the endpoint again on the recorded config, with the config's tags; nothing to do when it exists.
Both are idempotent: a second sleep finds no endpoint, a second wake finds it Creating or InService.

``wake_for_deployment`` is what prepare calls when the endpoint is missing: a deployment into a sleeping endpoint
wakes it and waits (prepare raises ``EndpointNotReady`` until it is InService; the state machine retries).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from lambdas.deployment import events
from lambdas.deployment.endpoint import IN_SERVICE, describe_config, describe_endpoint
from lambdas.deployment.errors import EndpointNotFound, EndpointNotReady, MalformedRequest
from lambdas.deployment.runtime import Aws, deployment_clients, deployment_env, history_store
from lambdas.deployment.settings import DeploymentEnv
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger, metrics

SLEEP, WAKE = "sleep", "wake"


def sleep(env: DeploymentEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    store = history_store(env, aws)
    try:
        state = describe_endpoint(aws.sagemaker, env.endpoint_name)
    except EndpointNotFound:
        return _result(env, SLEEP, "asleep", store.sleeping_config())
    unfinished = [d.deployment_id for d in store.list_deployments(limit=5) if not d.outcome]
    live = describe_config(aws.sagemaker, state.config_name) if state.status == IN_SERVICE else None
    single = (
        live is not None and len(live.get("ProductionVariants", [])) == 1 and not live.get("ShadowProductionVariants")
    )
    if unfinished or not single:
        logger.info(
            "endpoint stays up: a deployment is running",
            extra={"unfinished": unfinished, "status": state.status, "config": state.config_name},
        )
        return _result(env, SLEEP, "busy", state.config_name)
    store.record_sleep(state.config_name, events.format_time(now))
    aws.sagemaker.delete_endpoint(EndpointName=env.endpoint_name)
    metrics.add_metric(name="EndpointSlept", unit="Count", value=1)
    return _result(env, SLEEP, "deleted", state.config_name)


def wake(env: DeploymentEnv, aws: Aws) -> dict[str, Any]:
    store = history_store(env, aws)
    try:
        state = describe_endpoint(aws.sagemaker, env.endpoint_name)
    except EndpointNotFound:
        pass
    else:
        return _result(env, WAKE, "awake", state.config_name)
    config_name = store.sleeping_config()
    if not config_name:
        raise EndpointNotFound(
            f"endpoint '{env.endpoint_name}' does not exist and no sleep recorded its config: deploy the serving "
            "stack to create it"
        )
    _create(aws.sagemaker, env.endpoint_name, config_name)
    metrics.add_metric(name="EndpointWoken", unit="Count", value=1)
    return _result(env, WAKE, "created", config_name)


def wake_for_deployment(env: DeploymentEnv, aws: Aws) -> None:
    """prepare found no endpoint: wake a sleeping one and have the state machine retry until it serves."""
    config_name = history_store(env, aws).sleeping_config()
    if not config_name:
        raise EndpointNotFound(f"endpoint '{env.endpoint_name}' does not exist and is not asleep")
    _create(aws.sagemaker, env.endpoint_name, config_name)
    raise EndpointNotReady(f"endpoint '{env.endpoint_name}' was asleep: woken on '{config_name}', retry when InService")


def _create(sagemaker: Any, endpoint_name: str, config_name: str) -> None:
    """CreateEndpoint on ``config_name`` with the config's ``mlops:*`` tags; a concurrent wake is not an error."""
    tags = [
        t
        for t in sagemaker.list_tags(ResourceArn=_config_arn(sagemaker, config_name)).get("Tags", [])
        if str(t.get("Key", "")).startswith("mlops:")
    ]
    try:
        sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=tags)
    except ClientError as error:
        if "already exists" not in str(error.response.get("Error", {}).get("Message", "")).lower():
            raise


def _config_arn(sagemaker: Any, config_name: str) -> str:
    config = describe_config(sagemaker, config_name)
    if config is None:
        raise EndpointNotFound(f"endpoint config '{config_name}' recorded at sleep is gone: deploy the serving stack")
    return str(config["EndpointConfigArn"])


def _result(env: DeploymentEnv, action: str, outcome: str, config_name: str) -> dict[str, Any]:
    return {
        "endpoint_name": env.endpoint_name,
        "action": action,
        "outcome": outcome,
        "endpoint_config_name": config_name,
    }


def run(event: object, *, env: DeploymentEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    action = events.as_mapping(event).get("action")
    if action == SLEEP:
        return sleep(env, aws, now)
    if action == WAKE:
        return wake(env, aws)
    raise MalformedRequest(f"action must be '{SLEEP}' or '{WAKE}', got {action!r}")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event, env=deployment_env(), aws=deployment_clients(), now=request_time(events.as_mapping(event)))
