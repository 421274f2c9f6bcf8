"""The first model from the environment's own pipeline: ``bootstrap_serving --from-pipeline`` on the SYNTHESIZED dev
pipeline, run by the emulator on the local run's data in the feature store.

The execution is started by the bootstrap through SageMaker's API, reported ``Executing`` (as SageMaker does) and
run by the emulator while the bootstrap waits (its ``sleep``), so the package it adopts is the one the real Register
step created, with the real step's metadata and drift-check baselines.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from moto.sagemaker.utils import get_pipeline_execution_from_arn

from config import DEV, FRAUD_DETECTION, ApprovalMode, ModelDeployment
from tests.integration.demo.conftest import LOOPBACK_ONLY
from tests.integration.demo.support import World, download_prefix, read_json
from tests.integration.demo.test_backfill import GROUPS, EmulatedFeatureStore, history_source
from tests.integration.demo.test_pipelines import ingest, put_labels, window_start
from tools.aws_access import resolve_environment
from tools.backfill import backfill
from tools.bootstrap_serving import BootstrapError
from tools.demo.emulators import athena, feature_store, pipelines
from tools.demo.emulators.runtime import moto_backend
from tools.first_model import first_model
from tools.mlops_cli.registry import APPROVED, set_approval
from tools.mlops_cli.target import Target

pytestmark = LOOPBACK_ONLY
PIPELINE = "fraud-detection-dev-training"


class StartedExecutions:
    """SageMaker's client, except that an execution it starts reports ``Executing`` until the emulator runs it."""

    def __init__(self, world: World, workdir: Path) -> None:
        self._world = world
        self._client = world.aws.client("sagemaker")
        self._workdir = workdir
        self.started: list[str] = []
        self.pending: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def start_pipeline_execution(self, **request: Any) -> dict[str, Any]:
        response: dict[str, Any] = self._client.start_pipeline_execution(**request)
        arn = response["PipelineExecutionArn"]
        backend = moto_backend("sagemaker", self._world.aws.account, self._world.aws.region)
        get_pipeline_execution_from_arn(backend.pipelines, arn).pipeline_execution_status = "Executing"
        self.started.append(arn)
        self.pending.append(arn)
        return response

    def run_pending(self, _seconds: float) -> None:
        """Time passes: the started executions run to their end."""
        while self.pending:
            arn = self.pending.pop(0)
            described = pipelines.run_execution(self._world.aws, arn, workdir=self._workdir)
            assert described["PipelineExecutionStatus"] == "Succeeded", (
                pipelines.failure_reason(self._world.aws, arn),
                athena.last_failure,
            )


def deployment(approval: ApprovalMode) -> ModelDeployment:
    # The synthesized names carry config's dev account (the emulator answers for any account).
    env = resolve_environment("dev", environ={}, context={})
    return ModelDeployment(spec=FRAUD_DETECTION, env=dataclasses.replace(env, approval=approval))


def bootstrap(world: World, sagemaker: StartedExecutions, local: Path, target: ModelDeployment, **options: Any) -> Any:
    start = datetime.fromisoformat(window_start(local))
    clock = iter(range(0, 10_000, 60))
    messages: list[str] = options.pop("messages", [])
    return first_model(
        target,
        sagemaker=sagemaker,
        s3=world.aws.client("s3"),
        ssm=world.aws.client("ssm"),
        now=start + timedelta(days=31),
        window_start=start,
        sleep=sagemaker.run_pending,
        clock=lambda: float(next(clock)),
        progress=messages.append,
        **options,
    )


@pytest.fixture
def deployed(world: World) -> World:
    world.create_pipeline()
    world.upload_code(("dev", "fraud-detection-training"))
    return world


