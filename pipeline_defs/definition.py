"""The training pipeline of one model in one environment, as SageMaker Pipeline definition JSON.

``build_pipeline_definition(deployment, context)`` returns the JSON the CDK construct puts into
``AWS::SageMaker::Pipeline`` (through ``Fn::Sub``, which fills the ``${Name}`` placeholders the context may
hold). It is built with the SageMaker Python SDK v3, offline: the SDK is imported lazily inside the function
with the knobs it needs (region, no role validation, telemetry opted out, no credential lookups), every S3
location is explicit, and the code is referenced in S3, so nothing is uploaded and no AWS call is made.

Steps (step name: what it runs)::

    Dataset -> Preprocess -> Train -> Score -> Evaluate -+-> Baseline -+-> CheckCandidate --if--> Register
                                                         +-> Decide ---+                  --else-> (end: Succeeded)

- every processing step runs ``python3 -m <module>`` from the code bundle (below) on an image that already
  holds what the module imports (``pipeline_defs/images.py``): nothing is installed and no package index is
  reached at run time;
- ``Dataset``, ``Preprocess``, ``Evaluate``, ``Baseline``, ``Decide``: ``pipeline_defs.scripts.<module>`` on the
  SageMaker scikit-learn image (``images.SKLEARN``, Python 3.12: the scripts need Python >= 3.11);
- ``Dataset`` runs the point-in-time query on Athena (``--engine athena``, boto3) for the ``WindowStart``..
  ``WindowEnd`` label window: over each feature group's offline-store Glue table (``feature_table_name``) and
  the labels' Glue table in the context's Glue database, in the context's workgroup (which enforces the result
  location and its encryption). The pipeline execution id scopes the query's idempotency token, so a retried
  job finds its first attempt's query and a later execution never gets an earlier one's result;
- ``Train``: the built-in XGBoost algorithm (``images.XGBOOST``, algorithm mode, ``binary:logistic``), with
  ``scale_pos_weight`` read (JsonGet) from Preprocess's ``summary.json``: negatives / positives of the split;
- ``Score`` loads the candidate and the champion (``ChampionModelUri``, "" = none) on the same XGBoost image the
  algorithm trained them on and writes both models' probabilities on the test split, and the candidate's on the
  baseline rows (``scripts/score.py``);
- ``Evaluate`` turns the scores into metrics and records the objective values and the gate's inputs
  (``AbsoluteThreshold``, ``MinImprovement``) in ``evaluation.json``; ``Decide`` (``condition.py``) applies the
  gate to it and writes ``decision.json`` (``register``, ``code``, ``reason``). The pipeline cannot add numbers
  and evaluation.json holds no "champion + MinImprovement" bar (its champion objective is null without a
  champion), so the champion bar comes from the decision;
- ``CheckCandidate`` registers only if ``decision_inputs.candidate_objective`` (evaluation.json) is at least the
  ``AbsoluteThreshold`` parameter AND the decision's ``code`` is one of ``REGISTER_CODES`` (no champion, or
  candidate >= champion + MinImprovement). Otherwise the pipeline ends ``Succeeded`` without registering (no
  FailStep), so an orchestrator tells "not better" (decision.json says why) from "failed" (execution fails);
- ``Register``: a model package version, ``PendingManualApproval``, with ModelMetrics, DriftCheckBaselines
  and lineage metadata.

Code bundle: one zip (``context.code_bundle``, a CDK file asset the construct publishes to the bootstrap assets
bucket: ``mlops_constructs/code_bundle.py``), content-addressed by its key, given to every processing step as
the ``code`` input and unpacked by the entrypoint (``bundle_entrypoint``) into ``CODE_DIR``, the jobs'
``PYTHONPATH``::

    pipeline_defs/__init__.py, pipeline_defs/scripts/*.py, lambdas/__init__.py, lambdas/shared/*.py,
    monitor_stats/*.py                          (the baseline writer the drift job reads with)
    spec.json                                   (``spec_json(spec)``)

S3 layout of one execution (``run_prefix``: ``s3://{artifacts_bucket}/pipelines/{pipeline_name}/{execution_id}``,
``execution_id`` = the last part of the pipeline execution ARN)::

    dataset/dataset.parquet, dataset/query.sql, dataset/summary.json
    preprocess/{train,validation,test}/<split>.csv, preprocess/baseline/baseline.csv, preprocess/summary.json
    train/<training-job-name>/output/model.tar.gz
    score/scores.csv, score/baseline-scores.csv
    evaluate/evaluation.json, evaluate/predictions.csv            (EVALUATION_KEY)
    decision/decision.json                                         (DECISION_KEY)
    baseline/data-quality/{statistics,constraints}.json, baseline/model-quality/{statistics,constraints}.json

Step caching is off on purpose: a cached step would leave its outputs under an older execution's prefix.

Synth cost: the SDK builds one definition per model spec and region (``_template``, cached for the process),
with stand-ins for every per-environment value (environment name, endpoint instance type, Athena names, role,
key, buckets, bundle); each environment's definition is that template with its own values put in. A test
checks, for every environment of the real app, that this is byte-identical to building it directly.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import ApprovalMode, EndpointSettings, Environment, ModelDeployment, ModelSpec, ObjectiveMetric
from pipeline_defs.images import IMAGE_LOOKUP_INSTANCE_TYPE, SKLEARN, XGBOOST, Image
from pipeline_defs.scripts.condition import DecisionCode
from pipeline_defs.scripts.spec import step_spec_from_model_spec

# ---- public names: parameters, steps, S3 layout ----

WINDOW_START = "WindowStart"
WINDOW_END = "WindowEnd"
CHAMPION_MODEL_URI = "ChampionModelUri"
ABSOLUTE_THRESHOLD = "AbsoluteThreshold"
MIN_IMPROVEMENT = "MinImprovement"
PROCESSING_INSTANCE_TYPE = "ProcessingInstanceType"
TRAINING_INSTANCE_TYPE = "TrainingInstanceType"
MAX_DEPTH = "MaxDepth"
ETA = "Eta"
NUM_ROUND = "NumRound"
SUBSAMPLE = "Subsample"
MIN_CHILD_WEIGHT = "MinChildWeight"
PARAMETER_NAMES: tuple[str, ...] = (
    WINDOW_START,
    WINDOW_END,
    CHAMPION_MODEL_URI,
    ABSOLUTE_THRESHOLD,
    MIN_IMPROVEMENT,
    PROCESSING_INSTANCE_TYPE,
    TRAINING_INSTANCE_TYPE,
    MAX_DEPTH,
    ETA,
    NUM_ROUND,
    SUBSAMPLE,
    MIN_CHILD_WEIGHT,
)

STEP_DATASET = "Dataset"
STEP_PREPROCESS = "Preprocess"
STEP_TRAIN = "Train"
STEP_SCORE = "Score"
STEP_EVALUATE = "Evaluate"
STEP_BASELINE = "Baseline"
STEP_DECIDE = "Decide"
STEP_CHECK = "CheckCandidate"
STEP_REGISTER = "Register"

# Output folders under the execution's prefix, one per step.
DATASET_DIR = "dataset"
PREPROCESS_DIR = "preprocess"
TRAIN_DIR = "train"
SCORE_DIR = "score"
EVALUATE_DIR = "evaluate"
BASELINE_DIR = "baseline"
DECISION_DIR = "decision"
EVALUATION_KEY = f"{EVALUATE_DIR}/evaluation.json"
DECISION_KEY = f"{DECISION_DIR}/decision.json"

# Property files (names as they appear in the definition's ``PropertyFiles``).
PREPROCESS_PROPERTY_FILE = "PreprocessSummary"
EVALUATION_PROPERTY_FILE = "EvaluationReport"
DECISION_PROPERTY_FILE = "RegistrationDecision"
# JSON paths into summary.json / evaluation.json / decision.json (pipeline_defs/scripts/preprocess.py,
# evaluate.py, condition.py).
CLASS_RATIO_PATH = "scale_pos_weight"
CANDIDATE_OBJECTIVE_PATH = "decision_inputs.candidate_objective"
DECISION_CODE_PATH = "code"
# condition.py's decision codes that mean "register" (the candidate clears the threshold and the champion bar).
REGISTER_CODES: tuple[str, ...] = (DecisionCode.REGISTERED_FIRST.value, DecisionCode.REGISTERED_BETTER.value)

APPROVAL_STATUS = "PendingManualApproval"
CONTENT_TYPE = "text/csv"
DEFAULT_PROCESSING_INSTANCE_TYPE = "ml.m5.xlarge"
DEFAULT_TRAINING_INSTANCE_TYPE = "ml.m5.xlarge"

# Container paths (the scripts' argparse defaults use the same ones). SageMaker downloads the bundle's zip into
# BUNDLE_DIR; the entrypoint unpacks it into CODE_DIR, the jobs' PYTHONPATH (spec.json is at its root).
BUNDLE_DIR = "/opt/ml/processing/input/code"
CODE_DIR = "/opt/ml/processing/code"
SPEC_FILE = f"{CODE_DIR}/spec.json"

PROCESSING_MAX_RUNTIME_SECONDS = 3 * 3600
TRAINING_MAX_RUNTIME_SECONDS = 6 * 3600
PROCESSING_VOLUME_GB = 30
TRAINING_VOLUME_GB = 30

# The feature store construct's offline-store prefix (mlops_constructs/feature_store.py) and the layout
# Feature Store writes under it: <S3Uri>/<account>/sagemaker/<region>/offline-store/<group>-<created>/data/...
OFFLINE_STORE_PREFIX = "offline-store/{model}"

_ENTRYPOINT_ELEMENT_MAX = 256  # CreateProcessingJob ContainerEntrypoint items
SCRIPTS = "pipeline_defs.scripts"
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z0-9_:.]+\}")
# Glue database and table names (Athena reads them lower case), Athena workgroup names.
_GLUE_NAME = re.compile(r"^[a-z0-9_]{1,255}$")
_WORKGROUP_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
# CreateModelPackage CustomerMetadataValue / MetadataProperties.CommitId characters.
_METADATA_VALUE = re.compile(r"^[\w\s.:/=+\-@]{1,256}$")


@dataclass(frozen=True, kw_only=True)
class PipelineContext:
    """Where the pipeline runs: values the CDK construct knows, or ``${Name}`` placeholders it fills with Fn::Sub."""

    region: str  # concrete (from config): image URIs are resolved per region at synth
    role_arn: str  # may be a placeholder like "${PipelineRoleArn}"
    artifacts_bucket: str  # may be "${ArtifactsBucket}"
    offline_store_bucket: str  # "${OfflineStoreBucket}"
    ground_truth_bucket: str  # labels live here: s3://<bucket>/labels/<model>/
    kms_key_arn: str  # "${KmsKeyArn}"
    # The code bundle's zip: s3://<bucket>/<key>.zip (the CDK file asset: "s3://cdk-hnb659fds-assets-<account>-
    # <region>/<sha256 of the bundle>.zip"); its key changes with any file of the bundle.
    code_bundle: str
    # Concrete: the Glue database of the offline-store and labels tables ("mlops_dev_feature_store"), the
    # Athena workgroup the dataset query runs in ("mlops-dev") and the labels' Glue table
    # ("fraud_detection_dev_labels").
    glue_database: str
    athena_workgroup: str
    labels_table: str
    source_revision: str = "unknown"  # git revision, recorded in model package metadata
    # The isolated network's subnets and security groups (``${Subnet0}``, ``${SecurityGroup}`` placeholders), or
    # none: every job of the pipeline then runs outside a VPC (ADR 0019).
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "region",
            "role_arn",
            "artifacts_bucket",
            "offline_store_bucket",
            "ground_truth_bucket",
            "kms_key_arn",
            "code_bundle",
        ):
            value = getattr(self, name)
            if not value:
                raise ValueError(f"pipeline context: {name} is empty")
            leftover = _PLACEHOLDER.sub("", value)
            if "${" in leftover or "$" in leftover:
                raise ValueError(f"pipeline context: {name} '{value}' has a '$' outside a ${{Name}} placeholder")
        if bool(self.subnets) != bool(self.security_group_ids):
            raise ValueError("pipeline context: subnets and security_group_ids go together (both or neither)")
        for value in (*self.subnets, *self.security_group_ids):
            if not value or "$" in _PLACEHOLDER.sub("", value):
                raise ValueError(f"pipeline context: network id '{value}' is empty or has a '$' outside a placeholder")
        if "${" in self.region:
            raise ValueError("pipeline context: region must be concrete (image URIs are resolved per region)")
        for name, pattern, what in (
            ("glue_database", _GLUE_NAME, "a Glue database name: 1-255 lower-case letters, digits or _"),
            ("labels_table", _GLUE_NAME, "a Glue table name: 1-255 lower-case letters, digits or _"),
            ("athena_workgroup", _WORKGROUP_NAME, "an Athena workgroup name: 1-128 letters, digits or ._-"),
        ):
            if not pattern.match(getattr(self, name)):
                raise ValueError(
                    f"pipeline context: {name} '{getattr(self, name)}' is not {what} (it must be concrete)"
                )
        bucket, _, key = self.code_bundle.removeprefix("s3://").partition("/")
        if not self.code_bundle.startswith("s3://") or not bucket or not key.endswith(".zip") or "/" in key:
            raise ValueError(
                f"pipeline context: code_bundle '{self.code_bundle}' is not an s3://<bucket>/<key>.zip URI "
                "(a file asset's zip at the bucket's root)"
            )
        if not _METADATA_VALUE.match(self.source_revision) or "$" in self.source_revision:
            raise ValueError(
                f"pipeline context: source_revision '{self.source_revision}' must be 1-256 letters, digits, "
                "spaces or _.:/=+-@ (it becomes model package metadata)"
            )

    @property
    def placeholders(self) -> frozenset[str]:
        """The ``${Name}`` placeholders the context's values hold (the only ones the definition may contain)."""
        values = (
            self.role_arn,
            self.artifacts_bucket,
            self.offline_store_bucket,
            self.ground_truth_bucket,
            self.kms_key_arn,
            self.code_bundle,
            *self.subnets,
            *self.security_group_ids,
        )
        return frozenset(match for value in values for match in _PLACEHOLDER.findall(value))


