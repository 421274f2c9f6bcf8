"""The calls that AWS services make with the project's roles, read from the synthesized definitions.

No test records these: SageMaker runs the pipeline's jobs and Step Functions runs the state machines' tasks.
Each is the API operation the service performs for the definition, with the role the definition names:

- a state machine's ``Task`` states, with the state machine's role (Step Functions Developer Guide, "How Step
  Functions generates IAM policies for integrated services"): a Lambda function ARN or ``lambda:invoke`` is
  ``lambda:InvokeFunction``; ``sns:publish`` is ``sns:Publish``; ``sagemaker:createProcessingJob.sync`` is
  CreateProcessingJob (with ``iam:PassRole`` of its ``RoleArn``), then DescribeProcessingJob and, to stop it,
  StopProcessingJob, and the managed EventBridge rule ``StepFunctionsGetEventsForSageMakerProcessingJobsRule``
  (PutTargets, PutRule, DescribeRule) the ``.sync`` pattern uses; ``aws-sdk:<service>:<action>`` is the action;
- a processing or training job, with the job's ``RoleArn`` (SageMaker Developer Guide, "SageMaker AI roles",
  CreateProcessingJob/CreateTrainingJob execution role permissions): every S3 input is read (``s3:ListBucket``
  on its prefix, ``s3:GetObject`` on its objects), every output written (``s3:PutObject`` with the output
  ``KmsKeyId``); a training job's model goes to ``<S3OutputPath>/<job name>/output/model.tar.gz``;
- a pipeline's steps, with the pipeline's ``RoleArn`` (SageMaker Developer Guide, "IAM access management" for
  Pipelines): each step's create request (CreateProcessingJob, CreateTrainingJob, CreateModelPackage) and the
  ``iam:PassRole`` of the step's role. Jobs are named ``pipelines-<execution id>-<step>-<suffix>``.

Values a definition takes at run time (``$.window.manifest_uri``, ``Parameters.ChampionModelUri``) come from
the real producer where the caller passes them (``values``); otherwise the parameter's default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tests.contract.contract import Call, Checker, Principal
from tests.contract.templates import Environment, Stack

SYNC_RULE = "StepFunctionsGetEventsForSageMaker{}JobsRule"
EXECUTION_ID = "execution0001"  # a pipeline execution id (12 lowercase alphanumerics in the service)
CHAMPION_ARGUMENT = "--champion-model"  # the Score step's champion model.tar.gz (scripts/score.py)
OBJECT = "object"  # stands for "each object under the prefix" in a read of an S3 prefix


# ---- principals the definitions name -------------------------------------------------------------------------


def register_principals(checker: Checker) -> None:
    """Pipelines (their steps' scripts run with the pipeline role), the drift job, state machines, rules."""
    for env_name, env in checker.environments.items():
        roles = checker.roles[env_name]
        for stack, logical_id, resource in env.resources("AWS::SageMaker::Pipeline"):
            role = roles[env.resolve_str(stack, resource["Properties"]["RoleArn"])]
            principal = Principal(env_name, "pipeline", f"{env_name}/{stack.id}/{logical_id}", role, path=logical_id)
            checker.add_principal("pipeline_defs.scripts", principal)
        for machine in state_machines(env):
            role = roles[machine.role_arn]
            checker.add_principal(f"state-machine:{machine.path}", machine.principal(role))
            if "monitoring_job" in " ".join(machine.entrypoints()):
                for role_arn in sorted(machine.job_roles()):
                    role = roles[role_arn]
                    checker.add_principal("monitoring_job", Principal(env_name, "job", role.label, role))


# ---- state machines ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateMachine:
    env: str
    stack: str
    logical_id: str
    arn: str
    role_arn: str
    definition: Mapping[str, Any]

    @property
    def path(self) -> str:
        return f"{self.stack}/{self.logical_id}"

    @property
    def label(self) -> str:
        return f"{self.env}/{self.path}"

    def principal(self, role: Any) -> Principal:
        return Principal(self.env, "state-machine", self.label, role, path=self.path)

    def tasks(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        yield from _tasks(self.definition["States"])

    def job_roles(self) -> set[str]:
        return {
            str(task["Parameters"]["RoleArn"])
            for _, task in self.tasks()
            if ":::sagemaker:create" in str(task.get("Resource")) and "RoleArn" in task.get("Parameters", {})
        }

    def entrypoints(self) -> list[str]:
        return [
            " ".join(
                str(part)
                for part in task.get("Parameters", {}).get("AppSpecification", {}).get("ContainerEntrypoint", [])
            )
            for _, task in self.tasks()
        ]


def _tasks(states: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _tasks(state[key]["States"])


def state_machines(env: Environment) -> list[StateMachine]:
    found = []
    for stack, logical_id, resource in env.resources("AWS::StepFunctions::StateMachine"):
        props = resource["Properties"]
        definition = props.get("DefinitionString") or props.get("Definition")
        text = env.resolve(stack, definition)
        found.append(
            StateMachine(
                env=env.name,
                stack=stack.id,
                logical_id=logical_id,
                arn=env.arn_of(stack, logical_id),
                role_arn=env.resolve_str(stack, props["RoleArn"]),
                definition=json.loads(text) if isinstance(text, str) else text,
            )
        )
    return found


def evaluate_jsonpath(value: str, values: Mapping[str, Any]) -> Any:
    """A ``.$`` value: a path given in ``values``, or the intrinsic functions this project uses
    (``States.Format``, ``States.StringSplit``, ``States.ArrayGetItem``) over such paths and literals."""
    result, rest = _expression(value.strip(), values)
    if rest.strip():
        raise KeyError(value)
    return result


def _expression(text: str, values: Mapping[str, Any]) -> tuple[Any, str]:
    if text.startswith("'"):
        end = text.index("'", 1)
        return text[1:end], text[end + 1 :]
    match = re.match(r"-?\d+", text)
    if match:
        return int(match.group(0)), text[match.end() :]
    match = re.match(r"States\.(\w+)\(", text)
    if match:
        arguments, rest = [], text[match.end() :]
        while not rest.lstrip().startswith(")"):
            argument, rest = _expression(rest.lstrip(), values)
            arguments.append(argument)
            rest = rest.lstrip().removeprefix(",")
        return _intrinsic(match.group(1), arguments), rest.lstrip()[1:]
    match = re.match(r"\$\$?[\w.\[\]]*", text)
    if match and match.group(0) in values:
        return values[match.group(0)], text[match.end() :]
    raise KeyError(text)


def _intrinsic(name: str, arguments: list[Any]) -> Any:
    if name == "Format":
        template, *parts = arguments
        for part in parts:
            template = str(template).replace("{}", str(part), 1)
        return template
    if name == "StringSplit":
        return [piece for piece in str(arguments[0]).split(str(arguments[1])) if piece]
    if name == "ArrayGetItem":
        return arguments[0][int(arguments[1])]
    raise KeyError(f"States.{name}")


def resolve_parameters(parameters: Any, values: Mapping[str, Any]) -> Any:
    """Task parameters with every ``.$`` key evaluated from ``values`` (a key that cannot be is dropped)."""
    if isinstance(parameters, Mapping):
        resolved = {}
        for key, value in parameters.items():
            if key.endswith(".$"):
                try:
                    resolved[key[:-2]] = evaluate_jsonpath(str(value), values)
                except KeyError:
                    continue
            else:
                resolved[key] = resolve_parameters(value, values)
        return resolved
    if isinstance(parameters, list):
        return [resolve_parameters(item, values) for item in parameters]
    return parameters


def task_calls(machine: StateMachine, values: Mapping[str, Any]) -> list[Call]:
    """The calls Step Functions makes with the state machine's role for every Task state."""
    calls = []
    for name, task in machine.tasks():
        resource = str(task["Resource"])
        params = resolve_parameters(task.get("Parameters", {}), values)
        source = f"{machine.label} state {name}"
        if resource.startswith("arn:aws:lambda:"):
            calls.append(Call(machine.label, "lambda", "Invoke", {"FunctionName": resource}, source))
        elif resource.startswith("arn:aws:states:::lambda:invoke"):
            calls.append(Call(machine.label, "lambda", "Invoke", {"FunctionName": params["FunctionName"]}, source))
        elif resource == "arn:aws:states:::sns:publish":
            calls.append(Call(machine.label, "sns", "Publish", {"TopicArn": params["TopicArn"]}, source))
        elif resource.startswith("arn:aws:states:::sagemaker:create"):
            calls += _sagemaker_job_task(machine, resource, params, source)
        elif resource.startswith("arn:aws:states:::aws-sdk:"):
            service, action = resource.removeprefix("arn:aws:states:::aws-sdk:").split(":", 1)
            operation = action[:1].upper() + action[1:]
            calls.append(Call(machine.label, service, operation, params, source))
        else:
            calls.append(Call(machine.label, "states", f"Task {resource}", params, source))
    return calls


def _sagemaker_job_task(machine: StateMachine, resource: str, params: Mapping[str, Any], source: str) -> list[Call]:
    action = resource.removeprefix("arn:aws:states:::sagemaker:").removesuffix(".sync")  # createProcessingJob
    kind = action.removeprefix("create").removesuffix("Job")  # Processing
    name = params.get(f"{kind}JobName", "")
    calls = [Call(machine.label, "sagemaker", f"Create{kind}Job", params, source)]
    if resource.endswith(".sync"):
        rule = SYNC_RULE.format(kind)
        calls += [
            Call(machine.label, "sagemaker", f"Describe{kind}Job", {f"{kind}JobName": name}, f"{source} (.sync)"),
            Call(machine.label, "sagemaker", f"Stop{kind}Job", {f"{kind}JobName": name}, f"{source} (.sync)"),
            *(
                Call(machine.label, "events", operation, {"Name": rule}, f"{source} (.sync)")
                for operation in ("PutTargets", "PutRule", "DescribeRule")
            ),
        ]
    return calls


# ---- jobs ----------------------------------------------------------------------------------------------------


def processing_job_calls(caller: str, request: Mapping[str, Any], source: str) -> list[Call]:
    """What SageMaker does with the job's role: read every input, write every output."""
    calls = []
    for item in request.get("ProcessingInputs", []):
        s3 = item.get("S3Input")
        if s3 and isinstance(s3.get("S3Uri"), str):
            calls += read_s3(caller, s3["S3Uri"], f"{source} input {item.get('InputName')}", s3.get("S3DataType"))
    output = request.get("ProcessingOutputConfig", {})
    for item in output.get("Outputs", []):
        s3 = item.get("S3Output")
        if s3 and isinstance(s3.get("S3Uri"), str):
            calls.append(
                write_s3(caller, f"{s3['S3Uri'].rstrip('/')}/{OBJECT}", output.get("KmsKeyId"), f"{source} output")
            )
    return calls


def training_job_calls(caller: str, request: Mapping[str, Any], job_name: str, source: str) -> list[Call]:
    calls = []
    for channel in request.get("InputDataConfig", []):
        s3 = channel.get("DataSource", {}).get("S3DataSource")
        if s3:
            calls += read_s3(caller, s3["S3Uri"], f"{source} channel {channel['ChannelName']}", s3.get("S3DataType"))
    output = request["OutputDataConfig"]
    calls.append(
        write_s3(caller, model_artifact(output["S3OutputPath"], job_name), output.get("KmsKeyId"), f"{source} model")
    )
    return calls


def model_artifact(output_path: str, job_name: str) -> str:
    """Where a training job puts its model (SageMaker Developer Guide, "How SageMaker AI training works")."""
    return f"{output_path.rstrip('/')}/{job_name}/output/model.tar.gz"


def read_s3(caller: str, uri: str, source: str, data_type: str | None = "S3Prefix") -> list[Call]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if data_type == "ManifestFile" or _is_file(key):
        return [Call(caller, "s3", "GetObject", {"Bucket": bucket, "Key": key}, source)]
    prefix = key.rstrip("/")
    return [
        Call(caller, "s3", "ListObjectsV2", {"Bucket": bucket, "Prefix": f"{prefix}/" if prefix else ""}, source),
        Call(caller, "s3", "GetObject", {"Bucket": bucket, "Key": f"{prefix}/{OBJECT}" if prefix else OBJECT}, source),
    ]


def write_s3(caller: str, uri: str, kms_key: str | None, source: str) -> Call:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if kms_key:
        params.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key)
    return Call(caller, "s3", "PutObject", params, source)


def _is_file(key: str) -> bool:
    return "." in key.rsplit("/", 1)[-1]


# ---- pipelines -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    env: str
    stack: Stack
    logical_id: str
    name: str
    role_arn: str
    definition: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.env}/{self.stack.id}/{self.logical_id}"

    def defaults(self) -> dict[str, Any]:
        return {p["Name"]: p.get("DefaultValue", "") for p in self.definition["Parameters"]}


def pipelines(env: Environment) -> list[Pipeline]:
    found = []
    for stack, logical_id, resource in env.resources("AWS::SageMaker::Pipeline"):
        props = resource["Properties"]
        body = env.resolve(stack, props["PipelineDefinition"])["PipelineDefinitionBody"]
        found.append(
            Pipeline(
                env=env.name,
                stack=stack,
                logical_id=logical_id,
                name=env.resolve_str(stack, props["PipelineName"]),
                role_arn=env.resolve_str(stack, props["RoleArn"]),
                definition=json.loads(body),
            )
        )
    return found


class PipelineRun:
    """One execution of a pipeline, its expressions evaluated: parameters, execution id, step properties."""

    def __init__(self, pipeline: Pipeline, parameters: Mapping[str, Any]) -> None:
        self.pipeline = pipeline
        self.parameters = {**pipeline.defaults(), **parameters}
        self.steps = {step["Name"]: step for step in _steps(pipeline.definition["Steps"])}
        self.requests: dict[str, dict[str, Any]] = {}

    def job_name(self, step: str) -> str:
        return f"pipelines-{EXECUTION_ID}-{step}-abcdefghij"

    def request(self, step: str) -> dict[str, Any]:
        if step not in self.requests:
            self.requests[step] = self.evaluate(self.steps[step]["Arguments"])
        return self.requests[step]

    def evaluate(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.evaluate(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        if set(node) == {"Get"}:
            return self._get(str(node["Get"]))
        if set(node) == {"Std:Join"}:
            join = node["Std:Join"]
            return str(join["On"]).join(str(self.evaluate(v)) for v in join["Values"])
        if set(node) == {"Std:JsonGet"}:
            return "json-value"  # a value from a step's property file: no resource
        return {key: self.evaluate(value) for key, value in node.items()}

    def _get(self, path: str) -> Any:
        if path.startswith("Parameters."):
            return self.parameters[path.removeprefix("Parameters.")]
        if path == "Execution.PipelineExecutionId":
            return EXECUTION_ID
        if path == "Execution.PipelineExecutionArn":
            return f"arn:aws:sagemaker:region:account:pipeline/{self.pipeline.name}/execution/{EXECUTION_ID}"
        match = re.fullmatch(r"Steps\.([^.]+)\.ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri", path)
        if match:
            step, output = match.groups()
            outputs = self.request(step)["ProcessingOutputConfig"]["Outputs"]
            return next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == output)
        match = re.fullmatch(r"Steps\.([^.]+)\.ModelArtifacts\.S3ModelArtifacts", path)
        if match:
            step = match.group(1)
            return model_artifact(self.request(step)["OutputDataConfig"]["S3OutputPath"], self.job_name(step))
        raise KeyError(f"pipeline expression {path} is not modelled")

    def calls(self) -> list[tuple[str, Call]]:
        """(role ARN, call) for every step: the pipeline role's create requests, the job roles' data access."""
        found: list[tuple[str, Call]] = []
        pipeline_role = self.pipeline.role_arn
        label = self.pipeline.label
        for name, step in self.steps.items():
            kind = step["Type"]
            source = f"{label} step {name}"
            if kind not in ("Processing", "Training", "RegisterModel", "Model"):
                continue
            request = self.request(name)
            if kind == "Processing":
                create = {**request, "ProcessingJobName": self.job_name(name)}
                found.append((pipeline_role, Call(label, "sagemaker", "CreateProcessingJob", create, source)))
                found += [(request["RoleArn"], call) for call in processing_job_calls(label, request, source)]
                found += [(request["RoleArn"], call) for call in self._entrypoint_calls(name, request, source)]
            elif kind == "Training":
                create = {**request, "TrainingJobName": self.job_name(name)}
                found.append((pipeline_role, Call(label, "sagemaker", "CreateTrainingJob", create, source)))
                found += [
                    (request["RoleArn"], call)
                    for call in training_job_calls(label, request, self.job_name(name), source)
                ]
            elif kind == "RegisterModel":
                found.append((pipeline_role, Call(label, "sagemaker", "CreateModelPackage", request, source)))
        return found

    def _entrypoint_calls(self, step: str, request: Mapping[str, Any], source: str) -> list[Call]:
        """S3 reads a step's script makes itself: the Score step fetches ``--champion-model`` with boto3.

        ``scripts/score.py`` downloads the champion's ``model.tar.gz`` (``download_file``: HeadObject then
        GetObject, both authorized by ``s3:GetObject``) with the job's role; an empty URI means no champion.
        """
        arguments = [str(a) for a in request.get("AppSpecification", {}).get("ContainerArguments", [])]
        if CHAMPION_ARGUMENT not in arguments[:-1]:
            return []
        uri = arguments[arguments.index(CHAMPION_ARGUMENT) + 1]
        if not uri.startswith("s3://"):
            return []
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return [
            Call(
                self.pipeline.label,
                "s3",
                operation,
                {"Bucket": bucket, "Key": key},
                f"{source} script: boto3 download of {CHAMPION_ARGUMENT}",
            )
            for operation in ("HeadObject", "GetObject")
        ]


def _steps(steps: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for step in steps:
        yield step
        arguments = step.get("Arguments", {})
        if step["Type"] == "Condition":
            yield from _steps([*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])])


def pipeline_principal(checker: Checker, env: str, role_arn: str, label: str) -> Principal:
    return Principal(env, "pipeline", label, checker.roles[env][role_arn])


def drift_values(window: Any) -> dict[str, Any]:
    """The drift state machine's run-time values: the window function's real result (a ``seams.drift_window``
    scenario), the execution name EventBridge gives a scheduled start (a UUID)."""
    result = window.outputs["window"]
    values: dict[str, Any] = {f"$.window.{key}": value for key, value in result.items()}
    values.update(
        {
            "$$.Execution.Name": "0b0e1a4c-3f1d-4d7e-9a36-5d0f4f3a9c21",
            "$.time": "2026-03-02T12:10:00Z",
            "$.error.Cause": "the job failed",
        }
    )
    return values


def manifest_reads(caller: str, request: Mapping[str, Any], window: Any) -> list[Call]:
    """The objects a ``ManifestFile`` input names, read by the job (the manifest the window function wrote)."""
    if window is None or not any(
        (item.get("S3Input") or {}).get("S3DataType") == "ManifestFile" for item in request.get("ProcessingInputs", [])
    ):
        return []
    manifest = window.outputs["manifest"]
    calls = []
    for key in manifest[1:]:
        bucket, _, prefix = manifest[0]["prefix"].removeprefix("s3://").partition("/")
        calls.append(Call(caller, "s3", "GetObject", {"Bucket": bucket, "Key": f"{prefix}{key}"}, "manifest entry"))
    return calls


# ---- rules, monitoring job definitions, feature groups, models ------------------------------------------------


def rule_calls(env: Environment) -> list[tuple[str, Call]]:
    """(role ARN, call) of every EventBridge target that EventBridge reaches with a role: a state machine is
    ``states:StartExecution`` (EventBridge User Guide, "Permissions for targets"). Lambda targets are
    reached through the function's resource policy, not a role."""
    found = []
    for stack, logical_id, resource in env.resources("AWS::Events::Rule"):
        for target in env.resolve(stack, resource["Properties"].get("Targets", [])):
            if "RoleArn" not in target:
                continue
            arn = str(target["Arn"])
            label = f"{env.name}/{stack.id}/{logical_id}"
            if ":states:" in arn and ":stateMachine:" in arn:
                call = Call(label, "stepfunctions", "StartExecution", {"stateMachineArn": arn}, f"rule {label}")
            else:
                call = Call(label, "events", f"Target {arn}", {}, f"rule {label}")
            found.append((str(target["RoleArn"]), call))
    return found


MONITORING_DEFINITIONS = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQuality",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQuality",
}


