"""The demo emulator's pure pieces: how a rule renders its target's input, and how dynamic references resolve.

The deploy test (tests/integration/demo/test_deploy.py) runs them inside the server; these pin the EventBridge
and CloudFormation semantics they emulate, case by case.
"""

from __future__ import annotations

import json

import pytest
from moto.cloudformation.exceptions import ValidationError
from moto.ssm.models import ssm_backends

from tools.demo.server.patches.cfn_dynamic_references import resolve
from tools.demo.server.patches.events_targets import aws_event, target_input, transform
from tools.demo.server.patches.ssm_parameter import tag_list

EVENT = {
    "version": "0",
    "id": "e-1",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "111111111111",
    "time": 1772453400.0,  # moto keeps an epoch float
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:111111111111:rule/r"],
    "detail": {"instance": "i-1", "count": 3, "tags": {"a": "b"}},
    "ingestion-time": 1772453400.5,
}


def test_the_delivered_event_has_aws_fields_and_an_iso_time() -> None:
    delivered = aws_event(EVENT)
    assert delivered["time"] == "2026-03-02T12:10:00Z"
    assert "ingestion-time" not in delivered
    assert delivered["detail"] == EVENT["detail"]


def test_a_json_template_gets_string_values_quoted() -> None:
    # the shape of the monitoring stack's drift schedule target: {"time":<time>} with time = $.time
    rendered = transform('{"time":<time>}', {"time": "$.time"}, aws_event(EVENT))
    assert json.loads(rendered) == {"time": "2026-03-02T12:10:00Z"}


def test_placeholders_are_json_outside_strings_and_text_inside_them() -> None:
    paths = {"instance": "$.detail.instance", "count": "$.detail.count", "tags": "$.detail.tags"}
    rendered = transform('{"i": <instance>, "n": <count>, "t": <tags>, "s": "<instance> has <count>"}', paths, EVENT)
    assert json.loads(rendered) == {"i": "i-1", "n": 3, "t": {"a": "b"}, "s": "i-1 has 3"}


def test_a_missing_path_renders_null() -> None:
    assert json.loads(transform('{"x": <nothing>}', {"nothing": "$.detail.absent"}, EVENT)) == {"x": None}


def test_input_and_input_path_replace_the_event() -> None:
    assert target_input({"Input": '{"fixed": true}'}, EVENT) == '{"fixed": true}'
    assert json.loads(target_input({"InputPath": "$.detail.tags"}, EVENT)) == {"a": "b"}
    assert json.loads(target_input({}, EVENT)) == EVENT


@pytest.fixture
def ssm() -> object:
    backend = ssm_backends["222233334444"]["us-east-1"]  # an account no other test uses
    backend.put_parameter(
        name="/mlops/m/dev/pointer",
        description=None,
        value="arn:aws:sagemaker:us-east-1:222233334444:model-package/m-dev/3",
        parameter_type="String",
        allowed_pattern=None,
        keyid=None,
        overwrite=True,
        tags=[],
        data_type="text",
        tier=None,
        policies=None,
    )
    return backend


@pytest.mark.usefixtures("ssm")
def test_ssm_dynamic_references_resolve_inside_strings() -> None:
    text = "pkg={{resolve:ssm:/mlops/m/dev/pointer}};v1={{resolve:ssm:/mlops/m/dev/pointer:1}}"
    resolved = resolve(text, account="222233334444", region="us-east-1")
    arn = "arn:aws:sagemaker:us-east-1:222233334444:model-package/m-dev/3"
    assert resolved == f"pkg={arn};v1={arn}"


@pytest.mark.usefixtures("ssm")
def test_a_missing_parameter_fails_with_a_validation_error_naming_it() -> None:
    with pytest.raises(ValidationError, match="Parameter /mlops/m/dev/missing not found"):
        resolve("{{resolve:ssm:/mlops/m/dev/missing}}", account="222233334444", region="us-east-1")


def test_secrets_manager_references_are_refused_not_left_literal() -> None:
    with pytest.raises(ValidationError, match="resolve:secretsmanager is not emulated"):
        resolve("{{resolve:secretsmanager:s:SecretString:k}}", account="222233334444", region="us-east-1")


def test_an_ssm_parameters_template_tags_become_the_apis_key_value_list() -> None:
    # AWS::SSM::Parameter declares Tags as a map; SSM's PutParameter takes Key/Value pairs.
    assert tag_list({"project": "mlops", "environment": "dev"}) == [
        {"Key": "project", "Value": "mlops"},
        {"Key": "environment", "Value": "dev"},
    ]
    assert tag_list([{"Key": "a", "Value": "b"}]) == [{"Key": "a", "Value": "b"}]
    assert tag_list(None) == []


