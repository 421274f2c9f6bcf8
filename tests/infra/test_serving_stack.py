"""Serving stack: pointer via dynamic reference, data capture, guardrails wired to alarms, scaling, alarms."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from config import DEV, EndpointSettings, ServerlessSettings
from tests.support.synth import Synthesized, synthesize
from tests.support.templates import one_resource, resources_of_type

STACK = "fraud-detection-serving"


def template(synth: Synthesized, env: str) -> dict[str, Any]:
    return synth.json(env, STACK)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_model_comes_from_the_serving_pointer_through_a_dynamic_reference(synth: Synthesized, env: str) -> None:
    _, model = one_resource(template(synth, env), "AWS::SageMaker::Model")
    assert model["Properties"]["Containers"] == [
        {"ModelPackageName": f"{{{{resolve:ssm:/mlops/fraud-detection/{env}/serving-model-package-arn}}}}"}
    ]
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert "ModelName" not in model["Properties"]  # generated: a new package is a new model


@pytest.mark.parametrize(("env", "sampling"), [("dev", 100), ("staging", 50), ("prod", 20)])
def test_endpoint_config_captures_both_directions_encrypted(synth: Synthesized, env: str, sampling: int) -> None:
    _, config = one_resource(template(synth, env), "AWS::SageMaker::EndpointConfig")
    props = config["Properties"]
    assert "EndpointConfigName" not in props  # every property is create-only: names must be generated
    capture = props["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == sampling
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["CaptureContentTypeHeader"] == {
        "CsvContentTypes": ["text/csv"],
        "JsonContentTypes": ["application/json"],
    }
    assert capture["DestinationS3Uri"].endswith("-datacapture/fraud-detection/data-capture")
    assert "EncryptionKey" in json.dumps(capture["KmsKeyId"])
    assert "EncryptionKey" in json.dumps(props["KmsKeyId"])  # ml.m5 has no local NVMe: volume KMS allowed
    assert props["ProductionVariants"][0]["VariantName"] == "primary"


def test_nvme_instance_types_get_no_volume_key(tmp_path: Path) -> None:
    env = dataclasses.replace(DEV, endpoint=EndpointSettings(instance_type="ml.m5d.large"))
    synth = synthesize(tmp_path, environments=[env])
    _, config = one_resource(synth.json("dev", STACK), "AWS::SageMaker::EndpointConfig")
    assert "KmsKeyId" not in config["Properties"]
    assert "KmsKeyId" in config["Properties"]["DataCaptureConfig"]  # capture files stay encrypted


def test_serverless_option_has_no_instances_scaling_or_volume_key(tmp_path: Path) -> None:
    env = dataclasses.replace(DEV, endpoint=EndpointSettings(serverless=ServerlessSettings(memory_size_mb=3072)))
    synth = synthesize(tmp_path, environments=[env])
    t = synth.json("dev", STACK)
    _, config = one_resource(t, "AWS::SageMaker::EndpointConfig")
    assert config["Properties"]["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 5,
    }
    assert "KmsKeyId" not in config["Properties"]
    assert not resources_of_type(t, "AWS::ApplicationAutoScaling::ScalableTarget")


@pytest.mark.parametrize(
    ("env", "routing"),
    [
        ("dev", {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300}),
        (
            "prod",
            {"Type": "CANARY", "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25}, "WaitIntervalInSeconds": 900},
        ),
    ],
)
def test_deployment_config_follows_the_environment_and_rolls_back_on_the_alarms(
    synth: Synthesized, env: str, routing: dict[str, Any]
) -> None:
    t = template(synth, env)
    _, endpoint = one_resource(t, "AWS::SageMaker::Endpoint")
    props = endpoint["Properties"]
    assert props["EndpointName"] == f"fraud-detection-{env}"
    policy = props["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == routing
    alarm_refs = [a["AlarmName"]["Ref"] for a in props["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]]
    alarms = resources_of_type(t, "AWS::CloudWatch::Alarm")
    assert {alarms[r]["Properties"]["MetricName"] for r in alarm_refs} == {
        "Invocation5XXErrors",
        "InvocationModelErrors",
        "ModelLatency",
    }


def test_alarms_have_correct_units_dimensions_and_notify_the_owner(synth: Synthesized) -> None:
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in resources_of_type(template(synth, "prod"), "AWS::CloudWatch::Alarm").values()
    }
    for props in alarms.values():
        assert props["Namespace"] == "AWS/SageMaker"
        assert props["Dimensions"] == [
            {"Name": "EndpointName", "Value": "fraud-detection-prod"},
            {"Name": "VariantName", "Value": "primary"},
        ]
        assert len(props["AlarmActions"]) == 1
        assert "OwnerTopic" in json.dumps(props["AlarmActions"])
    assert alarms["ModelLatency"]["ExtendedStatistic"] == "p99"
    assert alarms["ModelLatency"]["Threshold"] == 500_000  # 500 ms in microseconds
    assert alarms["Invocation5XXErrors"]["Statistic"] == "Average"
    assert alarms["Invocation5XXErrors"]["Threshold"] == 0.01
    assert alarms["Invocations"]["ComparisonOperator"] == "LessThanThreshold"
    assert alarms["Invocations"]["TreatMissingData"] == "breaching"


def test_autoscaling_targets_the_stable_variant(synth: Synthesized) -> None:
    t = synth.template("prod", STACK)
    t.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ResourceId": "endpoint/fraud-detection-prod/variant/primary",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 4,
            "MaxCapacity": 10,
        },
    )
    t.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                    "TargetValue": 300,
                }
            )
        },
    )


def test_model_role_is_least_privilege(synth: Synthesized) -> None:
    t = template(synth, "prod")
    (policy,) = [p for k, p in resources_of_type(t, "AWS::IAM::Policy").items() if k.startswith("ServingModelRole")]
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a in ("*", "sagemaker:*", "s3:*", "kms:*") or a.endswith(":*") for a in actions)
        if statement["Resource"] == "*":
            assert set(actions) <= {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}


# ---- deployment automation ----


def deployment_functions(synth: Synthesized, env: str) -> dict[str, dict[str, Any]]:
    return {
        f["Properties"]["Handler"].split(".")[2]: f
        for f in resources_of_type(template(synth, env), "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"].startswith("lambdas.deployment.")
    }


def test_every_deployment_step_and_score_is_deployed_with_its_settings(synth: Synthesized) -> None:
    fns = deployment_functions(synth, "prod")
    assert set(fns) == {"prepare", "deploy", "verify", "compare", "promote", "rollback", "score"}
    env = fns["promote"]["Properties"]["Environment"]["Variables"]
    assert env["ENDPOINT_NAME"] == "fraud-detection-prod"
    assert env["VARIANT_NAME"] == "primary"
    assert env["SERVING_POINTER_PARAMETER"] == "/mlops/fraud-detection/prod/serving-model-package-arn"
    assert env["HISTORY_TABLE"] == "mlops-prod-fraud-detection-deployments"
    settings = json.loads(env["DEPLOYMENT_SETTINGS"])
    assert settings["strategy"] == "canary"
    assert settings["canary_size_percent"] == 25
    assert settings["alarm_names"] == [
        "fraud-detection-prod-primary-5xx-rate",
        "fraud-detection-prod-primary-model-error-rate",
        "fraud-detection-prod-primary-p99-model-latency",
    ]
    score = fns["score"]["Properties"]["Environment"]["Variables"]
    assert json.loads(score["FEATURE_NAMES"])[:2] == ["amount", "merchant_category"]
    assert score["ENTITY_ID_NAME"] == "customer_id"


def test_alarm_names_given_to_the_lambdas_are_the_deployed_alarms(synth: Synthesized) -> None:
    names = {
        a["Properties"]["AlarmName"]
        for a in resources_of_type(template(synth, "prod"), "AWS::CloudWatch::Alarm").values()
    }
    settings = json.loads(
        deployment_functions(synth, "prod")["deploy"]["Properties"]["Environment"]["Variables"]["DEPLOYMENT_SETTINGS"]
    )
    assert set(settings["alarm_names"]) <= names


def _statements_of(synth: Synthesized, env: str, step: str) -> list[dict[str, Any]]:
    t = template(synth, env)
    role = deployment_functions(synth, env)[step]["Properties"]["Role"]["Fn::GetAtt"][0]
    policy = next(
        p for p in resources_of_type(t, "AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role}]
    )
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


@pytest.mark.parametrize("step", ["prepare", "deploy", "verify", "compare", "promote", "rollback", "score"])
def test_deployment_roles_are_least_privilege(synth: Synthesized, step: str) -> None:
    for statement in _statements_of(synth, "prod", step):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a.endswith(":*") or a == "*" for a in actions), actions
        if statement["Resource"] == "*":
            assert set(actions) <= {"cloudwatch:GetMetricData", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_only_promote_and_rollback_may_move_the_serving_pointer(synth: Synthesized) -> None:
    for step in ("prepare", "deploy", "verify", "compare", "promote", "rollback"):
        actions = {
            a
            for s in _statements_of(synth, "prod", step)
            for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        }
        assert ("ssm:PutParameter" in actions) is (step in ("promote", "rollback")), step
        assert ("sagemaker:UpdateEndpoint" in actions) is (step in ("deploy", "promote", "rollback")), step


def test_score_may_only_read_features_and_invoke_this_endpoint(synth: Synthesized) -> None:
    statements = _statements_of(synth, "prod", "score")
    invoke = next(s for s in statements if s["Action"] == "sagemaker:InvokeEndpoint")
    assert invoke["Resource"] == "arn:aws:sagemaker:us-east-1:333333333333:endpoint/fraud-detection-prod"
    get_record = next(s for s in statements if s["Action"] == "sagemaker:GetRecord")
    assert len(get_record["Resource"]) == 2


def test_deployment_functions_have_the_names_the_cli_and_state_machine_use(synth: Synthesized) -> None:
    names = {step: f["Properties"].get("FunctionName") for step, f in deployment_functions(synth, "prod").items()}
    for step in ("prepare", "deploy", "verify", "compare", "promote", "rollback"):
        assert names[step] == f"fraud-detection-prod-{step}"
