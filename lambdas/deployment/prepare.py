"""prepare: validate the candidate package and create its Model and endpoint config(s); nothing else changes.

Event  ``{"deployment_id": str, "model_package_arn": str, "trigger"?: str, "requested_by"?: str, "now"?: iso}``
Result ``Deployment.summary()``: ``{deployment_id, model_package_arn, previous_model_package_arn, strategy,
status, started_at, endpoint_name, variant_name, candidate_variant_name, model_name, endpoint_config_name,
final_endpoint_config_name, previous_endpoint_config_name}``.

Configs copy data capture, KMS, instance type/count and the stable variant name from the LIVE config:
- ``blue_green``/``canary``/``linear``: one config, the candidate as the stable variant (``final`` = ``deploy``);
- ``shadow``: the live variant unchanged plus the candidate as ``ShadowProductionVariants`` "shadow" (same
  instance type and count; weight = ``shadow.sampling_percent`` / 100 of the production weight), and the final
  single-variant config the promotion collapses to;
- ``ab``: the live model as "primary" (weight 1) and the candidate as "challenger" with weight 0, so the update
  itself moves no traffic; ``deploy`` action ``ab_step`` then sets the challenger to each of
  ``ab.weight_steps_percent`` in turn; plus the final single-variant config.

Idempotent: names come from the deployment id, existing resources are reused, and a deployment id already
recorded returns the recorded result without calling SageMaker (a different package for it is a conflict).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lambdas.deployment import events
from lambdas.deployment.endpoint import (
    IN_SERVICE,
    check_serving,
    config_request,
    describe_config,
    describe_endpoint,
    ensure_config,
    ensure_model,
    instance_count,
    production_variant,
    resource_tags,
    variant_like,
)
from lambdas.deployment.errors import DeploymentConflict, EndpointFailed, EndpointNotFound
from lambdas.deployment.history import PREPARED, Deployment
from lambdas.deployment.idle import wake_for_deployment
from lambdas.deployment.names import deployment_names, tag_value
from lambdas.deployment.registry import approved_package
from lambdas.deployment.runtime import Aws, deployment_clients, deployment_env, history_store
from lambdas.deployment.settings import CHALLENGER_VARIANT, SHADOW_VARIANT, DeploymentEnv, Strategy
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger
from lambdas.shared.pointer import read_pointer


def prepare(event: object, *, env: DeploymentEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    deployment_id = events.deployment_id(request)
    package_arn = events.package_arn(request)
    trigger = events.optional_text(request, "trigger") or ""
    requested_by = events.optional_text(request, "requested_by") or ""
    store = history_store(env, aws)

    existing = store.find(deployment_id)
    if existing is not None:
        if existing.model_package_arn != package_arn:
            raise DeploymentConflict(
                f"deployment '{deployment_id}' was prepared for {existing.model_package_arn}, not {package_arn}"
            )
        return existing.summary(env.endpoint_name, env.variant_name)

    sagemaker = aws.sagemaker
    approved_package(sagemaker, package_arn, env.model_package_group)
    try:
        state = describe_endpoint(sagemaker, env.endpoint_name)
    except EndpointNotFound:
        # An endpoint asleep outside working hours (ADR 0020) is woken; EndpointNotReady until it serves.
        wake_for_deployment(env, aws)
        raise
    if state.status != IN_SERVICE:
        check_serving(state, state.config_name)  # raises EndpointNotReady / EndpointFailed
    live = describe_config(sagemaker, state.config_name)
    if live is None:
        raise EndpointFailed(f"endpoint '{env.endpoint_name}' serves config '{state.config_name}', which is gone")
    if len(live.get("ProductionVariants", [])) != 1 or live.get("ShadowProductionVariants"):
        raise DeploymentConflict(
            f"endpoint '{env.endpoint_name}' is on multi-variant config '{state.config_name}' left by another "
            "deployment; roll that deployment back (or promote it) first"
        )
    live_variant = production_variant(live, env.variant_name)
    champion = store.champion()
    pointer = read_pointer(aws.ssm, env.serving_pointer_parameter)
    previous_package = pointer or (champion.current.model_package_arn if champion else "")
    if champion and pointer and champion.current.model_package_arn != pointer:
        logger.warning(
            "serving pointer and champion history disagree; trusting the pointer",
            extra={"pointer": pointer, "champion": champion.current.model_package_arn},
        )

    strategy = env.settings.strategy
    names = deployment_names(env.endpoint_name, deployment_id, strategy)
    count = instance_count(state, live_variant)
    tags = resource_tags(
        sagemaker,
        live_config_arn=live.get("EndpointConfigArn"),
        own={
            "mlops:model": env.model_name,
            "mlops:environment": env.environment,
            "mlops:deployment-id": tag_value(deployment_id),
        },
    )
    ensure_model(
        sagemaker,
        name=names.model,
        package_arn=package_arn,
        role_arn=env.sagemaker_role_arn,
        tags=tags,
        vpc_config=env.model_vpc.request() if env.model_vpc else None,
    )

    candidate = variant_like(
        live_variant, variant_name=env.variant_name, model_name=names.model, count=count, weight=1.0
    )
    ensure_config(
        sagemaker, config_request(name=names.final_config, live_config=live, production=[candidate], tags=tags)
    )
    if names.deploy_config != names.final_config:
        ensure_config(
            sagemaker,
            _staged_config(
                name=names.deploy_config,
                model=names.model,
                live=live,
                live_variant=live_variant,
                env=env,
                count=count,
                tags=tags,
            ),
        )

    record = Deployment(
        deployment_id=deployment_id,
        model_package_arn=package_arn,
        strategy=strategy.value,
        status=PREPARED,
        started_at=events.format_time(now),
        model_name=names.model,
        deploy_config=names.deploy_config,
        final_config=names.final_config,
        candidate_variant=strategy.candidate_variant or "",
        trigger=trigger,
        requested_by=requested_by,
        previous_deployment_id=champion.current.deployment_id if champion else "",
        previous_model_package_arn=previous_package,
        previous_endpoint_config_name=state.config_name,
        previous_model_name=str(live_variant["ModelName"]),
    )
    record = store.create(record)
    logger.info("deployment prepared", extra=record.summary(env.endpoint_name, env.variant_name))
    return record.summary(env.endpoint_name, env.variant_name)


def _staged_config(
    *,
    name: str,
    model: str,
    live: Mapping[str, Any],
    live_variant: Mapping[str, Any],
    env: DeploymentEnv,
    count: int | None,
    tags: list[dict[str, str]],
) -> dict[str, Any]:
    champion = variant_like(
        live_variant, variant_name=env.variant_name, model_name=str(live_variant["ModelName"]), count=count, weight=1.0
    )
    if env.settings.strategy is Strategy.SHADOW:
        shadow = variant_like(
            live_variant,
            variant_name=SHADOW_VARIANT,
            model_name=model,
            count=count,
            weight=env.settings.shadow.sampling_percent / 100.0,
        )
        return config_request(name=name, live_config=live, production=[champion], shadow=[shadow], tags=tags)
    challenger = variant_like(live_variant, variant_name=CHALLENGER_VARIANT, model_name=model, count=count, weight=0.0)
    return config_request(name=name, live_config=live, production=[champion, challenger], tags=tags)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return prepare(event, env=deployment_env(), aws=deployment_clients(), now=request_time(events.as_mapping(event)))
