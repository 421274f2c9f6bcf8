"""The first serving model trained by the environment's own deployed pipeline, on the environment's own data.

``python -m tools.bootstrap_serving --env ENV --model NAME --from-pipeline`` (after the platform and training
stacks are deployed and the feature groups hold the history: ``python -m tools.backfill``) runs
``first_model``:

1. **start or resume**: the newest execution of the model's pipeline named ``first-model`` (its display name)
   that is still running or has succeeded is resumed; otherwise one is started over the training window (the
   last ``window_days`` days, or ``window_start``) with no champion (``ChampionModelUri`` empty), so the
   pipeline's gate applies its absolute threshold only. ``restart`` starts a new one regardless;
2. **wait** for the execution to end (polling; a timeout stops with one line saying to run the same command
   again, which resumes it);
3. **the registered package**: the execution's ``decision.json`` must say it registered a candidate (a model
   below the absolute threshold is refused with the decision's reason), and the package is the one the
   execution created (``lambdas.retraining.registry.find_candidate``, as the retraining loop finds it);
4. **approval**: in an environment with automatic approval the package is approved here; with manual approval
   (prod) the owner approves it with ``python -m tools.mlops_cli approve --package ARN`` and this waits for it
   (``approval_timeout_seconds``; running the command again resumes the wait). A rejected package stops it;
5. **the pointer**: ``bootstrap_serving.adopt`` publishes the package's drift-check baselines to the current
   prefix the monitors read and writes the serving pointer. Then the serving stack can be deployed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from config import ApprovalMode, ModelDeployment
from config.naming import bucket_name
from lambdas.retraining.check_registration import decision_key
from lambdas.retraining.events import format_window_time, split_pipeline_execution_arn
from lambdas.retraining.registry import APPROVED, PENDING, REJECTED, SUCCEEDED, TERMINAL, find_candidate
from lambdas.retraining.start_pipeline import ABSOLUTE_THRESHOLD, CHAMPION_MODEL_URI, WINDOW_END, WINDOW_START
from tools.bootstrap_serving import BootstrapError, BootstrapResult, adopt, current_pointer

DISPLAY_NAME = "first-model"
# The retraining loop's training window (mlops_constructs.retraining_loop.TRAINING_WINDOW_DAYS; a test keeps
# the two equal): the first model learns from the same span of history its successors will.
DEFAULT_WINDOW_DAYS = 90
RUNNING = ("Executing", "Stopping")


def first_model(
    deployment: ModelDeployment,
    *,
    sagemaker: Any,
    s3: Any,
    ssm: Any,
    now: datetime,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    progress: Callable[[str], None],
    window_days: int = DEFAULT_WINDOW_DAYS,
    window_start: datetime | None = None,
    poll_seconds: float = 60.0,
    timeout_seconds: float = 6 * 3600,
    approval_timeout_seconds: float = 0.0,
    restart: bool = False,
    force: bool = False,
) -> BootstrapResult:
    """Train, register, approve and point to the environment's first model (steps in the module docstring)."""
    pointer = deployment.serving_pointer_parameter
    existing = None if force else current_pointer(ssm, pointer)
    if existing:
        return BootstrapResult(model_package_arn=existing, pointer_parameter=pointer, created=False)
    execution = None if restart else resumable_execution(sagemaker, deployment.pipeline_name)
    if execution is None:
        execution = start(
            deployment, sagemaker=sagemaker, start=window_start or now - timedelta(days=window_days), end=now
        )
        progress(f"started {execution}")
    else:
        progress(f"resuming {execution}")
    described = wait_for(
        sagemaker, execution, sleep=sleep, clock=clock, poll_seconds=poll_seconds, timeout=timeout_seconds
    )
    package = registered_package(deployment, sagemaker=sagemaker, s3=s3, execution=execution, described=described)
    approve_or_wait(
        deployment,
        sagemaker=sagemaker,
        package_arn=package,
        sleep=sleep,
        clock=clock,
        progress=progress,
        poll_seconds=poll_seconds,
        timeout=approval_timeout_seconds,
    )
    return adopt(deployment, package_arn=package, s3=s3, sagemaker=sagemaker, ssm=ssm, force=force)


def start(deployment: ModelDeployment, *, sagemaker: Any, start: datetime, end: datetime) -> str:
    """StartPipelineExecution of the first model: the window, no champion, the spec's absolute threshold."""
    response = sagemaker.start_pipeline_execution(
        PipelineName=deployment.pipeline_name,
        PipelineExecutionDisplayName=DISPLAY_NAME,
        PipelineExecutionDescription=(
            f"first model of {deployment.prefix} (tools.bootstrap_serving --from-pipeline): no champion, "
            f"absolute threshold {deployment.spec.absolute_threshold} only"
        ),
        PipelineParameters=[
            {"Name": WINDOW_START, "Value": format_window_time(start)},
            {"Name": WINDOW_END, "Value": format_window_time(end)},
            {"Name": CHAMPION_MODEL_URI, "Value": ""},
            {"Name": ABSOLUTE_THRESHOLD, "Value": str(deployment.spec.absolute_threshold)},
        ],
    )
    return str(response["PipelineExecutionArn"])


