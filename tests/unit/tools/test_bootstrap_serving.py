"""The first serving model of a new environment: registered Approved and pointed to, never overwritten."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from config import DEV, FRAUD_DETECTION, ApprovalMode, ModelDeployment
from config.naming import bucket_name
from tests.support.baselines import baseline_step_outputs
from tests.support.specs import CHURN
from tests.support.trained import train_run
from tools.bootstrap_serving import BootstrapError, adopt, bootstrap, main, xgboost_image_uri
from tools.first_model import DEFAULT_WINDOW_DAYS

DEPLOYMENT = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture
def clients() -> Iterator[dict[str, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket_name(DEV, "Artifacts"))
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_model_package_group(ModelPackageGroupName=DEPLOYMENT.model_package_group_name)
        yield {"s3": s3, "sagemaker": sagemaker, "ssm": boto3.client("ssm", region_name="us-east-1")}


@pytest.fixture(scope="module")
def fraud_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_run(FRAUD_DETECTION, tmp_path_factory.mktemp("fraud-run"))


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_run(CHURN, tmp_path_factory.mktemp("churn-run"))


@pytest.fixture
def artifact(fraud_run: Path) -> Path:
    return fraud_run / "model" / "model.tar.gz"


@pytest.fixture(scope="module")
def step_baselines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the pipeline's Baseline step writes (the real step, on generated rows)."""
    return baseline_step_outputs(tmp_path_factory.mktemp("baseline-step"))


@pytest.fixture
def baselines(step_baselines: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(step_baselines, tmp_path / "baselines"))


def test_bootstrap_registers_an_approved_package_and_writes_the_pointer(
    clients: dict[str, Any], artifact: Path, baselines: Path
) -> None:
    result = bootstrap(DEPLOYMENT, artifact=artifact, baselines=baselines, image_uri=IMAGE, **clients)

    assert result.created
    pointer = clients["ssm"].get_parameter(Name=DEPLOYMENT.serving_pointer_parameter)["Parameter"]["Value"]
    assert pointer == result.model_package_arn
    package = clients["sagemaker"].describe_model_package(ModelPackageName=pointer)
    assert package["ModelApprovalStatus"] == "Approved"
    # Labelled in the registry: whoever lists the group sees this model was not trained on the account's data.
    assert package["ModelPackageDescription"].startswith("Local demo artifact: trained on this machine")
    assert package["CustomerMetadataProperties"]["mlops:source"] == "local demo artifact"
    container = package["InferenceSpecification"]["Containers"][0]
    # Under the registered-artifacts prefix, where every role that reads a registered package is granted.
    key = "pipelines/fraud-detection-dev-training/bootstrap/model.tar.gz"
    assert container["ModelDataUrl"] == f"s3://{bucket_name(DEV, 'Artifacts')}/{key}"
    uploaded = clients["s3"].get_object(Bucket=bucket_name(DEV, "Artifacts"), Key=key)
    assert uploaded["Body"].read() == artifact.read_bytes()
    drift = package["DriftCheckBaselines"]
    assert drift["ModelQuality"]["Constraints"]["S3Uri"].endswith(
        "pipelines/fraud-detection-dev-training/bootstrap/baselines/model-quality/constraints.json"
    )
    current = clients["s3"].get_object(
        Bucket=bucket_name(DEV, "Artifacts"), Key="baselines/fraud-detection/current/data-quality/statistics.json"
    )
    assert current["Body"].read() == (baselines / "data-quality" / "statistics.json").read_bytes()


def test_a_baseline_that_is_not_the_models_is_refused_before_anything_is_written(
    clients: dict[str, Any], artifact: Path, baselines: Path
) -> None:
    """A baseline from before the baseline step typed categoricals from the spec and added the prediction."""
    path = baselines / "data-quality" / "statistics.json"
    statistics = json.loads(path.read_text())
    statistics["features"] = [f for f in statistics["features"] if f["name"] != "prediction"]
    path.write_text(json.dumps(statistics))

    with pytest.raises(BootstrapError, match=r"not fraud-detection's: Column 'prediction' is monitored but not in"):
        bootstrap(DEPLOYMENT, artifact=artifact, baselines=baselines, image_uri=IMAGE, **clients)
    with pytest.raises(clients["ssm"].exceptions.ParameterNotFound):
        clients["ssm"].get_parameter(Name=DEPLOYMENT.serving_pointer_parameter)


