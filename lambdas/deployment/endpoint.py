"""SageMaker endpoint building blocks shared by the steps: describe, create-if-missing, update, check.

Facts relied on (docs/aws-facts.md#endpoint-configs and
docs/aws-facts.md#endpoint-updates-and-silent-rollbacks):
- every EndpointConfig property is create-only, so a change is a new config; the production variant name stays
  the same (guardrails and autoscaling are keyed on it);
- while an update runs, ``DescribeEndpoint.EndpointConfigName`` still names the old config and
  ``PendingDeploymentSummary.EndpointConfigName`` the new one;
- after a SageMaker-side rollback the endpoint is ``InService`` on the PREVIOUS config, possibly with no
  ``FailureReason``: success is "InService AND EndpointConfigName == requested", never "InService".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lambdas.deployment.errors import (
    DeploymentConflict,
    EndpointFailed,
    EndpointNotFound,
    EndpointNotReady,
    SilentRollbackDetected,
)
from lambdas.deployment.settings import Strategy, StrategySettings

IN_SERVICE = "InService"
TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})

# Copied from the live production variant into every variant the automation creates (ModelName, VariantName,
# InitialInstanceCount and InitialVariantWeight are set explicitly).
VARIANT_SETTINGS = (
    "InstanceType",
    "AcceleratorType",
    "VolumeSizeInGB",
    "ModelDataDownloadTimeoutInSeconds",
    "ContainerStartupHealthCheckTimeoutInSeconds",
    "EnableSSMAccess",
    "ManagedInstanceScaling",
    "RoutingConfig",
    "InferenceAmiVersion",
    "CoreDumpConfig",
)
# Copied from the live endpoint config: capture (destination, KMS, sampling, options, content types), KMS key.
CONFIG_SETTINGS = ("KmsKeyId", "AsyncInferenceConfig")
DATA_CAPTURE_SETTINGS = (
    "EnableCapture",
    "InitialSamplingPercentage",
    "DestinationS3Uri",
    "KmsKeyId",
    "CaptureOptions",
    "CaptureContentTypeHeader",
)


@dataclass(frozen=True, kw_only=True)
class EndpointState:
    name: str
    status: str
    config_name: str
    pending_config_name: str | None
    variants: tuple[Mapping[str, Any], ...]
    failure_reason: str

    @property
    def heading_to(self) -> str:
        """The config the endpoint is on, or moving to while an update runs."""
        return self.pending_config_name or self.config_name

    def is_on_or_heading_to(self, config: str) -> bool:
        return config in (self.config_name, self.pending_config_name)

    def variant(self, name: str) -> Mapping[str, Any] | None:
        return next((v for v in self.variants if v.get("VariantName") == name), None)


def _not_found(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    message = str(details.get("Message", "")).lower()
    return details.get("Code") in ("ValidationException", "ResourceNotFound") and (
        "could not find" in message or "not found" in message or "does not exist" in message
    )


def describe_endpoint(sagemaker: Any, name: str) -> EndpointState:
    try:
        response = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as error:
        if _not_found(error):
            raise EndpointNotFound(f"endpoint '{name}' does not exist") from None
        raise
    pending = response.get("PendingDeploymentSummary") or {}
    return EndpointState(
        name=name,
        status=response["EndpointStatus"],
        config_name=response["EndpointConfigName"],
        pending_config_name=pending.get("EndpointConfigName") or None,
        variants=tuple(response.get("ProductionVariants", [])),
        failure_reason=response.get("FailureReason", ""),
    )


def describe_config(sagemaker: Any, name: str) -> dict[str, Any] | None:
    try:
        config: dict[str, Any] = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    except ClientError as error:
        if _not_found(error):
            return None
        raise
    return config


def model_exists(sagemaker: Any, name: str) -> bool:
    try:
        sagemaker.describe_model(ModelName=name)
    except ClientError as error:
        if _not_found(error):
            return False
        raise
    return True


def ensure_model(
    sagemaker: Any,
    *,
    name: str,
    package_arn: str,
    role_arn: str,
    tags: Sequence[Mapping[str, str]],
    vpc_config: Mapping[str, Sequence[str]] | None = None,
) -> bool:
    """Create the Model serving ``package_arn`` (network isolated, in ``vpc_config``'s subnets when given) unless
    it exists; True if created."""
    try:
        existing = sagemaker.describe_model(ModelName=name)
    except ClientError as error:
        if not _not_found(error):
            raise
    else:
        containers = [existing.get("PrimaryContainer") or {}, *existing.get("Containers", [])]
        packages = {c.get("ModelPackageName") for c in containers if c.get("ModelPackageName")}
        if packages and package_arn not in packages:
            raise DeploymentConflict(f"model '{name}' exists but serves {sorted(packages)}, not {package_arn}")
        return False
    vpc = {"VpcConfig": {key: list(ids) for key, ids in vpc_config.items()}} if vpc_config else {}
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"ModelPackageName": package_arn},
        ExecutionRoleArn=role_arn,
        EnableNetworkIsolation=True,
        Tags=list(tags),
        **vpc,
    )
    return True


def ensure_config(sagemaker: Any, request: Mapping[str, Any]) -> bool:
    """Create the endpoint config unless one with this name exists (serving the same models); True if created."""
    name = request["EndpointConfigName"]
    existing = describe_config(sagemaker, name)
    if existing is not None:
        wanted = _models(request)
        found = _models(existing)
        if found and found != wanted:
            raise DeploymentConflict(
                f"endpoint config '{name}' exists with models {sorted(found)}, not {sorted(wanted)}"
            )
        return False
    sagemaker.create_endpoint_config(**request)
    return True


def _models(config: Mapping[str, Any]) -> set[str]:
    variants = [*config.get("ProductionVariants", []), *config.get("ShadowProductionVariants", [])]
    return {str(v["ModelName"]) for v in variants if v.get("ModelName")}


def resource_tags(sagemaker: Any, *, live_config_arn: str | None, own: Mapping[str, str]) -> list[dict[str, str]]:
    """``mlops:*`` tags of the live config (owner, model, environment: set by the serving stack) with ``own``
    on top, so what the automation creates is tagged like what CloudFormation created."""
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": live_config_arn}
    while live_config_arn:
        page = sagemaker.list_tags(**kwargs)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", []) if str(t["Key"]).startswith("mlops:")})
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    tags.pop("mlops:champion", None)
    tags.update(own)
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def production_variant(config: Mapping[str, Any], variant_name: str) -> Mapping[str, Any]:
    for variant in config.get("ProductionVariants", []):
        if variant.get("VariantName") == variant_name:
            return dict(variant)
    names = [v.get("VariantName") for v in config.get("ProductionVariants", [])]
    raise DeploymentConflict(
        f"endpoint config '{config.get('EndpointConfigName')}' has no production variant '{variant_name}' "
        f"(it has {names}); the stable variant name must not change"
    )


def instance_count(state: EndpointState, live_variant: Mapping[str, Any]) -> int | None:
    """The live variant's configured count, or more if autoscaling has grown it (None if it has none)."""
    configured = live_variant.get("InitialInstanceCount")
    if configured is None:
        return None
    current = (state.variant(str(live_variant["VariantName"])) or {}).get("CurrentInstanceCount") or 0
    return max(int(configured), int(current))


def variant_like(
    live_variant: Mapping[str, Any], *, variant_name: str, model_name: str, count: int | None, weight: float
) -> dict[str, Any]:
    variant: dict[str, Any] = {"VariantName": variant_name, "ModelName": model_name, "InitialVariantWeight": weight}
    if count is not None:
        variant["InitialInstanceCount"] = count
    variant.update({key: live_variant[key] for key in VARIANT_SETTINGS if key in live_variant})
    return variant


def config_request(
    *,
    name: str,
    live_config: Mapping[str, Any],
    production: Sequence[Mapping[str, Any]],
    shadow: Sequence[Mapping[str, Any]] = (),
    tags: Iterable[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """A CreateEndpointConfig request copying capture, KMS and async settings from the live config."""
    request: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": [dict(v) for v in production]}
    if shadow:
        request["ShadowProductionVariants"] = [dict(v) for v in shadow]
    capture = live_config.get("DataCaptureConfig")
    if capture:
        request["DataCaptureConfig"] = {key: capture[key] for key in DATA_CAPTURE_SETTINGS if key in capture}
    request.update({key: live_config[key] for key in CONFIG_SETTINGS if live_config.get(key)})
    tag_list = [dict(t) for t in tags]
    if tag_list:
        request["Tags"] = tag_list
    return request


def guardrail_deployment_config(strategy: Strategy, settings: StrategySettings) -> dict[str, Any]:
    """DeploymentConfig for blue_green/canary/linear: BlueGreenUpdatePolicy + AutoRollbackConfiguration."""
    routing: dict[str, Any] = {"WaitIntervalInSeconds": settings.wait_interval_seconds}
    if strategy is Strategy.BLUE_GREEN:
        routing["Type"] = "ALL_AT_ONCE"
    elif strategy is Strategy.CANARY:
        routing["Type"] = "CANARY"
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": settings.canary_size_percent}
    elif strategy is Strategy.LINEAR:
        routing["Type"] = "LINEAR"
        routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": settings.linear_step_percent}
    else:
        raise ValueError(f"strategy '{strategy}' does not use SageMaker deployment guardrails")
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": settings.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": settings.max_execution_timeout_seconds,
        }
    }
    if settings.alarm_names:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in settings.alarm_names]}
    return config


