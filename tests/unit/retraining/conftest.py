"""A retraining world under moto: state table, serving pointer, pipeline, registry, artifacts bucket, owner topic.

Two stand-ins, both validating every request against botocore's input shapes (as Stubber does):
- ``SageMaker`` wraps moto's client. It adds what moto lacks for these tests: StartPipelineExecution's
  ClientRequestToken idempotency (AWS returns the first execution for a repeated token; moto starts a new
  one) and a way to make an execution report ``Executing`` or ``Failed`` (moto's are ``Succeeded`` at once).
  It records the calls that change SageMaker.
- ``StepFunctions`` records SendTaskSuccess/SendTaskFailure and answers ``TaskTimedOut`` for tokens the test
  marks as gone (moto accepts any token).
The code under test is always the real logic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from lambdas.retraining.runtime import Aws, state_store
from lambdas.retraining.settings import (
    ApprovalEnv,
    GuardEnv,
    NotifyEnv,
    PipelineEnv,
    RegistrationEnv,
    StateEnv,
    WaitEnv,
)
from lambdas.retraining.state import StateStore
from tests.contract.recorder import contract_double
from tests.support.tables import create_partition_table

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
MODEL = "fraud-detection"
ENVIRONMENT = "dev"
TABLE = "mlops-dev-fraud-detection-retraining"
PIPELINE = "fraud-detection-dev-training"
GROUP = "fraud-detection-dev"
POINTER = "/mlops/fraud-detection/dev/serving-model-package-arn"
BUCKET = "mlops-dev-artifacts"
TOPIC = "fraud-detection-dev-owner"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = {
    "schedule_every_days": 7,
    "retrain_on_alarms": True,
    "cooldown_hours": 24,
    "max_runs_per_period": 3,
    "period_days": 7,
    "pipeline_timeout_hours": 12,
    "approval_timeout_hours": 72,
}
IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"

# One session for the whole run: its loader caches the service models across tests.
SESSION = boto3.session.Session(region_name=REGION)


def environ(**overrides: Any) -> dict[str, str]:
    """Every variable any retraining function reads (the CDK side passes each function its subset)."""
    policy = {**POLICY, **overrides.pop("policy", {})}
    values = {
        "MODEL_NAME": MODEL,
        "ENVIRONMENT": ENVIRONMENT,
        "STATE_TABLE": TABLE,
        "RETRAINING_POLICY": json.dumps(policy),
        "TRAINING_WINDOW_DAYS": "30",
        "PIPELINE_NAME": PIPELINE,
        "SERVING_POINTER_PARAMETER": POINTER,
        "ABSOLUTE_THRESHOLD": "0.3",
        "MIN_IMPROVEMENT": "0.01",
        "ARTIFACTS_BUCKET": BUCKET,
        "MODEL_PACKAGE_GROUP": GROUP,
        "APPROVAL_MODE": "auto",
        "OWNER_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}",
    }
    values.update({key: str(value) for key, value in overrides.items()})
    return values


def _validate(client: Any, operation: str, params: dict[str, Any]) -> None:
    validate_parameters(params, client.meta.service_model.operation_model(operation).input_shape)


@contract_double("sagemaker")  # the IAM contract tier records the operations called on it, for the caller
class SageMaker:
    """moto's SageMaker client plus ClientRequestToken idempotency and settable execution statuses."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._by_token: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, tuple[str, str]] = {}  # execution ARN -> (status, failure reason)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def start_pipeline_execution(self, **params: Any) -> dict[str, Any]:
        _validate(self._client, "StartPipelineExecution", params)
        self.calls.append(("start_pipeline_execution", params))
        token = params.get("ClientRequestToken")
        if token in self._by_token:
            return self._by_token[token]
        response: dict[str, Any] = self._client.start_pipeline_execution(**params)
        if token:
            self._by_token[token] = response
        return response

    def describe_pipeline_execution(self, **params: Any) -> dict[str, Any]:
        response: dict[str, Any] = self._client.describe_pipeline_execution(**params)
        override = self.statuses.get(params["PipelineExecutionArn"])
        if override is not None:
            response["PipelineExecutionStatus"], response["FailureReason"] = override
        return response

    def update_model_package(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("update_model_package", params))
        result: dict[str, Any] = self._client.update_model_package(**params)
        return result

    def mutations(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]


