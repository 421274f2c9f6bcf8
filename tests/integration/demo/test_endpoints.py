"""The endpoint emulator serving the REAL model, routed as the demo's server routes it.

The first serving model is the local pipeline run's, registered by the real ``tools.bootstrap_serving``; the
model, endpoint config, endpoint (with its DeploymentConfig) and alarms come from the synthesized serving
stack; callers are the real score Lambda and deployment Lambdas' logic over boto3 clients of the routed server.

- the score Lambda's answer is the model's own score (the booster loaded directly), and the capture SageMaker
  would write holds the request, the answer and the inference id;
- the quality evaluation joins those captures with ground truth on the inference id;
- the deploy Lambda's blue/green UpdateEndpoint ends InService on the new config (verify passes), and with a
  broken candidate whose model errors put the rollback alarm in ALARM during the bake, it ends InService on the
  OLD config with no FailureReason: the silent rollback the verify step detects;
- shadow and A/B configs built by the prepare step: a shadow gets a copy of the traffic and is never answered;
  weights move with UpdateEndpointWeightsAndCapacities and TargetVariant picks a variant.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pyarrow.parquet as pq
import pytest
import requests
import xgboost as xgb

from config import DEV, FRAUD_DETECTION, ModelDeployment
from lambdas.deployment.compare import Window
from lambdas.deployment.deploy import ab_step, deploy
from lambdas.deployment.endpoint import check_serving, describe_endpoint, guardrail_deployment_config, request_update
from lambdas.deployment.errors import SilentRollbackDetected
from lambdas.deployment.prepare import prepare
from lambdas.deployment.runtime import Aws as DeploymentAws
from lambdas.deployment.runtime import ScoringAws
from lambdas.deployment.score import score
from lambdas.deployment.settings import DeploymentEnv, ScoreEnv, Strategy
from lambdas.deployment.verify import verify
from lambdas.quality.logic import EvaluationWindow, evaluate_and_publish
from lambdas.quality.settings import QualitySettings
from lambdas.shared.features import format_csv_row, to_model_input
from tests.integration.demo.conftest import LOOPBACK_ONLY, Routed
from tests.integration.demo.support import MONITORING, REGION, SERVING, World
from tools.bootstrap_serving import bootstrap, xgboost_image_uri
from tools.demo.emulators import alarms, endpoints
from tools.demo.emulators.runtime import Aws, DemoClock, SimulatedClock

pytestmark = LOOPBACK_ONLY

DEPLOYMENT = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
ENDPOINT = DEPLOYMENT.endpoint_name
GROUPS = {"transaction": "fraud-detection-dev-transaction", "customer-spend": "fraud-detection-dev-customer-spend"}
NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
POLL_SECONDS = 60.0


@cache
def image_uri() -> str:
    return xgboost_image_uri(REGION)


@dataclass(frozen=True)
class Serving:
    world: World
    booster: xgb.Booster  # the served model, loaded directly
    package_arn: str
    config: str  # the serving stack's endpoint config

    @property
    def aws(self) -> Aws:
        return self.world.aws

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def deployment_aws(self) -> DeploymentAws:
        return DeploymentAws(
            **{name: self.client(name) for name in ("sagemaker", "ssm", "dynamodb", "cloudwatch", "s3")},
            autoscaling=self.client("application-autoscaling"),
        )

    def deployment_env(self, strategy: Strategy | None = None) -> DeploymentEnv:
        variables = self.world.lambda_environment(SERVING, "lambdas.deployment.prepare.handler")
        if strategy is not None:  # the same settings as another environment's strategy would render them
            settings = json.loads(variables["DEPLOYMENT_SETTINGS"])
            variables["DEPLOYMENT_SETTINGS"] = json.dumps({**settings, "strategy": strategy.value})
        return DeploymentEnv.from_env(variables)


def model_booster(archive: Path) -> xgb.Booster:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        booster = xgb.Booster()
        booster.load_model(bytearray(member.read()))
    return booster


@pytest.fixture
def serving(routed_world: World, local: Path) -> Serving:
    aws = routed_world.aws
    result = bootstrap(
        DEPLOYMENT,
        artifact=local / "model" / "model.tar.gz",
        baselines=local / "baselines",
        image_uri=image_uri(),
        s3=aws.client("s3"),
        sagemaker=aws.client("sagemaker"),
        ssm=aws.client("ssm"),
    )
    routed_world.create_tables()
    routed_world.create_alarms(SERVING)
    routed_world.create_serving()
    config = aws.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    return Serving(
        world=routed_world,
        booster=model_booster(local / "model" / "model.tar.gz"),
        package_arn=result.model_package_arn,
        config=config,
    )


def dataset_rows(local: Path, count: int, *, offset: int = 0) -> list[dict[str, Any]]:
    rows = pq.read_table(local / "dataset" / "dataset.parquet").to_pylist()
    return rows[offset : offset + count]


def model_inputs(rows: list[dict[str, Any]]) -> list[list[float]]:
    return [to_model_input(row, FRAUD_DETECTION.feature_names, FRAUD_DETECTION.category_vocabularies) for row in rows]


def flush(routed: Routed) -> dict[str, Any]:
    """What the demo's driver does before it reads captures: the server's flush route."""
    response = requests.post(f"{routed.url}/moto-api/demo/endpoints/flush", timeout=30)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def read_lines(aws: Aws, uri: str) -> list[dict[str, Any]]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def register(serving: Serving, archive: bytes, name: str) -> str:
    """A candidate in the registry, Approved, as the pipeline's Register step and the approval leave it."""
    bucket = serving.world.bucket("artifacts")
    key = f"pipelines/{DEPLOYMENT.pipeline_name}/{name}/train/output/model.tar.gz"
    serving.client("s3").put_object(Bucket=bucket, Key=key, Body=archive)
    return str(
        serving.client("sagemaker").create_model_package(
            ModelPackageGroupName=DEPLOYMENT.model_package_group_name,
            InferenceSpecification={
                "Containers": [{"Image": image_uri(), "ModelDataUrl": f"s3://{bucket}/{key}"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="Approved",
        )["ModelPackageArn"]
    )


def wait_in_service(serving: Serving) -> dict[str, Any]:
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        described: dict[str, Any] = serving.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
        if described["EndpointStatus"] != "Updating":
            return described
        assert time.monotonic() < deadline, "the endpoint update did not end"
        time.sleep(0.2)


# ---- serving, capture, metrics ------------------------------------------------------------------------------------


def latest_records(local: Path, entity: str) -> dict[str, list[dict[str, str]]]:
    """Each feature group's latest record of ``entity``, as the ingestion wrote them (PutRecord items)."""
    found = {}
    for group in GROUPS:
        rows = [r for r in pq.read_table(local / "sample-data" / "feature_groups" / group).to_pylist()]
        row = max((r for r in rows if r["customer_id"] == entity), key=lambda r: str(r["event_time"]))
        skip = {"api_invocation_time", "write_time", "is_deleted"}
        found[group] = [{"FeatureName": k, "ValueAsString": str(v)} for k, v in row.items() if k not in skip]
    return found


def test_the_score_lambda_gets_the_real_models_score_and_the_capture_sagemaker_writes(
    serving: Serving, routed: Routed, local: Path
) -> None:
    from tools.demo.emulators import feature_store  # noqa: PLC0415

    entity = str(dataset_rows(local, 1)[0]["customer_id"])
    records = latest_records(local, entity)
    for group, items in records.items():
        feature_store.put_record(serving.aws, FeatureGroupName=GROUPS[group], Record=items)
    env = ScoreEnv.from_env(serving.world.lambda_environment(SERVING, "lambdas.deployment.score.handler"))
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    clients = ScoringAws(
        featurestore=session.client("sagemaker-featurestore-runtime", endpoint_url=routed.url),
        runtime=session.client("sagemaker-runtime", endpoint_url=routed.url),
    )

    called = datetime.now(UTC)
    result = score({"entity_id": entity, "inference_id": "txn-0001"}, env=env, aws=clients)

    record = {item["FeatureName"]: item["ValueAsString"] for items in records.values() for item in items}
    from lambdas.shared.features import from_feature_store_record  # noqa: PLC0415

    vector = to_model_input(
        from_feature_store_record([{"FeatureName": k, "ValueAsString": v} for k, v in record.items()]),
        env.feature_names,
        env.categories,
    )
    expected = float(serving.booster.predict(xgb.DMatrix(np.array([vector])))[0])
    assert result["score"] == expected
    assert result["variant"] == "primary"
    assert result["inference_id"] == "txn-0001"

    written = flush(routed)
    (uri,) = written["capture_files"]
    prefix = f"s3://{serving.world.bucket('datacapture')}/fraud-detection/data-capture/{ENDPOINT}/primary/"
    assert uri.startswith(prefix), uri
    assert abs(datetime.strptime(uri[len(prefix) : len(prefix) + 13], "%Y/%m/%d/%H").replace(tzinfo=UTC) - called) < (
        timedelta(hours=1)
    ), uri  # the hour it was written
    assert uri.endswith(".jsonl")
    (line,) = read_lines(serving.aws, uri)
    captured = line["captureData"]
    assert captured["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": format_csv_row(vector),
        "encoding": "CSV",
    }
    assert captured["endpointOutput"] == {
        "observedContentType": "text/csv; charset=utf-8",
        "mode": "OUTPUT",
        "data": str(expected),
        "encoding": "CSV",
    }
    assert line["eventMetadata"]["inferenceId"] == "txn-0001"
    assert line["eventVersion"] == "0"
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    assert serving.client("s3").head_object(Bucket=bucket, Key=key)["SSEKMSKeyId"] == serving.world.key_arn

    dimensions = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "primary"}]

    def stat(metric: str, statistic: str) -> float:
        (point,) = serving.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName=metric,
            Dimensions=dimensions,
            StartTime=datetime.now(UTC) - timedelta(minutes=10),
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=3600,
            Statistics=[statistic],
        )["Datapoints"]
        return float(point[statistic])

    assert stat("Invocations", "Sum") == 1.0
    assert stat("InvocationModelErrors", "Sum") == 0.0
    assert 0 < stat("ModelLatency", "Maximum") < 5_000_000  # microseconds


