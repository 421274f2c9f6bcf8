"""Run the SYNTHESIZED retraining state machine offline: moto's Step Functions interpreter + the real handlers.

- ``synthesize_dev`` synthesizes the DEV stage once (about 12 s); ``RetrainingWorld.create`` then builds, inside
  ``mock_aws(config=MOTO_CONFIG)``:
  * every Lambda function of the retraining and serving stacks, with the template's ``Handler`` and
    ``Environment.Variables`` (CloudFormation tokens replaced by the concrete names created here). Functions
    without a ``FunctionName`` get a generated name, and the rendered definition's ``Fn::GetAtt [id, Arn]``
    points at it; the deployment functions keep the names the definition references;
  * the deployment-history and retraining-state tables, the buckets, the owner topic (with an SQS inbox),
    the serving pointer, the model package group, a champion package, the serving endpoint, the pipeline;
  * the state machine from the rendered definition, in moto's EXECUTING backend.
- moto's Lambda simple backend does not run code: ``invoke`` is patched to import the function's handler and
  call it in-process with the function's environment applied, following Lambda's error contract (an
  exception becomes ``FunctionError: Unhandled`` with ``{errorType: <class name>, errorMessage}``), so the
  definition's Retry / Catch by error name behave as deployed.
- The deployment handlers get a SageMaker client that answers UpdateEndpoint (``AutoSageMaker``, built on the
  unit tests' ``FakeSageMaker``) and a CloudWatch that answers GetMetricData (``FakeCloudWatch``), by patching
  the handlers' client factory. The update ends after one ``DescribeEndpoint`` poll, as the test scripts it.
- moto's pipeline executions are ``Succeeded`` at once; the start is hooked so the pipeline's outputs
  (``decision/decision.json`` and, when registering, a PendingManualApproval package naming the execution)
  exist before ``register_wait`` checks the execution. ``pipeline_status`` overrides what
  DescribePipelineExecution reports (``Executing``, ``Failed``).
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
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import SageMakerModelBackend
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from config import ENVIRONMENTS, Environment
from lambdas.deployment import compare, deploy, prepare, promote, rollback, verify
from lambdas.deployment import runtime as deployment_runtime
from lambdas.retraining import runtime as retraining_runtime
from tests.support.synth import Synthesized, synthesize
from tests.unit.deployment.conftest import LIVE_CAPTURE, AutoScaling, FakeCloudWatch, FakeSageMaker

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
TEMPLATE_ACCOUNT = "111111111111"  # the account the DEV stage is synthesized for
RETRAINING = ("dev", "fraud-detection-retraining")
SERVING = ("dev", "fraud-detection-serving")
PLATFORM = ("dev", "platform")
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
ZERO_WAITS = {"bake_seconds": 0, "shadow_seconds": 0, "ab_step_seconds": 0}
IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/offline-lambda"
SERVING_ROLE = f"arn:aws:iam::{ACCOUNT}:role/serving-model"
INITIAL_MODEL = "fraud-detection-dev-initial"
INITIAL_CONFIG = "fraud-detection-dev-config-initial"
CAPTURE_BUCKET = "fraud-detection-dev-capture"  # LIVE_CAPTURE's destination
OWNER_TOPIC = "fraud-detection-dev-owner"
RETRY_SLEEP_SCALE = 0.001
_DEPLOYMENT_MODULES = (prepare, deploy, verify, compare, promote, rollback)


def dev_environment() -> Environment:
    return next(e for e in ENVIRONMENTS if e.name == "dev")


def synthesize_dev(outdir: Path, environment: Environment | None = None) -> Synthesized:
    """The DEV stage, or ``environment`` (a ``dataclasses.replace`` of DEV, e.g. manual approval) in its place."""
    return synthesize(outdir, environments=[environment or dev_environment()])


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
class Resolved:
    """What the harness creates, named as the templates say."""

    functions: dict[str, FunctionSpec]  # by logical id
    definition: dict[str, Any]
    state_machine_name: str
    state_table: str
    history_table: str
    artifacts_bucket: str
    group: str
    pointer: str
    pipeline: str
    endpoint: str
    topic_arn: str
    patched_states: list[str]  # states whose invalid ``"Parameters": "$"`` the harness removed

    def function(self, handler_module: str) -> FunctionSpec:
        """The function whose handler is ``<handler_module>.handler`` (e.g. ``lambdas.retraining.guard``)."""
        return next(f for f in self.functions.values() if f.handler == f"{handler_module}.handler")

    @property
    def state_machine_arn(self) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.state_machine_name}"


def _concrete(text: str) -> str:
    return text.replace(f":{TEMPLATE_ACCOUNT}:", f":{ACCOUNT}:").replace(f"-{TEMPLATE_ACCOUNT}-", f"-{ACCOUNT}-")


def resolve(synth: Synthesized) -> Resolved:
    platform, retraining, serving = (synth.json(*key) for key in (PLATFORM, RETRAINING, SERVING))
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{OWNER_TOPIC}"

    def platform_output(name: str) -> str:
        value = platform["Outputs"][name]["Value"]
        resource = platform["Resources"][value["Ref"]]
        if resource["Type"] == "AWS::SNS::Topic":
            return topic_arn
        if resource["Type"] == "AWS::DynamoDB::Table":
            return str(resource["Properties"]["TableName"])
        raise ValueError(f"cannot resolve platform output {name}: {value}")

    functions: dict[str, FunctionSpec] = {}
    for stack, template in ((RETRAINING[1], retraining), (SERVING[1], serving)):
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            name = props.get("FunctionName") or f"{stack}-{logical_id}"[:64]
            functions[logical_id] = FunctionSpec(logical_id, name, props["Handler"], {})

    def render(value: Any) -> str:
        if isinstance(value, str):
            return _concrete(value)
        if "Ref" in value:
            return {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}[value["Ref"]]
        if "Fn::GetAtt" in value:
            resource_id, attribute = value["Fn::GetAtt"]
            if resource_id in functions and attribute == "Arn":
                return functions[resource_id].arn
            if resource_id.startswith("ServingModelRole") and attribute == "Arn":
                return SERVING_ROLE
            raise ValueError(f"cannot render {value}")
        if "Fn::GetStackOutput" in value:
            return platform_output(value["Fn::GetStackOutput"]["OutputName"])
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(render(p) for p in parts)
        raise ValueError(f"cannot render intrinsic {value}")

    for template in (retraining, serving):
        for logical_id, resource in template["Resources"].items():
            if logical_id in functions:
                variables = resource["Properties"].get("Environment", {}).get("Variables", {})
                spec = functions[logical_id]
                functions[logical_id] = FunctionSpec(
                    logical_id, spec.name, spec.handler, {k: render(v) for k, v in variables.items()}
                )
    machine = next(r for r in retraining["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    definition = json.loads(render(machine["Properties"]["DefinitionString"]))
    patched = _pass_whole_input(definition)
    tables = {
        r["Properties"]["TableName"] for r in platform["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"
    }
    guard = next(f for f in functions.values() if f.handler == "lambdas.retraining.guard.handler")
    deployer = next(f for f in functions.values() if f.handler == "lambdas.deployment.deploy.handler")
    start = next(f for f in functions.values() if f.handler == "lambdas.retraining.start_pipeline.handler")
    check = next(f for f in functions.values() if f.handler == "lambdas.retraining.check_registration.handler")
    state_table = guard.environment["STATE_TABLE"]
    history_table = deployer.environment["HISTORY_TABLE"]
    assert {state_table, history_table} <= tables, (state_table, history_table, tables)
    return Resolved(
        functions=functions,
        definition=definition,
        state_machine_name=str(machine["Properties"]["StateMachineName"]),
        state_table=state_table,
        history_table=history_table,
        artifacts_bucket=check.environment["ARTIFACTS_BUCKET"],
        group=check.environment["MODEL_PACKAGE_GROUP"],
        pointer=start.environment["SERVING_POINTER_PARAMETER"],
        pipeline=start.environment["PIPELINE_NAME"],
        endpoint=deployer.environment["ENDPOINT_NAME"],
        topic_arn=topic_arn,
        patched_states=patched,
    )


def _pass_whole_input(definition: dict[str, Any]) -> list[str]:
    """The states whose ``Parameters`` is not an object; the harness refuses to run such a definition.

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
    return invalid


