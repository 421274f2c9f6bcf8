"""SageMaker Pipelines executions, run from the definition moto holds for the execution.

Real: the pipeline definition as deployed (CreatePipeline / StartPipelineExecution through moto's API; the
definition the execution was started with, with the execution's parameters), every step's request as the
definition writes it, the jobs' scripts (``jobs.py``), CreateModelPackage with the Register step's arguments,
and PutEvents to the default EventBridge bus.

Emulated, in ``run_execution``:

- parameters: the execution's values over the definition's defaults, typed (String, Integer, Float, Boolean);
  a parameter without a value or default fails the execution;
- expressions: ``Get`` of ``Parameters.*``, ``Execution.*`` (``PipelineExecutionId``, ``PipelineExecutionArn``,
  ``PipelineName``, ``PipelineArn``, ``StartDateTime``, ``CurrentDateTime``) and ``Steps.<name>.<property>``
  (a path into the step's Describe* response; ``Outputs['x']`` picks the item named ``x``), ``Std:Join`` and
  ``Std:JsonGet`` on a step's property file;
- steps in dependency order (``DependsOn`` and every ``Steps.*`` reference): Processing and Training through
  ``jobs.py``, Condition (GreaterThan[OrEqualTo], LessThan[OrEqualTo], Equals, In, Not, Or) choosing its if or
  else steps, RegisterModel as CreateModelPackage; other step types fail the execution;
- a failed step fails the execution (steps not started are not run) with SageMaker's kind of reason;
- status: ``Executing`` then ``Succeeded`` or ``Failed``, each change put on EventBridge as the
  ``SageMaker Model Building Pipeline Execution Status Change`` event (source ``aws.sagemaker``; detail
  ``currentPipelineExecutionStatus``, ``previousPipelineExecutionStatus``, ``executionStartTime``,
  ``executionEndTime``, ``pipelineArn``, ``pipelineExecutionArn``, ``pipelineExecutionDisplayName``), the shape
  the SageMaker Developer Guide documents ("Events that Amazon SageMaker sends to Amazon EventBridge",
  https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html);
- step statuses, kept with moto's execution record (``execution_steps``), for ListPipelineExecutionSteps.

What it could hide: retry policies (an emulated job never fails with a retryable SageMaker error), caching,
parallelism limits, SageMaker's own validation of the definition at CreatePipeline, the exact JsonPath dialect
of ``Std:JsonGet`` and condition type coercion, step status events, tags SageMaker adds to what a pipeline
creates, and that only AWS services may put ``aws.*`` events (here the emulator puts them with PutEvents).
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.demo.emulators.jobs import S3Location, run_processing_job, run_training_job
from tools.demo.emulators.runtime import Aws, moto_backend

EVENT_SOURCE = "aws.sagemaker"
STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
_PATH_TOKEN = re.compile(r"([A-Za-z0-9_]+)((?:\[[^\]]+\])*)")
_INDEX = re.compile(r"\[([^\]]+)\]")
_JOB_NAME_MAX = 63


class StepFailedError(RuntimeError):
    """A step failed; the message is the step's FailureReason."""


# Runs one job from its Create* request and returns its Describe* response (Completed or Failed).
JobRunner = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Jobs:
    """How Processing and Training steps run: by default their real scripts, locally (``jobs.py``).

    A runner is called as ``runner(aws, request, workdir=...)`` with the step's request as the definition renders
    it (the job name included) and returns the job's Describe* response. Another runner (a test's) replaces
    only the work the job does; everything around it (parameters, expressions, conditions, registration,
    status and events) stays this module's.
    """

    processing: JobRunner = run_processing_job
    training: JobRunner = run_training_job


@dataclass
class _Execution:
    arn: str
    id: str
    pipeline_name: str
    pipeline_arn: str
    start: datetime
    parameters: dict[str, Any]
    jobs: Jobs = field(default_factory=Jobs)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # step name -> Describe* response
    property_files: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> file name -> declaration


# ---- the public entry points ----------------------------------------------------------------------------------


def start_execution(
    aws: Aws, pipeline_name: str, parameters: Mapping[str, str], *, workdir: Path, display_name: str | None = None
) -> dict[str, Any]:
    """StartPipelineExecution through moto, then run it to the end; return its DescribePipelineExecution."""
    request: dict[str, Any] = {"PipelineName": pipeline_name}
    if parameters:
        request["PipelineParameters"] = [{"Name": k, "Value": str(v)} for k, v in parameters.items()]
    if display_name:
        request["PipelineExecutionDisplayName"] = display_name
    arn = aws.client("sagemaker").start_pipeline_execution(**request)["PipelineExecutionArn"]
    return run_execution(aws, arn, workdir=workdir)


