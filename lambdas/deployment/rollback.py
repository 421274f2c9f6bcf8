"""rollback: put back the version a deployment replaced, from any state a failed deployment can leave.

Event  ``{"deployment_id"?: str, "reason"?: str, "error"?: {"Error": str, "Cause": str}, "requested_by"?: str,
          "now"?: iso}``. Without ``deployment_id`` the current champion's deployment is rolled back (the
          on-call "roll back" command). ``error`` is what a Step Functions Catch puts in its ResultPath.
Result ``{deployment_id, outcome: "rolled_back", restored_model_package_arn, restored_endpoint_config_name,
          rolled_back_model_package_arn, serving_pointer_parameter, finished_at}``

The version to restore is pinned on the deployment's history item (``previous_*``: package, endpoint config,
model, the deployment that made it). By endpoint state:
- Creating/Updating/SystemUpdating/RollingBack (e.g. mid-canary): ``EndpointNotReady``; nothing is touched
  until SageMaker settles (it finishes, or its own auto-rollback takes the endpoint back);
- InService (or UpdateRollbackFailed) on anything else (candidate, shadow attached, two A/B variants):
  UpdateEndpoint once to the pinned config (re-created from the pinned model or package if it was deleted),
  then ``EndpointNotReady`` until InService there (the state machine retries rollback on that error);
- InService on the pinned config (never deployed, or SageMaker silently rolled back): nothing to update;
then the pointer is set to the pinned package, the champion tag and item move back if this deployment had
been promoted, and the deployment item records ``rolled_back`` with the reason (the given one, then the caught
error). Failed -> ``EndpointFailed``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

from lambdas.deployment import events
from lambdas.deployment.baselines import publish_current_baselines
from lambdas.deployment.endpoint import (
    IN_SERVICE,
    TRANSITIONAL,
    EndpointState,
    check_serving,
    config_request,
    describe_config,
    describe_endpoint,
    ensure_config,
    ensure_model,
    instance_count,
    model_exists,
    production_variant,
    resource_tags,
    variant_like,
)
from lambdas.deployment.errors import (
    DeploymentConflict,
    EndpointFailed,
    EndpointNotReady,
    RollbackImpossible,
    SilentRollbackDetected,
)
from lambdas.deployment.history import (
    PROMOTED,
    ROLLED_BACK,
    ROLLING_BACK,
    Champion,
    Deployment,
    HistoryStore,
    Version,
)
from lambdas.deployment.names import rollback_names, tag_value
from lambdas.deployment.registry import move_champion_tag, write_pointer
from lambdas.deployment.runtime import Aws, deployment_clients, deployment_env, history_store
from lambdas.deployment.scaling import resume_if_suspended, update_endpoint
from lambdas.deployment.settings import DeploymentEnv
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger, metrics

UPDATE_ROLLBACK_FAILED = "UpdateRollbackFailed"


def rollback(event: object, *, env: DeploymentEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    reason = _reason(request)
    store = history_store(env, aws)
    champion = store.champion()
    deployment = store.get(_target_id(events.optional_deployment_id(request), champion, env))
    if deployment.status == ROLLED_BACK:
        return _result(deployment, env)
    is_champion = champion is not None and champion.current.deployment_id == deployment.deployment_id
    if deployment.status == PROMOTED and not is_champion:
        raise DeploymentConflict(
            f"deployment '{deployment.deployment_id}' is no longer the champion (deployment "
            f"'{champion.current.deployment_id if champion else ''}' is); roll that one back first"
        )
    restore = deployment.rollback_config or deployment.previous_endpoint_config_name
    if not restore:
        raise RollbackImpossible(f"deployment '{deployment.deployment_id}' has no pinned previous endpoint config")
    reason = reason or deployment.reason

    state = describe_endpoint(aws.sagemaker, env.endpoint_name)
    if state.status in TRANSITIONAL:
        raise EndpointNotReady(
            f"endpoint '{env.endpoint_name}' is {state.status} (towards '{state.heading_to}'); rollback to "
            f"'{restore}' waits until it settles"
        )
    if state.status not in (IN_SERVICE, UPDATE_ROLLBACK_FAILED):
        raise EndpointFailed(f"endpoint '{env.endpoint_name}' is {state.status}: {state.failure_reason or 'no reason'}")
    if state.status != IN_SERVICE or state.config_name != restore:
        _request_restore(deployment, state, restore, reason=reason, env=env, aws=aws, store=store, now=now)
    check_serving(state, restore)
    resume_if_suspended(aws, store, deployment, state=state)

    if deployment.previous_model_package_arn:
        if env.current_baseline_uri:  # the restored model's baselines go back in front of monitoring
            publish_current_baselines(
                aws.sagemaker,
                aws.s3,
                package_arn=deployment.previous_model_package_arn,
                current_uri=env.current_baseline_uri,
            )
        write_pointer(aws.ssm, env.serving_pointer_parameter, deployment.previous_model_package_arn)
        if is_champion:
            move_champion_tag(
                aws.sagemaker, to_arn=deployment.previous_model_package_arn, from_arn=deployment.model_package_arn
            )
    finished_at = events.format_time(now)
    new_champion = (
        _restored_champion(deployment, restore, env=env, aws=aws, store=store, now=finished_at) if is_champion else None
    )
    deployment = store.finish(
        deployment,
        {
            "status": ROLLED_BACK,
            "outcome": "rolled_back",
            "reason": reason,
            "finished_at": finished_at,
            "requested_config": restore,
            "rollback_config": restore,
        },
        champion=new_champion,
        expected_current=deployment.deployment_id,
    )
    metrics.add_metric(name="DeploymentRolledBack", unit="Count", value=1)
    result = _result(deployment, env)
    logger.info("deployment rolled back", extra=result)
    return result


def _restored_champion(
    deployment: Deployment, restore: str, *, env: DeploymentEnv, aws: Aws, store: HistoryStore, now: str
) -> Champion:
    """The champion item after rolling ``deployment`` back: what it replaced, and what that one replaced."""
    before = store.find(deployment.previous_deployment_id) if deployment.previous_deployment_id else None
    variants = (describe_config(aws.sagemaker, restore) or {}).get("ProductionVariants", [])
    models = [v["ModelName"] for v in variants if v.get("VariantName") == env.variant_name]
    return Champion(
        current=Version(
            deployment_id=deployment.previous_deployment_id,
            model_package_arn=deployment.previous_model_package_arn,
            endpoint_config_name=restore,
            model_name=str(models[0]) if models else deployment.previous_model_name,
        ),
        previous=before.previous if before is not None else None,
        updated_at=now,
        updated_by=deployment.deployment_id,
    )


def _target_id(deployment_id: str | None, champion: Champion | None, env: DeploymentEnv) -> str:
    if deployment_id is not None:
        return deployment_id
    if champion is None or not champion.current.deployment_id:
        raise RollbackImpossible(
            f"nothing to roll back for {env.model_name} in {env.environment}: the serving version was not "
            "deployed by the automation"
        )
    return champion.current.deployment_id


def _request_restore(
    deployment: Deployment,
    state: EndpointState,
    restore: str,
    *,
    reason: str,
    env: DeploymentEnv,
    aws: Aws,
    store: HistoryStore,
    now: datetime,
) -> NoReturn:
    """UpdateEndpoint back to ``restore`` (once), record it, and tell the caller to come back."""
    if deployment.status == ROLLING_BACK and deployment.requested_config == restore and state.status == IN_SERVICE:
        raise SilentRollbackDetected(
            f"rollback of '{deployment.deployment_id}' asked for endpoint config '{restore}', but endpoint "
            f"'{env.endpoint_name}' is InService on '{state.config_name}': SageMaker rolled the rollback back"
        )
    if describe_config(aws.sagemaker, restore) is None:
        restore = _recreate(deployment, state, env=env, aws=aws)
    # The pinned config may be on another instance type than the live one (CloudFormation changed it since).
    update_endpoint(
        aws,
        store,
        deployment,
        endpoint=env.endpoint_name,
        live_config=state.config_name,
        target_config=restore,
    )
    store.update(
        deployment,
        status=ROLLING_BACK,
        requested_config=restore,
        rollback_config=restore,
        reason=reason,
        update_requested_at=events.format_time(now),
    )
    raise EndpointNotReady(
        f"rollback requested: endpoint '{env.endpoint_name}' is updating from '{state.config_name}' back to "
        f"'{restore}'; re-invoke rollback to finish"
    )


def _recreate(deployment: Deployment, state: EndpointState, *, env: DeploymentEnv, aws: Aws) -> str:
    """The pinned config was deleted: rebuild it from the pinned model (or package) and the live settings."""
    model_name, config_name = rollback_names(env.endpoint_name, deployment.deployment_id)
    live = describe_config(aws.sagemaker, state.config_name)
    if live is None:
        raise EndpointFailed(f"endpoint '{env.endpoint_name}' serves config '{state.config_name}', which is gone")
    tags = resource_tags(
        aws.sagemaker,
        live_config_arn=live.get("EndpointConfigArn"),
        own={
            "mlops:model": env.model_name,
            "mlops:environment": env.environment,
            "mlops:deployment-id": tag_value(deployment.deployment_id),
        },
    )
    if deployment.previous_model_name and model_exists(aws.sagemaker, deployment.previous_model_name):
        model_name = deployment.previous_model_name
    elif deployment.previous_model_package_arn:
        ensure_model(
            aws.sagemaker,
            name=model_name,
            package_arn=deployment.previous_model_package_arn,
            role_arn=env.sagemaker_role_arn,
            tags=tags,
            vpc_config=env.model_vpc.request() if env.model_vpc else None,
        )
    else:
        raise RollbackImpossible(
            f"deployment '{deployment.deployment_id}': the pinned config '{deployment.previous_endpoint_config_name}' "
            "is gone and neither its model nor its package is known"
        )
    live_variant = production_variant(live, env.variant_name)
    variant = variant_like(
        live_variant,
        variant_name=env.variant_name,
        model_name=model_name,
        count=instance_count(state, live_variant),
        weight=1.0,
    )
    ensure_config(aws.sagemaker, config_request(name=config_name, live_config=live, production=[variant], tags=tags))
    return config_name


def _reason(request: Mapping[str, Any]) -> str:
    """Why, for the history: the given reason and the caught error, which says what actually went wrong (the
    state machine gives both: a reason for its whole deployment phase, and the error its Catch put in the state)."""
    given = events.optional_text(request, "reason", max_length=2000) or ""
    caught = _error_text(request.get("error"))
    return ": ".join(part for part in (given, caught) if part)[:2000]


def _error_text(error: object) -> str:
    """``Error: Cause`` of a Step Functions Catch result; a Lambda error's Cause is JSON with ``errorMessage``."""
    if not isinstance(error, Mapping):
        return ""
    kind, cause = str(error.get("Error") or ""), str(error.get("Cause") or "")
    try:
        parsed = json.loads(cause)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, Mapping) and isinstance(parsed.get("errorMessage"), str):
        kind, cause = str(parsed.get("errorType") or kind), parsed["errorMessage"]
    return f"{kind}: {cause}"[:2000] if kind or cause else ""


def _result(deployment: Deployment, env: DeploymentEnv) -> dict[str, Any]:
    return {
        "deployment_id": deployment.deployment_id,
        "outcome": deployment.outcome,
        "restored_model_package_arn": deployment.previous_model_package_arn or None,
        "restored_endpoint_config_name": deployment.rollback_config or deployment.previous_endpoint_config_name,
        "rolled_back_model_package_arn": deployment.model_package_arn,
        "serving_pointer_parameter": env.serving_pointer_parameter,
        "finished_at": deployment.finished_at,
    }


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return rollback(event, env=deployment_env(), aws=deployment_clients(), now=request_time(events.as_mapping(event)))