def spec_json(spec: ModelSpec) -> str:
    """``spec.json`` for the code bundle (``pipeline_defs/scripts/spec.py`` format)."""
    return step_spec_from_model_spec(spec).to_json()


def run_prefix(*, artifacts_bucket: str, pipeline_name: str, execution_id: str) -> str:
    """S3 prefix of one execution's outputs; ``execution_id`` is the last part of the execution ARN."""
    return f"s3://{artifacts_bucket}/pipelines/{pipeline_name}/{execution_id}"


def offline_store_group_prefix(deployment: ModelDeployment, *, offline_store_bucket: str, group: str) -> str:
    """S3 key prefix of one feature group's offline-store files (any creation time of the group).

    Feature Store writes under ``<S3Uri>/<account>/sagemaker/<region>/offline-store/<group name>-<created>/``;
    the prefix stops after ``<group name>-``: S3 prefixes match any key that starts with them.
    """
    base = OFFLINE_STORE_PREFIX.format(model=deployment.spec.name)
    return (
        f"s3://{offline_store_bucket}/{base}/{deployment.env.account}/sagemaker/{deployment.env.region}/"
        f"offline-store/{deployment.feature_group_name(group)}-"
    )


def labels_prefix(deployment: ModelDeployment, *, ground_truth_bucket: str) -> str:
    return f"s3://{ground_truth_bucket}/labels/{deployment.spec.name}/"


