"""Monitoring stack: both backends, ground-truth evaluation, alarms and dashboard.

Every example environment runs the ``processing`` backend; ``model_monitor`` (an opt-in for accounts that already
have Model Monitor) is tested on ``model_monitor_synth``: prod with that backend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from config import DEV, FRAUD_DETECTION, ModelDeployment
from tests.support.asl import asl_validator_errors, rendered_definitions
from tests.support.environments import PROD_WITH_MODEL_MONITOR
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


def test_model_monitor_jobs_encrypt_isolate_and_read_the_current_baseline(model_monitor_synth: Synthesized) -> None:
    env = "prod"
    t = template(model_monitor_synth, env)
    _, dq = one_resource(t, "AWS::SageMaker::DataQualityJobDefinition")
    props = dq["Properties"]
    assert props["DataQualityAppSpecification"]["ImageUri"] == (
        "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    )
    baseline = props["DataQualityBaselineConfig"]
    current = "s3://mlops-prod-333333333333-us-east-1-artifacts/baselines/fraud-detection/current/data-quality"
    assert baseline["StatisticsResource"]["S3Uri"] == f"{current}/statistics.json"
    assert baseline["ConstraintsResource"]["S3Uri"] == f"{current}/constraints.json"
    assert "EncryptionKey" in json.dumps(props["DataQualityJobOutputConfig"]["KmsKeyId"])
    assert "EncryptionKey" in json.dumps(props["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"])
    network = props["NetworkConfig"]
    assert (network["EnableInterContainerTrafficEncryption"], network["EnableNetworkIsolation"]) == (True, True)
    assert set(network["VpcConfig"]) == {
        "Subnets",
        "SecurityGroupIds",
    }  # prod is isolated (tests/infra/test_network.py)
    assert props["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == f"fraud-detection-{env}"
    assert "JobDefinitionName" not in props  # create-only: generated names


def test_model_quality_job_joins_late_labels_within_the_hourly_runtime_limit(model_monitor_synth: Synthesized) -> None:
    _, mq = one_resource(template(model_monitor_synth, "prod"), "AWS::SageMaker::ModelQualityJobDefinition")
    props = mq["Properties"]
    assert props["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    endpoint_input = props["ModelQualityJobInput"]["EndpointInput"]
    assert (endpoint_input["StartTimeOffset"], endpoint_input["EndTimeOffset"]) == ("-PT25H", "-PT24H")
    assert endpoint_input["ProbabilityAttribute"] == "0"
    assert endpoint_input["ProbabilityThresholdAttribute"] == 0.5
    assert props["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"].endswith("/ground-truth/fraud-detection")
    assert props["StoppingCondition"]["MaxRuntimeInSeconds"] <= 1800  # hourly model quality limit
    assert props["NetworkConfig"]["EnableNetworkIsolation"] is True


def test_schedules_run_hourly_on_their_job_definitions(model_monitor_synth: Synthesized) -> None:
    schedules = {
        s["Properties"]["MonitoringScheduleName"]: s["Properties"]["MonitoringScheduleConfig"]
        for s in resources_of_type(template(model_monitor_synth, "prod"), "AWS::SageMaker::MonitoringSchedule").values()
    }
    assert set(schedules) == {"fraud-detection-prod-data-quality", "fraud-detection-prod-model-quality"}
    for config in schedules.values():
        assert config["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
        assert "JobDefinitionArn" in json.dumps(config["MonitoringJobDefinitionName"])


def test_each_environment_deploys_exactly_its_backend(synth: Synthesized, model_monitor_synth: Synthesized) -> None:
    # processing everywhere by default (Model Monitor is closed to new customers); model_monitor only on opt-in
    for t, model_monitor in (
        *((template(synth, env), False) for env in ("dev", "staging", "prod")),
        (template(model_monitor_synth, "prod"), True),
    ):
        assert bool(resources_of_type(t, "AWS::SageMaker::MonitoringSchedule")) is model_monitor
        assert bool(resources_of_type(t, "AWS::StepFunctions::StateMachine")) is not model_monitor


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
    (rule,) = [r for k, r in resources_of_type(t, "AWS::Events::Rule").items() if k.startswith("QualityEvaluation")]
    assert rule["Properties"]["ScheduleExpression"] == "cron(15 * * * ? *)"
    assert "DeadLetterConfig" in rule["Properties"]["Targets"][0]


@pytest.mark.parametrize(
    ("backend", "namespace"),
    [("processing", "MLOps/DataQuality"), ("model_monitor", "/aws/sagemaker/Endpoints/data-metric")],
)
def test_drift_alarms_per_feature_follow_the_backend_and_notify_the_owner(
    synth: Synthesized, model_monitor_synth: Synthesized, backend: str, namespace: str
) -> None:
    env = "prod"
    synthesized = model_monitor_synth if backend == "model_monitor" else synth
    alarms = alarms_by_name(synthesized, env)
    for feature in FRAUD_DETECTION.feature_names:
        alarm = alarms[f"fraud-detection-{env}-drift-{feature.replace('_', '-')}"]
        assert alarm["Namespace"] == namespace
        assert "OwnerTopic" in json.dumps(alarm["AlarmActions"])
        if backend == "model_monitor":
            assert alarm["MetricName"] == f"feature_baseline_drift_{feature}"
            assert alarm["Threshold"] == FRAUD_DETECTION.drift_threshold_of(feature)
            assert {d["Name"] for d in alarm["Dimensions"]} == {"EndpointName", "ScheduleName"}
        else:
            assert alarm["MetricName"] == "FeatureDriftDetected"
            assert {"Name": "Feature", "Value": feature} in alarm["Dimensions"]
    _, composite = one_resource(template(synthesized, env), "AWS::CloudWatch::CompositeAlarm")
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


# ---- the processing backend (dev) ----


def drift_state_machine(synth: Synthesized) -> dict[str, Any]:
    (definition,) = rendered_definitions(template(synth, "dev")).values()
    return definition


def test_drift_workflow_is_a_valid_logged_traced_standard_state_machine(synth: Synthesized, tmp_path: Path) -> None:
    definition = drift_state_machine(synth)
    assert asl_validator_errors(definition, tmp_path) is None
    assert definition["StartAt"] == "ListCaptures"
    _, machine = one_resource(template(synth, "dev"), "AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    empty = definition["States"]["AnyCaptures?"]["Choices"][0]
    assert (empty["Variable"], empty["NumericEquals"], empty["Next"]) == ("$.window.object_count", 0, "NoCaptures")


def test_analyze_shards_the_window_manifest_and_merge_publishes(synth: Synthesized) -> None:
    states = drift_state_machine(synth)["States"]
    analyze, merge = states["Analyze"], states["Merge"]
    assert analyze["Resource"] == "arn:aws:states:::sagemaker:createProcessingJob.sync"
    capture = next(i for i in analyze["Parameters"]["ProcessingInputs"] if i["InputName"] == "capture")["S3Input"]
    assert capture["S3DataType"] == "ManifestFile"
    assert capture["S3DataDistributionType"] == "ShardedByS3Key"
    assert capture["S3Uri.$"] == "$.window.manifest_uri"
    entry = analyze["Parameters"]["AppSpecification"]["ContainerEntrypoint"]
    unpack = entry.index("unpack") + 1  # the entrypoint unpacks the code bundle first (bundle_entrypoint)
    assert entry[unpack : unpack + 4] == ["python3", "-m", "monitoring_job", "analyze"]
    assert "--shard-output-only" in entry
    assert "--no-publish" in entry
    assert analyze["Parameters"]["NetworkConfig"]["EnableNetworkIsolation"] is True
    merge_entry = merge["Parameters"]["AppSpecification"]["ContainerEntrypoint"]
    assert merge_entry[merge_entry.index("monitoring_job") + 1] == "merge"
    assert "--no-publish" not in merge_entry
    for job in (analyze, merge):
        params = job["Parameters"]
        assert "sagemaker-scikit-learn:1.4-2-py312" in params["AppSpecification"]["ImageUri"]
        assert params["ProcessingOutputConfig"]["KmsKeyId"]
        assert params["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]
        assert params["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
        assert [c["ErrorEquals"] for c in job["Catch"]] == [["States.ALL"]]
        # --violations-exit-code 0: a run that finds drift completes; only a broken run fails the job.
        entry_args = params["AppSpecification"]["ContainerEntrypoint"]
        assert entry_args[entry_args.index("--violations-exit-code") + 1] == "0"


def test_drift_job_runs_on_the_monitoring_schedule_and_its_failures_alarm(synth: Synthesized) -> None:
    t = template(synth, "dev")
    rules = [
        r
        for r in resources_of_type(t, "AWS::Events::Rule").values()
        if "StateMachine" in json.dumps(r["Properties"].get("Targets", []))
    ]
    (rule,) = rules
    assert rule["Properties"]["ScheduleExpression"] == "cron(10 * * * ? *)"
    assert json.loads(
        rule["Properties"]["Targets"][0]["InputTransformer"]["InputTemplate"].replace("<time>", '"t"')
    ) == {"time": "t"}
    alarms = alarms_by_name(synth, "dev")
    failed = alarms["fraud-detection-dev-monitoring-failed-driftjob"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/States", "ExecutionsFailed")


def test_drift_job_code_bundle_carries_the_job_and_its_spec_derived_config(synth: Synthesized) -> None:
    from mlops_constructs.code_bundle import ROOT, bundle_files  # noqa: PLC0415
    from mlops_constructs.drift_job import BUNDLE_INCLUDES  # noqa: PLC0415
    from mlops_constructs.monitoring_common import drift_job_config  # noqa: PLC0415

    states = drift_state_machine(synth)["States"]
    uris = {
        i["S3Input"]["S3Uri"]
        for job in (states["Analyze"], states["Merge"])
        for i in job["Parameters"]["ProcessingInputs"]
        if i["InputName"] == "code"
    }
    (uri,) = uris
    key = uri.rsplit("/", 1)[1]
    manifest = next(synth.outdir.glob("assembly-dev/*frauddetectionmonitoring*.assets.json"))
    (asset,) = [
        a
        for a in json.loads(manifest.read_text())["files"].values()
        if next(iter(a["destinations"].values()))["objectKey"] == key
    ]
    source = manifest.parent / asset["source"]["path"]
    staged = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())

    assert uri.startswith("s3://cdk-hnb659fds-assets-111111111111-us-east-1/")  # the bootstrap assets bucket
    assert staged == sorted(
        [p.relative_to(ROOT).as_posix() for p in bundle_files(BUNDLE_INCLUDES)] + ["job_config.json"]
    )
    config = json.loads((source / "job_config.json").read_text())
    expected = drift_job_config(ModelDeployment(spec=FRAUD_DETECTION, env=DEV), endpoint_name="fraud-detection-dev")
    assert config == json.loads(json.dumps(expected))


def test_model_monitor_preprocesses_each_record_into_the_baselines_columns(model_monitor_synth: Synthesized) -> None:
    """The analyzer sees what the Baseline step's baseline describes (monitor_stats.preprocessor): the script the
    job definition names is the one rendered from the same columns as the drift job's config, uploaded as the
    script itself (not a zip), and the role can read it."""
    from mlops_constructs.monitoring_common import drift_job_config  # noqa: PLC0415
    from monitor_stats.preprocessor import render_preprocessor  # noqa: PLC0415
    from monitoring_job.config import parse_job_config  # noqa: PLC0415

    deployment = ModelDeployment(spec=FRAUD_DETECTION, env=PROD_WITH_MODEL_MONITOR)
    columns = parse_job_config(drift_job_config(deployment, endpoint_name=deployment.endpoint_name)).monitored
    t = template(model_monitor_synth, "prod")
    _, dq = one_resource(t, "AWS::SageMaker::DataQualityJobDefinition")

    uri = dq["Properties"]["DataQualityAppSpecification"]["RecordPreprocessorSourceUri"]

    key = uri.rsplit("/", 1)[1]
    assert key.endswith(".py")
    manifest = next(model_monitor_synth.outdir.glob("assembly-prod/*frauddetectionmonitoring*.assets.json"))
    (asset,) = [
        a
        for a in json.loads(manifest.read_text())["files"].values()
        if next(iter(a["destinations"].values()))["objectKey"] == key
    ]
    assert asset["source"].get("packaging", "file") == "file"
    script = (manifest.parent / asset["source"]["path"]).read_text()
    assert script == render_preprocessor(FRAUD_DETECTION.name, columns)
    reads = [
        json.dumps(s["Resource"])
        for policy in resources_of_type(t, "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:GetObject"
    ]
    assert any(f"/{key}" in r for r in reads)


def test_the_alarms_the_drift_report_names_are_the_deployed_alarms(synth: Synthesized) -> None:
    from mlops_constructs.monitoring_common import drift_job_config  # noqa: PLC0415
    from monitoring_job.config import parse_job_config  # noqa: PLC0415

    deployment = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
    alerting = parse_job_config(drift_job_config(deployment, endpoint_name=deployment.endpoint_name)).alerting

    assert alerting is not None
    assert {alerting.feature_alarm(f) for f in FRAUD_DETECTION.feature_names} <= set(alarms_by_name(synth, "dev"))
    composites = resources_of_type(template(synth, "dev"), "AWS::CloudWatch::CompositeAlarm").values()
    assert [c["Properties"]["AlarmName"] for c in composites] == [alerting.drift_alarm]
    assert alerting.retrain_on_alarms is deployment.env.retraining.retrain_on_alarms
