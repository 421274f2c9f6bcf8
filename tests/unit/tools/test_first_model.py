"""The first model's ways to stop: each one line naming the problem and what to do, nothing pointed to.

The path that trains, registers and points runs the synthesized pipeline in the emulator
(tests/integration/demo/test_first_model.py); here moto holds the executions and their statuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.utils import get_pipeline_execution_from_arn

from config import DEV, FRAUD_DETECTION, ModelDeployment
from config.naming import bucket_name
from lambdas.retraining.check_registration import decision_key
from tools.bootstrap_serving import BootstrapError
from tools.first_model import DISPLAY_NAME, first_model

DEPLOYMENT = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
NOW = datetime(2026, 3, 1, tzinfo=UTC)
REGION = "us-east-1"


@dataclass
class Account:
    sagemaker: Any
    s3: Any
    ssm: Any
    progress: list[str] = field(default_factory=list)

    def set_status(self, arn: str, status: str, reason: str = "") -> None:
        record = get_pipeline_execution_from_arn(sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].pipelines, arn)
        record.pipeline_execution_status = status
        record.pipeline_execution_failure_reason = reason

    def on_start(self, then: Callable[[str], None]) -> None:
        """Each execution the code under test starts is recorded by moto, then ``then(arn)`` runs."""
        original = self.sagemaker.start_pipeline_execution

        def start(**request: Any) -> Any:
            response = original(**request)
            then(response["PipelineExecutionArn"])
            return response

        self.sagemaker.start_pipeline_execution = start

    def executions(self) -> list[str]:
        summaries = self.sagemaker.list_pipeline_executions(PipelineName=DEPLOYMENT.pipeline_name)
        return [s["PipelineExecutionArn"] for s in summaries["PipelineExecutionSummaries"]]

    def run(self, *, timeout: float = 600, **options: Any) -> Any:
        ticks = iter(range(0, 100_000, 60))
        return first_model(
            DEPLOYMENT,
            sagemaker=self.sagemaker,
            s3=self.s3,
            ssm=self.ssm,
            now=NOW,
            sleep=lambda _: None,
            clock=lambda: float(next(ticks)),
            progress=self.progress.append,
            timeout_seconds=timeout,
            **options,
        )

    def no_pointer(self) -> bool:
        try:
            self.ssm.get_parameter(Name=DEPLOYMENT.serving_pointer_parameter)
        except self.ssm.exceptions.ParameterNotFound:
            return True
        return False


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_pipeline(
            PipelineName=DEPLOYMENT.pipeline_name,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/pipeline",
        )
        original_describe = sagemaker.describe_pipeline_execution

        def describe(**request: Any) -> Any:
            """With the failure reason SageMaker answers (moto's is always empty)."""
            described = original_describe(**request)
            pipelines = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].pipelines
            record = get_pipeline_execution_from_arn(pipelines, request["PipelineExecutionArn"])
            described["FailureReason"] = record.pipeline_execution_failure_reason or ""
            return described

        sagemaker.describe_pipeline_execution = describe
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=bucket_name(DEV, "Artifacts"))
        yield Account(sagemaker=sagemaker, s3=s3, ssm=boto3.client("ssm", region_name=REGION))


def test_a_failed_execution_stops_with_its_reason(account: Account) -> None:
    account.on_start(lambda arn: account.set_status(arn, "Failed", "Step Train failed: out of memory"))
    with pytest.raises(BootstrapError, match=r"ended Failed: Step Train failed: out of memory; fix it and run"):
        account.run()
    assert account.no_pointer()


def test_a_run_that_registered_nothing_says_why(account: Account) -> None:
    """The first model must clear the spec's absolute threshold: below it the decision says so."""

    def decide(arn: str) -> None:
        decision = {"register": False, "code": "below_absolute_threshold", "reason": "pr_auc 0.21 < 0.3"}
        account.s3.put_object(
            Bucket=bucket_name(DEV, "Artifacts"),
            Key=decision_key(DEPLOYMENT.pipeline_name, arn.rsplit("/", 1)[-1]),
            Body=json.dumps(decision).encode(),
        )

    account.on_start(decide)
    with pytest.raises(BootstrapError, match=r"registered no model: below_absolute_threshold: pr_auc 0.21 < 0.3"):
        account.run()
    assert account.no_pointer()


def test_a_timeout_leaves_the_execution_running_and_the_same_command_resumes_it(account: Account) -> None:
    account.on_start(lambda arn: account.set_status(arn, "Executing"))
    with pytest.raises(BootstrapError, match=r"is still Executing after 600 s; run the same command again to resume"):
        account.run()
    (execution,) = account.executions()
    assert account.progress == [f"started {execution}"]
    described = account.sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution)
    assert described["PipelineExecutionDisplayName"] == DISPLAY_NAME

    with pytest.raises(BootstrapError, match="still Executing"):
        account.run()
    assert account.executions() == [execution]  # resumed, not started again
    assert account.progress[-1] == f"resuming {execution}"

    with pytest.raises(BootstrapError, match="still Executing"):
        account.run(restart=True)
    assert len(account.executions()) == 2  # --restart starts a new one


def test_a_failed_first_model_execution_is_not_resumed(account: Account) -> None:
    first = account.sagemaker.start_pipeline_execution(
        PipelineName=DEPLOYMENT.pipeline_name, PipelineExecutionDisplayName=DISPLAY_NAME
    )["PipelineExecutionArn"]
    account.set_status(first, "Failed", "Step Dataset failed")
    account.on_start(lambda arn: account.set_status(arn, "Executing"))
    with pytest.raises(BootstrapError, match="still Executing"):
        account.run()
    assert len(account.executions()) == 2
    assert account.progress[0].startswith("started ")


def test_an_existing_pointer_is_kept_without_starting_anything(account: Account) -> None:
    account.ssm.put_parameter(Name=DEPLOYMENT.serving_pointer_parameter, Value="arn:existing", Type="String")

    result = account.run()

    assert (result.created, result.model_package_arn) == (False, "arn:existing")
    assert account.executions() == []
