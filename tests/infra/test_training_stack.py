"""Feature ingestion in the per-model training stack: functions, permissions, history table, trigger."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.support.synth import Synthesized
from tests.support.templates import resources_of_type

STACK = "fraud-detection-training"


def functions(synth: Synthesized, env: str) -> dict[str, dict[str, Any]]:
    return resources_of_type(synth.json(env, STACK), "AWS::Lambda::Function")


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


def test_function_logs_are_encrypted_and_retained(synth: Synthesized) -> None:
    template = synth.template("prod", STACK)
    template.resource_count_is("AWS::Logs::LogGroup", 2)
    template.all_resources_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365, "KmsKeyId": Match.any_value()})


def test_ingestion_roles_are_least_privilege(synth: Synthesized) -> None:
    template = synth.json("prod", STACK)
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
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