def test_missing_baselines_are_a_clear_error(clients: dict[str, Any], artifact: Path, tmp_path: Path) -> None:
    with pytest.raises(BootstrapError, match=r"baselines .* are missing"):
        bootstrap(DEPLOYMENT, artifact=artifact, baselines=tmp_path / "none", image_uri=IMAGE, **clients)


def test_an_existing_pointer_is_kept_unless_forced(clients: dict[str, Any], artifact: Path, baselines: Path) -> None:
    first = bootstrap(DEPLOYMENT, artifact=artifact, baselines=baselines, image_uri=IMAGE, **clients)
    again = bootstrap(DEPLOYMENT, artifact=artifact, baselines=baselines, image_uri=IMAGE, **clients)
    assert (again.created, again.model_package_arn) == (False, first.model_package_arn)
    forced = bootstrap(DEPLOYMENT, artifact=artifact, baselines=baselines, image_uri=IMAGE, force=True, **clients)
    assert forced.created
    assert forced.model_package_arn != first.model_package_arn


def test_a_missing_artifact_is_a_clear_error_and_writes_nothing(clients: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(BootstrapError, match="make pipeline-local"):
        bootstrap(DEPLOYMENT, artifact=tmp_path / "missing.tar.gz", baselines=tmp_path, image_uri=IMAGE, **clients)
    with pytest.raises(clients["ssm"].exceptions.ParameterNotFound):
        clients["ssm"].get_parameter(Name=DEPLOYMENT.serving_pointer_parameter)


def test_another_models_artifact_is_refused_and_writes_nothing(
    clients: dict[str, Any], churn_run: Path, baselines: Path
) -> None:
    with pytest.raises(BootstrapError, match=r"is not a 'fraud-detection' model: it was trained on 3 features"):
        bootstrap(
            DEPLOYMENT, artifact=churn_run / "model" / "model.tar.gz", baselines=baselines, image_uri=IMAGE, **clients
        )
    with pytest.raises(clients["ssm"].exceptions.ParameterNotFound):
        clients["ssm"].get_parameter(Name=DEPLOYMENT.serving_pointer_parameter)
    assert (
        clients["sagemaker"].list_model_packages(ModelPackageGroupName=DEPLOYMENT.model_package_group_name)[
            "ModelPackageSummaryList"
        ]
        == []
    )


def test_an_artifact_whose_booster_takes_other_inputs_is_refused(
    clients: dict[str, Any], fraud_run: Path, churn_run: Path, baselines: Path
) -> None:
    # The fraud run's evaluation (the right feature list) beside the churn run's 3-input booster.
    with pytest.raises(BootstrapError, match=r"takes 3 inputs, not the 12 features of 'fraud-detection'"):
        bootstrap(
            DEPLOYMENT,
            artifact=churn_run / "model" / "model.tar.gz",
            evaluation=fraud_run / "evaluation" / "evaluation.json",
            baselines=baselines,
            image_uri=IMAGE,
            **clients,
        )


def test_an_artifact_without_its_runs_evaluation_is_refused(clients: dict[str, Any], tmp_path: Path) -> None:
    artifact = tmp_path / "model" / "model.tar.gz"
    artifact.parent.mkdir()
    artifact.write_bytes(b"bytes from somewhere")
    with pytest.raises(BootstrapError, match=r"evaluation\.json does not exist: .* pass --evaluation"):
        bootstrap(DEPLOYMENT, artifact=artifact, baselines=tmp_path, image_uri=IMAGE, **clients)


def test_the_command_refuses_another_models_artifact_in_one_line_with_exit_code_1(
    churn_run: Path, baselines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--env", "dev", "--model", "fraud-detection", "--artifact", str(churn_run / "model" / "model.tar.gz")]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--baselines", str(baselines)])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("bootstrap_serving: model artifact ")
    assert "is not a 'fraud-detection' model" in line
    assert "Traceback" not in captured.err