def run_execution(aws: Aws, execution_arn: str, *, workdir: Path, jobs: Jobs | None = None) -> dict[str, Any]:
    """Run an execution moto has recorded (its status becomes Executing, then Succeeded or Failed); its jobs
    run with ``jobs`` (default: the real scripts)."""
    sagemaker = aws.client("sagemaker")
    record = _record(aws, execution_arn)
    record.emulated_steps = []
    definition = json.loads(
        sagemaker.describe_pipeline_definition_for_execution(PipelineExecutionArn=execution_arn)["PipelineDefinition"]
    )
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    # An execution started without parameters has none listed (moto then leaves the key out): the definition's
    # defaults apply, as in SageMaker.
    given = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn).get(
        "PipelineParameters", []
    )
    _set_status(aws, record, described, "Executing")
    execution = _Execution(
        arn=execution_arn,
        id=execution_arn.rsplit("/", 1)[-1],
        pipeline_name=execution_arn.split(":pipeline/", 1)[1].split("/", 1)[0],
        pipeline_arn=str(described["PipelineArn"]),
        start=datetime.now(UTC),
        parameters={},
        jobs=jobs or Jobs(),
    )
    try:
        execution.parameters = _parameters(definition.get("Parameters", []), given)
        _run_steps(aws, execution, definition.get("Steps", []), record, workdir / execution.id)
    except StepFailedError as error:
        record.pipeline_execution_failure_reason = str(error)[:1300]
        _set_status(aws, record, described, "Failed")
    else:
        _set_status(aws, record, described, "Succeeded")
    return dict(sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn))


def execution_steps(aws: Aws, execution_arn: str) -> list[dict[str, Any]]:
    """ListPipelineExecutionSteps' ``PipelineExecutionSteps`` (newest first, as SageMaker lists them)."""
    return list(reversed(getattr(_record(aws, execution_arn), "emulated_steps", [])))


def failure_reason(aws: Aws, execution_arn: str) -> str | None:
    """Why the execution failed (moto's DescribePipelineExecution always answers an empty FailureReason)."""
    reason = _record(aws, execution_arn).pipeline_execution_failure_reason
    return str(reason) if reason else None


# ---- status and events ----------------------------------------------------------------------------------------


def _record(aws: Aws, execution_arn: str) -> Any:
    from moto.sagemaker.utils import get_pipeline_execution_from_arn  # noqa: PLC0415 - moto runs in this process

    backend = moto_backend("sagemaker", aws.account, aws.region)
    return get_pipeline_execution_from_arn(backend.pipelines, execution_arn)


def _set_status(aws: Aws, record: Any, described: Mapping[str, Any], status: str) -> None:
    previous = record.pipeline_execution_status if getattr(record, "emulated_started", False) else None
    record.emulated_started = True
    record.pipeline_execution_status = status
    now = datetime.now(UTC)
    record.last_modified_time = now
    detail: dict[str, Any] = {
        "pipelineArn": described["PipelineArn"],
        "pipelineExecutionArn": described["PipelineExecutionArn"],
        "pipelineExecutionDisplayName": described.get("PipelineExecutionDisplayName") or record.arn.rsplit("/", 1)[-1],
        "currentPipelineExecutionStatus": status,
        "previousPipelineExecutionStatus": previous,
        "executionStartTime": _iso(record.start_time),
    }
    if previous is None:
        detail.pop("previousPipelineExecutionStatus")
    if status in ("Succeeded", "Failed", "Stopped"):
        detail["executionEndTime"] = _iso(now)
    aws.client("events").put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": STATUS_CHANGE,
                "Resources": [str(described["PipelineArn"]), str(described["PipelineExecutionArn"])],
                "Detail": json.dumps(detail),
            }
        ]
    )


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- parameters and expressions ---------------------------------------------------------------------------


def _typed(kind: str, name: str, value: Any) -> Any:
    try:
        if kind == "Integer":
            return int(value)
        if kind == "Float":
            return float(value)
        if kind == "Boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
    except (TypeError, ValueError):
        raise StepFailedError(f"ValidationException: parameter {name} value '{value}' is not a {kind}") from None
    return str(value)