def test_an_unknown_variant_and_a_body_the_model_cannot_read_are_answered_as_sagemaker_does(
    serving: Serving, routed: Routed
) -> None:
    runtime = boto3.client(
        "sagemaker-runtime",
        endpoint_url=routed.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with pytest.raises(runtime.exceptions.ValidationError, match="Variant blue not found"):
        runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=b"1,2,3", ContentType="text/csv", TargetVariant="blue")
    with pytest.raises(runtime.exceptions.ModelError, match="415"):
        runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=b"1,abc,3", ContentType="text/csv")
    with pytest.raises(runtime.exceptions.ValidationError, match="Could not find endpoint"):
        runtime.invoke_endpoint(EndpointName="nope", Body=b"1", ContentType="text/csv")

    flush(routed)
    metrics = serving.client("cloudwatch").list_metrics(Namespace="AWS/SageMaker", MetricName="InvocationModelErrors")
    assert metrics["Metrics"], "the model error was not measured"


def test_the_quality_evaluation_joins_the_captures_with_ground_truth(
    serving: Serving, routed: Routed, local: Path
) -> None:
    rows = dataset_rows(local, 300)
    vectors = model_inputs(rows)
    for i, vector in enumerate(vectors):
        endpoints.invoke_endpoint(
            serving.aws,
            endpoint_name=ENDPOINT,
            body=format_csv_row(vector).encode(),
            inference_id=f"txn-{i:04d}",
            now=NOW + timedelta(seconds=10 * i),
        )
    flush(routed)
    settings = QualitySettings.from_env(serving.world.lambda_environment(MONITORING, "lambdas.quality.handler.handler"))
    labels = "\n".join(
        json.dumps(
            {
                "groundTruthData": {"data": str(int(row["is_fraud"])), "encoding": "CSV"},
                "eventMetadata": {"eventId": f"txn-{i:04d}"},
                "eventVersion": "0",
            }
        )
        for i, row in enumerate(rows)
    )
    serving.client("s3").put_object(
        Bucket=settings.ground_truth.bucket,
        Key=f"{settings.ground_truth.key('2026/03/02/12')}/labels.jsonl",
        Body=labels,
    )

    report = evaluate_and_publish(
        s3=serving.client("s3"),
        cloudwatch=serving.client("cloudwatch"),
        settings=settings,
        window=EvaluationWindow.ending_at(NOW + timedelta(hours=1), lag_hours=settings.label_lag_hours, window_hours=1),
        now=NOW + timedelta(hours=2),
    )

    primary = report.variant("primary")
    assert primary.predictions == primary.labelled == len(rows)
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    direct = serving.booster.predict(xgb.DMatrix(np.array(vectors)))
    assert primary.auc == pytest.approx(roc_auc_score([int(r["is_fraud"]) for r in rows], direct), abs=1e-9)


