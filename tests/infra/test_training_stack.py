"""Feature ingestion in the per-model training stack: functions, permissions, history table, trigger."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.support.iam_policies import grants, role_id
from tests.support.synth import Synthesized
from tests.support.templates import resources_of_type

STACK = "fraud-detection-training"


def functions(synth: Synthesized, env: str) -> dict[str, dict[str, Any]]:
    """Our ingestion functions (the stack also holds CDK's BucketDeployment provider)."""
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
    assert len(log_groups) == 3  # two ingestion functions and the code-bundle deployment
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
    assert set(variables) == {"PipelineRoleArn", "KmsKeyArn"}
    assert "PipelineRole" in json.dumps(variables["PipelineRoleArn"])
    assert "EncryptionKey" in json.dumps(variables["KmsKeyArn"])
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
    evaluate = next(s for s in definition["Steps"] if s["Name"] == "Evaluate")
    assert "Parameters.ChampionModelUri" in json.dumps(evaluate["Arguments"])
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
            assert set(actions) <= {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}
    jobs = next(s for s in statements if "sagemaker:CreateTrainingJob" in s["Action"])
    assert all("pipelines-*" in json.dumps(r) for r in jobs["Resource"])
    pass_role = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_code_bundle_goes_to_a_content_addressed_prefix(synth: Synthesized) -> None:
    from config import FRAUD_DETECTION  # noqa: PLC0415
    from mlops_constructs.code_bundle import bundle_hash  # noqa: PLC0415
    from mlops_constructs.training_pipeline import BUNDLE_INCLUDES  # noqa: PLC0415
    from pipeline_defs.definition import spec_json  # noqa: PLC0415
    from tests.support.specs import CHURN  # noqa: PLC0415

    prefix = f"code/fraud-detection/{bundle_hash(BUNDLE_INCLUDES, {'spec.json': spec_json(FRAUD_DETECTION)})}"
    synth.template("dev", STACK).has_resource_properties(
        "Custom::CDKBucketDeployment",
        {"DestinationBucketKeyPrefix": prefix, "Prune": False, "SystemMetadata": Match.object_like({"sse": "aws:kms"})},
    )
    text, _ = embedded_definition(synth, "dev")
    assert f"s3://mlops-dev-111111111111-us-east-1-artifacts/{prefix}" in text
    assert bundle_hash(BUNDLE_INCLUDES, {"spec.json": spec_json(CHURN)}) != bundle_hash(
        BUNDLE_INCLUDES, {"spec.json": spec_json(FRAUD_DETECTION)}
    )


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
    # bucket (docs/platform-facts.md#athena-source-buckets).
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
