"""A serving world under moto for the deployment steps, plus the two APIs moto cannot answer.

- ``FakeSageMaker`` wraps moto's SageMaker client. moto lacks ``update_endpoint``, drops
  ``ShadowProductionVariants``, has no ``PendingDeploymentSummary`` and cannot tag model package ARNs; the fake
  adds exactly those, validating every state-changing request against botocore's input shape (as Stubber
  does), recording it, and letting the test decide how an update ends (``finish_update`` /
  ``sagemaker_rolls_back``). Everything else is moto.
- ``FakeCloudWatch`` answers GetMetricData, including the ``p99`` statistic moto does not compute, from
  per-variant series the test sets, after validating the request shape.
- ``AutoScaling`` is moto's Application Auto Scaling client where DeregisterScalableTarget also deletes the
  target's scaling policies and scheduled actions, as AWS documents and moto does not; ``FakeSageMaker`` fails an
  update that changes the instance type of (or removes) a variant registered there, as SageMaker does.
The code under test is always the real step logic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from lambdas.deployment.runtime import Aws
from lambdas.deployment.settings import DeploymentEnv
from tests.contract.recorder import contract_double

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
ENDPOINT = "fraud-detection-dev"
GROUP = "fraud-detection-dev"
POINTER = "/mlops/fraud-detection/dev/serving-model-package-arn"
TABLE = "mlops-deployment-history"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
CAPTURE_BUCKET = "fraud-detection-dev-capture"
CAPTURE_URI = f"s3://{CAPTURE_BUCKET}/datacapture"
INITIAL_MODEL = "fraud-detection-dev-initial"
INITIAL_CONFIG = "fraud-detection-dev-config-initial"
ALARMS = ["fraud-detection-dev-5xx", "fraud-detection-dev-latency"]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIVE_CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 50,
    "DestinationS3Uri": CAPTURE_URI,
    "KmsKeyId": KMS_KEY,
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
}


def deployment_settings(strategy: str, **overrides: Any) -> dict[str, Any]:
    """What the CDK side puts in DEPLOYMENT_SETTINGS (asdict of config DeploymentSettings + alarm names)."""
    settings: dict[str, Any] = {
        "strategy": strategy,
        "canary_size_percent": 10,
        "linear_step_percent": 20,
        "wait_interval_seconds": 600,
        "termination_wait_seconds": 300,
        "max_execution_timeout_seconds": 3600,
        "bake_minutes": 15,
        "shadow": {
            "sampling_percent": 100.0,
            "window_minutes": 60,
            "max_error_rate_increase_percent": 0.5,
            "max_p99_latency_ratio": 1.25,
            "max_prediction_distance": 0.1,
            "min_agreement_rate": 0.95,
        },
        "ab": {"weight_steps_percent": [10, 50, 100], "step_minutes": 30},
        "alarm_names": ALARMS,
        "min_invocations": 100,
        "min_captured_predictions": 50,
    }
    settings.update(overrides)
    return settings


def environ(strategy: str = "canary", **overrides: Any) -> dict[str, str]:
    return {
        "MODEL_NAME": "fraud-detection",
        "ENVIRONMENT": "dev",
        "ENDPOINT_NAME": ENDPOINT,
        "VARIANT_NAME": "primary",
        "SERVING_POINTER_PARAMETER": POINTER,
        "HISTORY_TABLE": TABLE,
        "MODEL_PACKAGE_GROUP": GROUP,
        "SAGEMAKER_ROLE_ARN": ROLE,
        "DEPLOYMENT_SETTINGS": json.dumps(deployment_settings(strategy, **overrides)),
    }


# One session for the whole run: its loader caches the service models, which a fresh default session (moto
# resets it on every start) would parse again for each test.
SESSION = boto3.session.Session(region_name=REGION)


def client(service: str) -> Any:
    return SESSION.client(service, region_name=REGION)


def _invalid(operation: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, operation)


@contract_double("sagemaker")  # the IAM contract tier records the operations called on it, for the caller
class FakeSageMaker:
    """moto's SageMaker client plus UpdateEndpoint, shadow variants, pending deployments and package tags."""

    MUTATING = (
        "create_model",
        "create_endpoint_config",
        "update_endpoint",
        "update_endpoint_weights_and_capacities",
        "add_tags",
        "delete_tags",
    )

    def __init__(self, client: Any, autoscaling: Any, *, endpoint: str = ENDPOINT) -> None:
        self._client = client
        self._autoscaling = autoscaling
        self._service = client.meta.service_model
        self.endpoint_name = endpoint
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.package_tags: dict[str, dict[str, str]] = {}
        self._shadow: dict[str, list[dict[str, Any]]] = {}
        self._pending: str | None = None
        self._before_update: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _record(self, operation: str, method: str, params: dict[str, Any]) -> None:
        validate_parameters(params, self._service.operation_model(operation).input_shape)
        self.calls.append((method, json.loads(json.dumps(params))))

    # ---- what moto lacks ----

    def create_model(self, **params: Any) -> Any:
        self._record("CreateModel", "create_model", params)
        if params["ModelName"] in {m["ModelName"] for m in self._client.list_models()["Models"]}:
            raise _invalid("CreateModel", f'Cannot create already existing model "{params["ModelName"]}"')
        return self._client.create_model(**params)

    def create_endpoint_config(self, **params: Any) -> Any:
        self._record("CreateEndpointConfig", "create_endpoint_config", params)
        shadow = params.pop("ShadowProductionVariants", None)
        response = self._client.create_endpoint_config(**params)
        if shadow:
            self._shadow[params["EndpointConfigName"]] = shadow
        return response

    def describe_endpoint_config(self, **params: Any) -> Any:
        response = self._client.describe_endpoint_config(**params)
        if params["EndpointConfigName"] in self._shadow:
            response["ShadowProductionVariants"] = self._shadow[params["EndpointConfigName"]]
        return response

    def update_endpoint(self, **params: Any) -> Any:
        self._record("UpdateEndpoint", "update_endpoint", params)
        endpoint = self._endpoint(params["EndpointName"])
        if endpoint.endpoint_status not in {"InService", "UpdateRollbackFailed"}:
            raise _invalid("UpdateEndpoint", f'Cannot update in-progress endpoint "{endpoint.arn}".')
        self._client.describe_endpoint_config(EndpointConfigName=params["EndpointConfigName"])  # must exist
        self._reject_instance_type_change_of_scaled_variants(endpoint, params["EndpointConfigName"])
        self._before_update = endpoint.endpoint_config_name
        self._pending = params["EndpointConfigName"]
        endpoint.endpoint_status = "Updating"
        return {"EndpointArn": endpoint.arn}

    def _reject_instance_type_change_of_scaled_variants(self, endpoint: Any, config_name: str) -> None:
        """ "If the update would change the instance type for any model that is a target for auto scaling, the
        update fails" (SageMaker Developer Guide, "Update endpoints that use auto scaling"); so does removing one."""
        live = self._client.describe_endpoint_config(EndpointConfigName=endpoint.endpoint_config_name)
        new = {
            v["VariantName"]: v
            for v in self._client.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
        }
        scaled = {
            t["ResourceId"]
            for t in self._autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        }
        for variant in live["ProductionVariants"]:
            name = variant["VariantName"]
            changed = name not in new or new[name].get("InstanceType") != variant.get("InstanceType")
            if changed and f"endpoint/{endpoint.endpoint_name}/variant/{name}" in scaled:
                raise _invalid(
                    "UpdateEndpoint",
                    f"The variant {name} is registered with Application Auto Scaling; deregister it before "
                    "changing its instance type",
                )

    def describe_endpoint(self, **params: Any) -> Any:
        response = self._client.describe_endpoint(**params)
        if self._pending is not None:
            response["PendingDeploymentSummary"] = {"EndpointConfigName": self._pending}
        return response

    def update_endpoint_weights_and_capacities(self, **params: Any) -> Any:
        self._record("UpdateEndpointWeightsAndCapacities", "update_endpoint_weights_and_capacities", params)
        return self._client.update_endpoint_weights_and_capacities(**params)

    def add_tags(self, **params: Any) -> Any:
        self._record("AddTags", "add_tags", params)
        tags = self.package_tags.setdefault(params["ResourceArn"], {})
        tags.update({t["Key"]: t["Value"] for t in params["Tags"]})
        return {"Tags": params["Tags"]}

    def delete_tags(self, **params: Any) -> Any:
        self._record("DeleteTags", "delete_tags", params)
        for key in params["TagKeys"]:
            self.package_tags.get(params["ResourceArn"], {}).pop(key, None)
        return {}

    # ---- test controls: how SageMaker ends the update ----

    def _endpoint(self, name: str | None = None) -> Any:
        name = name or self.endpoint_name
        try:
            return sagemaker_backends[ACCOUNT][REGION].endpoints[name]
        except KeyError:
            raise _invalid("UpdateEndpoint", f'Could not find endpoint "{name}".') from None

    def finish_update(self) -> None:
        """The update succeeds: InService on the new config, its variants live."""
        assert self._pending is not None, "no update in progress"
        endpoint = self._endpoint()
        config = self._client.describe_endpoint_config(EndpointConfigName=self._pending)
        endpoint.endpoint_config_name = self._pending
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.endpoint_status = "InService"
        self._pending = None

    def sagemaker_rolls_back(self) -> None:
        """An alarm fired: SageMaker rolls back and reports InService, on the OLD config, with no FailureReason."""
        assert self._pending is not None, "no update in progress"
        self._endpoint().endpoint_status = "InService"
        self._pending = None

    def set_status(self, status: str) -> None:
        self._endpoint().endpoint_status = status

    # ---- inspection ----

    def mutations(self, *methods: str) -> list[tuple[str, dict[str, Any]]]:
        wanted = methods or self.MUTATING
        return [(m, p) for m, p in self.calls if m in wanted]

    def endpoint_config_name(self) -> str:
        return str(self._endpoint().endpoint_config_name)