def test_a_bake_compressed_on_the_demo_clock_is_measured_over_the_minutes_it_stands_for(
    serving: Serving, routed: Routed, local: Path
) -> None:
    """A 10-minute bake lasts 2 s at 300x; the requests sent meanwhile are stamped over its 10 minutes, so the
    compare Lambda's window (whole minutes ending at the bake's end) holds them, minute by minute."""
    clock = DemoClock(speedup=300.0)
    bodies = [format_csv_row(v).encode() for v in model_inputs(dataset_rows(local, 20))]
    baking = threading.Thread(target=clock.sleep, args=(600,))
    start = clock.now()
    baking.start()
    sent = 0
    while baking.is_alive():
        endpoints.invoke_endpoint(serving.aws, endpoint_name=ENDPOINT, body=bodies[sent % 20], now=clock.now())
        sent += 1
        time.sleep(0.02)
    end = clock.now()
    flush(routed)
    assert end - start >= timedelta(minutes=10)

    variant = serving.deployment_env().variant_name
    window = Window.ending(end + timedelta(minutes=1), 12)  # whole minutes, as compare reads them
    per_minute = serving.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "Invocations",
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": ENDPOINT},
                            {"Name": "VariantName", "Value": variant},
                        ],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=window.start,
        EndTime=window.end,
    )["MetricDataResults"][0]["Values"]
    assert sum(per_minute) == sent >= 20
    assert len([v for v in per_minute if v > 0]) >= 9  # spread over the bake's minutes, not bunched in one


