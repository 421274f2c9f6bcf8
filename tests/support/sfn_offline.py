"""Run the SYNTHESIZED retraining state machine of any environment offline: moto's Step Functions interpreter and
the real handlers, with the real pipeline definition behind StartPipelineExecution.

- ``synthesize_environments`` synthesizes the app's stages once (about 10 s per environment); ``resolve`` reads
  one environment's templates (its own account, names and strategy) and ``retraining_world`` builds, inside
  ``mock_aws(config=MOTO_CONFIG)``:
  * every Lambda function of the retraining and serving stacks, with the template's ``Handler`` and
    ``Environment.Variables`` (CloudFormation tokens replaced by the concrete names created here; the
    environment's account becomes moto's). Functions without a ``FunctionName`` get a generated name, and the
    rendered definition's ``Fn::GetAtt [id, Arn]`` points at it;
  * the deployment-history and retraining-state tables, the buckets, the owner topic (with an SQS inbox);
  * the training pipeline with the training stack's definition (``Fn::Sub`` rendered), the model package group,
    the first champion registered by the real bootstrap (``tools.bootstrap_serving``: package, baselines,
    serving pointer), and the endpoint as the serving stack creates it from the pointer (the template's
    Model and EndpointConfig properties);
  * the state machine from the rendered definition, in moto's EXECUTING backend.
- moto's Lambda simple backend does not run code: ``invoke`` is patched to import the function's handler and
  call it in-process with the function's environment applied, following Lambda's error contract (an
  exception becomes ``FunctionError: Unhandled`` with ``{errorType: <class name>, errorMessage}``), so the
  definition's Retry / Catch by error name behave as deployed.
- A pipeline execution is run, when StartPipelineExecution records it, by the demo's pipeline emulator
  (``tools.demo.emulators.pipelines.run_execution``) on the synthesized definition with the execution's
  parameters: its Condition step decides, and its Register step creates the model package with the request the
  definition renders (metadata, baselines, ``GeneratedBy``), exactly as the real pipeline would. Only the jobs'
  work is scripted (``PipelineJobs``): each job is created in moto from its rendered request (botocore validates
  it), completes at once and writes what later steps read (summary.json, model.tar.gz, evaluation.json, the
  baselines); the Decide job runs the real ``condition`` script on that evaluation.json. ``PipelineScript``
  says what the next execution's candidate scores, and whether a step fails. ``pipeline_status`` overrides what
  DescribePipelineExecution reports (``Executing``: its status event has not arrived).
- EventBridge events the platform reacts to (the pipeline's status change, the registry's approval decision)
  are delivered through the synthesized rules: an event goes to every rule whose pattern matches it (moto's
  pattern matcher), whose target function runs it.
- The deployment handlers get a SageMaker client that answers UpdateEndpoint (``AutoSageMaker``, built on the
  unit tests' ``FakeSageMaker``) and a CloudWatch that answers GetMetricData (``FakeCloudWatch``), by patching
  the handlers' client factory. An update ends after ``polls`` DescribeEndpoint calls, as the test scripts it.
  While the endpoint has two variants (shadow, A/B), every change of its config or weights makes it serve a
  window of traffic (``Traffic``): per-variant CloudWatch metrics and data capture in SageMaker's format, the
  candidate behaving as the test says.
- Retry intervals are literal in the definition (60 s on EndpointNotReady): the interpreter's retry sleep is
  compressed (``retry_sleeps`` records the intervals the definition asked for). Wait states read their length
  from ``$.settings``, which ``run`` sets to 0.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import io
import json
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import EmptyResult
from moto.events.models import EventPattern
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.utils import get_pipeline_execution_from_arn
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.responses import StepFunctionResponse

from config import ENVIRONMENTS, MODELS, DeploymentStrategy, Environment, ModelDeployment, ModelSpec
from lambdas.deployment import compare, deploy, prepare, promote, rollback, verify
from lambdas.deployment import runtime as deployment_runtime
from lambdas.deployment.settings import CHALLENGER_VARIANT, SHADOW_VARIANT
from lambdas.retraining import runtime as retraining_runtime
from mlops_constructs.monitoring_common import current_baseline_prefix
from pipeline_defs import definition as pipeline
from pipeline_defs.scripts import condition, evaluate
from tests.contract.recorder import contract_double
from tests.support.baselines import tagged_baselines
from tests.support.synth import Synthesized, synthesize
from tests.support.tables import create_partition_table
from tests.support.trained import train_run
from tests.unit.deployment.conftest import AutoScaling, FakeCloudWatch, FakeSageMaker
from tools import bootstrap_serving
from tools.demo.emulators import pipelines
from tools.demo.emulators.runtime import Aws as EmulatorAws
from tools.demo.emulators.runtime import moto_backend
from tools.mlops_cli import cli as mlops_cli
from tools.mlops_cli.aws import Clients, lambda_invoker

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
ZERO_WAITS = {"bake_seconds": 0, "shadow_seconds": 0, "ab_step_seconds": 0}
ROLE = f"arn:aws:iam::{ACCOUNT}:role/offline-lambda"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000"
RETRY_SLEEP_SCALE = 0.001
_DEPLOYMENT_MODULES = (prepare, deploy, verify, compare, promote, rollback)
# One boto3 session for every world, the handlers' default one included: its loader parses each service model
# once (a fresh session costs about 0.5 s of CPU per world for the services used, SageMaker's model the most).
SESSION = boto3.session.Session(region_name=REGION)
AB_ENVIRONMENT = "ab"  # the A/B variant's stage name (no environment of the app uses the ab strategy)


def environment(name: str) -> Environment:
    """An environment of the app (``config.ENVIRONMENTS``), or the A/B variant."""
    if name == AB_ENVIRONMENT:
        return ab_environment()
    return next(e for e in ENVIRONMENTS if e.name == name)


def ab_environment() -> Environment:
    """STAGING with the ``ab`` strategy, as its own stage: champion and challenger as two production variants."""
    staging = environment("staging")
    return dataclasses.replace(
        staging,
        name=AB_ENVIRONMENT,
        deployment=dataclasses.replace(staging.deployment, strategy=DeploymentStrategy.AB),
    )


def synthesize_environments(outdir: Path, environments: Sequence[Environment]) -> Synthesized:
    """The given stages in one synth (one App: cheaper than a synth per environment)."""
    return synthesize(outdir, environments=list(environments))


def with_state_fields(resolved: Resolved, state: str, **fields: Any) -> Resolved:
    """``resolved`` whose rendered definition has ``fields`` set on ``state`` (a test-only override, e.g. a
    ``TimeoutSeconds`` the config cannot express); the synthesized templates are untouched."""
    definition = copy.deepcopy(resolved.definition)
    definition["States"][state].update(fields)
    return dataclasses.replace(resolved, definition=definition)


# ---- template -> concrete names --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    handler: str
    environment: dict[str, str]

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.name}"


@dataclass(frozen=True)
class EventRule:
    """A synthesized EventBridge rule: its pattern (rendered) and the functions it targets."""

    logical_id: str
    pattern: dict[str, Any]
    targets: tuple[str, ...]  # function names


@dataclass(frozen=True)
class Resolved:
    """What the harness creates for one environment, named as its templates say."""

    environment: Environment  # as configured (its account is the templates')
    deployment: ModelDeployment  # the model in the environment, in moto's account (what bootstrap and the CLI see)
    functions: dict[str, FunctionSpec]  # by logical id
    definition: dict[str, Any]
    state_machine_name: str
    state_table: str
    history_table: str
    artifacts_bucket: str
    group: str
    pointer: str
    pipeline: str
    pipeline_definition: str  # the training stack's definition, Fn::Sub rendered
    pipeline_role_arn: str
    endpoint: str
    endpoint_config: dict[str, Any]  # the serving stack's EndpointConfig properties (ModelName: the harness's)
    serving_model: dict[str, Any]  # the serving stack's Model properties (the package: the serving pointer's)
    topic_arn: str
    rules: tuple[EventRule, ...]

    def function(self, handler_module: str) -> FunctionSpec:
        """The function whose handler is ``<handler_module>.handler`` (e.g. ``lambdas.retraining.guard``)."""
        return next(f for f in self.functions.values() if f.handler == f"{handler_module}.handler")

    def deployment_function(self, step: str) -> str:
        """The name of a deployment step's function (``prepare`` ... ``rollback``)."""
        return self.function(f"lambdas.deployment.{step}").name

    @property
    def strategy(self) -> DeploymentStrategy:
        return self.environment.deployment.strategy

    @property
    def state_machine_arn(self) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.state_machine_name}"

    @property
    def initial_model(self) -> str:
        return f"{self.endpoint}-initial"

    @property
    def initial_config(self) -> str:
        return f"{self.endpoint}-config-initial"

    @property
    def capture_uri(self) -> str:
        return str(self.endpoint_config["DataCaptureConfig"]["DestinationS3Uri"])

    @property
    def current_baseline_uri(self) -> str:
        return f"s3://{self.artifacts_bucket}/{current_baseline_prefix(self.deployment)}"


