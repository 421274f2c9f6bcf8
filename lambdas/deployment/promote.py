"""promote: make the verified candidate the champion: endpoint, serving pointer, registry tags, history.

Event  ``{"deployment_id": str, "requested_by"?: str, "trigger"?: str, "now"?: iso}``
Result ``{deployment_id, outcome: "promoted", model_package_arn, previous_model_package_arn,
          endpoint_config_name, serving_pointer_parameter, promoted_at}``

Order (each step idempotent, so a retry after a crash finishes the job without repeating a deployment):
1. gates: shadow needs a passing comparison; ab needs the last weight step applied and compared; a failed
   comparison blocks every strategy (``CandidateRegressed``); the champion must still be the version this
   deployment replaced (``DeploymentConflict``);
2. shadow/ab: collapse the endpoint to the single-variant final config (the candidate as the stable variant):
   UpdateEndpoint once, then ``EndpointNotReady`` until it is InService there (the state machine retries
   promote on that error);
3. verify: InService on the final config, else ``EndpointNotReady`` / ``SilentRollbackDetected``;
4. only then the serving model's baselines to the current-baseline prefix, the SSM pointer (Overwrite), the
   ``mlops:champion=true`` tag (moved from the previous package), and, in one DynamoDB transaction, the
   deployment item (``promoted``) and the champion item.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lambdas.deployment import events
from lambdas.deployment.baselines import publish_current_baselines
from lambdas.deployment.endpoint import check_serving, describe_endpoint
from lambdas.deployment.errors import DeploymentConflict, EndpointNotReady, StepOutOfOrder
from lambdas.deployment.gates import require_promotable
from lambdas.deployment.history import COLLAPSING, DEPLOYING, PROMOTED, Champion, Deployment
from lambdas.deployment.registry import move_champion_tag, write_pointer
from lambdas.deployment.runtime import Aws, deployment_clients, deployment_env, history_store
from lambdas.deployment.scaling import resume_if_suspended, update_endpoint
from lambdas.deployment.settings import DeploymentEnv, Strategy
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger, metrics


def promote(event: object, *, env: DeploymentEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    requested_by = events.optional_text(request, "requested_by") or ""
    trigger = events.optional_text(request, "trigger") or ""
    store = history_store(env, aws)
    deployment = store.get(events.deployment_id(request))
    if deployment.status == PROMOTED:
        return _result(deployment, env)
    if deployment.status not in (DEPLOYING, COLLAPSING):
        raise StepOutOfOrder(
            f"deployment '{deployment.deployment_id}' is {deployment.status}; promote needs a deployed candidate"
        )
    require_promotable(deployment, env.settings)
    champion = store.champion()
    current = champion.current.deployment_id if champion else ""
    if current != deployment.previous_deployment_id:
        raise DeploymentConflict(
            f"deployment '{deployment.deployment_id}' replaces deployment '{deployment.previous_deployment_id}', "
            f"but the champion is now deployment '{current}'"
        )

    state = describe_endpoint(aws.sagemaker, env.endpoint_name)
    final = deployment.final_config
    if not Strategy(deployment.strategy).uses_guardrails and deployment.status == DEPLOYING:
        if not state.is_on_or_heading_to(final):
            check_serving(state, deployment.deploy_config)  # the staged config is live and settled
            update_endpoint(
                aws,
                store,
                deployment,
                endpoint=env.endpoint_name,
                live_config=state.config_name,
                target_config=final,
            )
        deployment = store.update(
            deployment, status=COLLAPSING, requested_config=final, update_requested_at=events.format_time(now)
        )
        if state.config_name != final:
            raise EndpointNotReady(
                f"collapsing endpoint '{env.endpoint_name}' to single-variant config '{final}' with the candidate "
                f"as '{env.variant_name}'; re-invoke promote once it is InService there"
            )
    check_serving(state, final)
    resume_if_suspended(aws, store, deployment, state=state)

    if env.current_baseline_uri:  # monitoring compares traffic with the serving model's own baseline
        publish_current_baselines(
            aws.sagemaker, aws.s3, package_arn=deployment.model_package_arn, current_uri=env.current_baseline_uri
        )
    write_pointer(aws.ssm, env.serving_pointer_parameter, deployment.model_package_arn)
    move_champion_tag(
        aws.sagemaker, to_arn=deployment.model_package_arn, from_arn=deployment.previous_model_package_arn
    )
    promoted_at = events.format_time(now)
    changes: dict[str, str | int] = {
        "status": PROMOTED,
        "outcome": "promoted",
        "promoted_at": promoted_at,
        "finished_at": promoted_at,
        "requested_config": final,
    }
    if requested_by and not deployment.requested_by:
        changes["requested_by"] = requested_by
    if trigger and not deployment.trigger:
        changes["trigger"] = trigger
    deployment = store.finish(
        deployment,
        changes,
        champion=Champion(
            current=deployment.candidate,
            previous=deployment.previous,
            updated_at=promoted_at,
            updated_by=deployment.deployment_id,
        ),
        expected_current=deployment.previous_deployment_id,
    )
    metrics.add_metric(name="DeploymentPromoted", unit="Count", value=1)
    result = _result(deployment, env)
    logger.info("deployment promoted", extra=result)
    return result


def _result(deployment: Deployment, env: DeploymentEnv) -> dict[str, Any]:
    return {
        "deployment_id": deployment.deployment_id,
        "outcome": deployment.outcome,
        "model_package_arn": deployment.model_package_arn,
        "previous_model_package_arn": deployment.previous_model_package_arn or None,
        "endpoint_config_name": deployment.final_config,
        "serving_pointer_parameter": env.serving_pointer_parameter,
        "promoted_at": deployment.promoted_at,
    }


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return promote(event, env=deployment_env(), aws=deployment_clients(), now=request_time(events.as_mapping(event)))