def monitoring_job_calls(env: Environment, capture: Mapping[str, str]) -> list[tuple[str, Call]]:
    """(role ARN, call) of Model Monitor's scheduled jobs: read the baselines, the endpoint's captures (where
    its endpoint config writes them, ``capture``: endpoint name -> capture URI) and the ground truth, write the
    reports with the output key (SageMaker Developer Guide, "Model Monitor: permissions")."""
    found = []
    for resource_type, kind in MONITORING_DEFINITIONS.items():
        for stack, logical_id, resource in env.resources(resource_type):
            props = env.resolve(stack, resource["Properties"])
            role, label = str(props["RoleArn"]), f"{env.name}/{stack.id}/{logical_id}"
            baseline = props.get(f"{kind}BaselineConfig", {})
            for entry in baseline.values():
                if isinstance(entry, Mapping) and "S3Uri" in entry:
                    found += [(role, c) for c in read_s3(label, entry["S3Uri"], f"{label} baseline")]
            job_input = props.get(f"{kind}JobInput", {})
            endpoint = job_input.get("EndpointInput", {}).get("EndpointName")
            if endpoint in capture:
                found += [(role, c) for c in read_s3(label, f"{capture[endpoint]}/{endpoint}", f"{label} captures")]
            ground_truth = job_input.get("GroundTruthS3Input", {}).get("S3Uri")
            if ground_truth:
                found += [(role, c) for c in read_s3(label, ground_truth, f"{label} ground truth")]
            output = props.get(f"{kind}JobOutputConfig", {})
            for item in output.get("MonitoringOutputs", []):
                uri = f"{item['S3Output']['S3Uri'].rstrip('/')}/{OBJECT}"
                found.append((role, write_s3(label, uri, output.get("KmsKeyId"), f"{label} report")))
    return found


