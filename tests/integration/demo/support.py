"""The emulators' test world: moto in this process (served on loopback for the jobs' containers), the DEV stage
synthesized once, and the resources the tests need created from the SYNTHESIZED templates' properties.

moto's CloudFormation cannot create several of these types (feature groups, the model package group, the
pipeline, alarms, Glue, Athena); ``tools/demo/server`` creates them in the demo. Here ``render`` resolves the
few intrinsics the properties use (Ref, Fn::Join, Fn::GetAtt of the key or a role, Fn::Sub,
Fn::GetStackOutput of the key, the SSM-typed parameter holding the key's ARN) against what the world created,
so every name, location and setting comes from the templates; ``upload_code`` publishes a stack's file assets
as the CDK CLI does.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from tests.support.synth import Synthesized
from tools.demo.emulators.runtime import Aws, moto_backend

REGION = "us-east-1"
PLATFORM = ("dev", "platform")
TRAINING = ("dev", "fraud-detection-training")
SERVING = ("dev", "fraud-detection-serving")
MONITORING = ("dev", "fraud-detection-monitoring")


@contextmanager
def moto_server() -> Iterator[str]:
    """moto served on a free loopback port of this process (the jobs' containers call it over HTTP)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(url: str) -> None:
    requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()


@dataclass
class World:
    aws: Aws
    synth: Synthesized
    key_arn: str = ""
    role_arn: str = ""
    topic_arn: str = ""
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> name
    names: dict[str, str] = field(default_factory=dict)  # logical id -> physical name of what the tests created

    # ---- rendering -------------------------------------------------------------------------------------------

    def render(self, value: Any, template: Mapping[str, Any]) -> Any:  # noqa: PLR0911 - one return per intrinsic
        if isinstance(value, list):
            return [self.render(v, template) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._ref(str(value["Ref"]), template)
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return str(separator).join(str(self.render(p, template)) for p in parts)
        if set(value) == {"Fn::GetAtt"}:
            return self._get_att(*value["Fn::GetAtt"], template=template)
        if set(value) == {"Fn::GetStackOutput"}:
            # the cross-stack values these tests read: the platform key and the owner topic
            return self.topic_arn if "Topic" in value["Fn::GetStackOutput"]["OutputName"] else self.key_arn
        if set(value) == {"Fn::Sub"}:
            text, variables = value["Fn::Sub"]
            rendered = {k: str(self.render(v, template)) for k, v in variables.items()}
            return re.sub(r"\$\{([A-Za-z0-9_:.]+)\}", lambda m: rendered[m.group(1)], text)
        return {k: self.render(v, template) for k, v in value.items()}

    def _ref(self, target: str, template: Mapping[str, Any]) -> str:  # noqa: PLR0911 - one return per kind
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": self.aws.account, "AWS::Partition": "aws"}
        if target in pseudo:
            return pseudo[target]
        parameter = template.get("Parameters", {}).get(target)
        if parameter is not None:
            default = str(parameter.get("Default", ""))
            if default.endswith("/platform-key-arn"):  # the platform key's ARN, through its SSM parameter
                return self.key_arn
            if str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                # CloudFormation reads an SSM-typed parameter's value at deploy time (the serving pointer); the
                # public ones (Powertools' layer) are not in the test world and not used by these tests
                ssm = self.aws.client("ssm")
                try:
                    return str(ssm.get_parameter(Name=default)["Parameter"]["Value"])
                except ssm.exceptions.ParameterNotFound:
                    return f"UNRESOLVED-Parameter-{target}"
            return default or f"UNRESOLVED-Parameter-{target}"
        resource = template["Resources"][target]
        if resource["Type"] == "AWS::S3::Bucket":
            return str(resource["Properties"].get("BucketName", f"unnamed-{target.lower()}"))
        if resource["Type"] == "AWS::KMS::Key":
            return self.key_arn.rsplit("/", 1)[-1]
        if resource["Type"] in ("AWS::CloudWatch::Alarm", "AWS::DynamoDB::Table", "AWS::SNS::Topic"):
            return self.names.get(target) or self._named(resource)
        return f"UNRESOLVED-Ref-{target}"

    def _get_att(self, target: str, attribute: str, *, template: Mapping[str, Any]) -> str:
        kind = template["Resources"][target]["Type"]
        if kind == "AWS::KMS::Key" and attribute == "Arn":
            return self.key_arn
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return self.role_arn
        if kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm") and attribute == "Arn":
            name = self._named(template["Resources"][target])
            return f"arn:aws:cloudwatch:{REGION}:{self.aws.account}:alarm:{name}"
        if target in self.names:  # ModelName, EndpointConfigName of what the tests created
            return self.names[target]
        return f"UNRESOLVED-GetAtt-{target}.{attribute}"  # not used by these tests

    @staticmethod
    def _named(resource: Mapping[str, Any]) -> str:
        properties = resource.get("Properties", {})
        return str(properties.get("AlarmName") or properties.get("TableName") or properties.get("TopicName") or "")

    def resources(self, stack: tuple[str, str], kind: str) -> list[tuple[str, dict[str, Any]]]:
        template = self.synth.json(*stack)
        return [
            (logical_id, self.render(resource.get("Properties", {}), template))
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == kind
        ]

    # ---- creating what the tests need ------------------------------------------------------------------------

    def create_platform(self) -> None:
        """Key, role, buckets, Glue database and labels table, Athena workgroup, feature groups, registry."""
        self.key_arn = self.aws.client("kms").create_key(Description="platform key")["KeyMetadata"]["Arn"]
        self.role_arn = self.aws.client("iam").create_role(
            RoleName="emulated-sagemaker", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        self.topic_arn = self.aws.client("sns").create_topic(Name="owner")["TopicArn"]
        s3, glue, athena, sagemaker = (self.aws.client(n) for n in ("s3", "glue", "athena", "sagemaker"))
        for logical_id, props in self.resources(PLATFORM, "AWS::S3::Bucket"):
            if "BucketName" in props:
                s3.create_bucket(Bucket=props["BucketName"])
                self.buckets[logical_id] = props["BucketName"]
        for _, props in self.resources(PLATFORM, "AWS::Glue::Database"):
            glue.create_database(DatabaseInput=props["DatabaseInput"])
        for _, props in self.resources(PLATFORM, "AWS::Glue::Table"):
            glue.create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])
        for _, props in self.resources(PLATFORM, "AWS::Athena::WorkGroup"):
            configuration = dict(props["WorkGroupConfiguration"])
            configuration.pop("EngineVersion", None)
            athena.create_work_group(Name=props["Name"], Configuration=configuration)
        for _, props in self.resources(PLATFORM, "AWS::SageMaker::FeatureGroup"):
            sagemaker.create_feature_group(
                FeatureGroupName=props["FeatureGroupName"],
                RecordIdentifierFeatureName=props["RecordIdentifierFeatureName"],
                EventTimeFeatureName=props["EventTimeFeatureName"],
                FeatureDefinitions=props["FeatureDefinitions"],
                OnlineStoreConfig=props.get("OnlineStoreConfig", {}),
                OfflineStoreConfig=props["OfflineStoreConfig"],
                RoleArn=self.role_arn,
            )
            # moto 5.2.5 replaces the given DataCatalogConfig with generated names; AWS keeps the given ones.
            backend = moto_backend("sagemaker", self.aws.account, REGION)
            record = next(
                g for g in backend.feature_groups.values() if g.feature_group_name == props["FeatureGroupName"]
            )
            record.offline_store_config["DataCatalogConfig"] = props["OfflineStoreConfig"]["DataCatalogConfig"]
        for _, props in self.resources(PLATFORM, "AWS::SageMaker::ModelPackageGroup"):
            sagemaker.create_model_package_group(ModelPackageGroupName=props["ModelPackageGroupName"])

    def create_pipeline(self) -> str:
        """The training stack's pipeline, its body rendered as CloudFormation's Fn::Sub would."""
        ((_, props),) = self.resources(TRAINING, "AWS::SageMaker::Pipeline")
        self.aws.client("sagemaker").create_pipeline(
            PipelineName=props["PipelineName"],
            PipelineDefinition=props["PipelineDefinition"]["PipelineDefinitionBody"],
            RoleArn=self.role_arn,
        )
        return str(props["PipelineName"])

    def upload_code(self, stack: tuple[str, str]) -> list[str]:
        """Publish the stack's zip file assets as the CDK CLI does (the staged directory, zipped, to the
        bootstrap assets bucket under the asset's key); the URIs of the zips."""
        s3 = self.aws.client("s3")
        assembly = self.synth.outdir / f"assembly-{stack[0]}"
        # The stack's artifact id: the environment and the stack id without separators, and a hash.
        (manifest,) = assembly.glob(f"{stack[0]}{stack[1].replace('-', '')}*.assets.json")
        uris = []
        for asset in json.loads(manifest.read_text())["files"].values():
            if asset["source"].get("packaging") != "zip":
                continue
            source = manifest.parent / asset["source"]["path"]
            for destination in asset["destinations"].values():
                bucket = destination["bucketName"].replace("${AWS::AccountId}", self.aws.account)
                bucket = bucket.replace("${AWS::Region}", REGION)
                if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                    s3.create_bucket(Bucket=bucket)
                s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=_zipped(source))
                uris.append(f"s3://{bucket}/{destination['objectKey']}")
        return uris

    def create_tables(self) -> list[str]:
        """The platform's DynamoDB tables (deployment history, retraining state), as the template defines them."""
        created = []
        for _, props in self.resources(PLATFORM, "AWS::DynamoDB::Table"):
            self.aws.client("dynamodb").create_table(
                TableName=props["TableName"],
                KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"],
                BillingMode=props["BillingMode"],
            )
            created.append(str(props["TableName"]))
        return created

    def create_alarms(self, stack: tuple[str, str]) -> list[str]:
        """The stack's alarms, created by the demo's own CloudFormation handlers from the template properties."""
        from tools.demo.server import cfn_resources  # noqa: PLC0415 - registers moto CloudFormation models

        names = []
        for kind, handler in (
            ("AWS::CloudWatch::Alarm", cfn_resources.Alarm),
            ("AWS::CloudWatch::CompositeAlarm", cfn_resources.CompositeAlarm),
        ):
            for _, props in self.resources(stack, kind):
                handler.create(str(props["AlarmName"]), props, self.aws.account, REGION)
                names.append(str(props["AlarmName"]))
        return names

    def create_serving(self) -> str:
        """The serving stack's model, endpoint config and endpoint (with its DeploymentConfig), the model package
        read from the serving pointer as the template's SSM-typed parameter reads it; returns the endpoint name."""
        sagemaker = self.aws.client("sagemaker")

        def of_type(kind: str) -> tuple[str, dict[str, Any]]:
            ((logical_id, props),) = self.resources(SERVING, kind)  # rendered with the names created so far
            return logical_id, props

        model_id, model = of_type("AWS::SageMaker::Model")
        containers = []
        for container in model["Containers"]:
            package = str(container["ModelPackageName"])  # the pointer's value, rendered through the parameter
            assert package.startswith("arn:aws:sagemaker:"), container
            containers.append({"ModelPackageName": package})
        self.names[model_id] = f"{model_id.lower()}-1"
        sagemaker.create_model(
            ModelName=self.names[model_id],
            Containers=containers,
            ExecutionRoleArn=self.role_arn,
            EnableNetworkIsolation=bool(model.get("EnableNetworkIsolation")),
            Tags=model.get("Tags", []),
        )
        config_id, config = of_type("AWS::SageMaker::EndpointConfig")
        self.names[config_id] = f"{config_id.lower()}-1"
        sagemaker.create_endpoint_config(EndpointConfigName=self.names[config_id], **config)
        _, endpoint = of_type("AWS::SageMaker::Endpoint")
        sagemaker.create_endpoint(**endpoint)
        return str(endpoint["EndpointName"])

    def lambda_environment(self, stack: tuple[str, str], handler: str) -> dict[str, str]:
        """The environment variables of the stack's function with ``handler``, rendered."""
        for _, props in self.resources(stack, "AWS::Lambda::Function"):
            if props.get("Handler") == handler:
                return {k: str(v) for k, v in props["Environment"]["Variables"].items()}
        raise AssertionError(f"no function with handler {handler} in {stack}")

    def bucket(self, suffix: str) -> str:
        return next(name for name in self.buckets.values() if name.endswith(f"-{suffix}"))