def feature_table_name(deployment: ModelDeployment, group: str) -> str:
    """The Glue table of a feature group's offline store, as the feature store construct names it
    (``mlops_constructs/feature_store.py``, ``glue_table_name``: Glue names take no hyphens)."""
    return deployment.feature_group_name(group).replace("-", "_")


def image_uri(image: Image, region: str) -> str:
    """The ECR URI of ``image`` in ``region``, from the SDK's bundled image table (offline)."""
    return _image_uri(image.framework, image.version, region)


@functools.cache
def _image_uri(framework: str, version: str, region: str) -> str:
    with _offline_sdk(region) as sdk:
        uri: str = sdk.image_uris.retrieve(
            framework, region=region, version=version, instance_type=IMAGE_LOOKUP_INSTANCE_TYPE
        )
    return uri


def processing_image_uri(region: str) -> str:
    """The scikit-learn framework image the Python >= 3.11 processing steps run on, resolved offline.

    The monitoring backend's drift job runs on it too: it needs only the standard library and numpy
    (``pipeline_defs/images.py``), so it installs nothing at run time.
    """
    return image_uri(SKLEARN, region)


def eval_metric_for(objective: ObjectiveMetric) -> str:
    """Built-in XGBoost ``eval_metric`` (and early-stopping metric) closest to the spec's objective."""
    return "auc" if objective is ObjectiveMetric.AUC else "aucpr"


def build_pipeline_definition(deployment: ModelDeployment, context: PipelineContext) -> str:
    """The pipeline definition JSON (sorted keys, compact, deterministic) for ``deployment``.

    Makes no network call. The only ``${...}`` sequences in the result are the context's placeholders. The SDK
    builds one template per spec, region and source revision (cached for the process: ``_template``); this
    call puts the environment's values into it. ``build_pipeline_definition_directly`` builds without the
    template; a test checks that the two agree byte for byte for every environment of the app.
    """
    _check_region(deployment, context)
    template = _template(deployment.spec, context.region, context.source_revision, len(context.subnets))
    replacements = {
        **_STANDINS.replacements(_EnvironmentValues.of(deployment, context)),
        **_Sentinels.for_region(context.region).replacements(context),
    }
    text = _render(template, replacements)
    _check_placeholders(text, context)
    return text


def build_pipeline_definition_directly(deployment: ModelDeployment, context: PipelineContext) -> str:
    """The same definition, built by the SDK from ``deployment`` itself (no template, no cache)."""
    _check_region(deployment, context)
    sentinels = _Sentinels.for_region(context.region)
    with _offline_sdk(context.region) as sdk:
        definition = _Builder(sdk, deployment, context, sentinels).definition()
    text = _render(json.loads(definition), sentinels.replacements(context))
    _check_placeholders(text, context)
    return text


def _check_region(deployment: ModelDeployment, context: PipelineContext) -> None:
    if deployment.env.region != context.region:
        raise ValueError(
            f"pipeline context: region '{context.region}' is not the environment's region '{deployment.env.region}'"
        )


def _render(document: Any, replacements: Mapping[str, str]) -> str:
    return json.dumps(_substitute(document, replacements), sort_keys=True, separators=(",", ":"), allow_nan=False)


# ---- the per-spec template ----


@dataclass(frozen=True)
class _EnvironmentValues:
    """Everything in a definition that differs between the environments of one spec and region.

    The builder reads from the environment only its name (in the pipeline, model package group and feature
    table names, the description and metadata), its region (image URIs, ``--region``) and its endpoint
    instance type (the registered package's inference instances); the Athena names come from the context.
    """

    environment: str
    endpoint_instance_type: str
    glue_database: str
    athena_workgroup: str
    labels_table: str

    @classmethod
    def of(cls, deployment: ModelDeployment, context: PipelineContext) -> _EnvironmentValues:
        return cls(
            environment=deployment.env.name,
            endpoint_instance_type=deployment.env.endpoint.instance_type,
            glue_database=context.glue_database,
            athena_workgroup=context.athena_workgroup,
            labels_table=context.labels_table,
        )

    def replacements(self, values: _EnvironmentValues) -> dict[str, str]:
        """Stand-in -> value, for each field (``self`` holds the stand-ins)."""
        return {getattr(self, name): getattr(values, name) for name in self.__dataclass_fields__}


# Stand-ins the template is built with: valid where they go (config and context validation, the SDK), and
# strings that occur nowhere else, so putting an environment's values in replaces exactly them.
_STANDINS = _EnvironmentValues(
    environment="qzxenvqzx",
    endpoint_instance_type="ml.qzxinstanceqzx",
    glue_database="qzxgluedatabaseqzx",
    athena_workgroup="qzxworkgroupqzx",
    labels_table="qzxlabelstableqzx",
)