def capture_locations(env: Environment) -> dict[str, str]:
    """Endpoint name -> the data-capture URI of the endpoint config it is created with."""
    configs = {}
    for stack, logical_id, resource in env.resources("AWS::SageMaker::EndpointConfig"):
        capture = resource["Properties"].get("DataCaptureConfig")
        if capture:
            configs[logical_id] = env.resolve_str(stack, capture["DestinationS3Uri"])
    found = {}
    for stack, _, resource in env.resources("AWS::SageMaker::Endpoint"):
        props = resource["Properties"]
        config = props["EndpointConfigName"]
        logical = config.get("Fn::GetAtt", [None])[0] if isinstance(config, Mapping) else None
        if logical in configs:
            found[env.resolve_str(stack, props["EndpointName"])] = configs[logical]
    return found


def feature_store_calls(env: Environment) -> list[tuple[str, Call]]:
    """(role ARN, call) of Feature Store writing a group's offline store with the group's ``RoleArn``: objects
    under ``<S3Uri>/<account>/sagemaker/<region>/offline-store/<group>-<creation time>/data/`` with the
    store's key (SageMaker Developer Guide, "Feature Store offline store: data layout and permissions")."""
    found = []
    for stack, logical_id, resource in env.resources("AWS::SageMaker::FeatureGroup"):
        props = env.resolve(stack, resource["Properties"])
        offline = props.get("OfflineStoreConfig")
        if not offline:
            continue
        role, label, name = str(props["RoleArn"]), f"{env.name}/{stack.id}/{logical_id}", props["FeatureGroupName"]
        storage = offline["S3StorageConfig"]
        key = f"{env.account}/sagemaker/{env.region}/offline-store/{name}-1767225600/data/year=2026/{OBJECT}.parquet"
        found.append((role, write_s3(label, f"{storage['S3Uri'].rstrip('/')}/{key}", storage.get("KmsKeyId"), label)))
    return found


