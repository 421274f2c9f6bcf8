"""Give a new environment its first serving model, so the serving stack never deploys on an empty pointer.

The serving stack reads the model package ARN from the environment's serving pointer (SSM) at deploy time.
On a fresh environment nothing has been trained yet. Two ways to a first model:

**From the environment's own pipeline** (a real account; ``tools.first_model``): after the platform and training
stacks are deployed and the history is in the feature groups (``python -m tools.backfill``),

    .venv/bin/python -m tools.bootstrap_serving --env prod --model fraud-detection --from-pipeline

starts the deployed pipeline over the training window with no champion (its absolute threshold alone decides),
waits for it, takes the package it registered, approves it where approval is automatic or waits for the owner's
``python -m tools.mlops_cli approve`` where it is manual (``--wait-approval SECONDS``; the same command run again
resumes the execution and the wait), publishes its baselines and writes the pointer.

**From a local artifact** (the demo): registers the local pipeline run's model (``make pipeline-local``) and
writes the pointer:

    make pipeline-local
    npx cdk deploy 'dev/platform'
    .venv/bin/python -m tools.bootstrap_serving --env dev --model fraud-detection
    npx cdk deploy 'dev/*'

The artifact must be this model's: the evaluation of its run (``evaluation.json``, by default in the run's
``evaluation/`` folder beside ``model/``) records the feature list it was trained on, which must be the spec's,
and the booster must take that many inputs; otherwise the command refuses with one line and exit code 1. The
package is registered Approved, labelled a local demo artifact in the registry (its description, and
``mlops:source = local demo artifact`` in its metadata), with the local run's monitoring baselines as its
drift-check baselines, also published to the current-baseline prefix the monitors read; the first retraining
replaces it through the normal gate. An environment whose models need manual approval (prod) refuses a local
artifact unless ``--force-demo`` is given.

``--package ARN`` adopts a package the deployed training pipeline registered (approving it if it is pending).

An existing pointer is never overwritten unless ``--force`` is given. The account and region are the app's
(``config/`` with the CDK context in ``cdk.json`` and the ``MLOPS_<ENV>_ACCOUNT`` / ``MLOPS_<ENV>_REGION``
overrides) unless ``--account`` / ``--region`` are given; ``--profile`` picks the credentials, which must be for
that account. Without credentials, or on an AWS error, the command prints one line and exits 1
(``tools.aws_access``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config import ENVIRONMENTS, MODELS, ApprovalMode, ModelDeployment, ModelSpec
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


# How the registry labels a package registered from a local artifact (description and mlops:source).
LOCAL_DEMO_ARTIFACT = "local demo artifact"
LOCAL_DEMO_DESCRIPTION = (
    "Local demo artifact: trained on this machine (make pipeline-local, generated data unless --data was given), "
    "not by the environment's pipeline on its own data"
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


def check_demo_allowed(deployment: ModelDeployment, *, force_demo: bool) -> None:
    """A local demo artifact never serves where models need manual approval, unless forced."""
    if deployment.env.approval is ApprovalMode.MANUAL and not force_demo:
        raise BootstrapError(
            f"{deployment.env.name} approves models manually: its first model comes from its own pipeline "
            "(--from-pipeline), not from a local demo artifact (pass --force-demo to register one anyway)"
        )


def current_pointer(ssm: Any, pointer: str) -> str | None:
    """The package ARN the pointer names, or None (no pointer, or an empty one)."""
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
    force_demo: bool = False,
) -> BootstrapResult:
    """Register ``artifact`` (checked to be the model's, ``evaluation`` defaulting to its run's) and point to it.

    The package is a local demo artifact (a model trained on this machine, by default on generated data): it is
    labelled so in the registry, and an environment whose models need manual approval (prod) refuses it unless
    ``force_demo``."""
    check_demo_allowed(deployment, force_demo=force_demo)
    check_artifact(deployment.spec, artifact=artifact, evaluation=evaluation or evaluation_of(artifact))
    pointer = deployment.serving_pointer_parameter
    current = None if force else current_pointer(ssm, pointer)
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
        ModelPackageDescription=LOCAL_DEMO_DESCRIPTION,
        InferenceSpecification={
            "Containers": [{"Image": image_uri, "ModelDataUrl": f"s3://{bucket}/{key}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": [deployment.env.endpoint.instance_type],
        },
        ModelApprovalStatus="Approved",
        DriftCheckBaselines=drift_check,
        CustomerMetadataProperties={"mlops:source": LOCAL_DEMO_ARTIFACT, "mlops:owner": deployment.spec.owner.email},
    )
    return _point(ssm, deployment, str(package["ModelPackageArn"]))


def adopt(
    deployment: ModelDeployment, *, package_arn: str, s3: Any, sagemaker: Any, ssm: Any, force: bool = False
) -> BootstrapResult:
    """Point a new environment at a package its own pipeline registered (approving it if it is pending)."""
    pointer = deployment.serving_pointer_parameter
    current = None if force else current_pointer(ssm, pointer)
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
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--from-pipeline", action="store_true", help="train the first model with the deployed pipeline (real data)"
    )
    source.add_argument("--package", metavar="ARN", help="adopt this package the pipeline registered")
    source.add_argument("--artifact", type=Path, help=f"local demo artifact (default {DEFAULT_ARTIFACT})")
    parser.add_argument("--baselines", type=Path, default=DEFAULT_BASELINES)
    parser.add_argument(
        "--evaluation",
        type=Path,
        default=None,
        help="the artifact's evaluation.json (default: the run's evaluation/ beside the artifact's model/)",
    )
    parser.add_argument("--force-demo", action="store_true", help="register a local artifact where approval is manual")
    pipeline = parser.add_argument_group("--from-pipeline")
    pipeline.add_argument("--window-days", type=int, default=None, help="training window in days (default 90)")
    pipeline.add_argument("--window-start", help="training window start, ISO-8601 with offset (instead of days)")
    pipeline.add_argument("--restart", action="store_true", help="start a new execution instead of resuming")
    pipeline.add_argument("--timeout", type=float, default=6 * 3600, metavar="SECONDS", help="pipeline wait (6 h)")
    pipeline.add_argument(
        "--wait-approval", type=float, default=0, metavar="SECONDS", help="wait this long for a manual approval"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing pointer")
    add_account_arguments(parser)
    args = parser.parse_args(argv)
    env = resolve_environment(args.env, account=args.account, region=args.region, environ=os.environ)
    deployment = ModelDeployment(spec=next(m for m in MODELS if m.name == args.model), env=env)
    local = not (args.from_pipeline or args.package)
    artifact = args.artifact or DEFAULT_ARTIFACT
    evaluation = args.evaluation or evaluation_of(artifact)
    if local:
        # Before anything reaches AWS: a wrong artifact is refused without credentials or a network.
        check_demo_allowed(deployment, force_demo=args.force_demo)
        check_artifact(deployment.spec, artifact=artifact, evaluation=evaluation)
    window_start = _window_start(args.window_start)
    session = session_for(env.region, profile=args.profile)
    check_account(session.client("sts"), env)
    s3, sagemaker, ssm = (session.client(name) for name in ("s3", "sagemaker", "ssm"))
    if args.from_pipeline:
        from tools.first_model import DEFAULT_WINDOW_DAYS, first_model  # noqa: PLC0415 - it imports this module

        result = first_model(
            deployment,
            sagemaker=sagemaker,
            s3=s3,
            ssm=ssm,
            now=datetime.now(UTC),
            sleep=time.sleep,
            clock=time.monotonic,
            progress=lambda message: print(message, file=sys.stderr, flush=True),
            window_days=args.window_days or DEFAULT_WINDOW_DAYS,
            window_start=window_start,
            timeout_seconds=args.timeout,
            approval_timeout_seconds=args.wait_approval,
            restart=args.restart,
            force=args.force,
        )
    elif args.package:
        result = adopt(deployment, package_arn=args.package, s3=s3, sagemaker=sagemaker, ssm=ssm, force=args.force)
    else:
        result = bootstrap(
            deployment,
            artifact=artifact,
            baselines=args.baselines,
            image_uri=xgboost_image_uri(env.region),
            s3=s3,
            sagemaker=sagemaker,
            ssm=ssm,
            force=args.force,
            evaluation=evaluation,
            force_demo=args.force_demo,
        )
    verb = "now points to" if result.created else "already points to"
    print(f"{result.pointer_parameter} {verb} {result.model_package_arn}")


def _window_start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BootstrapError(f"--window-start '{text}' is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise BootstrapError(f"--window-start '{text}' has no UTC offset (add 'Z' or '+00:00')")
    return moment


if __name__ == "__main__":
    main()