def request_update(
    sagemaker: Any, *, endpoint: str, config: str, deployment_config: Mapping[str, Any] | None = None
) -> None:
    """UpdateEndpoint to ``config``; variant properties come from the new config (RetainAllVariantProperties
    false). Without ``deployment_config`` SageMaker uses blue/green, all at once."""
    params: dict[str, Any] = {
        "EndpointName": endpoint,
        "EndpointConfigName": config,
        "RetainAllVariantProperties": False,
    }
    if deployment_config is not None:
        params["DeploymentConfig"] = dict(deployment_config)
        params["RetainDeploymentConfig"] = False
    sagemaker.update_endpoint(**params)


def check_serving(state: EndpointState, expected_config: str) -> None:
    """Raise unless the endpoint is InService on ``expected_config`` with its traffic weights settled."""
    if state.status in TRANSITIONAL:
        raise EndpointNotReady(
            f"endpoint '{state.name}' is {state.status} (towards endpoint config '{state.heading_to}'); "
            f"waiting for it to be InService on '{expected_config}'"
        )
    if state.status != IN_SERVICE:
        reason = f": {state.failure_reason}" if state.failure_reason else ""
        raise EndpointFailed(f"endpoint '{state.name}' is {state.status} on '{state.config_name}'{reason}")
    if state.config_name != expected_config:
        reason = f" (FailureReason: {state.failure_reason})" if state.failure_reason else " (no FailureReason given)"
        raise SilentRollbackDetected(
            f"endpoint '{state.name}' is InService on endpoint config '{state.config_name}', not on the requested "
            f"'{expected_config}': SageMaker rolled the update back{reason}"
        )
    unsettled = [
        str(v.get("VariantName"))
        for v in state.variants
        if v.get("DesiredWeight") is not None
        and v.get("CurrentWeight") is not None
        and abs(float(v["DesiredWeight"]) - float(v["CurrentWeight"])) > 1e-9
    ]
    if unsettled:
        raise EndpointNotReady(f"endpoint '{state.name}': weights of {unsettled} are still moving")