def flow_log_calls(env: Environment) -> list[tuple[str, Call]]:
    """(role ARN, call) of VPC Flow Logs publishing an isolated network's flow logs to its log group with the flow
    log's ``DeliverLogsPermissionArn``: it creates a log stream per network interface and puts events in it
    (Amazon VPC User Guide, "Publish flow logs to CloudWatch Logs", IAM role for publishing flow logs)."""
    found = []
    for stack, logical_id, resource in env.resources("AWS::EC2::FlowLog"):
        props = env.resolve(stack, resource["Properties"])
        if "DeliverLogsPermissionArn" not in props:
            continue
        label, group = f"{env.name}/{stack.id}/{logical_id}", str(props["LogGroupName"])
        stream = "eni-0123456789abcdef0-all"
        for operation, params in (
            ("CreateLogStream", {"logGroupName": group, "logStreamName": stream}),
            ("PutLogEvents", {"logGroupName": group, "logStreamName": stream}),
        ):
            found.append((str(props["DeliverLogsPermissionArn"]), Call(label, "logs", operation, params, label)))
    return found


def serving_model_roles(env: Environment) -> list[str]:
    """The execution roles of the serving stacks' models (SageMaker reads the model data with them)."""
    return sorted(
        {
            env.resolve_str(stack, resource["Properties"]["ExecutionRoleArn"])
            for stack, _, resource in env.resources("AWS::SageMaker::Model")
        }
    )