@contract_double("cloudwatch")
class FakeCloudWatch:
    """GetMetricData over series set per (variant[, window end]); validates requests and records them."""

    def __init__(self, *, endpoint: str = ENDPOINT) -> None:
        self._service = client("cloudwatch").meta.service_model
        self.endpoint_name = endpoint
        self.series: dict[tuple[str, datetime | None], dict[str, float]] = {}
        self.requests: list[dict[str, Any]] = []

    def set(
        self, variant: str, *, invocations: float, errors: float, p99_us: float, window_end: datetime | None = None
    ) -> None:
        self.series[(variant, window_end)] = {
            "Invocations/Sum": invocations,
            "Invocation5XXErrors/Sum": errors,
            "ModelLatency/p99": p99_us,
        }

    def get_metric_data(self, **params: Any) -> dict[str, Any]:
        validate_parameters(params, self._service.operation_model("GetMetricData").input_shape)
        self.requests.append(params)
        results = []
        for query in params["MetricDataQueries"]:
            stat = query["MetricStat"]
            dims = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
            assert stat["Metric"]["Namespace"] == "AWS/SageMaker"
            assert dims["EndpointName"] == self.endpoint_name
            series = self.series.get((dims["VariantName"], params["EndTime"])) or self.series.get(
                (dims["VariantName"], None), {}
            )
            value = series.get(f"{stat['Metric']['MetricName']}/{stat['Stat']}")
            results.append({"Id": query["Id"], "Values": [] if value is None else [value], "StatusCode": "Complete"})
        return {"MetricDataResults": results}


