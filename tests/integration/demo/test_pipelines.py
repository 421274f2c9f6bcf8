"""A pipeline execution run by the emulator from the SYNTHESIZED dev definition, against the local run.

Given the local run's sample data written through the emulated Feature Store (online and offline) and its labels
under the labels table's location, an execution of the deployed pipeline runs the real steps (Dataset on the
emulated Athena, the scripts from the code bundle the CDK publishes as a file asset, the built-in XGBoost
emulation) and:

- writes the files the local run writes, with the same dataset and splits;
- registers a PendingManualApproval package with the Register step's metadata (no champion: first model);
- puts the Executing and Succeeded status-change events on EventBridge in the documented shape;
- with the labels shuffled and the first model as champion, ends Succeeded WITHOUT registering ("not better").
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from lambdas.shared.features import EVENT_TIME
from tests.integration.demo.conftest import LOOPBACK_ONLY
from tests.integration.demo.support import World, download_prefix, read_json
from tools.demo.emulators import athena, feature_store, pipelines

pytestmark = LOOPBACK_ONLY

GROUPS = {"transaction": "fraud-detection-dev-transaction", "customer-spend": "fraud-detection-dev-customer-spend"}


def window_start(local: Path) -> str:
    """The labels' window as the local run used it: the rows before it are the features' history."""
    return str(json.loads((local / "sample-data" / "summary.json").read_text())["window_start"])


def _as_text(value: Any) -> str:
    return str(value)


def ingest(world: World, local: Path, *, shuffle_labels: bool = False) -> None:
    """The local run's feature rows of its label window through PutRecord (then the offline flush), and its labels
    in S3.

    The sample data's history before the window (``SampleConfig.history_days``) is left out: it only fills the
    rolling features that the window's own rows already carry, and the dataset's as-of join takes, for every
    labelled event, the feature row of that same event, never an earlier one. The dataset is the same (the test
    checks it) for half the PutRecord calls and half the rows the emulated Athena joins.
    """
    aws = world.aws
    start = datetime.fromisoformat(window_start(local))
    for group, name in GROUPS.items():
        table = pq.read_table(local / "sample-data" / "feature_groups" / group)
        system = {"api_invocation_time", "write_time", "is_deleted"}
        for row in table.to_pylist():
            if datetime.fromisoformat(row[EVENT_TIME]) < start:
                continue
            record = [{"FeatureName": k, "ValueAsString": _as_text(v)} for k, v in row.items() if k not in system]
            feature_store.put_record(aws, FeatureGroupName=name, Record=record)
        assert feature_store.flush_offline(aws, name)
    put_labels(world, local, shuffle_labels=shuffle_labels)


def put_labels(world: World, local: Path, *, shuffle_labels: bool = False) -> None:
    """The local run's labels under the labels table's location (as the owner's label job would put them)."""
    aws = world.aws
    labels = pq.read_table(local / "sample-data" / "labels" / "labels.parquet")
    if shuffle_labels:
        column = labels.column("is_fraud").to_numpy().copy()
        np.random.default_rng(0).shuffle(column)
        labels = labels.set_column(labels.schema.get_field_index("is_fraud"), "is_fraud", [column])
    path = local.parent / ("labels-shuffled.parquet" if shuffle_labels else "labels.parquet")
    pq.write_table(labels, path)
    location = aws.client("glue").get_table(DatabaseName="mlops_dev_feature_store", Name="fraud_detection_dev_labels")
    bucket, _, prefix = location["Table"]["StorageDescriptor"]["Location"].removeprefix("s3://").partition("/")
    aws.client("s3").put_object(Bucket=bucket, Key=f"{prefix}labels.parquet", Body=path.read_bytes())


@pytest.fixture
def deployed(world: World) -> tuple[World, str]:
    world.create_pipeline()
    world.upload_code(("dev", "fraud-detection-training"))
    sqs, rules = world.aws.client("sqs"), world.aws.client("events")
    queue = sqs.create_queue(QueueName="pipeline-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rules.put_rule(
        Name="pipeline-status",
        EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": [pipelines.STATUS_CHANGE]}),
    )
    rules.put_targets(Rule="pipeline-status", Targets=[{"Id": "queue", "Arn": arn}])
    return world, queue


def received(world: World, queue: str) -> list[dict[str, Any]]:
    messages = world.aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_first_execution_matches_the_local_run_and_registers(
    deployed: tuple[World, str], local: Path, tmp_path: Path
) -> None:
    world, queue = deployed
    aws = world.aws
    ingest(world, local)

    described = pipelines.start_execution(
        aws,
        "fraud-detection-dev-training",
        {"WindowStart": window_start(local), "WindowEnd": ""},
        workdir=tmp_path / "jobs",
    )

    arn = described["PipelineExecutionArn"]
    assert described["PipelineExecutionStatus"] == "Succeeded", (
        pipelines.failure_reason(aws, arn),
        athena.last_failure,
    )
    steps = {s["StepName"]: s["StepStatus"] for s in pipelines.execution_steps(aws, arn)}
    assert steps == dict.fromkeys(
        ["Dataset", "Preprocess", "Train", "Score", "Evaluate", "Baseline", "Decide", "CheckCandidate", "Register"],
        "Succeeded",
    )
    execution_id = arn.rsplit("/", 1)[-1]
    run_prefix = f"s3://{world.bucket('artifacts')}/pipelines/fraud-detection-dev-training/{execution_id}"
    files = download_prefix(aws, run_prefix, tmp_path / "run")
    # The same files as the local run, in the pipeline's layout (the model under the training job's name).
    for expected in [
        "dataset/dataset.parquet",
        "dataset/summary.json",
        "preprocess/summary.json",
        "score/scores.csv",
        "evaluate/evaluation.json",
        "evaluate/predictions.csv",
        "decision/decision.json",
        "baseline/data-quality/statistics.json",
        "baseline/data-quality/constraints.json",
        "baseline/model-quality/statistics.json",
        "baseline/model-quality/constraints.json",
    ]:
        assert expected in files, (expected, files)
    assert any(f.startswith("train/") and f.endswith("/output/model.tar.gz") for f in files), files
    for split in ("train", "validation", "test", "baseline"):
        local_csv = sorted((local / "preprocess" / split).glob("*.csv"))
        assert local_csv, split
        for path in local_csv:
            assert (tmp_path / "run" / "preprocess" / split / path.name).read_bytes() == path.read_bytes(), path
    dataset = pq.read_table(tmp_path / "run" / "dataset" / "dataset.parquet")
    local_dataset = pq.read_table(local / "dataset" / "dataset.parquet").select(dataset.column_names)
    assert dataset.equals(local_dataset)
    assert read_json(aws, f"{run_prefix}/dataset/summary.json")["engine"] == "athena"

    (package,) = aws.client("sagemaker").list_model_packages(ModelPackageGroupName="fraud-detection-dev")[
        "ModelPackageSummaryList"
    ]
    detail = aws.client("sagemaker").describe_model_package(ModelPackageName=package["ModelPackageArn"])
    assert detail["ModelApprovalStatus"] == "PendingManualApproval"
    assert detail["MetadataProperties"]["GeneratedBy"] == f"fraud-detection-dev-training/{execution_id}"
    container = detail["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"].startswith(f"{run_prefix}/train/pipelines-{execution_id}-Train-")
    assert detail["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == f"{run_prefix}/evaluate/evaluation.json"
    decision = read_json(aws, f"{run_prefix}/decision/decision.json")
    assert decision["register"] is True, decision

    statuses = [
        (e["detail"]["currentPipelineExecutionStatus"], e["detail"].get("previousPipelineExecutionStatus"))
        for e in received(world, queue)
    ]
    assert statuses == [("Executing", None), ("Succeeded", "Executing")]


def test_shuffled_labels_end_not_better_without_registering(
    deployed: tuple[World, str], local: Path, tmp_path: Path
) -> None:
    world, queue = deployed
    aws = world.aws
    champion = local / "model" / "model.tar.gz"
    aws.client("s3").put_object(
        Bucket=world.bucket("artifacts"), Key="champion/model.tar.gz", Body=champion.read_bytes()
    )
    ingest(world, local, shuffle_labels=True)

    described = pipelines.start_execution(
        aws,
        "fraud-detection-dev-training",
        {
            "WindowStart": window_start(local),
            "WindowEnd": "",
            "ChampionModelUri": f"s3://{world.bucket('artifacts')}/champion/model.tar.gz",
        },
        workdir=tmp_path / "jobs",
    )

    arn = described["PipelineExecutionArn"]
    assert described["PipelineExecutionStatus"] == "Succeeded", (
        pipelines.failure_reason(aws, arn),
        athena.last_failure,
    )
    steps = {s["StepName"]: s["StepStatus"] for s in pipelines.execution_steps(aws, arn)}
    assert "Register" not in steps
    assert steps["CheckCandidate"] == "Succeeded"
    execution_id = arn.rsplit("/", 1)[-1]
    decision = read_json(
        aws,
        f"s3://{world.bucket('artifacts')}/pipelines/fraud-detection-dev-training/{execution_id}/decision/decision.json",
    )
    assert decision["register"] is False, decision
    packages = aws.client("sagemaker").list_model_packages(ModelPackageGroupName="fraud-detection-dev")
    assert packages["ModelPackageSummaryList"] == []
    final = received(world, queue)[-1]
    assert final["detail-type"] == pipelines.STATUS_CHANGE
    assert final["source"] == "aws.sagemaker"
    assert final["detail"]["currentPipelineExecutionStatus"] == "Succeeded"
    assert final["detail"]["pipelineExecutionArn"] == arn
    assert {"executionStartTime", "executionEndTime", "pipelineArn"} <= set(final["detail"])


def test_an_execution_started_without_parameters_uses_the_definitions_defaults(
    deployed: tuple[World, str], tmp_path: Path
) -> None:
    """SageMaker fills every parameter the request leaves out with its default; a parameter without one (the
    window) fails the execution with a reason naming it, not the emulator."""
    world, _ = deployed
    arn = world.aws.client("sagemaker").start_pipeline_execution(PipelineName="fraud-detection-dev-training")[
        "PipelineExecutionArn"
    ]

    described = pipelines.run_execution(world.aws, arn, workdir=tmp_path / "jobs")

    assert described["PipelineExecutionStatus"] == "Failed"
    reason = pipelines.failure_reason(world.aws, arn) or ""
    assert "WindowStart" in reason, reason
    assert "ChampionModelUri" not in reason, reason  # parameters with a default are not missing
