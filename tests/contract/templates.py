"""The synthesized templates of one environment, with their intrinsics resolved to the deployed names.

``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split`` and ``Fn::GetStackOutput``
(the weak cross-stack references of cdk.json) are resolved the way CloudFormation would: explicit physical
names (bucket, table, function, state machine, pipeline, group names the app sets) are used as they are; a
resource without one gets ``<stack name>-<logical id>``, which is what CloudFormation generates up to the random
suffix. Every ARN is built from the resource type's documented ARN format.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.contract.iam import Statement, statements_of

NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::SSM::Parameter": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SageMaker::Pipeline": "PipelineName",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Model": "ModelName",
    "AWS::SageMaker::FeatureGroup": "FeatureGroupName",
    "AWS::SageMaker::MonitoringSchedule": "MonitoringScheduleName",
    "AWS::SageMaker::DataQualityJobDefinition": "JobDefinitionName",
    "AWS::SageMaker::ModelQualityJobDefinition": "JobDefinitionName",
    "AWS::Events::Rule": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    "AWS::Athena::WorkGroup": "Name",
    "AWS::KMS::Alias": "AliasName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Glue::Table": "TableInput",
}
# What ``Ref`` returns when it is not the name.
REF_IS_ARN = {
    "AWS::SNS::Topic",
    "AWS::StepFunctions::StateMachine",
    "AWS::SageMaker::Endpoint",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Model",
    "AWS::SageMaker::ModelPackageGroup",
    "AWS::SageMaker::MonitoringSchedule",
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::Lambda::LayerVersion",
    "AWS::IAM::ManagedPolicy",
}


@dataclass
class Stack:
    id: str  # e.g. "fraud-detection-serving"
    name: str  # e.g. "mlops-dev-fraud-detection-serving"
    template: dict[str, Any]


@dataclass
class Role:
    """A synthesized IAM role with every statement that applies to it."""

    env: str
    stack: str
    logical_id: str
    arn: str
    trust: list[str]  # service principals that assume it
    statements: list[Statement] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.env}/{self.stack}/{self.logical_id}"


class UnresolvedIntrinsicError(ValueError):
    """An intrinsic function the resolution does not model."""


class Environment:
    """One environment's stacks, resolved."""

    def __init__(
        self, *, name: str, account: str, region: str, stacks: list[Stack], asset_buckets: frozenset[str] = frozenset()
    ) -> None:
        self.name, self.account, self.region = name, account, region
        # The CDK bootstrap's file asset bucket(s) the assembly publishes to (code of the pipeline's and the
        # drift job's steps): not a resource of the templates, but deployed with them.
        self.asset_buckets = asset_buckets
        self.stacks = {s.id: s for s in stacks}
        self._by_name = {s.name: s for s in stacks}
        self.unresolved: list[str] = []

    # ---- names and ARNs ----

    def physical_name(self, stack: Stack, logical_id: str) -> str:
        resource = stack.template["Resources"][logical_id]
        prop = NAME_PROPERTIES.get(resource["Type"])
        value = resource.get("Properties", {}).get(prop) if prop else None
        if resource["Type"] == "AWS::Glue::Table" and isinstance(value, Mapping):
            value = value.get("Name")
        if value is not None:
            return self.resolve_str(stack, value)
        if resource["Type"] == "AWS::Glue::Database":
            return self.resolve_str(stack, resource["Properties"]["DatabaseInput"]["Name"])
        if resource["Type"] == "AWS::KMS::Key":
            return f"key-{logical_id.lower()}"
        return f"{stack.name}-{logical_id}"[:64]

    def arn_of(self, stack: Stack, logical_id: str) -> str:
        resource = stack.template["Resources"][logical_id]
        type_, name = resource["Type"], self.physical_name(stack, logical_id)
        r, a = self.region, self.account
        simple = {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{r}:{a}:table/{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{r}:{a}:function:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{a}:role/{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{r}:{a}:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{r}:{a}:{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{r}:{a}:key/{name}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{r}:{a}:stateMachine:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{r}:{a}:log-group:{name}:*",
            "AWS::SageMaker::Pipeline": f"arn:aws:sagemaker:{r}:{a}:pipeline/{name.lower()}",
            "AWS::SageMaker::ModelPackageGroup": f"arn:aws:sagemaker:{r}:{a}:model-package-group/{name.lower()}",
            "AWS::SageMaker::Endpoint": f"arn:aws:sagemaker:{r}:{a}:endpoint/{name.lower()}",
            "AWS::SageMaker::EndpointConfig": f"arn:aws:sagemaker:{r}:{a}:endpoint-config/{name.lower()}",
            "AWS::SageMaker::Model": f"arn:aws:sagemaker:{r}:{a}:model/{name.lower()}",
            "AWS::SageMaker::FeatureGroup": f"arn:aws:sagemaker:{r}:{a}:feature-group/{name.lower()}",
            "AWS::SageMaker::MonitoringSchedule": f"arn:aws:sagemaker:{r}:{a}:monitoring-schedule/{name.lower()}",
            "AWS::SageMaker::DataQualityJobDefinition": f"arn:aws:sagemaker:{r}:{a}:data-quality-job-definition/"
            f"{name.lower()}",
            "AWS::SageMaker::ModelQualityJobDefinition": f"arn:aws:sagemaker:{r}:{a}:model-quality-job-definition/"
            f"{name.lower()}",
            "AWS::Events::Rule": f"arn:aws:events:{r}:{a}:rule/{name}",
            "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{r}:{a}:alarm:{name}",
            "AWS::CloudWatch::CompositeAlarm": f"arn:aws:cloudwatch:{r}:{a}:alarm:{name}",
            "AWS::Athena::WorkGroup": f"arn:aws:athena:{r}:{a}:workgroup/{name}",
            "AWS::Lambda::LayerVersion": f"arn:aws:lambda:{r}:{a}:layer:{name}:1",
            "AWS::IAM::ManagedPolicy": f"arn:aws:iam::{a}:policy/{name}",
        }
        if type_ in simple:
            return simple[type_]
        raise UnresolvedIntrinsicError(f"no ARN format for {type_} ({stack.id}/{logical_id})")

    def _ref(self, stack: Stack, target: str) -> str:
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack.name,
            "AWS::NoValue": "",
        }
        if target in pseudo:
            return pseudo[target]
        if target not in stack.template["Resources"]:
            parameter = stack.template.get("Parameters", {}).get(target)
            if parameter is not None and str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
                return self._ssm_value(stack, target, str(parameter.get("Default", "")))
            if parameter is not None and "Default" in parameter:
                return str(parameter["Default"])
            raise UnresolvedIntrinsicError(f"Ref {target} in {stack.id}")
        type_ = stack.template["Resources"][target]["Type"]
        if type_ in REF_IS_ARN:
            return self.arn_of(stack, target)
        if type_ == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.physical_name(stack, target)}"
        return self.physical_name(stack, target)

    def _ssm_value(self, stack: Stack, target: str, name: str) -> str:
        """An SSM-typed template parameter: CloudFormation reads the parameter named by its value at deploy time.

        The value is the one the environment's own ``AWS::SSM::Parameter`` publishes under that name (the real
        producer, e.g. the platform stack's key ARN); a parameter no stack of the environment publishes (AWS's
        public parameters, such as the Powertools layer's ARN) cannot be resolved here.
        """
        for other, _, resource in self.resources("AWS::SSM::Parameter"):
            props = resource["Properties"]
            if self.resolve(other, props.get("Name")) == name:
                return self.resolve_str(other, props["Value"])
        raise UnresolvedIntrinsicError(
            f"Ref {target} in {stack.id}: SSM parameter {name!r} is published by no stack of {self.name}"
        )

    def _get_att(self, stack: Stack, target: str, attribute: str) -> str:
        type_ = stack.template["Resources"][target]["Type"]
        if attribute in ("Arn", "TopicArn", "QueueArn") or (
            attribute.endswith("Arn") and attribute not in ("StreamArn",)
        ):
            if type_ == "AWS::SageMaker::Model" and attribute == "Arn":
                return self.arn_of(stack, target)
            return self.arn_of(stack, target)
        if attribute in ("TopicName", "QueueName", "Name", "EndpointName", "EndpointConfigName", "ModelName"):
            return self.physical_name(stack, target)
        if attribute in ("KeyId", "GroupId"):  # GroupId: the isolated network's security groups (ADR 0019)
            return self.physical_name(stack, target)
        if attribute == "QueueUrl":
            return self._ref(stack, target)
        if attribute in ("RegionalDomainName", "DomainName"):
            return f"{self.physical_name(stack, target)}.s3.{self.region}.amazonaws.com"
        raise UnresolvedIntrinsicError(f"Fn::GetAtt {target}.{attribute} in {stack.id}")

    # ---- intrinsics ----

    def resolve(self, stack: Stack, node: Any) -> Any:  # noqa: PLR0911 - one branch per intrinsic
        if isinstance(node, list):
            return [self.resolve(stack, item) for item in node]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self._ref(stack, value)
            if key == "Fn::GetAtt":
                target, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self._get_att(stack, target, attribute)
            if key == "Fn::Join":
                separator, parts = value
                return str(separator).join(str(self.resolve(stack, p)) for p in self.resolve(stack, parts))
            if key == "Fn::Select":
                index, items = value
                return self.resolve(stack, items)[int(self.resolve(stack, index))]
            if key == "Fn::Split":
                separator, text = value
                return str(self.resolve(stack, text)).split(separator)
            if key == "Fn::Sub":
                return self._sub(stack, value)
            if key == "Fn::GetStackOutput":
                other = self._by_name[value["StackName"]]
                output = other.template["Outputs"][value["OutputName"]]["Value"]
                return self.resolve(other, output)
            if key == "Fn::ImportValue":
                return self._import(value)
            if key.startswith("Fn::"):
                raise UnresolvedIntrinsicError(f"{key} in {stack.id}")
        return {k: self.resolve(stack, v) for k, v in node.items()}

    def resolve_str(self, stack: Stack, node: Any) -> str:
        value = self.resolve(stack, node)
        if not isinstance(value, str):
            raise UnresolvedIntrinsicError(f"expected a string, got {value!r}")
        return value

    def _sub(self, stack: Stack, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
        resolved = {k: str(self.resolve(stack, v)) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in resolved:
                return resolved[name]
            if "." in name:
                target, attribute = name.split(".", 1)
                return self._get_att(stack, target, attribute)
            return self._ref(stack, name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def _import(self, name: Any) -> str:
        for other in self.stacks.values():
            for output in other.template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if export is not None and self.resolve(other, export) == name:
                    return str(self.resolve(other, output["Value"]))
        raise UnresolvedIntrinsicError(f"Fn::ImportValue {name}")

    # ---- what the contract needs ----

    def resources(self, type_: str) -> Iterator[tuple[Stack, str, dict[str, Any]]]:
        for stack in self.stacks.values():
            for logical_id, resource in stack.template["Resources"].items():
                if resource["Type"] == type_:
                    yield stack, logical_id, resource

    def roles(self) -> dict[str, Role]:
        """Every role by ARN, with its inline policies, attached AWS::IAM::Policy documents and managed policies."""
        roles: dict[str, Role] = {}
        by_ref: dict[tuple[str, str], Role] = {}
        for stack, logical_id, resource in self.resources("AWS::IAM::Role"):
            props = resource["Properties"]
            trust = []
            for statement in props["AssumeRolePolicyDocument"]["Statement"]:
                principal = statement.get("Principal", {})
                trust.extend(str(s) for s in _list(principal.get("Service", [])))
            role = Role(self.name, stack.id, logical_id, self.arn_of(stack, logical_id), trust)
            for policy in props.get("Policies", []):
                document = self.resolve(stack, policy["PolicyDocument"])
                role.statements.extend(statements_of(document, source=f"{role.label} inline {policy['PolicyName']}"))
            for managed in props.get("ManagedPolicyArns", []):
                own = stack.template["Resources"].get(managed.get("Ref", "")) if isinstance(managed, Mapping) else None
                if own is not None and own["Type"] == "AWS::IAM::ManagedPolicy":
                    # The stack's own customer-managed policy (the isolated network's ENI policy, ADR 0019).
                    document = self.resolve(stack, own["Properties"]["PolicyDocument"])
                    role.statements.extend(statements_of(document, source=f"{role.label} managed {managed['Ref']}"))
                    continue
                arn = self.resolve_str(stack, managed)
                role.statements.extend(_managed_policy(arn, role.label))
            roles[role.arn] = role
            by_ref[(stack.id, logical_id)] = role
        for stack, logical_id, resource in [
            *self.resources("AWS::IAM::Policy"),
            *self.resources("AWS::IAM::ManagedPolicy"),
        ]:
            props = resource["Properties"]
            document = self.resolve(stack, props["PolicyDocument"])
            for ref in props.get("Roles", []):
                role = by_ref.get((stack.id, ref.get("Ref"))) if isinstance(ref, Mapping) else None
                if role is None:
                    name = self.resolve_str(stack, ref)
                    role = next((r for r in roles.values() if r.arn.endswith(f":role/{name}")), None)
                if role is None:
                    continue
                role.statements.extend(statements_of(document, source=f"{role.label} policy {logical_id}"))
        return roles

    def bucket_policies(self) -> dict[str, list[Statement]]:
        found: dict[str, list[Statement]] = {}
        for stack, _, resource in self.resources("AWS::S3::BucketPolicy"):
            bucket = self.resolve_str(stack, resource["Properties"]["Bucket"])
            document = self.resolve(stack, resource["Properties"]["PolicyDocument"])
            found.setdefault(bucket, []).extend(statements_of(document, source=f"bucket policy of {bucket}"))
        return found

    def key_policies(self) -> dict[str, list[Statement]]:
        found: dict[str, list[Statement]] = {}
        for stack, logical_id, resource in self.resources("AWS::KMS::Key"):
            document = self.resolve(stack, resource["Properties"]["KeyPolicy"])
            found[self.arn_of(stack, logical_id)] = statements_of(document, source=f"key policy of {logical_id}")
        return found

    def bucket_names(self) -> list[str]:
        """The templates' buckets and the CDK file asset bucket the stacks' assets are published to."""
        names = [self.physical_name(stack, logical_id) for stack, logical_id, _ in self.resources("AWS::S3::Bucket")]
        return names + sorted(self.asset_buckets)

    def deployed_names(self) -> set[str]:
        """Every physical name of the environment (to tell a deployed resource from a test's own)."""
        names: set[str] = set()
        for stack in self.stacks.values():
            for logical_id, resource in stack.template["Resources"].items():
                if resource["Type"] in NAME_PROPERTIES or resource["Type"] in ("AWS::KMS::Key", "AWS::Glue::Database"):
                    try:
                        names.add(self.physical_name(stack, logical_id))
                    except UnresolvedIntrinsicError:
                        continue
        return {n for n in names if len(n) >= 6}


# AWS managed policies the templates attach, as AWS publishes them (AWS Managed Policy Reference Guide).
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ]
    },
}


def _managed_policy(arn: str, label: str) -> list[Statement]:
    document = MANAGED_POLICIES.get(arn)
    if document is None:
        raise UnresolvedIntrinsicError(f"{label} attaches {arn}, which the contract tier does not know")
    return statements_of(document, source=f"{label} managed {arn.rsplit('/', 1)[-1]}")


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def load_environments(outdir: Path, templates: Mapping[tuple[str, str], dict[str, Any]]) -> dict[str, Environment]:
    """Every environment of a synthesized assembly (``tests.support.synth.Synthesized``), resolved."""
    environments: dict[str, Environment] = {}
    for manifest_path in sorted(outdir.glob("assembly-*/manifest.json")):
        env_name = manifest_path.parent.name.removeprefix("assembly-")
        manifest = json.loads(manifest_path.read_text())
        stacks: list[Stack] = []
        asset_buckets: set[str] = set()
        account = region = ""
        for artifact in manifest["artifacts"].values():
            if artifact["type"] == "cdk:asset-manifest":
                assets = json.loads((manifest_path.parent / artifact["properties"]["file"]).read_text())
                for asset in assets.get("files", {}).values():
                    asset_buckets.update(str(d["bucketName"]) for d in asset["destinations"].values())
                continue
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            stack_id = str(artifact["displayName"]).split("/", 1)[1]
            stacks.append(
                Stack(
                    id=stack_id,
                    name=artifact["properties"].get("stackName", stack_id),
                    template=copy.deepcopy(templates[(env_name, stack_id)]),
                )
            )
            _, _, account_region = artifact["environment"].partition("aws://")
            account, region = account_region.split("/")
        environments[env_name] = Environment(
            name=env_name, account=account, region=region, stacks=stacks, asset_buckets=frozenset(asset_buckets)
        )
    return environments