@contract_double("stepfunctions")
class StepFunctions:
    """Records task-token completions; tokens in ``gone`` answer like a task that already ended."""

    def __init__(self) -> None:
        self._client = SESSION.client("stepfunctions", region_name=REGION)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.gone: dict[str, str] = {}  # token -> error code (TaskTimedOut, InvalidToken, ...)

    def _complete(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        _validate(self._client, operation, params)
        self.calls.append((operation, params))
        code = self.gone.get(params["taskToken"])
        if code:
            raise ClientError({"Error": {"Code": code, "Message": "Task Timed Out"}}, operation)
        return {}

    def send_task_success(self, **params: Any) -> dict[str, Any]:
        return self._complete("SendTaskSuccess", params)

    def send_task_failure(self, **params: Any) -> dict[str, Any]:
        return self._complete("SendTaskFailure", params)

    def successes(self) -> list[tuple[str, dict[str, Any]]]:
        return [(p["taskToken"], json.loads(p["output"])) for op, p in self.calls if op == "SendTaskSuccess"]

    def failures(self) -> list[tuple[str, str, str]]:
        return [(p["taskToken"], p["error"], p["cause"]) for op, p in self.calls if op == "SendTaskFailure"]


@dataclass
class World:
    aws: Aws
    sagemaker: SageMaker
    sfn: StepFunctions
    queue_url: str
    environ: dict[str, str] = field(default_factory=environ)

    # ---- environments ----

    def state_env(self) -> StateEnv:
        return StateEnv.from_env(self.environ)

    def guard_env(self, **overrides: Any) -> GuardEnv:
        return GuardEnv.from_env(environ(**overrides))

    def wait_env(self) -> WaitEnv:
        return WaitEnv.from_env(self.environ)

    def pipeline_env(self) -> PipelineEnv:
        return PipelineEnv.from_env(self.environ)

    def registration_env(self) -> RegistrationEnv:
        return RegistrationEnv.from_env(self.environ)

    def approval_env(self, mode: str = "auto") -> ApprovalEnv:
        return ApprovalEnv.from_env(environ(APPROVAL_MODE=mode))

    def notify_env(self) -> NotifyEnv:
        return NotifyEnv.from_env(self.environ)

    def store(self) -> StateStore:
        return state_store(self.state_env(), self.aws)

    # ---- the world's state ----

    def items(self, prefix: str = "") -> list[dict[str, Any]]:
        items = self.aws.dynamodb.scan(TableName=TABLE)["Items"]
        return sorted(
            (
                {k: next(iter(v.values())) for k, v in item.items()}
                for item in items
                if item["sk"]["S"].startswith(prefix)
            ),
            key=lambda item: item["sk"],
        )

    def set_pointer(self, value: str) -> None:
        self.aws.ssm.put_parameter(Name=POINTER, Value=value, Type="String", Overwrite=True)

    def start_execution(self) -> str:
        """A pipeline execution started outside the functions (moto: Succeeded at once)."""
        return str(self.sagemaker._client.start_pipeline_execution(PipelineName=PIPELINE)["PipelineExecutionArn"])

    def register(
        self,
        *,
        generated_by: str | None = None,
        customer: dict[str, str] | None = None,
        status: str = "PendingManualApproval",
        model_data_url: str = "s3://mlops-dev-artifacts/model.tar.gz",
        group: str = GROUP,
    ) -> str:
        request: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "ModelApprovalStatus": status,
            "InferenceSpecification": {
                "Containers": [{"Image": IMAGE, "ModelDataUrl": model_data_url}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        }
        if generated_by is not None:
            request["MetadataProperties"] = {"GeneratedBy": generated_by, "CommitId": "abc123"}
        if customer is not None:
            request["CustomerMetadataProperties"] = customer
        return str(self.aws.sagemaker.create_model_package(**request)["ModelPackageArn"])

    def put_decision(self, execution_arn: str, decision: dict[str, Any] | str) -> None:
        execution_id = execution_arn.rsplit("/", 1)[-1]
        body = decision if isinstance(decision, str) else json.dumps(decision)
        self.aws.s3.put_object(
            Bucket=BUCKET, Key=f"pipelines/{PIPELINE}/{execution_id}/decision/decision.json", Body=body.encode()
        )

    def notifications(self) -> list[dict[str, Any]]:
        """The owner topic's messages, as its SQS subscriber receives them (SNS envelope)."""
        response = self.aws_sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(message["Body"]) for message in response.get("Messages", [])]

    @property
    def aws_sqs(self) -> Any:
        return SESSION.client("sqs", region_name=REGION)


def _create_world() -> World:
    def client(service: str) -> Any:
        return SESSION.client(service, region_name=REGION)

    dynamodb = client("dynamodb")
    create_partition_table(dynamodb, TABLE)
    sagemaker = SageMaker(client("sagemaker"))
    sagemaker.create_pipeline(
        PipelineName=PIPELINE,
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/pipeline",
        PipelineDefinition=json.dumps(
            {
                "Version": "2020-12-01",
                "Parameters": [
                    {"Name": name, "Type": "String"}
                    for name in ("WindowStart", "WindowEnd", "ChampionModelUri", "AbsoluteThreshold", "MinImprovement")
                ],
                "Steps": [],
            }
        ),
    )
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    sns = client("sns")
    topic = sns.create_topic(Name=TOPIC)["TopicArn"]
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName="owner-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sfn = StepFunctions()
    aws = Aws(dynamodb=dynamodb, sagemaker=sagemaker, ssm=client("ssm"), s3=s3, sns=sns, sfn=sfn)
    return World(aws=aws, sagemaker=sagemaker, sfn=sfn, queue_url=queue_url)


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield _create_world()