@functools.lru_cache(maxsize=64)
def _template(spec: ModelSpec, region: str, source_revision: str, subnet_count: int) -> Any:
    """The definition of ``spec`` in ``region`` with stand-ins for every per-environment value (parsed JSON).

    Built for an environment that has the stand-in name and endpoint instance type and defaults for every
    other setting: were the builder to read another setting, an environment whose value is not the default
    would get a definition that differs from its direct build, which the agreement test would show.
    """
    env = Environment(
        name=_STANDINS.environment,
        account="000000000000",
        region=region,
        retain_stateful=False,
        termination_protection=False,
        approval=ApprovalMode.AUTO,
        endpoint=EndpointSettings(instance_type=_STANDINS.endpoint_instance_type),
    )
    sentinels = _Sentinels.for_region(region)
    context = PipelineContext(
        region=region,
        role_arn=sentinels.role_arn,
        artifacts_bucket=sentinels.artifacts_bucket,
        offline_store_bucket=sentinels.offline_store_bucket,
        ground_truth_bucket=sentinels.ground_truth_bucket,
        kms_key_arn=sentinels.kms_key_arn,
        code_bundle=sentinels.code_bundle,
        glue_database=_STANDINS.glue_database,
        athena_workgroup=_STANDINS.athena_workgroup,
        labels_table=_STANDINS.labels_table,
        source_revision=source_revision,
        subnets=sentinels.subnets[:subnet_count],
        security_group_ids=sentinels.security_group_ids if subnet_count else (),
    )
    with _offline_sdk(region) as sdk:
        definition = _Builder(sdk, ModelDeployment(spec=spec, env=env), context, sentinels).definition()
    return json.loads(definition)


# ---- offline SDK ----


@dataclass(frozen=True)
class _Sdk:
    """The SDK modules the builder uses (untyped: the SDK ships no usable annotations)."""

    boto3: Any
    context: Any
    parameters: Any
    functions: Any
    execution_variables: Any
    properties: Any
    conditions: Any
    processing: Any
    network: Any
    shapes: Any
    image_uris: Any
    model_metrics: Any
    drift_check_baselines: Any
    metadata_properties: Any
    steps: Any
    condition_step: Any
    model_step: Any
    retry: Any
    pipeline: Any
    trainer: Any
    training_configs: Any
    model_builder: Any


_SDK_MODULES = {
    "boto3": "boto3",
    "context": "sagemaker.core.workflow.pipeline_context",
    "parameters": "sagemaker.core.workflow.parameters",
    "functions": "sagemaker.core.workflow.functions",
    "execution_variables": "sagemaker.core.workflow.execution_variables",
    "properties": "sagemaker.core.workflow.properties",
    "conditions": "sagemaker.core.workflow.conditions",
    "processing": "sagemaker.core.processing",
    "network": "sagemaker.core.network",
    "shapes": "sagemaker.core.shapes",
    "image_uris": "sagemaker.core.image_uris",
    "model_metrics": "sagemaker.core.model_metrics",
    "drift_check_baselines": "sagemaker.core.drift_check_baselines",
    "metadata_properties": "sagemaker.core.metadata_properties",
    "steps": "sagemaker.mlops.workflow.steps",
    "condition_step": "sagemaker.mlops.workflow.condition_step",
    "model_step": "sagemaker.mlops.workflow.model_step",
    "retry": "sagemaker.mlops.workflow.retry",
    "pipeline": "sagemaker.mlops.workflow.pipeline",
    "trainer": "sagemaker.train.model_trainer",
    "training_configs": "sagemaker.core.training.configs",
    "model_builder": "sagemaker.serve.model_builder",
}

_TELEMETRY_OPT_OUT = "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
# Credentials for the SDK's boto3 sessions while building: static, so botocore never probes IMDS, container
# or SSO credential providers. Nothing is signed with them because nothing is sent.
_OFFLINE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "offline-build", "AWS_SECRET_ACCESS_KEY": "offline-build"}


@contextlib.contextmanager
def _offline_sdk(region: str) -> Iterator[_Sdk]:
    """Import the SDK with the offline knobs set, and undo what the import and the build change globally.

    Knobs (docs/aws-facts.md#sagemaker-python-sdk-offline): ``AWS_DEFAULT_REGION`` (an import-time boto3 client
    needs it), ``SAGEMAKER_VALIDATE_ROLE=false`` (no IAM SimulatePrincipalPolicy), a config file that opts out
    of telemetry, no EC2 metadata lookups, static credentials and no profile for import-time clients. Restored:
    the environment, the root logger (the SDK calls ``logging.basicConfig`` on import), boto3's default
    session, and warning filters.
    """
    import boto3  # noqa: PLC0415 - boto3 is light; the SDK itself is imported below

    with tempfile.TemporaryDirectory(prefix="sagemaker-offline-") as scratch:
        config = Path(scratch) / "config.yaml"
        config.write_text(_TELEMETRY_OPT_OUT, encoding="utf-8")
        knobs: dict[str, str | None] = {
            "AWS_DEFAULT_REGION": region,
            "SAGEMAKER_VALIDATE_ROLE": "false",
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
            "AWS_EC2_METADATA_DISABLED": "true",
            **_OFFLINE_CREDENTIALS,
            # A profile (maybe one this machine lacks) or session token would only get in the way.
            "AWS_SESSION_TOKEN": None,
            "AWS_PROFILE": None,
            "AWS_DEFAULT_PROFILE": None,
        }
        root = logging.getLogger()
        saved_root = (list(root.handlers), root.level)
        saved_disable = logging.root.manager.disable
        saved_default_session = boto3.DEFAULT_SESSION
        with _environment(knobs), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.CRITICAL)  # the SDK logs INFO/WARNING chatter on every step it builds
            try:
                modules = {name: importlib.import_module(path) for name, path in _SDK_MODULES.items()}
                with _schema_checked_once(), _shared_service_models(), _local_client_names(modules["steps"]):
                    yield _Sdk(**modules)
            finally:
                logging.disable(saved_disable)
                root.handlers[:] = saved_root[0]
                root.setLevel(saved_root[1])
                boto3.DEFAULT_SESSION = saved_default_session


# botocore data loaders by data path, shared by every session the SDK creates while building (see below).
_LOADERS: dict[str | None, Any] = {}


@contextlib.contextmanager
def _shared_service_models() -> Iterator[None]:
    """Let every botocore session created meanwhile share one data loader per data path.

    The SDK creates about six boto3 sessions per build (the pipeline session, one local session per processing
    step) and clients on each; every new session's loader parses the SageMaker service model (several MB of
    JSON) again: about 1.5 s of a 2.5 s build. A loader caches what it parsed, and clients only read it, so one
    loader serves them all, as it already does for the clients of one session.
    """
    import botocore.loaders  # noqa: PLC0415 - present with boto3
    import botocore.session  # noqa: PLC0415

    create = botocore.session.create_loader

    def shared(data_path: str | None = None) -> Any:
        if data_path not in _LOADERS:
            _LOADERS[data_path] = botocore.loaders.create_loader(data_path)
        return _LOADERS[data_path]

    botocore.session.create_loader = shared
    try:
        yield
    finally:
        botocore.session.create_loader = create