def model_data_reads(role_arn: str, package: Mapping[str, Any], label: str) -> list[tuple[str, Call]]:
    """A model created from ``package`` (CreateModel with ``ModelPackageName``): SageMaker downloads each
    container's ``ModelDataUrl`` with the model's execution role (SageMaker API Reference, CreateModel,
    ``ExecutionRoleArn``)."""
    found = []
    for container in package["InferenceSpecification"]["Containers"]:
        bucket, _, key = str(container["ModelDataUrl"]).removeprefix("s3://").partition("/")
        found.append((role_arn, Call(label, "s3", "GetObject", {"Bucket": bucket, "Key": key}, f"{label} model data")))
    return found


def capture_writes(env: Environment) -> list[tuple[str, Call]]:
    """SageMaker writes an endpoint's captures with its model's execution role, with the capture key."""
    found = []
    roles = serving_model_roles(env)
    for stack, logical_id, resource in env.resources("AWS::SageMaker::EndpointConfig"):
        capture = resource["Properties"].get("DataCaptureConfig")
        if not capture or len(roles) != 1:
            continue
        uri = env.resolve_str(stack, capture["DestinationS3Uri"])
        kms = env.resolve_str(stack, capture["KmsKeyId"]) if "KmsKeyId" in capture else None
        label = f"{env.name}/{stack.id}/{logical_id}"
        key = f"{uri.rstrip('/')}/endpoint/variant/2026/03/02/11/{OBJECT}.jsonl"
        found.append((roles[0], write_s3(label, key, kms, f"{label} data capture")))
    return found