def test_get_metric_data_answers_percentiles_as_the_alarm_emulator_computes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """moto answers a p99 query with an HTTP 500; the deployment Lambdas' comparison reads ModelLatency p99."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    from tools.demo.server.patches import cloudwatch_percentiles  # noqa: PLC0415

    for owner, name, value in cloudwatch_percentiles.replacements():
        monkeypatch.setattr(owner, name, value)
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        now = datetime.now(UTC)
        latencies = [float(v) for v in range(1, 201)]  # microseconds
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[{"MetricName": "ModelLatency", "Timestamp": now, "Values": latencies[:150]}],
        )
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[{"MetricName": "ModelLatency", "Timestamp": now, "Values": latencies[150:]}],
        )
        query = {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency"}, "Period": 3600}
        results = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {"Id": "p99", "MetricStat": {**query, "Stat": "p99"}},
                {"Id": "p50", "MetricStat": {**query, "Stat": "p50"}},
                {"Id": "average", "MetricStat": {**query, "Stat": "Average"}},
            ],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5),
        )["MetricDataResults"]

    assert {r["Id"]: r["Values"] for r in results} == {"p99": [198.0], "p50": [100.0], "average": [100.5]}


def test_a_versioned_model_package_is_tagged_untagged_and_its_tags_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 500s on AddTags to ``model-package/<group>/<version>``; the promote step tags the champion so."""
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    from lambdas.deployment.registry import CHAMPION_TAG, move_champion_tag  # noqa: PLC0415
    from tools.demo.server.patches import sagemaker_package_tags  # noqa: PLC0415

    for owner, name, value in sagemaker_package_tags.replacements():
        monkeypatch.setattr(owner, name, value)
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_model_package_group(ModelPackageGroupName="m-dev")
        container = {"Image": "img", "ModelDataUrl": "s3://b/model.tar.gz"}
        inference = {
            "Containers": [container],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        }
        old, new = (
            sagemaker.create_model_package(ModelPackageGroupName="m-dev", InferenceSpecification=inference)[
                "ModelPackageArn"
            ]
            for _ in range(2)
        )
        assert new.endswith("model-package/m-dev/2")

        move_champion_tag(sagemaker, to_arn=old, from_arn=None)  # the app's own code, as the promote step runs it
        move_champion_tag(sagemaker, to_arn=new, from_arn=old)
        sagemaker.add_tags(ResourceArn=new, Tags=[{"Key": CHAMPION_TAG, "Value": "true"}])  # a retried promote

        assert sagemaker.list_tags(ResourceArn=new)["Tags"] == [{"Key": CHAMPION_TAG, "Value": "true"}]
        assert sagemaker.list_tags(ResourceArn=old)["Tags"] == []
        with pytest.raises(sagemaker.exceptions.ClientError, match="model-package/m-dev/9"):
            sagemaker.add_tags(ResourceArn=new.replace("/2", "/9"), Tags=[{"Key": "k", "Value": "v"}])
        sagemaker.add_tags(ResourceArn=new, Tags=[{"Key": "k", "Value": "v"}])
        sagemaker.add_tags(ResourceArn=new, Tags=[{"Key": "k", "Value": "w"}])
        assert {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=new)["Tags"]} == {
            CHAMPION_TAG: "true",
            "k": "w",
        }


def test_state_machine_waits_are_compressed_and_its_clock_moves_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retraining guard reads ``$$.State.EnteredTime`` for its cooldown; the deployment bakes in Wait states."""
    import time  # noqa: PLC0415
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    from tools.demo.emulators.runtime import DemoClock  # noqa: PLC0415
    from tools.demo.server.patches import sfn_clock  # noqa: PLC0415

    clock = DemoClock(speedup=120.0)
    for owner, name, value in sfn_clock.replacements(clock):
        monkeypatch.setattr(owner, name, value)
    definition = {
        "StartAt": "Bake",
        "States": {
            "Bake": {"Type": "Wait", "Seconds": 240, "Next": "Now"},  # 2 s at 120x
            "Now": {"Type": "Pass", "Parameters": {"now.$": "$$.State.EnteredTime"}, "End": True},
        },
    }
    with pytest.raises(ValueError, match="only moves ahead"):
        clock.advance(-1)
    assert clock.advance(3600) == 3600
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="clock", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        started = time.monotonic()
        execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() - started < 60, "the 240 s wait was not compressed"
            time.sleep(0.2)
    took = time.monotonic() - started
    assert described["status"] == "SUCCEEDED"
    assert 1.5 < took < 60
    entered = datetime.fromisoformat(json.loads(described["output"])["now"])
    # the hour it was moved ahead, and the 240 s the wait stood for (kept, not lost)
    assert abs(entered - (datetime.now(UTC) + timedelta(hours=1, seconds=240))) < timedelta(seconds=took + 5)
    assert clock.offset_seconds() >= 3600 + 240 * (1 - 1 / 120)  # ahead of real time, which moved 2 s