class _LocalClientNames:
    """What ``ProcessingStep`` and ``TransformStep`` read from the ``LocalSagemakerClient`` they create: the
    names of its ``create_processing_job`` and ``create_transform_job`` methods, to check where the step
    arguments came from. The real client builds a local session (a boto3 session and clients) for that, on
    every step."""

    def create_processing_job(self) -> None:
        raise NotImplementedError("local mode is never used while building a definition")

    def create_transform_job(self) -> None:
        raise NotImplementedError("local mode is never used while building a definition")


@contextlib.contextmanager
def _local_client_names(steps: Any) -> Iterator[None]:
    real = steps.LocalSagemakerClient
    steps.LocalSagemakerClient = _LocalClientNames
    try:
        yield
    finally:
        steps.LocalSagemakerClient = real


# SDK modules that validate the SDK config file with ``jsonschema.validate(config, SCHEMA)``: on every config
# lookup (about a hundred per build), each time re-checking the large schema itself (~0.2 s a time).
_CONFIG_VALIDATING_MODULES = (
    "sagemaker.core.config.config",
    "sagemaker.core.config.config_manager",
    "sagemaker.core.utils.intelligent_defaults_helper",
    "sagemaker.core.local.local_session",
)


class _SchemaCheckedOnce:
    """Stands in for the ``jsonschema`` module inside those SDK modules while building: same validation,
    but each schema is checked and compiled once instead of on every call."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._validators: dict[int, tuple[Any, Any]] = {}

    def validate(self, instance: Any, schema: Any, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            self._real.validate(instance, schema, *args, **kwargs)
            return
        cached = self._validators.get(id(schema))
        if cached is None or cached[0] is not schema:
            cls = self._real.validators.validator_for(schema)
            cls.check_schema(schema)
            cached = (schema, cls(schema))
            self._validators[id(schema)] = cached
        error = self._real.exceptions.best_match(cached[1].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextlib.contextmanager
def _schema_checked_once() -> Iterator[None]:
    jsonschema = importlib.import_module("jsonschema")  # an SDK dependency (untyped), present with the SDK
    shim = _SchemaCheckedOnce(jsonschema)
    patched = []
    for name in _CONFIG_VALIDATING_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "jsonschema", None) is jsonschema:
            module.jsonschema = shim  # type: ignore[attr-defined]
            patched.append(module)
    try:
        yield
    finally:
        for module in patched:
            module.jsonschema = jsonschema  # type: ignore[attr-defined]


@contextlib.contextmanager
def _environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the duration, then restore them exactly."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ---- placeholders ----


@dataclass(frozen=True)
class _Sentinels:
    """Well-formed stand-ins for the context's values while the SDK builds (it would try to expand a role that
    is not an ARN through IAM, for example); they are replaced by the context's values in the final JSON."""

    role_arn: str
    kms_key_arn: str
    artifacts_bucket: str = "mlops-sentinel-artifacts-bucket"
    offline_store_bucket: str = "mlops-sentinel-offline-store-bucket"
    ground_truth_bucket: str = "mlops-sentinel-ground-truth-bucket"
    code_bundle: str = "s3://mlops-sentinel-code-bucket/mlops-sentinel-code-bundle.zip"
    # Subnets (at most 16, VpcConfig's limit) and the one security group of an isolated network.
    subnets: tuple[str, ...] = tuple(f"subnet-mlops-sentinel-{i:02d}" for i in range(16))
    security_group_ids: tuple[str, ...] = ("sg-mlops-sentinel",)

    @classmethod
    def for_region(cls, region: str) -> _Sentinels:
        return cls(
            role_arn="arn:aws:iam::000000000000:role/mlops-sentinel-role",
            kms_key_arn=f"arn:aws:kms:{region}:000000000000:key/mlops-sentinel-kms-key",
        )

    def replacements(self, context: PipelineContext) -> dict[str, str]:
        return {
            self.role_arn: context.role_arn,
            self.kms_key_arn: context.kms_key_arn,
            self.artifacts_bucket: context.artifacts_bucket,
            self.offline_store_bucket: context.offline_store_bucket,
            self.ground_truth_bucket: context.ground_truth_bucket,
            self.code_bundle: context.code_bundle,
            **dict(zip(self.subnets, context.subnets, strict=False)),
            **dict(zip(self.security_group_ids, context.security_group_ids, strict=False)),
        }