@contract_double("application-autoscaling")
class AutoScaling:
    """moto's Application Auto Scaling, with DeregisterScalableTarget deleting the target's policies and scheduled
    actions: "Deregistering a scalable target deletes the scaling policies and the scheduled actions that are
    associated with it" (Application Auto Scaling API Reference, DeregisterScalableTarget); moto keeps them."""

    MUTATING = ("register_scalable_target", "put_scaling_policy", "put_scheduled_action")

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in self.MUTATING:
            self.calls.append(name)
        return getattr(self._client, name)

    def deregister_scalable_target(self, **params: Any) -> Any:
        self.calls.append("deregister_scalable_target")
        identity = {k: params[k] for k in ("ServiceNamespace", "ResourceId", "ScalableDimension")}
        for policy in self._client.describe_scaling_policies(**identity)["ScalingPolicies"]:
            self._client.delete_scaling_policy(PolicyName=policy["PolicyName"], **identity)
        for action in self._client.describe_scheduled_actions(**identity)["ScheduledActions"]:
            self._client.delete_scheduled_action(ScheduledActionName=action["ScheduledActionName"], **identity)
        return self._client.deregister_scalable_target(**params)


@dataclass
class World:
    sagemaker: FakeSageMaker
    ssm: Any
    dynamodb: Any
    s3: Any
    cloudwatch: FakeCloudWatch
    autoscaling: AutoScaling
    packages: dict[str, str] = field(default_factory=dict)  # "v1".. -> ARN
    now: datetime = T0

    @property
    def aws(self) -> Aws:
        return Aws(
            sagemaker=self.sagemaker,
            ssm=self.ssm,
            dynamodb=self.dynamodb,
            cloudwatch=self.cloudwatch,
            s3=self.s3,
            autoscaling=self.autoscaling,
        )

    def env(self, strategy: str = "canary", **overrides: Any) -> DeploymentEnv:
        return DeploymentEnv.from_env(environ(strategy, **overrides))

    def run(self, step: Callable[..., dict[str, Any]], event: dict[str, Any], env: DeploymentEnv) -> dict[str, Any]:
        """Invoke a step's logic; the clock advances a minute per call so history times are distinct."""
        self.now += timedelta(minutes=1)
        return step(event, env=env, aws=self.aws, now=self.now)

    def pointer(self) -> str:
        return str(self.ssm.get_parameter(Name=POINTER)["Parameter"]["Value"])

    def history_items(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=TABLE)["Items"])

    def register(self, *, group: str = GROUP, status: str = "Approved") -> str:
        arn = self.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1",
                        "ModelDataUrl": f"s3://artifacts/{group}/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        return str(arn)

    def write_captures(self, variant: str, scores: dict[str, float], *, at: datetime, name: str = "part") -> None:
        """Data-capture JSONL for ``variant`` at ``at`` (one line per inference id)."""
        lines = [
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "mode": "INPUT",
                            "data": "1,2",
                            "encoding": "CSV",
                        },
                        "endpointOutput": {
                            "observedContentType": "text/csv; charset=utf-8",
                            "mode": "OUTPUT",
                            "data": repr(score),
                            "encoding": "CSV",
                        },
                    },
                    "eventMetadata": {
                        "eventId": f"event-{variant}-{inference_id}",
                        "inferenceId": inference_id,
                        "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                    "eventVersion": "0",
                }
            )
            for inference_id, score in scores.items()
        ]
        key = f"datacapture/{ENDPOINT}/{variant}/{at:%Y/%m/%d/%H}/{name}-{at:%M%S}.jsonl"
        self.s3.put_object(Bucket=CAPTURE_BUCKET, Key=key, Body="\n".join(lines).encode())