WINDOW = {"WindowStart": "2026-01-01T00:00:00Z", "WindowEnd": "2026-03-01T00:00:00Z"}


def registered_package(run: PipelineRun) -> dict[str, Any]:
    """The package the pipeline's register step creates (its ``CreateModelPackage`` request)."""
    for name, step in run.steps.items():
        if step["Type"] == "RegisterModel":
            return run.request(name)
    raise KeyError(f"{run.pipeline.label} has no register step")


def environment_calls(
    env: Environment, *, window: Any = None, packages: Mapping[str, Mapping[str, Any]] | None = None
) -> list[tuple[str, Call]]:
    """(role ARN, call) of everything the services do for one environment's definitions.

    ``window`` is the drift window function's real result (``seams.drift_window``), ``packages`` the packages a
    pipeline may run with as champion and the serving model may be created from (e.g. the bootstrap tool's);
    the pipeline's own registered package is added to them.
    """
    found: list[tuple[str, Call]] = []
    values = drift_values(window) if window is not None else {}
    for machine in state_machines(env):
        calls = task_calls(machine, values)
        found += [(machine.role_arn, call) for call in calls]
        for call in calls:
            if call.operation == "CreateProcessingJob":
                role = str(call.params["RoleArn"])
                found += [(role, c) for c in processing_job_calls(machine.label, call.params, call.source)]
                found += [(role, c) for c in manifest_reads(machine.label, call.params, window)]
    champions = dict(packages or {})
    for pipeline in pipelines(env):
        champions[f"{pipeline.label} registered"] = registered_package(PipelineRun(pipeline, WINDOW))
    for pipeline in pipelines(env):
        for package in ["", *champions.values()]:
            uri = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] if package else ""
            found += PipelineRun(pipeline, {**WINDOW, "ChampionModelUri": uri}).calls()
    for role in serving_model_roles(env):
        for label, package in sorted(champions.items()):
            found += model_data_reads(role, package, f"{env.name} serving model from {label}")
    found += capture_writes(env)
    found += rule_calls(env)
    found += monitoring_job_calls(env, capture_locations(env))
    found += feature_store_calls(env)
    found += flow_log_calls(env)
    return found