def _substitute(node: Any, replacements: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        for sentinel, value in replacements.items():
            if sentinel in node:
                node = node.replace(sentinel, value)
        return node
    if isinstance(node, list):
        return [_substitute(item, replacements) for item in node]
    if isinstance(node, dict):
        return {key: _substitute(value, replacements) for key, value in node.items()}
    return node


def _check_placeholders(text: str, context: PipelineContext) -> None:
    leftover = [s for s in ("mlops-sentinel", *vars(_STANDINS).values()) if s in text]
    if leftover:
        raise AssertionError(f"pipeline definition: stand-ins left unreplaced: {leftover}")
    unknown = set(_PLACEHOLDER.findall(text)) - context.placeholders
    stray = text.count("${") - len(_PLACEHOLDER.findall(text))
    if unknown or stray:
        raise AssertionError(
            f"pipeline definition: '${{' outside the context's placeholders (unknown {sorted(unknown)}, "
            f"{stray} malformed); Fn::Sub would misread them"
        )


# ---- the pipeline ----

_UNPACK = f'set -e;python3 -m zipfile -e {BUNDLE_DIR}/*.zip {CODE_DIR};exec "$@"'


def bundle_entrypoint(command: Sequence[str]) -> list[str]:
    """Container entrypoint that unpacks the code bundle, then runs ``command`` (the container arguments follow).

    ``/bin/sh -c 'set -e; python3 -m zipfile -e <BUNDLE_DIR>/*.zip <CODE_DIR>; exec "$@"' unpack <command...>``:
    the bundle's zip (the job's ``code`` input, the only file in ``BUNDLE_DIR``) is unpacked with the standard
    library into ``CODE_DIR`` (the jobs' ``PYTHONPATH``), then the command replaces the shell. Nothing is
    downloaded or installed. Every element stays within 256 characters (CreateProcessingJob) and holds no
    ``${`` (Fn::Sub).
    """
    entrypoint = ["/bin/sh", "-c", _UNPACK, "unpack", *command]
    for element in entrypoint:
        if len(element) > _ENTRYPOINT_ELEMENT_MAX or "${" in element:
            raise AssertionError(f"entrypoint element is too long or holds '${{': {element}")
    return entrypoint


def bundle_input(code_bundle: str) -> dict[str, Any]:
    """The ``code`` ProcessingInput (CreateProcessingJob request shape) of a job that runs ``bundle_entrypoint``."""
    return {
        "InputName": "code",
        "S3Input": {
            "S3Uri": code_bundle,
            "LocalPath": BUNDLE_DIR,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


class _Builder:
    """Builds the SDK objects of one pipeline. Every SDK value is ``Any``."""

    def __init__(self, sdk: _Sdk, deployment: ModelDeployment, context: PipelineContext, sentinels: _Sentinels):
        self.sdk = sdk
        self.deployment = deployment
        self.spec = deployment.spec
        self.context = context
        self.s = sentinels
        self.session = self._session()
        self.params = self._parameters()
        self.images = {
            image: sdk.image_uris.retrieve(
                image.framework,
                region=context.region,
                version=image.version,
                instance_type=IMAGE_LOOKUP_INSTANCE_TYPE,
            )
            for image in (SKLEARN, XGBOOST)
        }

    # -- plumbing --

    def _session(self) -> Any:
        sdk = self.sdk

        class _OfflinePipelineSession(sdk.context.PipelineSession):  # type: ignore[misc, name-defined]
            def default_bucket(self) -> str:
                raise RuntimeError(
                    "pipeline definition: an S3 location was left to the SDK's default bucket; "
                    "give every input, output and code location explicitly"
                )

        boto_session = sdk.boto3.Session(
            region_name=self.context.region,
            aws_access_key_id=_OFFLINE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=_OFFLINE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        return _OfflinePipelineSession(boto_session=boto_session)

    def _parameters(self) -> dict[str, Any]:
        p = self.sdk.parameters
        h = self.spec.hyperparameters
        return {
            # No defaults: every run names its label window (ISO-8601; "" leaves that side open).
            WINDOW_START: p.ParameterString(name=WINDOW_START),
            WINDOW_END: p.ParameterString(name=WINDOW_END),
            CHAMPION_MODEL_URI: p.ParameterString(name=CHAMPION_MODEL_URI, default_value=""),
            ABSOLUTE_THRESHOLD: p.ParameterFloat(
                name=ABSOLUTE_THRESHOLD, default_value=float(self.spec.absolute_threshold)
            ),
            MIN_IMPROVEMENT: p.ParameterFloat(name=MIN_IMPROVEMENT, default_value=float(self.spec.min_improvement)),
            PROCESSING_INSTANCE_TYPE: p.ParameterString(
                name=PROCESSING_INSTANCE_TYPE, default_value=DEFAULT_PROCESSING_INSTANCE_TYPE
            ),
            TRAINING_INSTANCE_TYPE: p.ParameterString(
                name=TRAINING_INSTANCE_TYPE, default_value=DEFAULT_TRAINING_INSTANCE_TYPE
            ),
            MAX_DEPTH: p.ParameterInteger(name=MAX_DEPTH, default_value=h.max_depth),
            ETA: p.ParameterFloat(name=ETA, default_value=float(h.eta)),
            NUM_ROUND: p.ParameterInteger(name=NUM_ROUND, default_value=h.num_round),
            SUBSAMPLE: p.ParameterFloat(name=SUBSAMPLE, default_value=float(h.subsample)),
            MIN_CHILD_WEIGHT: p.ParameterFloat(name=MIN_CHILD_WEIGHT, default_value=float(h.min_child_weight)),
        }

    def _text(self, name: str) -> Any:
        """A parameter as a string expression (container arguments and hyperparameters are strings)."""
        return self.params[name].to_string()

    def _output_uri(self, folder: str) -> Any:
        root = f"s3://{self.s.artifacts_bucket}/{self.deployment.registered_artifacts_prefix}"
        return self.sdk.functions.Join(
            on="/", values=[root, self.sdk.execution_variables.ExecutionVariables.PIPELINE_EXECUTION_ID, folder]
        )

    def _input(self, name: str, s3_uri: Any, local_path: str) -> Any:
        shapes = self.sdk.shapes
        return shapes.ProcessingInput(
            input_name=name,
            s3_input=shapes.ProcessingS3Input(
                s3_uri=s3_uri,
                local_path=local_path,
                s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="FullyReplicated",
            ),
        )

    def _output(self, name: str, local_path: str, folder: str) -> Any:
        shapes = self.sdk.shapes
        return shapes.ProcessingOutput(
            output_name=name,
            s3_output=shapes.ProcessingS3Output(
                s3_uri=self._output_uri(folder), local_path=local_path, s3_upload_mode="EndOfJob"
            ),
        )

    def _code_input(self) -> Any:
        """The bundle's zip, for ``bundle_entrypoint`` to unpack (the same input as ``bundle_input``)."""
        return self._input("code", self.s.code_bundle, BUNDLE_DIR)

    def _network_config(self) -> Any:
        """Processing jobs in the isolated network's subnets, traffic between instances encrypted; None in public
        mode. Network isolation stays off: the Dataset step calls Athena."""
        if not self.context.subnets:
            return None
        return self.sdk.network.NetworkConfig(
            enable_network_isolation=False,
            security_group_ids=[self._sentinel_of(g) for g in self.context.security_group_ids],
            subnets=[self._sentinel_of(s) for s in self.context.subnets],
            encrypt_inter_container_traffic=True,
        )

    def _networking(self) -> Any:
        """The training job's counterpart of ``_network_config``."""
        if not self.context.subnets:
            return None
        return self.sdk.training_configs.Networking(
            enable_network_isolation=False,
            security_group_ids=[self._sentinel_of(g) for g in self.context.security_group_ids],
            subnets=[self._sentinel_of(s) for s in self.context.subnets],
            enable_inter_container_traffic_encryption=True,
        )

    def _sentinel_of(self, value: str) -> str:
        """The SDK builds with sentinels; the context's network IDs are put in afterwards (``_Sentinels``)."""
        for sentinels, values in (
            (self.s.subnets, self.context.subnets),
            (self.s.security_group_ids, self.context.security_group_ids),
        ):
            if value in values:
                return sentinels[values.index(value)]
        raise AssertionError(f"pipeline definition: unknown network id {value}")

    def _retry_policies(self) -> list[Any]:
        retry = self.sdk.retry
        return [
            retry.StepRetryPolicy(
                exception_types=[retry.StepExceptionTypeEnum.SERVICE_FAULT, retry.StepExceptionTypeEnum.THROTTLING],
                interval_seconds=30,
                backoff_rate=2.0,
                max_attempts=3,
            ),
            retry.SageMakerJobStepRetryPolicy(
                exception_types=[
                    retry.SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                    retry.SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                    retry.SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
                ],
                interval_seconds=60,
                backoff_rate=2.0,
                max_attempts=3,
            ),
        ]

    def _processing_step(
        self,
        name: str,
        *,
        module: str,
        image: Image = SKLEARN,
        inputs: Sequence[Any],
        outputs: Sequence[Any],
        arguments: Sequence[Any],
        property_files: Sequence[Any] = (),
        depends_on: Sequence[Any] = (),
    ) -> Any:
        """A processing step running ``python3 -m <module>`` from the unpacked bundle on ``image``."""
        processor = self.sdk.processing.Processor(
            role=self.s.role_arn,
            image_uri=self.images[image],
            instance_count=1,
            instance_type=self.params[PROCESSING_INSTANCE_TYPE],
            entrypoint=bundle_entrypoint(["python3", "-m", module]),
            volume_size_in_gb=PROCESSING_VOLUME_GB,
            volume_kms_key=self.s.kms_key_arn,
            output_kms_key=self.s.kms_key_arn,
            max_runtime_in_seconds=PROCESSING_MAX_RUNTIME_SECONDS,
            base_job_name=f"{self.spec.name}-{module.rsplit('.', 1)[-1]}",
            env={"PYTHONPATH": CODE_DIR, "PYTHONUNBUFFERED": "1"},
            sagemaker_session=self.session,
            network_config=self._network_config(),
        )
        step_args = processor.run(
            inputs=[self._code_input(), *inputs], outputs=list(outputs), arguments=list(arguments)
        )
        return self.sdk.steps.ProcessingStep(
            name=name,
            step_args=step_args,
            property_files=list(property_files) or None,
            depends_on=list(depends_on) or None,
            retry_policies=self._retry_policies(),
        )

    @staticmethod
    def _output_of(step: Any, output_name: str) -> Any:
        return step.properties.ProcessingOutputConfig.Outputs[output_name].S3Output.S3Uri

    def _under(self, step: Any, output_name: str, *parts: str) -> Any:
        return self.sdk.functions.Join(on="/", values=[self._output_of(step, output_name), *parts])

    # -- steps --

    def dataset(self) -> Any:
        out = "/opt/ml/processing/output/dataset"
        # One --feature-tables per group: every container argument stays within 256 characters.
        tables = [
            arg
            for group in self.spec.feature_groups
            for arg in ("--feature-tables", f"{group.name}={feature_table_name(self.deployment, group.name)}")
        ]
        return self._processing_step(
            STEP_DATASET,
            module=f"{SCRIPTS}.dataset",
            inputs=[],  # Athena reads the offline store and the labels
            outputs=[self._output("dataset", out, DATASET_DIR)],
            arguments=[
                "--engine",
                "athena",
                "--spec",
                SPEC_FILE,
                "--database",
                self.context.glue_database,
                *tables,
                "--labels-table",
                self.context.labels_table,
                "--workgroup",
                self.context.athena_workgroup,
                "--region",
                self.context.region,
                "--request-scope",
                self.sdk.execution_variables.ExecutionVariables.PIPELINE_EXECUTION_ID,
                "--output-dir",
                out,
                "--window-start",
                self.params[WINDOW_START],
                "--window-end",
                self.params[WINDOW_END],
            ],
        )

    def preprocess(self, dataset: Any) -> Any:
        source = "/opt/ml/processing/input/dataset"
        out = "/opt/ml/processing/output"
        summary = self.sdk.properties.PropertyFile(
            name=PREPROCESS_PROPERTY_FILE, output_name="preprocessed", path="summary.json"
        )
        return self._processing_step(
            STEP_PREPROCESS,
            module=f"{SCRIPTS}.preprocess",
            inputs=[self._input("dataset", self._output_of(dataset, "dataset"), source)],
            outputs=[self._output("preprocessed", out, PREPROCESS_DIR)],
            arguments=["--spec", SPEC_FILE, "--dataset", source, "--output-dir", out],
            property_files=[summary],
        )

    def _class_ratio(self, preprocess: Any) -> Any:
        (summary,) = preprocess.property_files
        return self.sdk.functions.JsonGet(step_name=preprocess.name, property_file=summary, json_path=CLASS_RATIO_PATH)

    def train(self, preprocess: Any) -> Any:
        configs = self.sdk.training_configs
        h = self.spec.hyperparameters
        eval_metric = eval_metric_for(self.spec.objective)
        trainer = self.sdk.trainer.ModelTrainer(
            training_image=self.images[XGBOOST],
            role=self.s.role_arn,
            networking=self._networking(),
            base_job_name=f"{self.spec.name}-train",
            sagemaker_session=self.session,
            compute=configs.Compute(
                instance_type=self.params[TRAINING_INSTANCE_TYPE],
                instance_count=1,
                volume_size_in_gb=TRAINING_VOLUME_GB,
                volume_kms_key_id=self.s.kms_key_arn,
            ),
            stopping_condition=self.sdk.shapes.StoppingCondition(max_runtime_in_seconds=TRAINING_MAX_RUNTIME_SECONDS),
            output_data_config=configs.OutputDataConfig(
                s3_output_path=self._output_uri(TRAIN_DIR), kms_key_id=self.s.kms_key_arn, compression_type="GZIP"
            ),
            hyperparameters={
                "objective": "binary:logistic",
                "eval_metric": eval_metric,
                "max_depth": self._text(MAX_DEPTH),
                "eta": self._text(ETA),
                "num_round": self._text(NUM_ROUND),
                "subsample": self._text(SUBSAMPLE),
                "min_child_weight": self._text(MIN_CHILD_WEIGHT),
                # Class-imbalance weight: negatives / positives of this run's training split (preprocess.py).
                "scale_pos_weight": self.sdk.functions.Join(on="", values=[self._class_ratio(preprocess)]),
                "early_stopping_rounds": str(h.early_stopping_rounds),
                "seed": "0",
            },
        )
        channels = [
            configs.InputData(
                channel_name=split,
                data_source=self._under(preprocess, "preprocessed", split),
                content_type=CONTENT_TYPE,
            )
            for split in ("train", "validation")
        ]
        return self.sdk.steps.TrainingStep(
            name=STEP_TRAIN,
            step_args=trainer.train(input_data_config=channels),
            retry_policies=self._retry_policies(),
        )

    def score(self, preprocess: Any, train: Any) -> Any:
        model, test = "/opt/ml/processing/input/model", "/opt/ml/processing/input/test"
        baseline = "/opt/ml/processing/input/baseline"
        out = "/opt/ml/processing/output/scores"
        return self._processing_step(
            STEP_SCORE,
            module=f"{SCRIPTS}.score",
            image=XGBOOST,  # where the model was trained: its xgboost reads the booster
            inputs=[
                self._input("model", train.properties.ModelArtifacts.S3ModelArtifacts, model),
                self._input("test", self._under(preprocess, "preprocessed", "test"), test),
                self._input("baseline", self._under(preprocess, "preprocessed", "baseline"), baseline),
            ],
            outputs=[self._output("scores", out, SCORE_DIR)],
            arguments=[
                "--model",
                model,
                "--champion-model",
                self.params[CHAMPION_MODEL_URI],
                "--test",
                test,
                "--baseline",
                baseline,
                "--output-dir",
                out,
                "--region",
                self.context.region,
            ],
        )

    def evaluate(self, score: Any) -> tuple[Any, Any]:
        report = self.sdk.properties.PropertyFile(
            name=EVALUATION_PROPERTY_FILE, output_name="evaluation", path="evaluation.json"
        )
        scores, out = "/opt/ml/processing/input/scores", "/opt/ml/processing/evaluation"
        step = self._processing_step(
            STEP_EVALUATE,
            module=f"{SCRIPTS}.evaluate",
            inputs=[self._input("scores", self._output_of(score, "scores"), scores)],
            outputs=[self._output("evaluation", out, EVALUATE_DIR)],
            arguments=[
                "--spec",
                SPEC_FILE,
                "--scores",
                scores,
                "--output-dir",
                out,
                "--objective",
                str(self.spec.objective),
                "--absolute-threshold",
                self._text(ABSOLUTE_THRESHOLD),
                "--min-improvement",
                self._text(MIN_IMPROVEMENT),
            ],
            property_files=[report],
        )
        return step, report

    def baseline(self, preprocess: Any, score: Any, evaluate: Any) -> Any:
        data, scores, evaluation, out = (
            "/opt/ml/processing/input/baseline",
            "/opt/ml/processing/input/scores",
            "/opt/ml/processing/input/evaluation",
            "/opt/ml/processing/output/baselines",
        )
        return self._processing_step(
            STEP_BASELINE,
            module=f"{SCRIPTS}.baseline",
            inputs=[
                self._input("baseline-data", self._under(preprocess, "preprocessed", "baseline"), data),
                # The candidate's scores of the baseline rows: the baseline's prediction column.
                self._input("scores", self._output_of(score, "scores"), scores),
                self._input("evaluation", self._output_of(evaluate, "evaluation"), evaluation),
            ],
            outputs=[self._output("baselines", out, BASELINE_DIR)],
            arguments=[
                "--spec",
                SPEC_FILE,
                "--baseline-data",
                data,
                "--scores",
                scores,
                "--evaluation",
                evaluation,
                "--output-dir",
                out,
            ],
        )

    def decide(self, evaluate: Any) -> tuple[Any, Any]:
        decision = self.sdk.properties.PropertyFile(
            name=DECISION_PROPERTY_FILE, output_name="decision", path="decision.json"
        )
        evaluation, out = "/opt/ml/processing/input/evaluation", "/opt/ml/processing/output/decision"
        step = self._processing_step(
            STEP_DECIDE,
            module=f"{SCRIPTS}.condition",
            inputs=[self._input("evaluation", self._output_of(evaluate, "evaluation"), evaluation)],
            outputs=[self._output("decision", out, DECISION_DIR)],
            arguments=["--evaluation", evaluation, "--output-dir", out],
            property_files=[decision],
        )
        return step, decision

    def register(self, train: Any, evaluate: Any, baseline: Any) -> Any:
        sdk = self.sdk
        mm = sdk.model_metrics

        def source(step: Any, output: str, *key: str) -> Any:
            return mm.MetricsSource(content_type="application/json", s3_uri=self._under(step, output, *key))

        data_statistics = source(baseline, "baselines", "data-quality", "statistics.json")
        data_constraints = source(baseline, "baselines", "data-quality", "constraints.json")
        quality_statistics = source(baseline, "baselines", "model-quality", "statistics.json")
        quality_constraints = source(baseline, "baselines", "model-quality", "constraints.json")
        metrics = mm.ModelMetrics(
            model_statistics=source(evaluate, "evaluation", "evaluation.json"),
            model_constraints=quality_constraints,
            model_data_statistics=data_statistics,
            model_data_constraints=data_constraints,
        )
        drift = sdk.drift_check_baselines.DriftCheckBaselines(
            model_statistics=quality_statistics,
            model_constraints=quality_constraints,
            model_data_statistics=data_statistics,
            model_data_constraints=data_constraints,
        )
        functions = sdk.functions
        execution = sdk.execution_variables.ExecutionVariables
        builder = sdk.model_builder.ModelBuilder(
            s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
            image_uri=self.images[XGBOOST],
            role_arn=self.s.role_arn,
            sagemaker_session=self.session,
            # The default ({"auto": True}) makes the builder look up a default bucket for code it never uploads.
            dependencies=None,
        )
        step_args = builder.register(
            model_package_group_name=self.deployment.model_package_group_name,
            content_types=[CONTENT_TYPE],
            response_types=[CONTENT_TYPE],
            inference_instances=[self.deployment.env.endpoint.instance_type],
            transform_instances=[self.deployment.env.endpoint.instance_type],
            approval_status=APPROVAL_STATUS,
            description=f"{self.spec.name} ({self.deployment.env.name}): {self.spec.description}"[:1024],
            model_metrics=metrics,
            drift_check_baselines=drift,
            metadata_properties=sdk.metadata_properties.MetadataProperties(
                commit_id=self.context.source_revision,
                generated_by=functions.Join(
                    on="/", values=[self.deployment.pipeline_name, execution.PIPELINE_EXECUTION_ID]
                ),
            ),
            customer_metadata_properties={
                "model": self.spec.name,
                "environment": self.deployment.env.name,
                "owner": self.spec.owner.email,
                "objective": str(self.spec.objective),
                "source_revision": self.context.source_revision,
                "pipeline_execution_id": execution.PIPELINE_EXECUTION_ID,
                # ISO-8601 interval "start/end" (never empty, unlike the bounds: "" = open side).
                "training_window": functions.Join(on="/", values=[self.params[WINDOW_START], self.params[WINDOW_END]]),
                # "model_data=" alone: no champion (first model of the group). Values must not be empty.
                "champion": functions.Join(on="", values=["model_data=", self.params[CHAMPION_MODEL_URI]]),
                "absolute_threshold": self._text(ABSOLUTE_THRESHOLD),
                "min_improvement": self._text(MIN_IMPROVEMENT),
            },
        )
        return sdk.model_step.ModelStep(name=STEP_REGISTER, step_args=step_args)

    def check(self, *, evaluate: Any, report: Any, decide: Any, decision: Any, baseline: Any, register: Any) -> Any:
        sdk = self.sdk
        functions, conditions = sdk.functions, sdk.conditions
        candidate = functions.JsonGet(step_name=evaluate.name, property_file=report, json_path=CANDIDATE_OBJECTIVE_PATH)
        code = functions.JsonGet(step_name=decide.name, property_file=decision, json_path=DECISION_CODE_PATH)
        return sdk.condition_step.ConditionStep(
            name=STEP_CHECK,
            conditions=[
                conditions.ConditionGreaterThanOrEqualTo(left=candidate, right=self.params[ABSOLUTE_THRESHOLD]),
                conditions.ConditionIn(value=code, in_values=list(REGISTER_CODES)),
            ],
            if_steps=[register],
            else_steps=[],
            depends_on=[baseline],
        )

    def definition(self) -> str:
        dataset = self.dataset()
        preprocess = self.preprocess(dataset)
        train = self.train(preprocess)
        score = self.score(preprocess, train)
        evaluate, report = self.evaluate(score)
        baseline = self.baseline(preprocess, score, evaluate)
        decide, decision = self.decide(evaluate)
        register = self.register(train, evaluate, baseline)
        check = self.check(
            evaluate=evaluate, report=report, decide=decide, decision=decision, baseline=baseline, register=register
        )
        pipeline = self.sdk.pipeline.Pipeline(
            name=self.deployment.pipeline_name,
            parameters=[self.params[name] for name in PARAMETER_NAMES],
            steps=[dataset, preprocess, train, score, evaluate, baseline, decide, check],
            pipeline_experiment_config=None,
            sagemaker_session=self.session,
        )
        return str(pipeline.definition())