# ---- UpdateEndpoint: blue/green, guardrail rollback ---------------------------------------------------------------


def test_the_deploy_lambdas_blue_green_update_ends_on_the_new_config(serving: Serving, local: Path) -> None:
    candidate = register(serving, (local / "model" / "model.tar.gz").read_bytes(), "candidate-1")
    env, aws = serving.deployment_env(), serving.deployment_aws()
    started = datetime.now(UTC)
    prepared = prepare({"deployment_id": "d-0001", "model_package_arn": candidate}, env=env, aws=aws, now=started)

    deploy({"deployment_id": "d-0001"}, env=env, aws=aws, now=started)

    updating = serving.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    assert updating["EndpointStatus"] == "Updating"
    assert updating["EndpointConfigName"] == serving.config
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == prepared["endpoint_config_name"]
    ended = wait_in_service(serving)
    assert ended["EndpointStatus"] == "InService"
    assert ended["EndpointConfigName"] == prepared["endpoint_config_name"]
    assert "PendingDeploymentSummary" not in ended
    assert ended["LastDeploymentConfig"] == guardrail_deployment_config(Strategy.BLUE_GREEN, env.settings)
    verified = verify({"deployment_id": "d-0001"}, env=env, aws=aws, now=datetime.now(UTC))
    assert verified["verified"] is True


class InProcessSageMaker:
    """The deploy Lambda's UpdateEndpoint request, delivered to the emulator in this process so the test steps
    the guardrail deployment, its traffic and the alarms minute by minute on a simulated clock."""

    def __init__(self, aws: Aws, clock: SimulatedClock) -> None:
        self.aws, self.clock = aws, clock

    def update_endpoint(self, **request: Any) -> dict[str, str]:
        return {"EndpointArn": endpoints.update_endpoint(self.aws, request, now=self.clock.now())}


def broken_model() -> bytes:
    """A model trained on 3 features: every 12-feature request is a model error (the container's 400)."""
    rng = np.random.default_rng(0)
    features = rng.random((200, 3))
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(features, label=features[:, 0] > 0.5), 5)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        raw = bytes(booster.save_raw(raw_format="json"))
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return archive.getvalue()


