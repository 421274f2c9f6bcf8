"""Give a new environment its first serving model, so the serving stack never deploys on an empty pointer.

The serving stack reads the model package ARN from the environment's serving pointer (SSM) at deploy time.
On a fresh environment nothing has been trained yet, so this command registers a bootstrap model package
from a model artifact (by default the local pipeline run's, ``make pipeline-local``) and writes the pointer:

    make pipeline-local
    npx cdk deploy 'dev/platform'
    .venv/bin/python -m tools.bootstrap_serving --env dev --model fraud-detection
    npx cdk deploy 'dev/*'

The artifact must be this model's: the evaluation of its run (``evaluation.json``, by default in the run's
``evaluation/`` folder beside ``model/``) records the feature list it was trained on, which must be the spec's,
and the booster must take that many inputs; otherwise the command refuses with one line and exit code 1.

The package is registered Approved with metadata ``mlops:source=bootstrap`` and the local run's monitoring
baselines as its drift-check baselines, which are also published to the current-baseline prefix the monitors
read; the first retraining replaces it through the normal gate. An existing pointer is never overwritten
unless ``--force`` is given.

The account and region are the app's (``config/`` with the CDK context in ``cdk.json`` and the
``MLOPS_<ENV>_ACCOUNT`` / ``MLOPS_<ENV>_REGION`` overrides) unless ``--account`` / ``--region`` are given;
``--profile`` picks the credentials, which must be for that account. Without credentials, or on an AWS error,
the command prints one line and exits 1 (``tools.aws_access``).

``--package ARN`` adopts a package the deployed training pipeline registered instead (its first execution, on
the environment's own data): it is approved if it is pending, its drift-check baselines are published to the
current-baseline prefix as promotion publishes them, and the pointer names it.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import ENVIRONMENTS, MODELS, ModelDeployment, ModelSpec
from config.naming import bucket_name
from lambdas.deployment.baselines import publish_current_baselines
from mlops_constructs.monitoring_common import current_baseline_prefix
from monitor_stats.baseline import column_mismatches, load_baseline
from monitor_stats.columns import spec_columns
from monitor_stats.errors import BaselineError
from pipeline_defs.scripts.common import StepInputError
from pipeline_defs.scripts.score import load_model
from tools.aws_access import add_account_arguments, check_account, one_line_aws_errors, resolve_environment, session_for

DEFAULT_ARTIFACT = Path("build/pipeline-local/model/model.tar.gz")
DEFAULT_BASELINES = Path("build/pipeline-local/baselines")
# (DriftCheckBaselines section, kind, file under the baselines folder and the current-baseline prefix)
BASELINE_FILES = (
    ("ModelDataQuality", "Statistics", "data-quality/statistics.json"),
    ("ModelDataQuality", "Constraints", "data-quality/constraints.json"),
    ("ModelQuality", "Constraints", "model-quality/constraints.json"),
)


class BootstrapError(RuntimeError):
    """The bootstrap cannot proceed; the message says what is missing."""


@dataclass(frozen=True)
class BootstrapResult:
    model_package_arn: str
    pointer_parameter: str
    created: bool


def xgboost_image_uri(region: str) -> str:
    """The built-in XGBoost 1.7-1 image for ``region``, from the SageMaker SDK's bundled table (offline)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    from sagemaker.core import image_uris  # noqa: PLC0415 - heavy, synth-time only

    uri: str = image_uris.retrieve(framework="xgboost", region=region, version="1.7-1")
    return uri


def evaluation_of(artifact: Path) -> Path:
    """Where a local pipeline run keeps the evaluation of the model in ``<run>/model/model.tar.gz``."""
    return artifact.parent.parent / "evaluation" / "evaluation.json"