def _parameters(declared: Sequence[Mapping[str, Any]], given: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    values = {str(p["Name"]): p["Value"] for p in given}
    unknown = sorted(set(values) - {str(p["Name"]) for p in declared})
    if unknown:
        raise StepFailedError(f"ValidationException: unknown pipeline parameters {unknown}")
    resolved: dict[str, Any] = {}
    for parameter in declared:
        name = str(parameter["Name"])
        if name in values:
            resolved[name] = _typed(str(parameter.get("Type", "String")), name, values[name])
        elif "DefaultValue" in parameter:
            resolved[name] = parameter["DefaultValue"]
        else:
            raise StepFailedError(f"ValidationException: parameter {name} has no value and no default")
    return resolved


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class _Evaluator:
    def __init__(self, aws: Aws, execution: _Execution) -> None:
        self.aws = aws
        self.execution = execution

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Get"}:
            return self.get(str(node["Get"]))
        if set(node) == {"Std:Join"}:
            join = node["Std:Join"]
            return str(join["On"]).join(_text(self(value)) for value in join["Values"])
        if set(node) == {"Std:JsonGet"}:
            return self.json_get(node["Std:JsonGet"])
        return {key: self(value) for key, value in node.items()}

    def get(self, reference: str) -> Any:
        head, _, rest = reference.partition(".")
        e = self.execution
        if head == "Parameters":
            if rest not in e.parameters:
                raise StepFailedError(f"ClientError: no pipeline parameter {rest}")
            return e.parameters[rest]
        if head == "Execution":
            variables = {
                "PipelineExecutionId": e.id,
                "PipelineExecutionArn": e.arn,
                "PipelineName": e.pipeline_name,
                "PipelineArn": e.pipeline_arn,
                "StartDateTime": _iso(e.start),
                "CurrentDateTime": _iso(datetime.now(UTC)),
            }
            if rest not in variables:
                raise StepFailedError(f"ClientError: execution variable {rest} is not emulated")
            return variables[rest]
        if head == "Steps":
            step, _, path = rest.partition(".")
            if step not in e.steps:
                raise StepFailedError(f"ClientError: step {step} has not run; cannot read {reference}")
            return _property(e.steps[step], path, reference)
        raise StepFailedError(f"ClientError: cannot resolve {reference}")

    def json_get(self, spec: Mapping[str, Any]) -> Any:
        reference = str(spec["PropertyFile"]["Get"])  # Steps.<step>.PropertyFiles.<name>
        parts = reference.split(".")
        if len(parts) != 4 or parts[0] != "Steps" or parts[2] != "PropertyFiles":
            raise StepFailedError(f"ClientError: JsonGet needs Steps.<step>.PropertyFiles.<name>, got {reference}")
        step, name = parts[1], parts[3]
        declaration = self.execution.property_files.get(step, {}).get(name)
        if declaration is None or step not in self.execution.steps:
            raise StepFailedError(f"ClientError: property file {reference} is not available")
        outputs = self.execution.steps[step]["ProcessingOutputConfig"]["Outputs"]
        output = next((o for o in outputs if o["OutputName"] == declaration["OutputName"]), None)
        if output is None:
            raise StepFailedError(f"ClientError: {reference} names output {declaration['OutputName']} of no step")
        location = S3Location.parse(str(output["S3Output"]["S3Uri"]).rstrip("/") + "/" + declaration["FilePath"])
        try:
            body = self.aws.client("s3").get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
            document = json.loads(body)
        except Exception as error:
            raise StepFailedError(f"ClientError: cannot read property file {location.uri} ({error})") from None
        return _json_path(document, str(spec["Path"]), location.uri)


def _property(document: Any, path: str, reference: str) -> Any:
    value = document
    for token in path.split("."):
        match = _PATH_TOKEN.fullmatch(token)
        if match is None or not isinstance(value, Mapping) or match.group(1) not in value:
            raise StepFailedError(f"ClientError: {reference} does not exist in the step's properties")
        value = value[match.group(1)]
        for index in _INDEX.findall(match.group(2)):
            value = _index(value, index, reference)
    return value


def _index(value: Any, index: str, reference: str) -> Any:
    if index.isdigit() and isinstance(value, list) and int(index) < len(value):
        return value[int(index)]
    key = index.strip("'\"")
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping) and key in [v for k, v in item.items() if k.endswith("Name")]:
                return item
    if isinstance(value, Mapping) and key in value:
        return value[key]
    raise StepFailedError(f"ClientError: {reference}: no item [{index}]")


def _json_path(document: Any, path: str, source: str) -> Any:
    value = document
    for token in path.removeprefix("$.").split("."):
        match = _PATH_TOKEN.fullmatch(token)
        if match is None or not isinstance(value, Mapping) or match.group(1) not in value:
            raise StepFailedError(f"ClientError: JsonGet path '{path}' not found in {source}")
        value = value[match.group(1)]
        for index in _INDEX.findall(match.group(2)):
            if not (index.isdigit() and isinstance(value, list) and int(index) < len(value)):
                raise StepFailedError(f"ClientError: JsonGet path '{path}' not found in {source}")
            value = value[int(index)]
    return value


# ---- conditions ---------------------------------------------------------------------------------------------

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}


