"""Feature ingestion in the per-model training stack: functions, permissions, history table, trigger."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from config import ENVIRONMENTS
from tests.support.iam_policies import grants, role_id
from tests.support.synth import Synthesized
from tests.support.templates import SAGEMAKER_VPC_DESCRIBES, resources_of_type

STACK = "fraud-detection-training"
ROOT = Path(__file__).resolve().parents[2]


def functions(synth: Synthesized, env: str) -> dict[str, dict[str, Any]]:
    """Our ingestion functions."""
    return {
        k: v
        for k, v in resources_of_type(synth.json(env, STACK), "AWS::Lambda::Function").items()
        if v["Properties"]["Handler"].startswith("lambdas.")
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_ingestion_functions_are_traced_arm64_latest_python_with_powertools_layer(synth: Synthesized, env: str) -> None:
    fns = functions(synth, env)
    assert {f["Properties"]["Handler"] for f in fns.values()} == {
        "lambdas.ingestion.handler.s3_handler",
        "lambdas.ingestion.handler.event_handler",
    }
    for fn in fns.values():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.14"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        (layer,) = props["Layers"]
        assert "Ref" in layer  # resolved at deploy time from the Powertools SSM public parameter
        groups = json.loads(props["Environment"]["Variables"]["FEATURE_GROUPS"])
        assert groups == {
            "transaction": f"fraud-detection-{env}-transaction",
            "customer-spend": f"fraud-detection-{env}-customer-spend",
        }
    parameters = synth.json(env, STACK)["Parameters"]
    assert any(
        p.get("Default") == "/aws/service/powertools/python/arm64/python3.14/3.37.0" for p in parameters.values()
    )


def test_every_log_group_is_encrypted_and_retained_per_config(synth: Synthesized) -> None:
    template = synth.json("prod", STACK)
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    assert len(log_groups) == 2  # the two ingestion functions
    for group in log_groups.values():
        assert group["Properties"]["RetentionInDays"] == 365
        assert "EncryptionKey" in json.dumps(group["Properties"]["KmsKeyId"])
    for fn in resources_of_type(template, "AWS::Lambda::Function").values():
        assert fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in log_groups


def test_ingestion_roles_are_least_privilege(synth: Synthesized) -> None:
    template = synth.json("prod", STACK)
    policies = {k: v for k, v in resources_of_type(template, "AWS::IAM::Policy").items() if k.startswith("Ingestion")}
    assert len(policies) == 2
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all(not a.endswith("*") for a in actions), actions
            if statement["Resource"] == "*":
                assert set(actions) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
            if "sagemaker:PutRecord" in actions:
                resources = json.dumps(statement["Resource"])
                assert "feature-group/fraud-detection-prod-transaction" in resources
                assert "feature-group/fraud-detection-prod-customer-spend" in resources


def test_history_table_is_encrypted_recoverable_and_expires_items(synth: Synthesized) -> None:
    synth.template("prod", STACK).has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": Match.any_value()},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                "KeySchema": [
                    {"AttributeName": "customer_id", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
            },
            "DeletionPolicy": "Retain",
        },
    )


def test_raw_event_files_trigger_batch_ingestion_with_a_dead_letter_queue(synth: Synthesized) -> None:
    template = synth.template("dev", STACK)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": ["mlops-dev-111111111111-us-east-1-landing"]},
                    "object": {"key": [{"prefix": "landing/fraud-detection/"}]},
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "DeadLetterConfig": Match.any_value(),
                        "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 21600},
                    }
                )
            ],
        },
    )
    platform = synth.json("dev", "platform")["Resources"]
    landing = next(
        r for r in platform.values() if r["Properties"].get("BucketName") == "mlops-dev-111111111111-us-east-1-landing"
    )
    assert landing["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_function_asset_holds_only_the_lambda_package_and_is_small(synth: Synthesized) -> None:
    template = synth.json("dev", STACK)
    (asset_hash,) = {f["Properties"]["Code"]["S3Key"].split(".")[0] for f in functions(synth, "dev").values()}
    asset = synth.outdir / f"asset.{asset_hash}"
    files = [p for p in asset.rglob("*") if p.is_file()]
    assert files
    assert all(p.relative_to(asset).parts[0] == "lambdas" for p in files)
    assert sum(p.stat().st_size for p in files) < 1_000_000
    assert template


# ---- the training pipeline ----


def pipeline_resource(synth: Synthesized, env: str) -> dict[str, Any]:
    (resource,) = resources_of_type(synth.json(env, STACK), "AWS::SageMaker::Pipeline").values()
    return resource


def embedded_definition(synth: Synthesized, env: str) -> tuple[str, dict[str, Any]]:
    body = pipeline_resource(synth, env)["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    text, variables = body["Fn::Sub"]
    return text, variables


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_pipeline_embeds_the_sdk_definition_with_stack_values_substituted(synth: Synthesized, env: str) -> None:
    resource = pipeline_resource(synth, env)
    assert resource["Properties"]["PipelineName"] == f"fraud-detection-{env}-training"
    assert "PipelineRole" in json.dumps(resource["Properties"]["RoleArn"])
    text, variables = embedded_definition(synth, env)
    # Isolated environments add their subnets and security group (tests/infra/test_network.py).
    settings = next(e for e in ENVIRONMENTS if e.name == env).network
    zones = range(len(settings.zones))
    network = {*(f"Subnet{i}" for i in zones), "SecurityGroup"} if settings.isolated else set()
    assert set(variables) == {"PipelineRoleArn", "KmsKeyArn", *network}
    assert "PipelineRole" in json.dumps(variables["PipelineRoleArn"])
    # The same definition is written beside the template for review.
    rendered = next(synth.outdir.glob(f"assembly-{env}/*fraud*training*.pipeline-definition.json")).read_text()
    assert rendered.strip() == text
    assert f"mlops-{env}-" in text  # buckets by their deterministic names, no placeholders


def test_pipeline_gate_compares_against_the_threshold_parameter_and_the_champion_decision(synth: Synthesized) -> None:
    text, _ = embedded_definition(synth, "prod")
    definition = json.loads(text)
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert parameters["AbsoluteThreshold"]["DefaultValue"] == 0.3
    assert parameters["ChampionModelUri"]["DefaultValue"] == ""
    (check,) = [s for s in definition["Steps"] if s["Type"] == "Condition"]
    conditions = json.dumps(check["Arguments"]["Conditions"])
    assert '"Get": "Parameters.AbsoluteThreshold"' in conditions
    assert "RegistrationDecision" in conditions  # the decision that compared with the champion
    score = next(s for s in definition["Steps"] if s["Name"] == "Score")
    assert "Parameters.ChampionModelUri" in json.dumps(score["Arguments"])
    assert [s["Name"] for s in check["Arguments"]["IfSteps"]] == ["Register"]
    assert check["Arguments"]["ElseSteps"] == []  # "not better" ends the run cleanly, without a FailStep


def test_every_pipeline_step_validates_against_the_sagemaker_api(synth: Synthesized) -> None:
    from pipeline_defs.validate import validate_definition  # noqa: PLC0415

    text, _ = embedded_definition(synth, "dev")
    problems = validate_definition(
        text,
        substitutions={
            "${PipelineRoleArn}": "arn:aws:iam::111111111111:role/pipeline",
            "${KmsKeyArn}": "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
    )
    assert problems == []


def test_pipeline_role_is_least_privilege(synth: Synthesized) -> None:
    template = synth.json("prod", STACK)
    role_policy = next(
        p for k, p in resources_of_type(template, "AWS::IAM::Policy").items() if k.startswith("PipelineRole")
    )
    statements = role_policy["Properties"]["PolicyDocument"]["Statement"]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(not a.endswith("*") for a in actions), actions
        if statement["Resource"] == "*":
            # prod is isolated: SageMaker attaches the jobs to the VPC with the Describe actions (ADR 0019).
            assert set(actions) <= {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", *SAGEMAKER_VPC_DESCRIBES}
    jobs = next(s for s in statements if "sagemaker:CreateTrainingJob" in s["Action"])
    assert all("pipelines-*" in json.dumps(r) for r in jobs["Resource"])
    pass_role = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


# Fn::Sub's variable map may hold these functions (AWS CloudFormation Template Reference, "Fn::Sub", Supported
# functions); a cross-stack Fn::GetStackOutput is not among them.
FN_SUB_VARIABLE_FUNCTIONS = {
    "Fn::Base64",
    "Fn::FindInMap",
    "Fn::GetAtt",
    "Fn::GetAZs",
    "Fn::ImportValue",
    "Fn::Join",
    "Fn::Select",
    "Fn::Sub",
    "Ref",
}


def intrinsics(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {k for k in value if k.startswith("Fn::") or k == "Ref"} | {
            name for v in value.values() for name in intrinsics(v)
        }
    if isinstance(value, list):
        return {name for v in value for name in intrinsics(v)}
    return set()


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_pipeline_body_gets_the_key_arn_from_the_platforms_ssm_parameter_not_a_stack_output(
    synth: Synthesized, env: str
) -> None:
    template = synth.json(env, STACK)
    _, variables = embedded_definition(synth, env)

    assert all(intrinsics(value) <= FN_SUB_VARIABLE_FUNCTIONS for value in variables.values()), variables
    (parameter,) = [v["Ref"] for v in [variables["KmsKeyArn"]]]
    assert template["Parameters"][parameter] == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": f"/mlops/{env}/platform-key-arn",
    }
    # The platform stack writes that parameter with its key's ARN.
    platform = synth.json(env, "platform")
    (written,) = [
        r["Properties"]
        for r in resources_of_type(platform, "AWS::SSM::Parameter").values()
        if r["Properties"]["Name"] == f"/mlops/{env}/platform-key-arn"
    ]
    (key_id,) = resources_of_type(platform, "AWS::KMS::Key")
    assert written["Value"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert written["Type"] == "String"


def training_asset(synth: Synthesized, env: str) -> tuple[str, Path]:
    """(object key, staged source) of the training stack's one zip asset that is not a Lambda's code."""
    manifest = next(synth.outdir.glob(f"assembly-{env}/*frauddetectiontraining*.assets.json"))
    lambda_keys = {f["Properties"]["Code"]["S3Key"] for f in functions(synth, env).values()}
    (asset,) = [
        a
        for a in json.loads(manifest.read_text())["files"].values()
        if a["source"]["packaging"] == "zip"  # not the template itself
        and next(iter(a["destinations"].values()))["objectKey"] not in lambda_keys
    ]
    destination = next(iter(asset["destinations"].values()))
    return destination["objectKey"], manifest.parent / asset["source"]["path"]


def test_the_code_bundle_is_a_file_asset_the_definition_references_and_the_role_reads(synth: Synthesized) -> None:
    from config import FRAUD_DETECTION  # noqa: PLC0415
    from mlops_constructs.code_bundle import bundle_files  # noqa: PLC0415
    from mlops_constructs.training_pipeline import BUNDLE_INCLUDES  # noqa: PLC0415
    from pipeline_defs.definition import spec_json  # noqa: PLC0415

    key, source = training_asset(synth, "dev")
    bucket = "cdk-hnb659fds-assets-111111111111-us-east-1"
    text, _ = embedded_definition(synth, "dev")
    inputs = [
        i["S3Input"]["S3Uri"]
        for step in json.loads(text)["Steps"]
        if step["Type"] == "Processing"
        for i in step["Arguments"]["ProcessingInputs"]
        if i["InputName"] == "code"
    ]
    staged = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    role_policy = next(
        p
        for k, p in resources_of_type(synth.json("dev", STACK), "AWS::IAM::Policy").items()
        if k.startswith("PipelineRole")
    )
    statements = role_policy["Properties"]["PolicyDocument"]["Statement"]

    assert re.fullmatch(r"[0-9a-f]{64}\.zip", key)  # the content hash
    assert inputs == [f"s3://{bucket}/{key}"] * 6  # every processing step unpacks that zip
    assert staged == sorted([p.relative_to(ROOT).as_posix() for p in bundle_files(BUNDLE_INCLUDES)] + ["spec.json"])
    assert (source / "spec.json").read_text() == spec_json(FRAUD_DETECTION)
    # Read of exactly that object, and a listing of the bucket limited to its key: nothing else of the bucket
    granted = {
        (action, resource, json.dumps(statement.get("Condition")))
        for statement in statements
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
        if bucket in json.dumps(resource)
    }
    assert granted == {
        ("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", "null"),
        ("s3:ListBucket", f"arn:aws:s3:::{bucket}", json.dumps({"StringEquals": {"s3:prefix": [key]}})),
    }


def test_no_template_holds_a_custom_resource_to_deploy_code(synth: Synthesized) -> None:
    types = {r["Type"] for t in synth.templates.values() for r in t["Resources"].values()}

    assert "Custom::CDKBucketDeployment" not in types
    assert not [t for t in types if t.startswith("Custom::")], types


def test_pipeline_role_may_query_only_its_workgroup_and_tables(synth: Synthesized) -> None:
    template = synth.json("prod", STACK)
    role_policy = next(
        p for k, p in resources_of_type(template, "AWS::IAM::Policy").items() if k.startswith("PipelineRole")
    )
    statements = role_policy["Properties"]["PolicyDocument"]["Statement"]
    athena = next(s for s in statements if "athena:StartQueryExecution" in s["Action"])
    assert athena["Resource"] == "arn:aws:athena:us-east-1:333333333333:workgroup/mlops-prod"
    glue = next(s for s in statements if "glue:GetTable" in s["Action"])
    tables = {r.rsplit("/", 1)[1] for r in glue["Resource"] if ":table/" in r}
    assert tables == {
        "fraud_detection_prod_transaction",
        "fraud_detection_prod_customer_spend",
        "fraud_detection_prod_labels",
    }


@pytest.mark.parametrize("bucket", ["offlinestore", "groundtruth"])
def test_pipeline_role_may_read_every_bucket_its_athena_query_reads(synth: Synthesized, bucket: str) -> None:
    # Athena needs GetBucketLocation, ListBucket and GetObject on each source bucket, not only on the results
    # bucket (docs/aws-facts.md#athena-source-buckets).
    template = synth.json("prod", STACK)
    role = role_id(template, "Runs the fraud-detection-prod-training pipeline and its jobs")
    statements = [g for g in grants(synth) if g.where.startswith("prod/") and role in g.roles]
    arn = f"arn:aws:s3:::mlops-prod-333333333333-us-east-1-{bucket}"
    prefix = {"offlinestore": "offline-store", "groundtruth": "labels"}[bucket]
    for action, resource in (
        ("s3:GetBucketLocation", arn),
        ("s3:ListBucket", arn),
        ("s3:GetObject", f"{arn}/{prefix}/fraud-detection/part-0.parquet"),
    ):
        assert any(g.allows(action, resource) for g in statements), (action, resource)