def test_a_rollback_alarm_in_alarm_during_the_bake_ends_on_the_old_config(serving: Serving, local: Path) -> None:
    candidate = register(serving, broken_model(), "candidate-broken")
    env, aws = serving.deployment_env(), serving.deployment_aws()
    clock = SimulatedClock(datetime(2026, 3, 2, 12, 2, 30, tzinfo=UTC))
    prepared = prepare({"deployment_id": "d-0002", "model_package_arn": candidate}, env=env, aws=aws, now=clock.now())
    target = prepared["endpoint_config_name"]
    request_update(
        InProcessSageMaker(serving.aws, clock),
        endpoint=ENDPOINT,
        config=target,
        deployment_config=guardrail_deployment_config(Strategy.BLUE_GREEN, env.settings),
    )
    bodies = [format_csv_row(v).encode() for v in model_inputs(dataset_rows(local, 6))]
    answered: Counter[str] = Counter()
    minutes = 0
    while endpoints.in_progress(serving.aws, ENDPOINT):
        for body in bodies:  # traffic keeps coming during the bake
            try:
                endpoints.invoke_endpoint(serving.aws, endpoint_name=ENDPOINT, body=body, now=clock.now())
                answered["ok"] += 1
            except endpoints.EndpointError as error:
                answered[error.code] += 1
        endpoints.flush(serving.aws)
        alarms.evaluate_all(serving.aws, clock.now(), names=env.settings.alarm_names)
        endpoints.advance(serving.aws, ENDPOINT, 60, now=clock.now())
        clock.sleep(60)
        minutes += 1
        assert minutes < 40, "the deployment did not end"

    bake = env.settings.wait_interval_seconds + env.settings.termination_wait_seconds
    assert minutes * 60 < bake, "it rolled back only after the bake, not because of the alarm"
    assert answered["ModelError"] > 0
    ended = serving.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    assert ended["EndpointStatus"] == "InService"
    assert ended["EndpointConfigName"] == serving.config
    assert not ended.get("FailureReason")
    state = serving.client("cloudwatch").describe_alarms(AlarmNames=["fraud-detection-dev-primary-model-error-rate"])
    assert state["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert endpoints.rollbacks(serving.aws, ENDPOINT) == [
        (target, ("fraud-detection-dev-primary-model-error-rate",), None)
    ]
    with pytest.raises(SilentRollbackDetected, match=target):
        check_serving(describe_endpoint(serving.client("sagemaker"), ENDPOINT), target)
    # the old fleet serves again
    answer = endpoints.invoke_endpoint(serving.aws, endpoint_name=ENDPOINT, body=bodies[0], now=clock.now())
    assert answer.invoked_variant == "primary"


def test_a_candidate_that_cannot_be_loaded_fails_the_update_with_a_reason(serving: Serving) -> None:
    candidate = register(serving, b"not a model archive", "candidate-corrupt")
    env, aws = serving.deployment_env(), serving.deployment_aws()
    now = datetime.now(UTC)
    prepared = prepare({"deployment_id": "d-0003", "model_package_arn": candidate}, env=env, aws=aws, now=now)

    deploy({"deployment_id": "d-0003"}, env=env, aws=aws, now=now)

    ended = wait_in_service(serving)
    assert ended["EndpointConfigName"] == serving.config
    assert "did not pass the ping health check" in ended["FailureReason"]
    with pytest.raises(SilentRollbackDetected, match=prepared["endpoint_config_name"]):
        verify({"deployment_id": "d-0003"}, env=env, aws=aws, now=datetime.now(UTC))


# ---- shadow and A/B variants ----------------------------------------------------------------------------------------


def runtime_client(routed: Routed) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=routed.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_a_shadow_variant_gets_a_copy_of_the_traffic_and_is_never_answered(
    serving: Serving, routed: Routed, local: Path
) -> None:
    candidate = register(serving, (local / "model" / "model.tar.gz").read_bytes(), "candidate-shadow")
    env, aws = serving.deployment_env(Strategy.SHADOW), serving.deployment_aws()
    now = datetime.now(UTC)
    prepared = prepare({"deployment_id": "d-0004", "model_package_arn": candidate}, env=env, aws=aws, now=now)
    deploy({"deployment_id": "d-0004"}, env=env, aws=aws, now=now)
    ended = wait_in_service(serving)
    assert ended["EndpointConfigName"] == prepared["endpoint_config_name"]
    assert [v["VariantName"] for v in ended["ShadowProductionVariants"]] == ["shadow"]
    staged = serving.client("sagemaker").describe_endpoint_config(EndpointConfigName=prepared["endpoint_config_name"])
    assert [v["VariantName"] for v in staged["ShadowProductionVariants"]] == ["shadow"]

    runtime = runtime_client(routed)
    bodies = [format_csv_row(v) for v in model_inputs(dataset_rows(local, 20))]
    invoked = Counter(
        runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=body, ContentType="text/csv")["InvokedProductionVariant"]
        for body in bodies
    )
    written = flush(routed)

    assert invoked == {"primary": len(bodies)}
    by_variant = Counter(uri.split(f"/{ENDPOINT}/", 1)[1].split("/", 1)[0] for uri in written["capture_files"])
    assert set(by_variant) == {"primary", "shadow"}  # sampling_percent 100: every request copied
    shadow_lines = [
        line for uri in written["capture_files"] if "/shadow/" in uri for line in read_lines(serving.aws, uri)
    ]
    assert len(shadow_lines) == len(bodies)
    assert sorted(line["captureData"]["endpointInput"]["data"] for line in shadow_lines) == sorted(bodies)


