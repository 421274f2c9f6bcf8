"""The drift workflow's jobs over captures the endpoint wrote from the real model, and the monitoring stack's alarms
judged against what the real drift job published.

The serving model and its baselines are the local pipeline run's (registered by the real bootstrap); traffic is
the baseline's rows (the training period, as the endpoint receives them; ``amount`` scaled for drift) scored by
the endpoint emulator; the window is listed by the real window Lambda logic; the Analyze and Merge processing
jobs are the synthesized monitoring stack's state machine task parameters, evaluated on the window's state and
run by the jobs emulator with the deployed code bundle; the alarms are the monitoring stack's, created by the
demo's CloudFormation handlers; the retraining stack's rule on alarm state changes forwards to a queue.

- drifted traffic: the drift job flags the shifted feature, its alarm and the composite drift alarm go to ALARM,
  and the composite's state-change event matches the retraining trigger rule;
- clean traffic: the drift alarms go to OK and nothing reaches the rule; alarms on metrics nobody published
  follow their missing-data setting (``breaching`` ALARM, ``notBreaching`` OK).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from config import DEV, FRAUD_DETECTION, ModelDeployment
from lambdas.monitoring.capture_window import prepare_window, window_request
from lambdas.monitoring.settings import WindowSettings
from tests.integration.demo.conftest import LOOPBACK_ONLY, Routed
from tests.integration.demo.support import MONITORING, REGION, World, state_parameters
from tools.bootstrap_serving import bootstrap, xgboost_image_uri
from tools.demo.emulators import alarms, endpoints, jobs

pytestmark = LOOPBACK_ONLY

DEPLOYMENT = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
RETRAINING = ("dev", "fraud-detection-retraining")
DRIFT = "fraud-detection-dev-drift"
ROWS = 600


@dataclass(frozen=True)
class Monitored:
    world: World
    queue: str  # receives what the retraining stack's alarm rule matches

    def client(self, service: str) -> Any:
        return self.world.aws.client(service)


@pytest.fixture
def monitored(routed_world: World, local: Path) -> Monitored:
    aws = routed_world.aws
    bootstrap(
        DEPLOYMENT,
        artifact=local / "model" / "model.tar.gz",
        baselines=local / "baselines",
        image_uri=xgboost_image_uri(REGION),
        s3=aws.client("s3"),
        sagemaker=aws.client("sagemaker"),
        ssm=aws.client("ssm"),
    )
    routed_world.create_serving()
    routed_world.create_alarms(MONITORING)
    routed_world.upload_code(MONITORING)
    ((_, rule),) = [
        (i, p) for i, p in routed_world.resources(RETRAINING, "AWS::Events::Rule") if "aws.cloudwatch" in str(p)
    ]
    sqs, events = aws.client("sqs"), aws.client("events")
    queue = sqs.create_queue(QueueName="retraining-trigger")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="on-alarms", EventPattern=json.dumps(rule["EventPattern"]))
    events.put_targets(Rule="on-alarms", Targets=[{"Id": "queue", "Arn": arn}])
    return Monitored(world=routed_world, queue=queue)


def serve_traffic(monitored: Monitored, local: Path, hour: datetime, *, amount_factor: float = 1.0) -> None:
    """Requests drawn from the baseline's rows (what the model was trained on, as the endpoint receives it),
    ``amount`` scaled for drift, scored by the endpoint during ``hour``, then flushed."""
    header, *lines = (local / "preprocess" / "baseline" / "baseline.csv").read_text().splitlines()
    assert header.split(",")[0] == "amount"
    for i, line in enumerate(lines[:: len(lines) // ROWS][:ROWS]):
        amount, rest = line.split(",", 1)
        endpoints.invoke_endpoint(
            monitored.world.aws,
            endpoint_name=DEPLOYMENT.endpoint_name,
            body=f"{float(amount) * amount_factor!r},{rest}".encode(),
            inference_id=f"txn-{i:05d}",
            now=hour + timedelta(seconds=5 * i),
        )
    assert endpoints.flush(monitored.world.aws).capture_files


def drift_state_machine(world: World) -> dict[str, Any]:
    template = world.synth.json(*MONITORING)
    ((definition,),) = [
        [world.render(r["Properties"]["DefinitionString"], template)]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and "createProcessingJob" in json.dumps(r["Properties"])
    ]
    parsed: dict[str, Any] = json.loads(definition)
    return parsed


def run_drift_workflow(monitored: Monitored, at: datetime, workdir: Path) -> dict[str, dict[str, Any]]:
    """What the drift state machine does at ``at``: list the window, then its Analyze and Merge jobs."""
    world = monitored.world
    settings = WindowSettings.from_env(world.lambda_environment(MONITORING, "lambdas.monitoring.window.handler"))
    request = window_request({"time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}, window_hours=settings.window_hours)
    window = prepare_window(
        s3=monitored.client("s3"),
        cloudwatch=monitored.client("cloudwatch"),
        settings=settings,
        window=request.window,
        now=request.time,
    )
    assert window.object_count > 0
    state = {"time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "window": window.to_dict()}
    states = drift_state_machine(world)["States"]
    described = {}
    for name in ("Analyze", "Merge"):
        parameters = state_parameters(states[name]["Parameters"], state, execution_name="drift-1234-abcd")
        described[name] = jobs.run_processing_job(world.aws, parameters, workdir=workdir)
        assert described[name]["ProcessingJobStatus"] == "Completed", described[name].get("FailureReason")
    return described


def alarm_states(monitored: Monitored) -> dict[str, str]:
    found = monitored.client("cloudwatch").describe_alarms()
    return {a["AlarmName"]: a["StateValue"] for a in [*found["MetricAlarms"], *found["CompositeAlarms"]]}


def forwarded(monitored: Monitored) -> list[dict[str, Any]]:
    sqs = monitored.client("sqs")
    messages = sqs.receive_message(QueueUrl=monitored.queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def last_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def test_drifted_traffic_puts_the_drift_alarm_in_alarm_and_the_event_reaches_the_retraining_rule(
    monitored: Monitored, routed: Routed, local: Path, tmp_path: Path
) -> None:
    hour = last_hour()
    serve_traffic(monitored, local, hour, amount_factor=8.0)
    described = run_drift_workflow(monitored, hour + timedelta(hours=1, minutes=10), tmp_path)
    report_prefix = described["Merge"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, _, prefix = report_prefix.removeprefix("s3://").partition("/")
    report = json.loads(
        monitored.client("s3").get_object(Bucket=bucket, Key=f"{prefix}/drift_report.json")["Body"].read()
    )
    assert "amount" in json.dumps(report)

    response = requests.post(f"{routed.url}/moto-api/demo/alarms/evaluate", json={}, timeout=60)
    response.raise_for_status()

    changes = {c["alarm"]: c for c in response.json()["changes"]}
    states = alarm_states(monitored)
    assert states["fraud-detection-dev-drift-amount"] == "ALARM"
    assert states[DRIFT] == "ALARM"
    assert changes[DRIFT]["previous"] == "INSUFFICIENT_DATA"
    assert (
        "Threshold Crossed: 1 out of the last 1 datapoints [1.0"
        in changes["fraud-detection-dev-drift-amount"]["reason"]
    )
    (event,) = [e for e in forwarded(monitored) if e["detail"]["alarmName"] == DRIFT]
    assert event["source"] == "aws.cloudwatch"
    assert event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [f"arn:aws:cloudwatch:{REGION}:{monitored.world.aws.account}:alarm:{DRIFT}"]
    assert event["detail"]["state"]["value"] == "ALARM"
    assert event["detail"]["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert event["detail"]["state"]["timestamp"]  # the retraining trigger keys its run on it
    assert "alarmRule" in event["detail"]["configuration"]


def test_clean_traffic_leaves_the_drift_alarms_ok_and_missing_data_follows_each_alarms_setting(
    monitored: Monitored, local: Path, tmp_path: Path
) -> None:
    hour = last_hour()
    serve_traffic(monitored, local, hour)
    run_drift_workflow(monitored, hour + timedelta(hours=1, minutes=10), tmp_path)

    changes = alarms.evaluate_all(monitored.world.aws)

    states = alarm_states(monitored)
    drift = {name: state for name, state in states.items() if name.startswith("fraud-detection-dev-drift")}
    assert len(drift) == len(FRAUD_DETECTION.feature_names) + 1
    assert set(drift.values()) == {"OK"}, {k: v for k, v in drift.items() if v != "OK"}
    assert forwarded(monitored) == []  # the retraining rule only takes ALARM
    # nobody published ground-truth labels: "breaching" alarms, "notBreaching" ones stay quiet
    assert states["fraud-detection-dev-no-labels"] == "ALARM"
    assert states["fraud-detection-dev-quality-prauc"] == "OK"
    no_labels = next(c for c in changes if c.alarm == "fraud-detection-dev-no-labels")
    assert "treated as [Breaching]" in no_labels.reason