def _zipped(directory: Path) -> bytes:
    """``directory``'s files in a zip, paths relative to it (what the CDK CLI uploads for a directory asset)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def read_json(aws: Aws, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def download_prefix(aws: Aws, uri: str, destination: Path) -> list[str]:
    """Every object under ``uri`` into ``destination`` (keys relative to the prefix); the relative keys."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    s3 = aws.client("s3")
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
        for item in page.get("Contents", []):
            relative = str(item["Key"])[len(prefix.rstrip("/")) + 1 :]
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            found.append(relative)
    return sorted(found)


# ---- a Task state's Parameters, as Step Functions evaluates them ---------------------------------------------------


def state_parameters(template: Any, data: Mapping[str, Any], *, execution_name: str) -> Any:
    """``Parameters`` with every ``"<key>.$"`` replaced by its JSONPath or intrinsic function's value (the subset
    the drift state machine uses: ``$.a.b``, ``$$.Execution.Name``, ``States.Format``, ``States.StringSplit``,
    ``States.ArrayGetItem``)."""
    if isinstance(template, list):
        return [state_parameters(item, data, execution_name=execution_name) for item in template]
    if not isinstance(template, dict):
        return template
    evaluated = {}
    for key, value in template.items():
        if key.endswith(".$"):
            found, end = _expression(str(value), 0, data, execution_name)
            assert end == len(str(value)), f"cannot evaluate {value!r}"
            evaluated[key[:-2]] = found
        else:
            evaluated[key] = state_parameters(value, data, execution_name=execution_name)
    return evaluated