def build_world(*, serving_package: Callable[[World], str] | None = None) -> World:
    """The serving world; ``serving_package`` registers the package the endpoint serves (default: ``register``)."""
    autoscaling = AutoScaling(client("application-autoscaling"))
    sagemaker = FakeSageMaker(client("sagemaker"), autoscaling)
    world = World(
        sagemaker=sagemaker,
        ssm=client("ssm"),
        dynamodb=client("dynamodb"),
        s3=client("s3"),
        cloudwatch=FakeCloudWatch(),
        autoscaling=autoscaling,
    )
    world.s3.create_bucket(Bucket=CAPTURE_BUCKET)
    world.dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    raw = sagemaker._client
    raw.create_model_package_group(ModelPackageGroupName=GROUP)
    raw.create_model_package_group(ModelPackageGroupName="churn-dev")
    # serving, deployed by CloudFormation from the pointer
    world.packages["v1"] = serving_package(world) if serving_package else world.register()
    world.packages["v2"] = world.register()
    world.packages["v3"] = world.register()
    world.packages["pending"] = world.register(status="PendingManualApproval")
    world.packages["other-group"] = world.register(group="churn-dev")
    # The endpoint as the serving stack creates it from the pointer (not through the fake: not a step's call).
    raw.create_model(
        ModelName=INITIAL_MODEL,
        PrimaryContainer={"ModelPackageName": world.packages["v1"]},
        ExecutionRoleArn=ROLE,
    )
    raw.create_endpoint_config(
        EndpointConfigName=INITIAL_CONFIG,
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": INITIAL_MODEL,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
                "InitialVariantWeight": 1.0,
                "VolumeSizeInGB": 8,
            }
        ],
        DataCaptureConfig=LIVE_CAPTURE,
        KmsKeyId=KMS_KEY,
        Tags=[
            {"Key": "mlops:model", "Value": "fraud-detection"},
            {"Key": "mlops:owner", "Value": "risk-ml-oncall@example.com"},
            {"Key": "mlops:environment", "Value": "dev"},
            {"Key": "aws:cloudformation:stack-name", "Value": "dev-fraud-detection-serving"},
        ],
    )
    raw.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=INITIAL_CONFIG)
    world.ssm.put_parameter(Name=POINTER, Value=world.packages["v1"], Type="String", Overwrite=True)
    return world


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world()