def test_the_first_model_is_the_pipelines_package_approved_with_its_baselines_published(
    deployed: World, local: Path, tmp_path: Path
) -> None:
    world = deployed
    ingest(world, local)
    sagemaker = StartedExecutions(world, tmp_path / "jobs")
    target = deployment(ApprovalMode.AUTO)

    result = bootstrap(world, sagemaker, local, target)

    (execution,) = sagemaker.started
    execution_id = execution.rsplit("/", 1)[-1]
    ssm, registry = world.aws.client("ssm"), world.aws.client("sagemaker")
    assert result.created
    assert ssm.get_parameter(Name=target.serving_pointer_parameter)["Parameter"]["Value"] == result.model_package_arn
    package = registry.describe_model_package(ModelPackageName=result.model_package_arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["MetadataProperties"]["GeneratedBy"] == f"{PIPELINE}/{execution_id}"
    parameters = {
        p["Name"]: p["Value"]
        for p in registry.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)["PipelineParameters"]
    }
    assert parameters["ChampionModelUri"] == ""  # no champion: the absolute threshold alone decided
    assert parameters["WindowStart"] == window_start(local).replace("+00:00", "Z")
    run = f"s3://{world.bucket('artifacts')}/pipelines/{PIPELINE}/{execution_id}"
    assert read_json(world.aws, f"{run}/decision/decision.json")["register"] is True
    current = f"s3://{world.bucket('artifacts')}/baselines/fraud-detection/current"
    assert read_json(world.aws, f"{current}/data-quality/constraints.json") == read_json(
        world.aws, f"{run}/baseline/data-quality/constraints.json"
    )

    again = bootstrap(world, sagemaker, local, target)
    assert (again.created, again.model_package_arn, len(sagemaker.started)) == (False, result.model_package_arn, 1)


def test_with_manual_approval_it_waits_for_the_owner_and_resumes_the_same_execution(
    deployed: World, local: Path, tmp_path: Path
) -> None:
    world = deployed
    ingest(world, local)
    sagemaker = StartedExecutions(world, tmp_path / "jobs")
    target = deployment(ApprovalMode.MANUAL)
    messages: list[str] = []

    with pytest.raises(BootstrapError, match=r"is still PendingManualApproval; approve it \(python -m tools.mlops_cli"):
        bootstrap(world, sagemaker, local, target, approval_timeout_seconds=120, messages=messages)

    (execution,) = sagemaker.started
    (package,) = world.aws.client("sagemaker").list_model_packages(ModelPackageGroupName="fraud-detection-dev")[
        "ModelPackageSummaryList"
    ]
    assert package["ModelApprovalStatus"] == "PendingManualApproval"  # the bootstrap did not approve it
    assert any("waits for the owner's approval" in m for m in messages), messages
    with pytest.raises(world.aws.client("ssm").exceptions.ParameterNotFound):
        world.aws.client("ssm").get_parameter(Name=target.serving_pointer_parameter)

    # The owner approves with the on-call CLI's own logic; the same command again resumes and finishes.
    set_approval(
        Target.of(target),
        sagemaker=world.aws.client("sagemaker"),
        ssm=world.aws.client("ssm"),
        package="latest",
        approval=APPROVED,
        note="first model reviewed",
        requested_by="owner",
    )
    result = bootstrap(world, sagemaker, local, target, messages=messages)

    assert sagemaker.started == [execution]  # resumed, not retrained
    assert result.model_package_arn == package["ModelPackageArn"]
    assert any(m == f"resuming {execution}" for m in messages), messages


def test_a_history_backfilled_twice_trains_the_local_runs_dataset_into_the_first_model(
    deployed: World, local: Path, tmp_path: Path
) -> None:
    """The deploy order a user follows: backfill the raw history (here twice: every record is in the offline store
    two times), labels, then the first model. The dataset the pipeline joins is the local run's, row for row."""
    world = deployed
    store = EmulatedFeatureStore(world.aws)
    source = history_source(world, local)
    for force in (False, True):
        backfill(
            ModelDeployment(spec=FRAUD_DETECTION, env=DEV),
            source=source,
            s3=world.aws.client("s3"),
            featurestore=store,
            workdir=tmp_path,
            workers=4,
            force=force,
        )
    for name in GROUPS.values():
        assert feature_store.flush_offline(world.aws, name)
    put_labels(world, local)
    sagemaker = StartedExecutions(world, tmp_path / "jobs")

    result = bootstrap(world, sagemaker, local, deployment(ApprovalMode.AUTO))

    (execution,) = sagemaker.started
    run = f"s3://{world.bucket('artifacts')}/pipelines/{PIPELINE}/{execution.rsplit('/', 1)[-1]}"
    download_prefix(world.aws, f"{run}/dataset", tmp_path / "dataset")
    dataset = pq.read_table(tmp_path / "dataset" / "dataset.parquet")
    assert dataset.equals(pq.read_table(local / "dataset" / "dataset.parquet").select(dataset.column_names))
    package = world.aws.client("sagemaker").describe_model_package(ModelPackageName=result.model_package_arn)
    assert package["ModelApprovalStatus"] == "Approved"