def _expression(text: str, at: int, data: Mapping[str, Any], execution_name: str) -> tuple[Any, int]:
    while text[at] == " ":
        at += 1
    if text[at] == "'":
        end = at + 1
        while text[end] != "'":
            end += 2 if text[end] == "\\" else 1
        return text[at + 1 : end].replace("\\'", "'"), end + 1
    call = re.match(r"States\.(\w+)\(", text[at:])
    if call:
        at += call.end()
        args: list[Any] = []
        while text[at] != ")":
            value, at = _expression(text, at, data, execution_name)
            args.append(value)
            while text[at] in ", ":
                at += 1
        return _intrinsic(call.group(1), args), at + 1
    token = re.match(r"[^,)]+", text[at:])
    assert token, text[at:]
    path = token.group(0).strip()
    if path.startswith("$$."):
        assert path == "$$.Execution.Name", path
        return execution_name, at + token.end()
    if re.fullmatch(r"-?\d+", path):
        return int(path), at + token.end()
    value: Any = data
    for part in path.removeprefix("$").strip(".").split("."):
        if part:
            value = value[part]
    return value, at + token.end()


def _intrinsic(name: str, args: list[Any]) -> Any:
    if name == "Format":
        text, *values = args
        for value in values:
            text = text.replace("{}", str(value), 1)
        return text
    if name == "StringSplit":
        return [piece for piece in re.split("[" + re.escape(args[1]) + "]", args[0]) if piece]
    if name == "ArrayGetItem":
        return args[0][args[1]]
    raise AssertionError(f"intrinsic States.{name} is not evaluated by these tests")
