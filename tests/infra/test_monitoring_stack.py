"""Monitoring stack: Model Monitor backend, ground-truth evaluation, alarms and dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import FRAUD_DETECTION
from tests.support.synth import Synthesized
from tests.support.templates import one_resource, resources_of_type

STACK = "fraud-detection-monitoring"


def template(synth: Synthesized, env: str) -> dict[str, Any]:
    return synth.json(env, STACK)


def alarms_by_name(synth: Synthesized, env: str) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources_of_type(template(synth, env), "AWS::CloudWatch::Alarm").values()
    }


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_model_monitor_jobs_encrypt_isolate_and_read_the_current_baseline(synth: Synthesized, env: str) -> None:
    t = template(synth, env)
    _, dq = one_resource(t, "AWS::SageMaker::DataQualityJobDefinition")
    props = dq["Properties"]
    assert props["DataQualityAppSpecification"]["ImageUri"] == (
        "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    )
    baseline = props["DataQualityBaselineConfig"]
    artifacts = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}[env]
    current = f"s3://mlops-{env}-{artifacts}-us-east-1-artifacts/baselines/fraud-detection/current/data-quality"
    assert baseline["StatisticsResource"]["S3Uri"] == f"{current}/statistics.json"
    assert baseline["ConstraintsResource"]["S3Uri"] == f"{current}/constraints.json"
    assert "EncryptionKey" in json.dumps(props["DataQualityJobOutputConfig"]["KmsKeyId"])
    assert "EncryptionKey" in json.dumps(props["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"])
    assert props["NetworkConfig"] == {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": True}
    assert props["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == f"fraud-detection-{env}"
    assert "JobDefinitionName" not in props  # create-only: generated names


def test_model_quality_job_joins_late_labels_within_the_hourly_runtime_limit(synth: Synthesized) -> None:
    _, mq = one_resource(template(synth, "prod"), "AWS::SageMaker::ModelQualityJobDefinition")
    props = mq["Properties"]
    assert props["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    endpoint_input = props["ModelQualityJobInput"]["EndpointInput"]
    assert (endpoint_input["StartTimeOffset"], endpoint_input["EndTimeOffset"]) == ("-PT25H", "-PT24H")
    assert endpoint_input["ProbabilityAttribute"] == "0"
    assert endpoint_input["ProbabilityThresholdAttribute"] == 0.5
    assert props["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"].endswith("/ground-truth/fraud-detection")
    assert props["StoppingCondition"]["MaxRuntimeInSeconds"] <= 1800  # hourly model quality limit
    assert props["NetworkConfig"]["EnableNetworkIsolation"] is True


def test_schedules_run_hourly_on_their_job_definitions(synth: Synthesized) -> None:
    schedules = {
        s["Properties"]["MonitoringScheduleName"]: s["Properties"]["MonitoringScheduleConfig"]
        for s in resources_of_type(template(synth, "prod"), "AWS::SageMaker::MonitoringSchedule").values()
    }
    assert set(schedules) == {"fraud-detection-prod-data-quality", "fraud-detection-prod-model-quality"}
    for config in schedules.values():
        assert config["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
        assert "JobDefinitionArn" in json.dumps(config["MonitoringJobDefinitionName"])


def test_the_processing_backend_environment_has_no_model_monitor_resources(synth: Synthesized) -> None:
    t = template(synth, "dev")
    for type_ in ("AWS::SageMaker::MonitoringSchedule", "AWS::SageMaker::DataQualityJobDefinition"):
        assert not resources_of_type(t, type_)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_quality_evaluation_runs_on_schedule_with_the_specs_business_metrics(synth: Synthesized, env: str) -> None:
    t = template(synth, env)
    (fn,) = [
        f
        for f in resources_of_type(t, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "lambdas.quality.handler.handler"
    ]
    variables = fn["Properties"]["Environment"]["Variables"]
    assert variables["GROUND_TRUTH_S3_URI"].endswith("/ground-truth/fraud-detection")
    assert variables["LABEL_LAG_HOURS"] == "24"
    metrics = {m["name"]: m for m in json.loads(variables["BUSINESS_METRICS"])}
    assert metrics["fraud_value_missed"]["value_column_index"] == FRAUD_DETECTION.feature_names.index("amount")
    assert metrics["review_cost"]["unit_cost"] == 2.5
    _, rule = one_resource(t, "AWS::Events::Rule")
    assert rule["Properties"]["ScheduleExpression"] == "cron(15 * * * ? *)"
    assert "DeadLetterConfig" in rule["Properties"]["Targets"][0]


@pytest.mark.parametrize(
    ("env", "namespace"), [("dev", "MLOps/DataQuality"), ("prod", "/aws/sagemaker/Endpoints/data-metric")]
)
def test_drift_alarms_per_feature_follow_the_backend_and_notify_the_owner(
    synth: Synthesized, env: str, namespace: str
) -> None:
    alarms = alarms_by_name(synth, env)
    for feature in FRAUD_DETECTION.feature_names:
        alarm = alarms[f"fraud-detection-{env}-drift-{feature.replace('_', '-')}"]
        assert alarm["Namespace"] == namespace
        assert "OwnerTopic" in json.dumps(alarm["AlarmActions"])
        if env == "prod":
            assert alarm["MetricName"] == f"feature_baseline_drift_{feature}"
            assert alarm["Threshold"] == FRAUD_DETECTION.drift_threshold_of(feature)
            assert {d["Name"] for d in alarm["Dimensions"]} == {"EndpointName", "ScheduleName"}
        else:
            assert alarm["MetricName"] == "FeatureDriftDetected"
            assert {"Name": "Feature", "Value": feature} in alarm["Dimensions"]
    _, composite = one_resource(template(synth, env), "AWS::CloudWatch::CompositeAlarm")
    assert json.dumps(composite["Properties"]["AlarmRule"]).count("ALARM(") == len(FRAUD_DETECTION.feature_names)


def test_quality_kpi_and_missing_data_alarms(synth: Synthesized) -> None:
    alarms = alarms_by_name(synth, "prod")
    quality = alarms["fraud-detection-prod-quality-prauc"]
    assert (quality["Namespace"], quality["MetricName"], quality["Threshold"]) == ("MLOps/ModelQuality", "PRAUC", 0.3)
    assert quality["ComparisonOperator"] == "LessThanThreshold"
    missed = alarms["fraud-detection-prod-kpi-fraud-value-missed"]
    assert (missed["Threshold"], missed["ComparisonOperator"]) == (5000.0, "GreaterThanThreshold")
    assert "fraud-detection-prod-kpi-fraud-value-caught" not in alarms  # no target: reported, not alarmed
    for name, metric in (("no-captures", "Predictions"), ("no-labels", "LabelsReceived")):
        alarm = alarms[f"fraud-detection-prod-{name}"]
        assert (alarm["MetricName"], alarm["TreatMissingData"], alarm["Period"]) == (metric, "breaching", 6 * 3600)
    failed = alarms["fraud-detection-prod-monitoring-failed-qualityevaluation"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/Lambda", "Errors")


def test_dashboard_shows_traffic_drift_quality_kpis_and_deployments(synth: Synthesized) -> None:
    _, dashboard = one_resource(template(synth, "prod"), "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for needle in (
        "Invocations per variant",
        "ModelLatency",
        "Drift per feature",
        "by model version",
        "ModelVersion",
        "fraud_value_missed",
        "Deployments and retrainings",
        "ExecutionStarted",
    ):
        assert needle in body, needle