def resumable_execution(sagemaker: Any, pipeline_name: str) -> str | None:
    """The newest ``first-model`` execution if it is running or succeeded (a failed one is not resumed)."""
    request: dict[str, Any] = {"PipelineName": pipeline_name, "SortBy": "CreationTime", "SortOrder": "Descending"}
    mine: list[dict[str, Any]] = []
    while True:
        try:
            response = sagemaker.list_pipeline_executions(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("ResourceNotFound", "ValidationException"):
                raise BootstrapError(
                    f"pipeline {pipeline_name} does not exist in this account and region: deploy the training "
                    "stack first"
                ) from None
            raise
        summaries = response.get("PipelineExecutionSummaries", [])
        mine += [s for s in summaries if s.get("PipelineExecutionDisplayName") == DISPLAY_NAME]
        token = response.get("NextToken")
        if not token:
            break
        request["NextToken"] = token
    if not mine:
        return None
    newest = max(mine, key=lambda s: s["StartTime"])
    return (
        str(newest["PipelineExecutionArn"]) if newest.get("PipelineExecutionStatus") in (*RUNNING, SUCCEEDED) else None
    )


def wait_for(
    sagemaker: Any,
    execution: str,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    poll_seconds: float,
    timeout: float,
) -> dict[str, Any]:
    """DescribePipelineExecution once it has ended Succeeded; one line naming why otherwise."""
    deadline = clock() + timeout
    while True:
        described: dict[str, Any] = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution)
        status = described.get("PipelineExecutionStatus")
        if status == SUCCEEDED:
            return described
        if status in TERMINAL:
            reason = described.get("FailureReason") or "SageMaker gave no failure reason"
            raise BootstrapError(
                f"pipeline execution {execution} ended {status}: {reason}; fix it and run the command again "
                "(a new execution starts)"
            )
        if clock() >= deadline:
            raise BootstrapError(
                f"pipeline execution {execution} is still {status} after {timeout:.0f} s; run the same command "
                "again to resume waiting"
            )
        sleep(poll_seconds)


def registered_package(
    deployment: ModelDeployment, *, sagemaker: Any, s3: Any, execution: str, described: dict[str, Any]
) -> str:
    """The package the execution registered; refused with the decision's reason if it registered none."""
    pipeline_name, execution_id = split_pipeline_execution_arn(execution)
    bucket = bucket_name(deployment.env, "Artifacts")
    key = decision_key(pipeline_name, execution_id)
    try:
        decision = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        raise BootstrapError(
            f"pipeline execution {execution} succeeded but s3://{bucket}/{key} cannot be read: {error}"
        ) from None
    except ValueError:
        raise BootstrapError(f"s3://{bucket}/{key} is not JSON") from None
    if not decision.get("register"):
        raise BootstrapError(
            f"the first run registered no model: {decision.get('code')}: {decision.get('reason')} (more history "
            "through the backfill, or the spec's absolute_threshold, decides it)"
        )
    created = described.get("CreationTime")
    if not isinstance(created, datetime):
        raise BootstrapError(f"pipeline execution {execution} has no CreationTime; cannot find its model package")
    package = find_candidate(
        sagemaker,
        group=deployment.model_package_group_name,
        pipeline_name=pipeline_name,
        execution_id=execution_id,
        execution_arn=execution,
        started=created,
    )
    if package is None:
        raise BootstrapError(
            f"decision.json of {execution} says register, but no package in {deployment.model_package_group_name} "
            "was created by it"
        )
    return package


def approve_or_wait(
    deployment: ModelDeployment,
    *,
    sagemaker: Any,
    package_arn: str,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    progress: Callable[[str], None],
    poll_seconds: float,
    timeout: float,
) -> None:
    """Approve it (automatic approval) or wait for the owner's approval (manual: prod)."""
    status = sagemaker.describe_model_package(ModelPackageName=package_arn).get("ModelApprovalStatus")
    if status == REJECTED:
        raise BootstrapError(f"model package {package_arn} was rejected; pass --restart to train a new first model")
    if status == APPROVED:
        return
    if deployment.env.approval is ApprovalMode.AUTO:
        sagemaker.update_model_package(
            ModelPackageArn=package_arn,
            ModelApprovalStatus=APPROVED,
            ApprovalDescription="First model of the environment, trained by its pipeline (automatic approval)",
        )
        return
    command = (
        f"python -m tools.mlops_cli approve --env {deployment.env.name} --model {deployment.spec.name} "
        f"--package {package_arn}"
    )
    progress(f"{package_arn} waits for the owner's approval: {command}")
    deadline = clock() + timeout
    while status == PENDING:
        if clock() >= deadline:
            raise BootstrapError(
                f"model package {package_arn} is still {PENDING}; approve it ({command}) and run this command "
                "again to finish"
            )
        sleep(poll_seconds)
        status = sagemaker.describe_model_package(ModelPackageName=package_arn).get("ModelApprovalStatus")
    if status != APPROVED:
        raise BootstrapError(f"model package {package_arn} was {status}; pass --restart to train a new first model")