def test_a_local_artifact_is_refused_where_approval_is_manual_unless_forced(
    clients: dict[str, Any], artifact: Path, baselines: Path
) -> None:
    prod_like = ModelDeployment(spec=FRAUD_DETECTION, env=dataclasses.replace(DEV, approval=ApprovalMode.MANUAL))
    with pytest.raises(BootstrapError, match=r"dev approves models manually: .* \(--from-pipeline\), not from a local"):
        bootstrap(prod_like, artifact=artifact, baselines=baselines, image_uri=IMAGE, **clients)
    assert not clients["sagemaker"].list_model_packages(ModelPackageGroupName=DEPLOYMENT.model_package_group_name)[
        "ModelPackageSummaryList"
    ]

    forced = bootstrap(prod_like, artifact=artifact, baselines=baselines, image_uri=IMAGE, force_demo=True, **clients)

    package = clients["sagemaker"].describe_model_package(ModelPackageName=forced.model_package_arn)
    assert package["CustomerMetadataProperties"]["mlops:source"] == "local demo artifact"


def test_the_command_refuses_a_local_artifact_in_prod_before_reaching_aws(
    artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--env", "prod", "--model", "fraud-detection", "--artifact", str(artifact)])
    assert exit_info.value.code == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("bootstrap_serving: prod approves models manually")
    assert line.endswith("(pass --force-demo to register one anyway)")


def test_the_first_models_window_is_the_retraining_loops() -> None:
    from mlops_constructs.retraining_loop import TRAINING_WINDOW_DAYS  # noqa: PLC0415 - imports the CDK

    assert DEFAULT_WINDOW_DAYS == TRAINING_WINDOW_DAYS


def test_image_uri_is_resolved_offline_for_the_region() -> None:
    assert xgboost_image_uri("us-east-1") == IMAGE


def pipeline_package(clients: dict[str, Any], *, group: str = DEPLOYMENT.model_package_group_name) -> str:
    """A pending package with drift-check baselines in the artifacts bucket (what a pipeline execution registers;
    the demo's story adopts the real pipeline's package end to end)."""
    bucket = bucket_name(DEV, "Artifacts")
    baselines: dict[str, dict[str, dict[str, str]]] = {}
    for section, kind, name in (
        ("ModelDataQuality", "Statistics", "data-quality/statistics.json"),
        ("ModelDataQuality", "Constraints", "data-quality/constraints.json"),
        ("ModelQuality", "Constraints", "model-quality/constraints.json"),
    ):
        clients["s3"].put_object(Bucket=bucket, Key=f"pipelines/run/baseline/{name}", Body=json.dumps({"run": name}))
        baselines.setdefault(section, {})[kind] = {
            "ContentType": "application/json",
            "S3Uri": f"s3://{bucket}/pipelines/run/baseline/{name}",
        }
    if group != DEPLOYMENT.model_package_group_name:
        clients["sagemaker"].create_model_package_group(ModelPackageGroupName=group)
    return str(
        clients["sagemaker"].create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/pipelines/run/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="PendingManualApproval",
            DriftCheckBaselines=baselines,
        )["ModelPackageArn"]
    )


def test_adopting_a_pipeline_package_approves_it_publishes_its_baselines_and_points_to_it(
    clients: dict[str, Any],
) -> None:
    package = pipeline_package(clients)
    result = adopt(DEPLOYMENT, package_arn=package, **clients)
    assert (result.created, result.model_package_arn) == (True, package)
    assert clients["ssm"].get_parameter(Name=DEPLOYMENT.serving_pointer_parameter)["Parameter"]["Value"] == package
    assert clients["sagemaker"].describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "Approved"
    current = clients["s3"].get_object(
        Bucket=bucket_name(DEV, "Artifacts"), Key="baselines/fraud-detection/current/model-quality/constraints.json"
    )
    assert json.loads(current["Body"].read()) == {"run": "model-quality/constraints.json"}
    again = adopt(DEPLOYMENT, package_arn=pipeline_package(clients), **clients)
    assert (again.created, again.model_package_arn) == (False, package)  # an existing pointer is kept


def test_adopting_a_package_of_another_group_is_refused_and_writes_nothing(clients: dict[str, Any]) -> None:
    package = pipeline_package(clients, group="someone-else")
    with pytest.raises(BootstrapError, match="not 'fraud-detection-dev'"):
        adopt(DEPLOYMENT, package_arn=package, **clients)
    with pytest.raises(clients["ssm"].exceptions.ParameterNotFound):
        clients["ssm"].get_parameter(Name=DEPLOYMENT.serving_pointer_parameter)