def resolve(synth: Synthesized, env: Environment, spec: ModelSpec = MODELS[0]) -> Resolved:
    """``env``'s templates (synthesized in ``synth``), with every CloudFormation token made concrete."""
    deployment = ModelDeployment(spec=spec, env=env)
    stacks = {kind: (env.name, f"{spec.name}-{kind}") for kind in ("retraining", "serving", "training")}
    platform = synth.json(env.name, "platform")
    retraining, serving, training = (synth.json(*stacks[kind]) for kind in ("retraining", "serving", "training"))
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{deployment.prefix}-owner"

    def concrete(text: str) -> str:
        return text.replace(f":{env.account}:", f":{ACCOUNT}:").replace(f"-{env.account}-", f"-{ACCOUNT}-")

    def platform_output(name: str) -> str:
        value = platform["Outputs"][name]["Value"]
        reference = value.get("Ref") or value.get("Fn::GetAtt", [None])[0]
        resource = platform["Resources"][reference]
        if resource["Type"] == "AWS::SNS::Topic":
            return topic_arn
        if resource["Type"] == "AWS::DynamoDB::Table" and "Ref" in value:
            return str(resource["Properties"]["TableName"])
        if resource["Type"] == "AWS::KMS::Key":
            return KEY_ARN
        raise ValueError(f"cannot resolve platform output {name}: {value}")

    def platform_parameter(name: str) -> str:
        """The value the platform stack writes into the SSM parameter ``name`` (a stack reads it by type)."""
        [value] = [
            r["Properties"]["Value"]
            for r in platform["Resources"].values()
            if r["Type"] == "AWS::SSM::Parameter" and r["Properties"].get("Name") == name
        ]
        reference = value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None
        if reference is not None and platform["Resources"][reference]["Type"] == "AWS::KMS::Key":
            return KEY_ARN
        if "/network/" in name:
            # An isolated environment's VPC IDs (ADR 0019): the offline run attaches nothing to a VPC, so a stand-in
            # with the shape of an ID (the Models the automation creates carry it in their VpcConfig).
            return f"{name.rsplit('/', 1)[-1]}-offline"
        raise ValueError(f"cannot resolve platform SSM parameter {name}: {value}")

    functions: dict[str, FunctionSpec] = {}
    for stack, template in ((stacks["retraining"][1], retraining), (stacks["serving"][1], serving)):
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            name = props.get("FunctionName") or f"{stack}-{logical_id}"[:64]
            functions[logical_id] = FunctionSpec(logical_id, name, props["Handler"], {})

    def renderer(template: dict[str, Any]) -> Callable[[Any], Any]:
        def ref(name: str) -> str:
            """A pseudo parameter, or a template parameter read from SSM (the platform stack writes it)."""
            parameter = template.get("Parameters", {}).get(name)
            if parameter and str(parameter["Type"]).startswith("AWS::SSM::Parameter::Value"):
                return platform_parameter(str(parameter["Default"]))
            return {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}[name]

        def render(value: Any) -> Any:  # noqa: PLR0911 - one return per intrinsic function
            if isinstance(value, str):
                return concrete(value)
            if isinstance(value, list):
                return [render(v) for v in value]
            if not isinstance(value, dict):
                return value
            if "Ref" in value:
                return ref(str(value["Ref"]))
            if "Fn::GetAtt" in value:
                resource_id, attribute = value["Fn::GetAtt"]
                if resource_id in functions and attribute == "Arn":
                    return functions[resource_id].arn
                if template["Resources"][resource_id]["Type"] == "AWS::IAM::Role" and attribute == "Arn":
                    return f"arn:aws:iam::{ACCOUNT}:role/{resource_id}"
                raise ValueError(f"cannot render {value}")
            if "Fn::GetStackOutput" in value:
                return platform_output(value["Fn::GetStackOutput"]["OutputName"])
            if "Fn::Join" in value:
                separator, parts = value["Fn::Join"]
                return str(separator).join(str(render(p)) for p in parts)
            if "Fn::Sub" in value:
                text, variables = value["Fn::Sub"]
                text = str(render(text))
                for name, variable in variables.items():
                    text = text.replace("${" + name + "}", str(render(variable)))
                return text
            if len(value) == 1 and next(iter(value)).startswith("Fn::"):
                raise ValueError(f"cannot render intrinsic {value}")
            return {k: render(v) for k, v in value.items()}

        return render

    for template in (retraining, serving):
        render = renderer(template)
        for logical_id, resource in template["Resources"].items():
            if logical_id in functions:
                variables = resource["Properties"].get("Environment", {}).get("Variables", {})
                spec_ = functions[logical_id]
                functions[logical_id] = FunctionSpec(
                    logical_id, spec_.name, spec_.handler, {k: str(render(v)) for k, v in variables.items()}
                )
    render_retraining = renderer(retraining)
    machine = next(r for r in retraining["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    definition = json.loads(render_retraining(machine["Properties"]["DefinitionString"]))
    _refuse_non_object_parameters(definition)
    rules = tuple(
        EventRule(
            logical_id=logical_id,
            pattern=render_retraining(resource["Properties"]["EventPattern"]),
            targets=tuple(
                next(f.name for f in functions.values() if f.arn == render_retraining(t["Arn"]))
                for t in resource["Properties"]["Targets"]
            ),
        )
        for logical_id, resource in retraining["Resources"].items()
        if resource["Type"] == "AWS::Events::Rule" and "EventPattern" in resource["Properties"]
    )

    render_serving = renderer(serving)
    [(_, model)] = [(k, r) for k, r in serving["Resources"].items() if r["Type"] == "AWS::SageMaker::Model"]
    [(_, config)] = [(k, r) for k, r in serving["Resources"].items() if r["Type"] == "AWS::SageMaker::EndpointConfig"]
    [(_, endpoint)] = [(k, r) for k, r in serving["Resources"].items() if r["Type"] == "AWS::SageMaker::Endpoint"]
    config_props = copy.deepcopy(config["Properties"])
    for variant in config_props["ProductionVariants"]:
        variant.pop("ModelName")  # Fn::GetAtt of the Model: the harness names it
    model_props = {k: v for k, v in model["Properties"].items() if k != "Containers"}

    render_training = renderer(training)
    [pipeline_resource] = [r for r in training["Resources"].values() if r["Type"] == "AWS::SageMaker::Pipeline"]
    pipeline_definition = render_training(
        pipeline_resource["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    )

    tables = {
        r["Properties"]["TableName"] for r in platform["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"
    }
    by_handler = {f.handler: f for f in functions.values()}
    guard = by_handler["lambdas.retraining.guard.handler"]
    deployer = by_handler["lambdas.deployment.deploy.handler"]
    start = by_handler["lambdas.retraining.start_pipeline.handler"]
    check = by_handler["lambdas.retraining.check_registration.handler"]
    state_table = guard.environment["STATE_TABLE"]
    history_table = deployer.environment["HISTORY_TABLE"]
    assert {state_table, history_table} <= tables, (state_table, history_table, tables)
    assert deployer.environment["CURRENT_BASELINE_S3_URI"].startswith(f"s3://{check.environment['ARTIFACTS_BUCKET']}/")
    return Resolved(
        environment=env,
        deployment=ModelDeployment(spec=spec, env=dataclasses.replace(env, account=ACCOUNT)),
        functions=functions,
        definition=definition,
        state_machine_name=str(machine["Properties"]["StateMachineName"]),
        state_table=state_table,
        history_table=history_table,
        artifacts_bucket=check.environment["ARTIFACTS_BUCKET"],
        group=check.environment["MODEL_PACKAGE_GROUP"],
        pointer=start.environment["SERVING_POINTER_PARAMETER"],
        pipeline=start.environment["PIPELINE_NAME"],
        pipeline_definition=str(pipeline_definition),
        pipeline_role_arn=str(render_training(pipeline_resource["Properties"]["RoleArn"])),
        endpoint=str(endpoint["Properties"]["EndpointName"]),
        endpoint_config=render_serving(config_props),
        serving_model=render_serving(model_props),
        topic_arn=topic_arn,
        rules=rules,
    )


def _refuse_non_object_parameters(definition: dict[str, Any]) -> None:
    """The harness refuses a definition with a state whose ``Parameters`` is not an object.

    CDK renders ``LambdaInvoke(payload=TaskInput.from_json_path_at("$"), payload_response_only=True)`` as
    ``"Parameters": "$"`` (aws/aws-cdk#34260), which is not valid ASL (Parameters must be an object) and which
    moto's parser and AWS both reject. This found that bug in the loop once; now it guards against it.
    """
    invalid = sorted(
        name
        for name, state in definition["States"].items()
        if "Parameters" in state and not isinstance(state["Parameters"], dict)
    )
    if invalid:
        raise AssertionError(f"states with non-object Parameters (aws/aws-cdk#34260): {invalid}")


# ---- the SageMaker endpoint that finishes updates as scripted ---------------------------------------------------


def _access_denied(operation: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation)


@contract_double("sagemaker")
class AutoSageMaker(FakeSageMaker):
    """FakeSageMaker whose update ends by itself after ``polls`` DescribeEndpoint calls while Updating.

    ``outcomes`` scripts each update in order: ``"finish"`` (InService on the new config), ``"rollback"``
    (SageMaker's silent rollback: InService on the old config) or ``"rolling_back"`` (SageMaker's auto-rollback
    as observed: ``RollingBack`` for ``polls`` more polls, then InService on the old config); when empty, updates
    finish. ``updated_at`` is when the last UpdateEndpoint was accepted; ``observed`` the statuses described.
    ``denied`` names operations (``"add_tags"``) whose next call is refused with AccessDenied. ``on_change``
    runs whenever the endpoint's config or weights changed (the traffic it then serves).
    """

    def __init__(self, client: Any, autoscaling: Any, endpoint: str, *, polls: int = 1) -> None:
        super().__init__(client, autoscaling, endpoint=endpoint)
        self.polls = polls
        self.outcomes: list[str] = []
        self.updated_at: datetime | None = None
        self.observed: list[str] = []  # the EndpointStatus of every DescribeEndpoint answered
        self.denied: set[str] = set()
        self.on_change: Callable[[], None] = lambda: None
        self._left = 0

    def update_endpoint(self, **params: Any) -> Any:
        response = super().update_endpoint(**params)
        self.updated_at = datetime.now(UTC)
        self._left = self.polls
        return response

    def update_endpoint_weights_and_capacities(self, **params: Any) -> Any:
        response = super().update_endpoint_weights_and_capacities(**params)
        self.on_change()
        return response

    def add_tags(self, **params: Any) -> Any:
        if "add_tags" in self.denied:
            self.denied.discard("add_tags")
            raise _access_denied("AddTags", f"not authorized to perform sagemaker:AddTags on {params['ResourceArn']}")
        return super().add_tags(**params)

    def describe_endpoint(self, **params: Any) -> Any:
        response = self._describe_endpoint(**params)
        self.observed.append(str(response["EndpointStatus"]))
        return response

    def _describe_endpoint(self, **params: Any) -> Any:
        if self._pending is not None:
            if self._left <= 0:
                outcome = self.outcomes.pop(0) if self.outcomes else "finish"
                if outcome == "finish":
                    self.finish_update()
                    self.on_change()
                elif outcome == "rollback":
                    self.sagemaker_rolls_back()
                else:
                    assert outcome == "rolling_back", outcome
                    self.set_status("RollingBack")
                    self._left = self.polls
                    self.outcomes.insert(0, "rollback")
            else:
                self._left -= 1
        return super().describe_endpoint(**params)


@contract_double("cloudwatch")
class BakeCloudWatch(FakeCloudWatch):
    """FakeCloudWatch whose ``after_update`` series answer windows ending after the endpoint update began.

    With a guardrail strategy (blue_green, canary) the champion's window ends when the deployment started (before
    the update) and the candidate's ends at Compare (after it): ``after_update`` is the candidate's evidence.
    """

    def __init__(self, sagemaker: AutoSageMaker, endpoint: str) -> None:
        super().__init__(endpoint=endpoint)
        self._sagemaker = sagemaker
        self.after_update: dict[str, dict[str, float]] = {}

    def set_after_update(self, variant: str, *, invocations: float, errors: float, p99_us: float) -> None:
        self.after_update[variant] = {
            "Invocations/Sum": invocations,
            "Invocation5XXErrors/Sum": errors,
            "ModelLatency/p99": p99_us,
        }

    def get_metric_data(self, **params: Any) -> dict[str, Any]:
        updated = self._sagemaker.updated_at
        if updated is not None and params["EndTime"] > updated:
            for variant, series in self.after_update.items():
                self.series[(variant, params["EndTime"])] = series
        return super().get_metric_data(**params)


# ---- the traffic a two-variant endpoint serves -----------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """How a variant serves: 5xx errors per request, p99 model latency (microseconds, as SageMaker reports
    it) and how far its scores sit from the champion's for the same request."""

    error_rate: float = 0.0005
    p99_us: float = 40_000
    score_shift: float = 0.0


HEALTHY = Behaviour(error_rate=0.0006, p99_us=42_000, score_shift=0.001)
REGRESSED = Behaviour(error_rate=0.05, p99_us=95_000, score_shift=0.45)


@dataclass
class Traffic:
    """Requests served in each window while the endpoint has two variants (shadow or A/B).

    The champion (the production variant ``primary``) scores each request as ``_score`` says; the candidate
    (``shadow`` or ``challenger``) behaves as ``candidate(share)`` says, ``share`` being its fraction of the
    traffic (a shadow variant sees a copy of every request: its sampling weight).
    """

    requests: int = 2000
    champion: Behaviour = field(default_factory=Behaviour)
    candidate: Callable[[float], Behaviour] = lambda share: HEALTHY
    served: list[dict[str, float]] = field(default_factory=list)  # variant -> share, per window served


# ---- the pipeline's jobs -----------------------------------------------------------------------------------------


@dataclass
class PipelineScript:
    """What the next pipeline executions' jobs produce. The steps around them (parameters, property files,
    conditions, registration) are the emulator's, on the synthesized definition."""

    candidate_objective: float = 0.90  # what Evaluate measures for the candidate
    champion_objective: float = 0.85  # ... and for the champion, when the execution has one (ChampionModelUri)
    failing_step: str | None = None  # this step's job fails: the execution fails
    status: str | None = None  # DescribePipelineExecution reports this instead (e.g. "Executing")

    def not_better(self) -> None:
        """The candidate does not beat the champion by the minimum improvement (condition.py decides)."""
        self.candidate_objective = self.champion_objective


# The step each processing job's output names (pipeline_defs/definition.py).
_STEP_OF_OUTPUT = {
    "dataset": pipeline.STEP_DATASET,
    "preprocessed": pipeline.STEP_PREPROCESS,
    "scores": pipeline.STEP_SCORE,
    "evaluation": pipeline.STEP_EVALUATE,
    "baselines": pipeline.STEP_BASELINE,
    "decision": pipeline.STEP_DECIDE,
}
_BASELINE_FILES = (
    "data-quality/statistics.json",
    "data-quality/constraints.json",
    "model-quality/statistics.json",
    "model-quality/constraints.json",
)


@dataclass
class PipelineJobs:
    """The pipeline's Processing and Training jobs for ``pipelines.Jobs``: each is created in moto from the
    request the definition rendered, completes at once (or fails, if ``script.failing_step`` names its step)
    and writes the outputs the later steps, the registry and the loop read."""

    script: PipelineScript
    jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (step, request) in the order run
    champion_scored: bool = False  # the Score job was given a champion model (ChampionModelUri not empty)

    def emulator_jobs(self) -> pipelines.Jobs:
        return pipelines.Jobs(processing=self.processing, training=self.training)

    def processing(self, aws: EmulatorAws, request: Mapping[str, Any], *, workdir: Path) -> dict[str, Any]:
        sagemaker, s3 = aws.client("sagemaker"), aws.client("s3")
        sagemaker.create_processing_job(**request)
        name = str(request["ProcessingJobName"])
        outputs = {o["OutputName"]: str(o["S3Output"]["S3Uri"]) for o in request["ProcessingOutputConfig"]["Outputs"]}
        [step] = {_STEP_OF_OUTPUT[o] for o in outputs}
        self.jobs.append((step, dict(request)))
        if step == self.script.failing_step:
            job = moto_backend("sagemaker", aws.account, aws.region).processing_jobs[name]
            job.processing_job_status = "Failed"
            job.failure_reason = f"AlgorithmError: {step} failed in the test"
        elif step == pipeline.STEP_PREPROCESS:
            _put_json(s3, f"{outputs['preprocessed']}/summary.json", {pipeline.CLASS_RATIO_PATH: 11.5})
        elif step == pipeline.STEP_SCORE:
            arguments = list(request["AppSpecification"]["ContainerArguments"])
            self.champion_scored = bool(arguments[arguments.index("--champion-model") + 1])
        elif step == pipeline.STEP_EVALUATE:
            _put_json(s3, f"{outputs['evaluation']}/evaluation.json", self._evaluation(request))
        elif step == pipeline.STEP_BASELINE:
            for file in _BASELINE_FILES:
                _put_json(s3, f"{outputs['baselines']}/{file}", {"version": 0.0, "written_by": name})
        elif step == pipeline.STEP_DECIDE:
            self._decide(s3, request, outputs["decision"], workdir / name)
        return dict(sagemaker.describe_processing_job(ProcessingJobName=name))

    def training(self, aws: EmulatorAws, request: Mapping[str, Any], *, workdir: Path) -> dict[str, Any]:
        sagemaker = aws.client("sagemaker")
        sagemaker.create_training_job(**request)
        name = str(request["TrainingJobName"])
        self.jobs.append((pipeline.STEP_TRAIN, dict(request)))
        described = sagemaker.describe_training_job(TrainingJobName=name)
        if self.script.failing_step == pipeline.STEP_TRAIN:
            job = moto_backend("sagemaker", aws.account, aws.region).training_jobs[name]
            job.training_job_status = job.secondary_status = "Failed"
            job.failure_reason = f"AlgorithmError: {pipeline.STEP_TRAIN} failed in the test"
        else:
            bucket, key = _split(str(described["ModelArtifacts"]["S3ModelArtifacts"]))
            aws.client("s3").put_object(Bucket=bucket, Key=key, Body=b"model.tar.gz of " + name.encode())
        return dict(sagemaker.describe_training_job(TrainingJobName=name))

    def _evaluation(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """evaluation.json for the objective values scripted, with the gate's inputs from the job's arguments
        (the evaluate script's own parser: the thresholds the execution's parameters rendered); the champion's
        objective only when the Score job was given a champion."""
        args, _ = evaluate._parser().parse_known_args(request["AppSpecification"]["ContainerArguments"])
        return {
            "decision_inputs": {
                "objective": args.objective,
                "absolute_threshold": args.absolute_threshold,
                "min_improvement": args.min_improvement,
                "candidate_objective": self.script.candidate_objective,
                "champion_objective": self.script.champion_objective if self.champion_scored else None,
            }
        }

    @staticmethod
    def _decide(s3: Any, request: Mapping[str, Any], output_uri: str, scratch: Path) -> None:
        """The real condition script on the evaluation.json the job's input names."""
        [source] = [i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"] if i["InputName"] == "evaluation"]
        bucket, key = _split(f"{str(source).rstrip('/')}/evaluation.json")
        (scratch / "in").mkdir(parents=True, exist_ok=True)
        (scratch / "in" / "evaluation.json").write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        with redirect_stdout(io.StringIO()):
            code = condition.main(["--evaluation", str(scratch / "in"), "--output-dir", str(scratch / "out")])
        assert code == 0, f"condition.py exited {code}"
        bucket, key = _split(f"{output_uri}/decision.json")
        s3.put_object(Bucket=bucket, Key=key, Body=(scratch / "out" / "decision.json").read_bytes())


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _put_json(s3: Any, uri: str, body: Any) -> None:
    bucket, key = _split(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())


# ---- in-process Lambda ---------------------------------------------------------------------------------------------


class _SessionAws(EmulatorAws):
    """The emulators' clients, from the shared session."""

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = SESSION.client(service, region_name=self.region)
            return self._clients[service]


class _LambdaServiceError(JsonRESTError):
    code = 500

    def __init__(self) -> None:
        super().__init__("ServiceException", "Lambda was unable to run the function (injected by the test)")


@dataclass
class Invocation:
    function: str
    event: Any
    error: str | None
    result: Any


@dataclass
class LambdaRuntime:
    """Runs functions' handlers in-process; records every invocation; can inject failures."""

    deployment_aws: deployment_runtime.Aws
    invocations: list[Invocation] = field(default_factory=list)
    # function name -> how many of its next invocations fail with Lambda's ServiceException (before the handler)
    service_errors: dict[str, int] = field(default_factory=dict)
    # function name -> how far ahead of the clock the ``now`` given to it is (an event without ``now``), e.g. the
    # bake that the run's zero-second Wait skipped, so that Compare's window is not the deployment's start minute
    clock_ahead: dict[str, timedelta] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def invoke(self, function: Any, body: Any) -> tuple[bytes, str | None]:
        event = json.loads(body) if body else {}
        ahead = self.clock_ahead.get(function.function_name)
        if ahead is not None and isinstance(event, dict) and "now" not in event:
            event["now"] = (datetime.now(UTC) + ahead).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.lock:
            if self.service_errors.get(function.function_name, 0) > 0:
                self.service_errors[function.function_name] -= 1
                self.invocations.append(Invocation(function.function_name, event, "Lambda.ServiceException", None))
                raise _LambdaServiceError()
            module_name, handler_name = str(function.handler).rsplit(".", 1)
            saved = dict(os.environ)
            os.environ.update({k: str(v) for k, v in (function.environment_vars or {}).items()})
            retraining_runtime.clear_caches()
            deployment_runtime.deployment_env.cache_clear()
            context = SimpleNamespace(
                function_name=function.function_name,
                function_version="$LATEST",
                invoked_function_arn=function.function_arn,
                memory_limit_in_mb=256,
                aws_request_id=f"offline-{len(self.invocations)}",
                log_group_name=f"/aws/lambda/{function.function_name}",
                log_stream_name="offline",
            )
            try:
                handler: Callable[..., Any] = getattr(importlib.import_module(module_name), handler_name)
                result = handler(event, context)
            except Exception as error:
                self.invocations.append(Invocation(function.function_name, event, type(error).__name__, None))
                payload = {"errorType": type(error).__name__, "errorMessage": str(error)}
                return json.dumps(payload).encode(), "Unhandled"
            finally:
                os.environ.clear()
                os.environ.update(saved)
            self.invocations.append(Invocation(function.function_name, event, None, result))
            return json.dumps(result, default=str).encode(), None

    def calls(self, function_name: str) -> list[Invocation]:
        return [i for i in self.invocations if i.function == function_name]


# ---- the world ------------------------------------------------------------------------------------------------------


@dataclass
class RetrainingWorld:
    resolved: Resolved
    runtime: LambdaRuntime
    sagemaker: AutoSageMaker
    cloudwatch: BakeCloudWatch
    session: Any
    queue_url: str
    champion: str  # the package serving when the world was built (registered by the bootstrap)
    workdir: Path
    outputs: PipelineScript = field(default_factory=PipelineScript)
    traffic: Traffic = field(default_factory=Traffic)
    pipeline_executions: list[str] = field(default_factory=list)
    candidates: dict[str, str] = field(default_factory=dict)  # pipeline execution ARN -> package it registered
    pipeline_jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (step, request), all runs
    status_overrides: dict[str, str] = field(default_factory=dict)
    retry_sleeps: list[float] = field(default_factory=list)
    emulator: EmulatorAws = field(default_factory=lambda: _SessionAws(region=REGION))
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, service: str) -> Any:
        """The test's client of ``service`` (one per world: the polling loops would otherwise build hundreds)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self.session.client(service, region_name=REGION)
            return self._clients[service]

    # ---- running ----

    def start(self, name: str, *, trigger: Mapping[str, Any] | None = None) -> str:
        payload = {"trigger": dict(trigger or {"source": "manual"}), "settings": ZERO_WAITS}
        response = self.client("stepfunctions").start_execution(
            stateMachineArn=self.resolved.state_machine_arn, name=name, input=json.dumps(payload)
        )
        return str(response["executionArn"])

    def wait(self, execution_arn: str, *, timeout: float = 120.0) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{execution_arn} still RUNNING after {timeout} s; history: {self.states(execution_arn)}"
                )
            time.sleep(0.05)

    def run(self, name: str, *, trigger: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.wait(self.start(name, trigger=trigger))

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        request: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**request)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            request["nextToken"] = page["nextToken"]

    def states(self, execution_arn: str) -> list[str]:
        """The states entered, in order."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_arn)
            if "stateEnteredEventDetails" in e
        ]

    def wait_for(self, condition: Callable[[], Any], execution_arn: str, *, timeout: float = 60.0) -> Any:
        """Poll until ``condition()`` is truthy (the run parked somewhere); fail with the states entered."""
        deadline = time.monotonic() + timeout
        while not (found := condition()):
            assert time.monotonic() < deadline, self.states(execution_arn)
            time.sleep(0.05)
        return found

    # ---- the AWS state ----

    def pointer(self) -> str:
        return str(self.client("ssm").get_parameter(Name=self.resolved.pointer)["Parameter"]["Value"])

    def pointer_history(self) -> list[str]:
        """Every value the serving pointer has had, oldest first."""
        pages = self.client("ssm").get_paginator("get_parameter_history").paginate(Name=self.resolved.pointer)
        return [str(p["Value"]) for page in pages for p in page["Parameters"]]

    def endpoint_config(self) -> dict[str, Any]:
        """The config the endpoint is on (shadow variants included)."""
        name = self.client("sagemaker").describe_endpoint(EndpointName=self.resolved.endpoint)["EndpointConfigName"]
        return dict(self.sagemaker.describe_endpoint_config(EndpointConfigName=name))

    def package_of_model(self, model_name: str) -> str:
        model = self.client("sagemaker").describe_model(ModelName=model_name)
        container = model.get("PrimaryContainer") or model["Containers"][0]
        return str(container["ModelPackageName"])

    def serving_package(self) -> str:
        """The model package the endpoint's production variant serves (endpoint -> config -> model)."""
        return self.package_of_model(str(self.endpoint_config()["ProductionVariants"][0]["ModelName"]))

    def champion_tagged(self) -> list[str]:
        """The packages that carry the ``mlops:champion`` tag (AddTags / DeleteTags as the fake applied them)."""
        return sorted(arn for arn, tags in self.sagemaker.package_tags.items() if tags.get("mlops:champion") == "true")

    def current_baselines_of(self) -> set[str]:
        """The packages whose baselines are published under the current-baseline prefix (object metadata)."""
        bucket, prefix = _split(self.resolved.current_baseline_uri)
        s3 = self.client("s3")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("Contents", [])
        return {
            s3.head_object(Bucket=bucket, Key=o["Key"])["Metadata"].get("model-package-arn", "bootstrap")
            for o in listed
        }

    def _items(self, table: str, prefix: str) -> list[dict[str, Any]]:
        items = self.client("dynamodb").scan(TableName=table)["Items"]
        flat = [{k: next(iter(v.values())) for k, v in item.items()} for item in items]
        return sorted((i for i in flat if str(i["sk"]).startswith(prefix)), key=lambda i: str(i["sk"]))

    def state_items(self, prefix: str = "") -> list[dict[str, Any]]:
        return self._items(self.resolved.state_table, prefix)

    def history_items(self, prefix: str = "") -> list[dict[str, Any]]:
        """Deployment-history items (``DEPLOYMENT#``, ``ID#``, ``CHAMPION``), by sort key."""
        return self._items(self.resolved.history_table, prefix)

    def lock(self) -> dict[str, Any]:
        found = self.state_items("LOCK")
        return found[0] if found else {}

    def notifications(self) -> list[dict[str, Any]]:
        """Owner-topic messages (the SNS envelope's Subject and parsed Message), as the SQS subscriber sees them."""
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return messages
            for m in got:
                envelope = json.loads(m["Body"])
                try:
                    body: Any = json.loads(envelope["Message"])
                except json.JSONDecodeError:
                    body = envelope["Message"]
                messages.append({"subject": envelope.get("Subject"), "message": body})
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    # ---- the pipeline ----

    def run_pipeline(self, execution_arn: str) -> None:
        """The execution StartPipelineExecution recorded, run by the emulator on the synthesized definition."""
        jobs = PipelineJobs(self.outputs)
        pipelines.run_execution(
            self.emulator, execution_arn, workdir=self.workdir / "pipelines", jobs=jobs.emulator_jobs()
        )
        self.pipeline_jobs.extend(jobs.jobs)
        for step in pipelines.execution_steps(self.emulator, execution_arn):
            if step["StepName"] == pipeline.STEP_REGISTER and step["StepStatus"] == "Succeeded":
                self.candidates[execution_arn] = str(step["Metadata"]["RegisterModel"]["Arn"])
        if self.outputs.status is not None:
            self.status_overrides[execution_arn] = self.outputs.status

    def finish_pipeline(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's status event (its real status) arrives: delivered through the synthesized rules."""
        self.status_overrides.pop(execution_arn, None)
        described = self.client("sagemaker").describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        event = {
            "version": "0",
            "id": "offline-pipeline-event",
            "detail-type": pipelines.STATUS_CHANGE,
            "source": pipelines.EVENT_SOURCE,
            "account": ACCOUNT,
            "region": REGION,
            "resources": [described["PipelineArn"], execution_arn],
            "detail": {
                "pipelineArn": described["PipelineArn"],
                "pipelineExecutionArn": execution_arn,
                "currentPipelineExecutionStatus": described["PipelineExecutionStatus"],
                "previousPipelineExecutionStatus": "Executing",
            },
        }
        return self.deliver(event)

    # ---- the registry and the on-call CLI ----

    def package_state_changed(self, package_arn: str) -> list[dict[str, Any]]:
        """The registry's event for the package's current state (what SageMaker emits after an approval change),
        delivered through the synthesized rules."""
        package = self.client("sagemaker").describe_model_package(ModelPackageName=package_arn)
        detail = {
            key: package[key]
            for key in (
                "ModelPackageGroupName",
                "ModelPackageVersion",
                "ModelPackageArn",
                "ModelApprovalStatus",
                "ApprovalDescription",
            )
            if key in package
        }
        event = {
            "version": "0",
            "id": "offline-approval-event",
            "detail-type": "SageMaker Model Package State Change",
            "source": "aws.sagemaker",
            "account": ACCOUNT,
            "region": REGION,
            "resources": [package_arn],
            "detail": detail,
        }
        return self.deliver(event)

    def decide_approval(self, package_arn: str, status: str, description: str = "") -> list[dict[str, Any]]:
        """Someone decides in the registry (UpdateModelPackage); its event follows."""
        update: dict[str, Any] = {"ModelPackageArn": package_arn, "ModelApprovalStatus": status}
        if description:
            update["ApprovalDescription"] = description
        self.client("sagemaker").update_model_package(**update)
        return self.package_state_changed(package_arn)

    def cli(self, *argv: str) -> tuple[int, str, str]:
        """The on-call CLI (``python -m tools.mlops_cli``) against this world, for this environment and model, as
        an operator runs it: the account override is the one config/ asks for when it holds a placeholder.
        Returns (exit code, stdout, stderr)."""
        deployment = self.resolved.deployment
        out, err = io.StringIO(), io.StringIO()
        clients = Clients(
            lambda service, config: self.session.client(service, region_name=REGION, config=config),
            invoke=lambda_invoker(self.client("lambda")),
        )
        code = mlops_cli.main(
            [*argv, "--env", deployment.env.name, "--model", deployment.spec.name],
            clients=clients,
            environ={f"MLOPS_{deployment.env.name.upper()}_ACCOUNT": ACCOUNT},
            sleep=lambda _: None,
            stdout=out,
            stderr=err,
        )
        return code, out.getvalue(), err.getvalue()

    # ---- events ----

    def deliver(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """``event`` through every synthesized rule that matches it; the target functions' results (exactly one
        rule must match: the platform routes each of its events once)."""
        matched = [r for r in self.resolved.rules if EventPattern.load(json.dumps(r.pattern)).matches_event(event)]
        assert len(matched) == 1, f"rules matching {event['detail-type']}: {[r.logical_id for r in matched]}"
        results = []
        for function in matched[0].targets:
            response = self.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
            result: dict[str, Any] = json.loads(response["Payload"].read())
            assert "FunctionError" not in response, result
            results.append(result)
        return results

    # ---- traffic ----

    def serve(self) -> None:
        """While the endpoint has two variants: a window of traffic, recorded as SageMaker records it."""
        sm = self.client("sagemaker")
        endpoint = sm.describe_endpoint(EndpointName=self.resolved.endpoint)
        config = self.sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        production = {
            str(v["VariantName"]): float(v.get("CurrentWeight") or 0.0) for v in endpoint["ProductionVariants"]
        }
        shadows = {
            str(v["VariantName"]): float(v["InitialVariantWeight"]) for v in config.get("ShadowProductionVariants", [])
        }
        if len(production) + len(shadows) < 2:
            return
        total = sum(production.values()) or 1.0
        shares = {name: weight / total for name, weight in production.items()} | shadows
        self.traffic.served.append(shares)
        batch = len(self.traffic.served)
        at = datetime.now(UTC) - timedelta(seconds=90)
        n = self.traffic.requests
        for variant, share in shares.items():
            candidate = variant in (SHADOW_VARIANT, CHALLENGER_VARIANT)
            behaviour = self.traffic.candidate(share) if candidate else self.traffic.champion
            count = round(n * share)
            # A shadow variant scores a copy of the production variant's requests; A/B variants split them.
            first = n - count if variant == CHALLENGER_VARIANT else 0
            requests = range(first, first + count)
            self.cloudwatch.set(
                variant, invocations=count, errors=count * behaviour.error_rate, p99_us=behaviour.p99_us
            )
            if count:
                scores = {f"b{batch}-r{i:05d}": _score(i, behaviour.score_shift) for i in requests}
                self._capture(variant, scores, at=at, name=f"batch-{batch:03d}")

    def _capture(self, variant: str, scores: Mapping[str, float], *, at: datetime, name: str) -> None:
        """Data capture of ``variant``: JSON lines under ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/``."""
        bucket, prefix = _split(self.resolved.capture_uri)
        lines = [
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "mode": "INPUT",
                            "data": "0",
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
                        "eventId": f"{variant}-{inference_id}",
                        "inferenceId": inference_id,
                        "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                    "eventVersion": "0",
                }
            )
            for inference_id, score in scores.items()
        ]
        key = f"{prefix.strip('/')}/{self.resolved.endpoint}/{variant}/{at:%Y/%m/%d/%H}/{name}.jsonl"
        self.client("s3").put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())


def _score(request: int, shift: float) -> float:
    """The champion's score of request ``request`` (a low-discrepancy sequence: any run of requests spreads evenly
    over [0, 1), so both halves of an A/B split look alike), moved by ``shift``."""
    return min(1.0, max(0.0, (request * 0.6180339887498949) % 1.0 + shift))


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _bootstrap_champion(resolved: Resolved, session: Any, workdir: Path) -> str:
    """The first serving model, registered by the real bootstrap command from a model artifact and baselines."""
    # A real (small) model of the spec: the bootstrap checks the artifact's recorded features are the spec's.
    run = train_run(resolved.deployment.spec, workdir / "bootstrap")
    artifact, baselines = run / "model" / "model.tar.gz", run / "baselines"
    tagged_baselines(baselines, written_by="bootstrap")  # the real Baseline step's files: the bootstrap checks them
    result = bootstrap_serving.bootstrap(
        resolved.deployment,
        artifact=artifact,
        baselines=baselines,
        image_uri=_image(resolved),
        s3=session.client("s3", region_name=REGION),
        sagemaker=session.client("sagemaker", region_name=REGION),
        ssm=session.client("ssm", region_name=REGION),
        # In prod (manual approval) a real first model comes from the pipeline (--from-pipeline); the loop's tests
        # need a serving champion before any run, so they register the local one as an operator's --force-demo does.
        force_demo=True,
    )
    assert result.created, result
    return result.model_package_arn


def _image(resolved: Resolved) -> str:
    """The inference image the pipeline's Register step names."""
    steps = json.loads(resolved.pipeline_definition)["Steps"]
    check = next(s for s in steps if s["Name"] == pipeline.STEP_CHECK)
    register = next(s for s in check["Arguments"]["IfSteps"] if s["Name"] == pipeline.STEP_REGISTER)
    return str(register["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"])


def _build(resolved: Resolved, world_box: dict[str, RetrainingWorld], session: Any, workdir: Path) -> RetrainingWorld:
    def client(service: str) -> Any:
        return session.client(service, region_name=REGION)

    iam = client("iam")
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    iam.create_role(RoleName="offline-lambda", AssumeRolePolicyDocument=json.dumps(trust))

    dynamodb = client("dynamodb")
    for table in (resolved.state_table, resolved.history_table):
        create_partition_table(dynamodb, table)
    s3 = client("s3")
    buckets = {resolved.artifacts_bucket, _split(resolved.capture_uri)[0]}
    for spec in resolved.functions.values():
        for value in spec.environment.values():
            if value.startswith("s3://"):
                buckets.add(value[5:].split("/", 1)[0])
    for bucket in sorted(buckets):
        s3.create_bucket(Bucket=bucket)

    sns, sqs = client("sns"), client("sqs")
    topic_arn = sns.create_topic(Name=resolved.topic_arn.rsplit(":", 1)[1])["TopicArn"]
    assert topic_arn == resolved.topic_arn
    queue_url = sqs.create_queue(QueueName="owner-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    sm = client("sagemaker")
    sm.create_pipeline(
        PipelineName=resolved.pipeline,
        RoleArn=resolved.pipeline_role_arn,
        PipelineDefinition=resolved.pipeline_definition,
    )
    sm.create_model_package_group(ModelPackageGroupName=resolved.group)
    champion = _bootstrap_champion(resolved, session, workdir)
    # The endpoint as the serving stack creates it: the Model from the pointer, the template's config.
    pointer = client("ssm").get_parameter(Name=resolved.pointer)["Parameter"]["Value"]
    sm.create_model(
        ModelName=resolved.initial_model, PrimaryContainer={"ModelPackageName": pointer}, **resolved.serving_model
    )
    config = copy.deepcopy(resolved.endpoint_config)
    for variant in config["ProductionVariants"]:
        variant["ModelName"] = resolved.initial_model
    sm.create_endpoint_config(EndpointConfigName=resolved.initial_config, **config)
    sm.create_endpoint(EndpointName=resolved.endpoint, EndpointConfigName=resolved.initial_config)

    autoscaling = AutoScaling(client("application-autoscaling"))
    fake_sm = AutoSageMaker(client("sagemaker"), autoscaling, resolved.endpoint)
    cloudwatch = BakeCloudWatch(fake_sm, resolved.endpoint)
    cloudwatch.set("primary", invocations=1000, errors=0, p99_us=20_000)
    deployment_aws = deployment_runtime.Aws(
        sagemaker=fake_sm,
        ssm=client("ssm"),
        dynamodb=client("dynamodb"),
        cloudwatch=cloudwatch,
        s3=client("s3"),
        autoscaling=autoscaling,
    )
    lambda_client = client("lambda")
    code = _zip()
    for spec in resolved.functions.values():
        lambda_client.create_function(
            FunctionName=spec.name,
            Runtime="python3.12",
            Role=ROLE,
            Handler=spec.handler,
            Code={"ZipFile": code},
            Environment={"Variables": spec.environment},
            Timeout=60,
        )
    client("stepfunctions").create_state_machine(
        name=resolved.state_machine_name,
        definition=json.dumps(resolved.definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/offline-states",
        type="STANDARD",
    )
    world = RetrainingWorld(
        resolved=resolved,
        runtime=LambdaRuntime(deployment_aws=deployment_aws),
        sagemaker=fake_sm,
        cloudwatch=cloudwatch,
        session=session,
        queue_url=queue_url,
        champion=champion,
        workdir=workdir,
    )
    fake_sm.on_change = world.serve
    world_box["world"] = world
    return world


# moto's own methods, whatever a world (or a world inside a world) has patched since.
_ORIGINAL_PARSE = AmazonStateLanguageParser.parse
_ORIGINAL_START = SageMakerModelBackend.start_pipeline_execution
_ORIGINAL_DESCRIBE = SageMakerModelBackend.describe_pipeline_execution
_ORIGINAL_UPDATE_PACKAGE = SageMakerModelBackend.update_model_package


_SYNTAX_TREES: dict[str, Any] = {}


def _parse(definition: str) -> tuple[Any, Any]:
    """moto's ASL parse, with the syntax tree kept per definition (ANTLR's parse is most of a world's set-up, and
    moto parses at CreateStateMachine and at every StartExecution); the evaluation components are built fresh
    from the tree every time, as moto builds them."""
    tree = _SYNTAX_TREES.get(definition)
    if tree is None:
        program, tree = _ORIGINAL_PARSE(definition)
        _SYNTAX_TREES[definition] = tree
        return program, tree
    return Preprocessor().visit(tree), tree


@contextmanager
def retraining_world(resolved: Resolved, monkeypatch: pytest.MonkeyPatch) -> Iterator[RetrainingWorld]:
    """A fresh moto world with the state machine and its functions; the patches live as long as the context."""
    box: dict[str, RetrainingWorld] = {}

    def invoke(  # noqa: PLR0917 - moto's LambdaBackend.invoke signature
        backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        function = backend.get_function(function_name, qualifier)
        payload, error = box["world"].runtime.invoke(function, body)
        if error:
            response_headers["x-amz-function-error"] = error
        return payload

    def start_pipeline_execution(backend: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
        response: dict[str, str] = _ORIGINAL_START(backend, *args, **kwargs)
        world = box["world"]
        world.pipeline_executions.append(response["PipelineExecutionArn"])
        world.run_pipeline(response["PipelineExecutionArn"])
        return response

    def describe_pipeline_execution(backend: Any, arn: str) -> dict[str, Any]:
        response: dict[str, Any] = _ORIGINAL_DESCRIBE(backend, arn)
        # moto answers an empty FailureReason; the emulator keeps the failed step's on the execution record.
        record = get_pipeline_execution_from_arn(backend.pipelines, arn)
        response["FailureReason"] = record.pipeline_execution_failure_reason or ""
        override = box["world"].status_overrides.get(arn)
        if override is not None:
            response["PipelineExecutionStatus"] = override
        return response

    def update_model_package(backend: Any, model_package_arn: str, *args: Any, **kwargs: Any) -> str:
        # moto replaces CustomerMetadataProperties (and ApprovalDescription) with null when an update does not
        # name them; SageMaker keeps them (its UpdateModelPackage removes properties only through
        # CustomerMetadataPropertiesToRemove), so an approval would erase the pipeline's metadata here only.
        package = backend.model_packages[backend.model_package_name_mapping.get(model_package_arn, model_package_arn)]
        kept = dict(package.customer_metadata_properties or {})
        description = package.approval_description
        arn: str = _ORIGINAL_UPDATE_PACKAGE(backend, model_package_arn, *args, **kwargs)
        package.customer_metadata_properties = {**kept, **(package.customer_metadata_properties or {})}
        for removed in kwargs.get("customer_metadata_properties_to_remove") or ():
            package.customer_metadata_properties.pop(removed, None)
        if package.approval_description is None:
            package.approval_description = description
        return arn

    def send_task_failure(response: Any) -> EmptyResult:
        # moto's SendTaskFailure drops the request's cause (the executing backend takes it): Step Functions
        # passes it on, and the Catch puts it in the state next to the error name.
        response.stepfunction_backend.send_task_failure(
            response._get_param("taskToken"), error=response._get_param("error"), cause=response._get_param("cause")
        )
        return EmptyResult()

    def compressed_sleep(seconds: float) -> None:
        box["world"].retry_sleeps.append(seconds)
        time.sleep(seconds * RETRY_SLEEP_SCALE)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    monkeypatch.setattr(SageMakerModelBackend, "start_pipeline_execution", start_pipeline_execution)
    monkeypatch.setattr(SageMakerModelBackend, "describe_pipeline_execution", describe_pipeline_execution)
    monkeypatch.setattr(SageMakerModelBackend, "update_model_package", update_model_package)
    monkeypatch.setattr(StepFunctionResponse, "send_task_failure", send_task_failure)
    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(_parse))
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=compressed_sleep))
    with tempfile.TemporaryDirectory(prefix="retraining-world-") as scratch, mock_aws(config=MOTO_CONFIG):
        session = SESSION
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", SESSION)  # the handlers' clients (mock_aws reset it)
        world = _build(resolved, box, session, Path(scratch))
        for module in _DEPLOYMENT_MODULES:
            monkeypatch.setattr(module, "deployment_clients", lambda: world.runtime.deployment_aws)
        yield world
        # Let running executions (e.g. a test that failed mid-run) end before moto's state is reset.
        sfn = world.client("stepfunctions")
        for execution in sfn.list_executions(stateMachineArn=resolved.state_machine_arn)["executions"]:
            if execution["status"] == "RUNNING":
                sfn.stop_execution(executionArn=execution["executionArn"])