# ---- the SageMaker endpoint that finishes updates as scripted ---------------------------------------------------


class AutoSageMaker(FakeSageMaker):
    """FakeSageMaker whose update ends by itself after ``polls`` DescribeEndpoint calls while Updating.

    ``outcomes`` scripts each update in order: ``"finish"`` (InService on the new config), ``"rollback"``
    (SageMaker's silent rollback: InService on the old config) or ``"rolling_back"`` (SageMaker's auto-rollback
    as observed: ``RollingBack`` for ``polls`` more polls, then InService on the old config); when empty, updates
    finish. ``updated_at`` is when the last UpdateEndpoint was accepted; ``observed`` the statuses described.
    """

    def __init__(self, client: Any, autoscaling: Any, endpoint: str, *, polls: int = 1) -> None:
        super().__init__(client, autoscaling)
        self._endpoint_name = endpoint
        self.polls = polls
        self.outcomes: list[str] = []
        self.updated_at: datetime | None = None
        self.observed: list[str] = []  # the EndpointStatus of every DescribeEndpoint answered
        self._left = 0

    def update_endpoint(self, **params: Any) -> Any:
        response = super().update_endpoint(**params)
        self.updated_at = datetime.now(UTC)
        self._left = self.polls
        return response

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


class BakeCloudWatch(FakeCloudWatch):
    """FakeCloudWatch whose ``after_update`` series answer windows ending after the endpoint update began.

    With a guardrail strategy (blue_green) the champion's window ends when the deployment started (before the
    update) and the candidate's ends at Compare (after it): ``after_update`` is the candidate's evidence.
    """

    def __init__(self, sagemaker: AutoSageMaker) -> None:
        super().__init__()
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