def _condition(evaluate: _Evaluator, condition: Mapping[str, Any]) -> bool:
    kind = str(condition["Type"])
    if kind in _COMPARISONS:
        left, right = evaluate(condition["LeftValue"]), evaluate(condition["RightValue"])
        try:
            return _COMPARISONS[kind](left, right)
        except TypeError:
            raise StepFailedError(f"ClientError: condition {kind} cannot compare {left!r} with {right!r}") from None
    if kind == "In":
        return evaluate(condition["QueryValue"]) in [evaluate(v) for v in condition["Values"]]
    if kind == "Not":
        return not _condition(evaluate, condition["Condition"])
    if kind == "Or":
        return any(_condition(evaluate, c) for c in condition["Conditions"])
    raise StepFailedError(f"ClientError: condition type {kind} is not emulated")


# ---- steps --------------------------------------------------------------------------------------------------


def _references(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        if set(node) == {"Get"} and str(node["Get"]).startswith("Steps."):
            found.add(str(node["Get"]).split(".")[1])
        for value in node.values():
            found |= _references(value)
        return found
    if isinstance(node, list):
        return set().union(*(_references(item) for item in node)) if node else set()
    return set()


def _order(steps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Steps in an order that runs every step after the steps it depends on (definition order on ties)."""
    names = [str(s["Name"]) for s in steps]
    needs = {
        str(s["Name"]): (set(s.get("DependsOn", [])) | _references(s.get("Arguments", {}))) & set(names) for s in steps
    }
    ordered: list[Mapping[str, Any]] = []
    done: set[str] = set()
    while len(ordered) < len(steps):
        ready = [s for s in steps if str(s["Name"]) not in done and needs[str(s["Name"])] <= done]
        if not ready:
            raise StepFailedError(f"ValidationException: steps {sorted(set(names) - done)} depend on each other")
        ordered.append(ready[0])
        done.add(str(ready[0]["Name"]))
    return ordered


def _job_name(execution: _Execution, step: str) -> str:
    suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6))
    base = f"pipelines-{execution.id}-{step}"[: _JOB_NAME_MAX - len(suffix) - 1].rstrip("-")
    return f"{base}-{suffix}"


def _run_steps(aws: Aws, execution: _Execution, steps: Sequence[Mapping[str, Any]], record: Any, workdir: Path) -> None:
    evaluate = _Evaluator(aws, execution)
    for step in _order(steps):
        name, kind = str(step["Name"]), str(step["Type"])
        entry: dict[str, Any] = {"StepName": name, "StepStatus": "Executing", "StartTime": datetime.now(UTC)}
        record.emulated_steps.append(entry)
        try:
            entry["Metadata"] = _run_step(aws, execution, step, evaluate, workdir)
        except StepFailedError as error:
            entry.update(StepStatus="Failed", FailureReason=str(error), EndTime=datetime.now(UTC))
            raise StepFailedError(f"Step {name} failed: {error}") from None
        entry.update(StepStatus="Succeeded", EndTime=datetime.now(UTC))
        if kind == "Condition":
            chosen = (
                step["Arguments"]["IfSteps"]
                if entry["Metadata"]["Condition"]["Outcome"] == "True"
                else (step["Arguments"]["ElseSteps"])
            )
            _run_steps(aws, execution, chosen, record, workdir)


def _run_step(
    aws: Aws, execution: _Execution, step: Mapping[str, Any], evaluate: _Evaluator, workdir: Path
) -> dict[str, Any]:
    name, kind = str(step["Name"]), str(step["Type"])
    if kind == "Processing":
        request = {**evaluate(step["Arguments"]), "ProcessingJobName": _job_name(execution, name)}
        described = execution.jobs.processing(aws, request, workdir=workdir)
        execution.steps[name] = described
        execution.property_files[name] = {str(p["PropertyFileName"]): p for p in step.get("PropertyFiles", [])}
        if described["ProcessingJobStatus"] != "Completed":
            raise StepFailedError(str(described.get("FailureReason", "the processing job failed")))
        return {"ProcessingJob": {"Arn": described["ProcessingJobArn"]}}
    if kind == "Training":
        request = {**evaluate(step["Arguments"]), "TrainingJobName": _job_name(execution, name)}
        described = execution.jobs.training(aws, request, workdir=workdir)
        execution.steps[name] = described
        if described["TrainingJobStatus"] != "Completed":
            raise StepFailedError(str(described.get("FailureReason", "the training job failed")))
        return {"TrainingJob": {"Arn": described["TrainingJobArn"]}}
    if kind == "Condition":
        outcome = all(_condition(evaluate, c) for c in step["Arguments"]["Conditions"])
        execution.steps[name] = {"Outcome": outcome}
        return {"Condition": {"Outcome": "True" if outcome else "False"}}
    if kind == "RegisterModel":
        arguments = evaluate(step["Arguments"])
        response = aws.client("sagemaker").create_model_package(**arguments)
        execution.steps[name] = {"ModelPackageArn": response["ModelPackageArn"]}
        return {"RegisterModel": {"Arn": response["ModelPackageArn"]}}
    raise StepFailedError(f"ClientError: step type {kind} is not emulated")