def test_ab_weights_move_with_update_endpoint_weights_and_target_variant_picks_one(
    serving: Serving, routed: Routed, local: Path
) -> None:
    candidate = register(serving, (local / "model" / "model.tar.gz").read_bytes(), "candidate-ab")
    env, aws = serving.deployment_env(Strategy.AB), serving.deployment_aws()
    now = datetime.now(UTC)
    prepare({"deployment_id": "d-0005", "model_package_arn": candidate}, env=env, aws=aws, now=now)
    deploy({"deployment_id": "d-0005"}, env=env, aws=aws, now=now)
    on_ab = wait_in_service(serving)
    assert {v["VariantName"]: v["CurrentWeight"] for v in on_ab["ProductionVariants"]} == {
        "primary": 1.0,
        "challenger": 0.0,  # moto would drop a weight of 0
    }
    runtime = runtime_client(routed)
    body = format_csv_row(model_inputs(dataset_rows(local, 1))[0])
    before = Counter(
        runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=body, ContentType="text/csv")["InvokedProductionVariant"]
        for _ in range(20)
    )
    assert before == {"primary": 20}

    stepped = ab_step({"deployment_id": "d-0005", "action": "ab_step", "step_index": 0}, env=env, aws=aws, now=now)
    assert stepped["weight_percent"] == 10
    updating = serving.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    after = wait_in_service(serving)

    assert updating["EndpointStatus"] == "Updating"  # until SageMaker applies the weights
    assert {v["VariantName"]: v["DesiredWeight"] for v in updating["ProductionVariants"]} == {
        "primary": 0.9,
        "challenger": 0.1,
    }
    assert {v["VariantName"]: v["CurrentWeight"] for v in after["ProductionVariants"]} == {
        "primary": 0.9,
        "challenger": 0.1,
    }
    routed_to = Counter(
        runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=body, ContentType="text/csv")["InvokedProductionVariant"]
        for _ in range(200)
    )
    assert set(routed_to) == {"primary", "challenger"}
    assert routed_to["challenger"] < routed_to["primary"]
    challenger = runtime.invoke_endpoint(
        EndpointName=ENDPOINT, Body=body, ContentType="text/csv", TargetVariant="challenger"
    )
    assert challenger["InvokedProductionVariant"] == "challenger"
    targeted = runtime.invoke_endpoint(
        EndpointName=ENDPOINT, Body=body, ContentType="text/csv", TargetVariant="primary"
    )
    assert targeted["InvokedProductionVariant"] == "primary"


def test_a_fault_on_a_models_containers_fails_a_share_of_its_requests_and_slows_them(
    serving: Serving, routed: Routed, local: Path
) -> None:
    """The story's stand-in for a model that regresses in production (``endpoints.inject_fault``)."""
    package = serving.client("sagemaker").describe_model_package(ModelPackageName=serving.package_arn)
    url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    runtime = runtime_client(routed)
    bodies = [format_csv_row(v) for v in model_inputs(dataset_rows(local, 40))]

    def send() -> tuple[list[str], float]:
        failures, started = [], time.monotonic()
        for body in bodies:
            try:
                runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=body, ContentType="text/csv")
            except runtime.exceptions.ModelError as error:
                failures.append(str(error))
        return failures, time.monotonic() - started

    with pytest.raises(ValueError, match="error rate in"):
        endpoints.inject_fault(url, endpoints.Fault(error_rate=1.5))
    endpoints.inject_fault(url, endpoints.Fault(latency_ms=50.0, error_rate=0.5))
    try:
        failures, took = send()
    finally:
        endpoints.inject_fault(url, None)
    assert 5 < len(failures) < 35  # about half of 40
    assert all("server error (500)" in f and "injected fault" in f for f in failures)
    assert took >= len(bodies) * 0.05  # every request waited the added latency
    assert send()[0] == []  # cleared: the model answers again