# ---- in-process Lambda ---------------------------------------------------------------------------------------------


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
    lock: threading.Lock = field(default_factory=threading.Lock)

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
class PipelineOutputs:
    """What the next pipeline execution(s) write: the decision, and whether it registers a package."""

    register: bool = True
    code: str = "better"
    reason: str = "candidate beats the champion"
    status: str | None = None  # what DescribePipelineExecution reports instead of Succeeded (e.g. "Failed")


@dataclass
class RetrainingWorld:
    resolved: Resolved
    runtime: LambdaRuntime
    sagemaker: AutoSageMaker
    cloudwatch: BakeCloudWatch
    session: Any
    queue_url: str
    champion: str
    outputs: PipelineOutputs = field(default_factory=PipelineOutputs)
    pipeline_executions: list[str] = field(default_factory=list)
    candidates: dict[str, str] = field(default_factory=dict)  # pipeline execution ARN -> package ARN
    status_overrides: dict[str, tuple[str, str]] = field(default_factory=dict)
    retry_sleeps: list[float] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    # ---- running ----

    def start(self, name: str, *, trigger: Mapping[str, Any] | None = None) -> str:
        payload = {"trigger": dict(trigger or {"source": "manual"}), "settings": ZERO_WAITS}
        response = self.client("stepfunctions").start_execution(
            stateMachineArn=self.resolved.state_machine_arn, name=name, input=json.dumps(payload)
        )
        return str(response["executionArn"])

    def wait(self, execution_arn: str, *, timeout: float = 30.0) -> dict[str, Any]:
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
            time.sleep(0.02)

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

    # ---- the AWS state ----

    def pointer(self) -> str:
        return str(self.client("ssm").get_parameter(Name=self.resolved.pointer)["Parameter"]["Value"])

    def serving_package(self) -> str:
        """The model package the endpoint's production variant serves (endpoint -> config -> model)."""
        sm = self.client("sagemaker")
        config_name = sm.describe_endpoint(EndpointName=self.resolved.endpoint)["EndpointConfigName"]
        config = sm.describe_endpoint_config(EndpointConfigName=config_name)
        model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        container = model.get("PrimaryContainer") or model["Containers"][0]
        return str(container["ModelPackageName"])

    def state_items(self, prefix: str = "") -> list[dict[str, Any]]:
        items = self.client("dynamodb").scan(TableName=self.resolved.state_table)["Items"]
        flat = [{k: next(iter(v.values())) for k, v in item.items()} for item in items]
        return sorted((i for i in flat if str(i["sk"]).startswith(prefix)), key=lambda i: str(i["sk"]))

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

    def register_candidate(self, execution_arn: str) -> str:
        arn = str(
            self.client("sagemaker").create_model_package(
                ModelPackageGroupName=self.resolved.group,
                ModelApprovalStatus="PendingManualApproval",
                InferenceSpecification={
                    "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{self.resolved.artifacts_bucket}/c.tar.gz"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                CustomerMetadataProperties={"pipeline_execution_arn": execution_arn},
            )["ModelPackageArn"]
        )
        self.candidates[execution_arn] = arn
        return arn

    def write_outputs(self, execution_arn: str) -> None:
        """What the pipeline's Decide (and Register) steps leave for check_registration."""
        outputs = self.outputs
        execution_id = execution_arn.rsplit("/", 1)[-1]
        key = f"pipelines/{self.resolved.pipeline}/{execution_id}/decision/decision.json"
        body = {"register": outputs.register, "code": outputs.code, "reason": outputs.reason}
        self.client("s3").put_object(Bucket=self.resolved.artifacts_bucket, Key=key, Body=json.dumps(body).encode())
        if outputs.register:
            self.register_candidate(execution_arn)
        if outputs.status is not None:
            self.status_overrides[execution_arn] = (outputs.status, f"{outputs.status} in the test")

    def finish_pipeline(self, execution_arn: str, status: str = "Succeeded") -> dict[str, Any]:
        """The pipeline ends: its EventBridge status event goes to the real pipeline_callback function."""
        self.status_overrides.pop(execution_arn, None)
        if status != "Succeeded":
            self.status_overrides[execution_arn] = (status, f"{status} in the test")
        event = {
            "version": "0",
            "id": "offline-event",
            "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
            "source": "aws.sagemaker",
            "account": ACCOUNT,
            "region": REGION,
            "detail": {
                "pipelineArn": execution_arn.split("/execution/", maxsplit=1)[0],
                "pipelineExecutionArn": execution_arn,
                "currentPipelineExecutionStatus": status,
                "previousPipelineExecutionStatus": "Executing",
            },
        }
        return self._deliver("lambdas.retraining.pipeline_callback", event)

    def decide_approval(self, package_arn: str, status: str, description: str = "") -> dict[str, Any]:
        """The owner decides in the registry (UpdateModelPackage); its EventBridge event goes to the real
        approval_callback function."""
        update: dict[str, Any] = {"ModelPackageArn": package_arn, "ModelApprovalStatus": status}
        if description:
            update["ApprovalDescription"] = description
        self.client("sagemaker").update_model_package(**update)
        detail: dict[str, Any] = {
            "ModelPackageGroupName": self.resolved.group,
            "ModelPackageArn": package_arn,
            "ModelApprovalStatus": status,
        }
        if description:
            detail["ApprovalDescription"] = description
        event = {
            "version": "0",
            "id": "offline-approval-event",
            "detail-type": "SageMaker Model Package State Change",
            "source": "aws.sagemaker",
            "account": ACCOUNT,
            "region": REGION,
            "detail": detail,
        }
        return self._deliver("lambdas.retraining.approval_callback", event)

    def _deliver(self, handler_module: str, event: dict[str, Any]) -> dict[str, Any]:
        callback = self.resolved.function(handler_module)
        response = self.client("lambda").invoke(FunctionName=callback.name, Payload=json.dumps(event).encode())
        result: dict[str, Any] = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, result
        return result


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _build(resolved: Resolved, world_box: dict[str, RetrainingWorld], session: Any) -> RetrainingWorld:
    def client(service: str) -> Any:
        return session.client(service, region_name=REGION)

    iam = client("iam")
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    iam.create_role(RoleName="offline-lambda", AssumeRolePolicyDocument=json.dumps(trust))

    dynamodb = client("dynamodb")
    for table in (resolved.state_table, resolved.history_table):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    s3 = client("s3")
    buckets = {resolved.artifacts_bucket, CAPTURE_BUCKET}
    for spec in resolved.functions.values():
        for value in spec.environment.values():
            if value.startswith("s3://"):
                buckets.add(value[5:].split("/", 1)[0])
    for bucket in sorted(buckets):
        s3.create_bucket(Bucket=bucket)

    sns, sqs = client("sns"), client("sqs")
    topic_arn = sns.create_topic(Name=OWNER_TOPIC)["TopicArn"]
    assert topic_arn == resolved.topic_arn
    queue_url = sqs.create_queue(QueueName="owner-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    sm = client("sagemaker")
    sm.create_pipeline(
        PipelineName=resolved.pipeline,
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/pipeline",
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []}),
    )
    sm.create_model_package_group(ModelPackageGroupName=resolved.group)
    champion = str(
        sm.create_model_package(
            ModelPackageGroupName=resolved.group,
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{resolved.artifacts_bucket}/champion.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
    )
    # The endpoint as the serving stack creates it from the pointer.
    sm.create_model(
        ModelName=INITIAL_MODEL, PrimaryContainer={"ModelPackageName": champion}, ExecutionRoleArn=SERVING_ROLE
    )
    sm.create_endpoint_config(
        EndpointConfigName=INITIAL_CONFIG,
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": INITIAL_MODEL,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
                "InitialVariantWeight": 1.0,
            }
        ],
        DataCaptureConfig=LIVE_CAPTURE,
    )
    sm.create_endpoint(EndpointName=resolved.endpoint, EndpointConfigName=INITIAL_CONFIG)
    client("ssm").put_parameter(Name=resolved.pointer, Value=champion, Type="String")

    autoscaling = AutoScaling(client("application-autoscaling"))
    fake_sm = AutoSageMaker(client("sagemaker"), autoscaling, resolved.endpoint)
    cloudwatch = BakeCloudWatch(fake_sm)
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
    )
    world_box["world"] = world
    return world


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

    original_start = SageMakerModelBackend.start_pipeline_execution
    original_describe = SageMakerModelBackend.describe_pipeline_execution

    def start_pipeline_execution(backend: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
        response: dict[str, str] = original_start(backend, *args, **kwargs)
        world = box["world"]
        world.pipeline_executions.append(response["PipelineExecutionArn"])
        world.write_outputs(response["PipelineExecutionArn"])
        return response

    def describe_pipeline_execution(backend: Any, arn: str) -> dict[str, Any]:
        response: dict[str, Any] = original_describe(backend, arn)
        override = box["world"].status_overrides.get(arn)
        if override is not None:
            response["PipelineExecutionStatus"], response["FailureReason"] = override
        return response

    def compressed_sleep(seconds: float) -> None:
        box["world"].retry_sleeps.append(seconds)
        time.sleep(seconds * RETRY_SLEEP_SCALE)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    monkeypatch.setattr(SageMakerModelBackend, "start_pipeline_execution", start_pipeline_execution)
    monkeypatch.setattr(SageMakerModelBackend, "describe_pipeline_execution", describe_pipeline_execution)
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=compressed_sleep))
    with mock_aws(config=MOTO_CONFIG):
        session = boto3.session.Session(region_name=REGION)
        world = _build(resolved, box, session)
        for module in _DEPLOYMENT_MODULES:
            monkeypatch.setattr(module, "deployment_clients", lambda: world.runtime.deployment_aws)
        yield world
        # Let running executions (e.g. a test that failed mid-run) end before moto's state is reset.
        sfn = world.client("stepfunctions")
        for execution in sfn.list_executions(stateMachineArn=resolved.state_machine_arn)["executions"]:
            if execution["status"] == "RUNNING":
                sfn.stop_execution(executionArn=execution["executionArn"])