def check_artifact(spec: ModelSpec, *, artifact: Path, evaluation: Path) -> None:
    """Refuse an artifact that is not ``spec``'s model: its run's recorded feature list must be the spec's."""
    if not artifact.is_file():
        raise BootstrapError(f"model artifact {artifact} does not exist; run `make pipeline-local` first")
    if not evaluation.is_file():
        raise BootstrapError(
            f"{evaluation} does not exist: the evaluation of the artifact's run records the features it was "
            "trained on; pass --evaluation"
        )
    try:
        recorded = json.loads(evaluation.read_text(encoding="utf-8"))["model_input"]["feature_names"]
    except (ValueError, KeyError, TypeError):
        raise BootstrapError(
            f"{evaluation} records no feature list (model_input.feature_names): run `make pipeline-local` again"
        ) from None
    expected = list(spec.feature_names)
    if recorded != expected:
        raise BootstrapError(
            f"model artifact {artifact} is not a '{spec.name}' model: it was trained on {len(recorded)} features "
            f"{recorded}, the spec's are {len(expected)} {expected}"
        )
    try:
        inputs = load_model(artifact, "model artifact").num_features()
    except StepInputError as error:
        raise BootstrapError(str(error)) from None
    if inputs != len(expected):
        raise BootstrapError(
            f"model artifact {artifact} takes {inputs} inputs, not the {len(expected)} features of '{spec.name}'"
        )


def _current(ssm: Any, pointer: str) -> str | None:
    try:
        value: str = ssm.get_parameter(Name=pointer)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    return value or None


def _point(ssm: Any, deployment: ModelDeployment, package_arn: str) -> BootstrapResult:
    pointer = deployment.serving_pointer_parameter
    ssm.put_parameter(
        Name=pointer,
        Value=package_arn,
        Type="String",
        Overwrite=True,
        Description=f"Model package serving {deployment.prefix} (written by promote/rollback)",
    )
    return BootstrapResult(model_package_arn=package_arn, pointer_parameter=pointer, created=True)


