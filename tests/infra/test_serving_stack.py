"""Serving stack: pointer via an SSM-typed parameter, data capture, guardrails wired to alarms, scaling, alarms."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from config import DEV, MODELS, EndpointSettings, ModelSpec
from lambdas.deployment.settings import ScoreEnv
from pipeline_defs.scripts.spec import step_spec_from_model_spec
from tests.support.synth import Synthesized, synthesize
from tests.support.templates import SAGEMAKER_VPC_DESCRIBES, one_resource, resources_of_type

STACK = "fraud-detection-serving"


def template(synth: Synthesized, env: str) -> dict[str, Any]:
    return synth.json(env, STACK)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_model_comes_from_the_serving_pointer_through_an_ssm_typed_parameter(synth: Synthesized, env: str) -> None:
    t = template(synth, env)
    _, model = one_resource(t, "AWS::SageMaker::Model")
    (reference,) = model["Properties"]["Containers"]
    parameter = t["Parameters"][reference["ModelPackageName"]["Ref"]]
    # A change set resolves an SSM-typed parameter and lists what its value changes, so `cdk diff` shows when a
    # deploy would replace the Model and EndpointConfig (a dynamic reference is re-resolved silently: ADR 0007).
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == f"/mlops/fraud-detection/{env}/serving-model-package-arn"
    assert "{{resolve:" not in json.dumps(t)
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


@pytest.mark.variant_synth
def test_nvme_instance_types_get_no_volume_key(tmp_path: Path) -> None:
    env = dataclasses.replace(DEV, endpoint=EndpointSettings(instance_type="ml.m5d.large"))
    synth = synthesize(tmp_path, environments=[env])
    _, config = one_resource(synth.json("dev", STACK), "AWS::SageMaker::EndpointConfig")
    assert "KmsKeyId" not in config["Properties"]
    assert "KmsKeyId" in config["Properties"]["DataCaptureConfig"]  # capture files stay encrypted


@pytest.mark.variant_synth
def test_autoscaling_can_be_switched_off_for_an_instance_type_change(tmp_path: Path) -> None:
    # The middle deploy of an instance-type change by CloudFormation: a scaled variant's type cannot change.
    env = dataclasses.replace(DEV, endpoint=dataclasses.replace(DEV.endpoint, autoscaling=False))
    t = synthesize(tmp_path, environments=[env]).json("dev", STACK)
    assert not resources_of_type(t, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert not resources_of_type(t, "AWS::ApplicationAutoScaling::ScalingPolicy")


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


@pytest.mark.parametrize(("env", "wait"), [("dev", 300), ("staging", 600), ("prod", 900)])
def test_rollback_alarms_can_fire_inside_the_guardrail_wait(synth: Synthesized, env: str, wait: int) -> None:
    t = template(synth, env)
    (endpoint,) = resources_of_type(t, "AWS::SageMaker::Endpoint").values()
    policy = endpoint["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] == wait
    alarms = resources_of_type(t, "AWS::CloudWatch::Alarm")
    for ref in endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]:
        props = alarms[ref["AlarmName"]["Ref"]]["Properties"]
        assert props["Period"] * props["EvaluationPeriods"] <= wait
        assert (props["Period"], props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (60, 3, 2)


@pytest.mark.parametrize(("env", "missing"), [("dev", "notBreaching"), ("staging", "breaching"), ("prod", "breaching")])
def test_the_no_traffic_alarm_treats_missing_data_per_environment(synth: Synthesized, env: str, missing: str) -> None:
    # SageMaker publishes no Invocations datapoint for an idle endpoint: an idle dev endpoint is not an outage.
    (no_traffic,) = [
        a["Properties"]
        for a in resources_of_type(template(synth, env), "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "Invocations"
    ]
    assert no_traffic["TreatMissingData"] == missing


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
            # prod is isolated: SageMaker attaches the model to the VPC with the Describe actions (ADR 0019).
            assert set(actions) <= {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", *SAGEMAKER_VPC_DESCRIBES}


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


@pytest.mark.parametrize("spec", MODELS, ids=lambda m: m.name)
def test_every_models_score_function_encodes_with_its_specs_order_and_categories(
    synth: Synthesized, spec: ModelSpec
) -> None:
    """What the score function reads from its environment is what the preprocessing step encodes with (spec.json)."""
    (score,) = [
        f
        for f in resources_of_type(synth.json("prod", f"{spec.name}-serving"), "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "lambdas.deployment.score.handler"
    ]

    env = ScoreEnv.from_env(score["Properties"]["Environment"]["Variables"])

    step = step_spec_from_model_spec(spec)
    assert env.feature_names == step.feature_names
    assert env.categories == step.category_vocabularies
    assert env.entity_id_name == step.entity_id


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
            assert set(actions) <= {
                "cloudwatch:GetMetricData",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
            }


def _actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


@pytest.mark.parametrize("step", ["prepare", "deploy", "verify", "compare", "promote", "rollback"])
def test_steps_that_put_configs_in_front_of_the_endpoint_may_let_sagemaker_use_the_key(
    synth: Synthesized, step: str
) -> None:
    # The configs carry KmsKeyId and a capture KmsKeyId: SageMaker creates grants on the key as the caller.
    statements = _statements_of(synth, "prod", step)
    grants = [s for s in statements if "kms:CreateGrant" in _actions(s)]
    describes = [s for s in statements if "kms:DescribeKey" in _actions(s)]
    if step in ("prepare", "deploy", "promote", "rollback"):
        (grant,) = grants
        assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        assert "EncryptionKey" in json.dumps(grant["Resource"])
        assert describes
    else:
        assert grants == describes == []


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("deploy", {"application-autoscaling:DeregisterScalableTarget"}),
        (
            "verify",
            {
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:PutScheduledAction",
            },
        ),
        (
            "rollback",
            {
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:PutScheduledAction",
            },
        ),
        ("prepare", set()),
        ("compare", set()),
    ],
)
def test_steps_get_exactly_the_scaling_changes_they_make(synth: Synthesized, step: str, expected: set[str]) -> None:
    statements = [
        s
        for s in _statements_of(synth, "prod", step)
        if any(a.startswith("application-autoscaling:") for a in _actions(s))
    ]
    changes = [s for s in statements if s["Resource"] != "*"]
    assert {a for s in changes for a in _actions(s)} == expected
    for statement in changes:
        assert statement["Condition"] == {
            "StringEquals": {
                "application-autoscaling:service-namespace": "sagemaker",
                "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
            }
        }


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