def bootstrap(
    deployment: ModelDeployment,
    *,
    artifact: Path,
    baselines: Path,
    image_uri: str,
    s3: Any,
    sagemaker: Any,
    ssm: Any,
    force: bool = False,
    evaluation: Path | None = None,
) -> BootstrapResult:
    """Register ``artifact`` (checked to be the model's, ``evaluation`` defaulting to its run's) and point to it."""
    check_artifact(deployment.spec, artifact=artifact, evaluation=evaluation or evaluation_of(artifact))
    pointer = deployment.serving_pointer_parameter
    current = None if force else _current(ssm, pointer)
    if current:
        return BootstrapResult(model_package_arn=current, pointer_parameter=pointer, created=False)
    missing = [name for *_, name in BASELINE_FILES if not (baselines / name).is_file()]
    if missing:
        raise BootstrapError(f"baselines {missing} are missing under {baselines}; run `make pipeline-local` first")
    check_data_quality_baseline(deployment, baselines / "data-quality")
    bucket = bucket_name(deployment.env, "Artifacts")
    # Under the registered-artifacts prefix, like a pipeline execution's files: every role that reads a
    # registered package (the pipeline's champion download, the serving model, promote, rollback) can read it.
    prefix = deployment.bootstrap_artifacts_prefix
    key = f"{prefix}/model.tar.gz"
    s3.upload_file(str(artifact), bucket, key)
    drift_check: dict[str, dict[str, dict[str, str]]] = {}
    for section, kind, name in BASELINE_FILES:
        baseline_key = f"{prefix}/baselines/{name}"
        s3.upload_file(str(baselines / name), bucket, baseline_key)
        # Monitoring reads the serving model's baselines from the current prefix (promotion keeps it so).
        s3.upload_file(str(baselines / name), bucket, f"{current_baseline_prefix(deployment)}/{name}")
        drift_check.setdefault(section, {})[kind] = {
            "ContentType": "application/json",
            "S3Uri": f"s3://{bucket}/{baseline_key}",
        }
    package = sagemaker.create_model_package(
        ModelPackageGroupName=deployment.model_package_group_name,
        ModelPackageDescription="Bootstrap model: the first serving model of a new environment",
        InferenceSpecification={
            "Containers": [{"Image": image_uri, "ModelDataUrl": f"s3://{bucket}/{key}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": [deployment.env.endpoint.instance_type],
        },
        ModelApprovalStatus="Approved",
        DriftCheckBaselines=drift_check,
        CustomerMetadataProperties={"mlops:source": "bootstrap", "mlops:owner": deployment.spec.owner.email},
    )
    return _point(ssm, deployment, str(package["ModelPackageArn"]))


def adopt(
    deployment: ModelDeployment, *, package_arn: str, s3: Any, sagemaker: Any, ssm: Any, force: bool = False
) -> BootstrapResult:
    """Point a new environment at a package its own pipeline registered (approving it if it is pending)."""
    pointer = deployment.serving_pointer_parameter
    current = None if force else _current(ssm, pointer)
    if current:
        return BootstrapResult(model_package_arn=current, pointer_parameter=pointer, created=False)
    try:
        package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    except sagemaker.exceptions.ClientError as error:
        raise BootstrapError(f"model package {package_arn} cannot be read: {error}") from error
    group = package.get("ModelPackageGroupName")
    if group != deployment.model_package_group_name:
        raise BootstrapError(
            f"model package {package_arn} is in group {group!r}, not {deployment.model_package_group_name!r}"
        )
    status = package.get("ModelApprovalStatus")
    if status == "Rejected":
        raise BootstrapError(f"model package {package_arn} is Rejected; it cannot serve")
    if not package.get("DriftCheckBaselines"):
        raise BootstrapError(f"model package {package_arn} has no DriftCheckBaselines for monitoring to compare with")
    if status != "Approved":
        sagemaker.update_model_package(
            ModelPackageArn=package_arn,
            ModelApprovalStatus="Approved",
            ApprovalDescription="First serving model of the environment (tools.bootstrap_serving --package)",
        )
    bucket = bucket_name(deployment.env, "Artifacts")
    publish_current_baselines(
        sagemaker, s3, package_arn=package_arn, current_uri=f"s3://{bucket}/{current_baseline_prefix(deployment)}"
    )
    return _point(ssm, deployment, package_arn)


def check_data_quality_baseline(deployment: ModelDeployment, directory: Path) -> None:
    """Refuse a baseline the monitors could not use: read with the drift job's reader, it must describe the
    spec's monitored columns (every feature with its type, and the prediction)."""
    try:
        mismatches = column_mismatches(load_baseline(directory), spec_columns(deployment.spec))
    except BaselineError as error:
        raise BootstrapError(f"{error}; run `make pipeline-local` again") from None
    if mismatches:
        problems = "; ".join(m.description for m in mismatches)
        raise BootstrapError(f"the baseline under {directory} is not {deployment.spec.name}'s: {problems}")


def main(argv: list[str] | None = None) -> None:
    """Exit code 0 done; 1 with one line on stderr naming the problem (no credentials included)."""
    raise SystemExit(one_line_aws_errors("bootstrap_serving", lambda: _main(argv), errors=(BootstrapError,)))


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", required=True, choices=[e.name for e in ENVIRONMENTS])
    parser.add_argument("--model", required=True, choices=[m.name for m in MODELS])
    parser.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT)
    parser.add_argument("--baselines", type=Path, default=DEFAULT_BASELINES)
    parser.add_argument(
        "--evaluation",
        type=Path,
        default=None,
        help="the artifact's evaluation.json (default: the run's evaluation/ beside the artifact's model/)",
    )
    parser.add_argument(
        "--package", metavar="ARN", help="adopt this package the pipeline registered instead of --artifact"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing pointer")
    add_account_arguments(parser)
    args = parser.parse_args(argv)
    env = resolve_environment(args.env, account=args.account, region=args.region, environ=os.environ)
    deployment = ModelDeployment(spec=next(m for m in MODELS if m.name == args.model), env=env)
    evaluation = args.evaluation or evaluation_of(args.artifact)
    if not args.package:
        # Before anything reaches AWS: a wrong artifact is refused without credentials or a network.
        check_artifact(deployment.spec, artifact=args.artifact, evaluation=evaluation)
    session = session_for(env.region, profile=args.profile)
    check_account(session.client("sts"), env)
    if args.package:
        adopted = adopt(
            deployment,
            package_arn=args.package,
            s3=session.client("s3"),
            sagemaker=session.client("sagemaker"),
            ssm=session.client("ssm"),
            force=args.force,
        )
        verb = "now points to" if adopted.created else "already points to"
        print(f"{adopted.pointer_parameter} {verb} {adopted.model_package_arn}")
        return
    result = bootstrap(
        deployment,
        artifact=args.artifact,
        baselines=args.baselines,
        image_uri=xgboost_image_uri(env.region),
        s3=session.client("s3"),
        sagemaker=session.client("sagemaker"),
        ssm=session.client("ssm"),
        force=args.force,
        evaluation=evaluation,
    )
    verb = "registered and pointed to" if result.created else "already points to"
    print(f"{result.pointer_parameter} {verb} {result.model_package_arn}")


if __name__ == "__main__":
    main()
