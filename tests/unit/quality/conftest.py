"""Shared setup: moto S3/CloudWatch with the capture, ground-truth and reports buckets, and record builders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from config.models.fraud_detection import FRAUD_DETECTION
from lambdas.quality.logic import EvaluationWindow, QualityEvaluator, QualityReport
from lambdas.quality.settings import QualitySettings, S3Location, business_metrics_from_spec, parse_business_metrics

CAPTURE_BUCKET, CAPTURE_PREFIX = "capture", "fraud-detection/data-capture"
TRUTH_BUCKET, TRUTH_PREFIX = "truth", "fraud-detection/ground-truth"
REPORTS_BUCKET = "reports"
ENDPOINT = "fraud-detection-dev"
START = datetime(2026, 3, 1, 10, tzinfo=UTC)
WINDOW = EvaluationWindow(START, START + timedelta(hours=1), timedelta(hours=24))

SETTINGS = QualitySettings(
    model_name="fraud-detection",
    environment="dev",
    endpoint_name=ENDPOINT,
    data_capture=S3Location(CAPTURE_BUCKET, CAPTURE_PREFIX),
    ground_truth=S3Location(TRUTH_BUCKET, TRUTH_PREFIX),
    reports_bucket=REPORTS_BUCKET,
    decision_threshold=FRAUD_DETECTION.decision_threshold,
    label_lag_hours=24,
    window_hours=1,
    business_metrics=parse_business_metrics(business_metrics_from_spec(FRAUD_DETECTION)),
)


def at(minutes: float, hour: datetime = START) -> datetime:
    return hour + timedelta(minutes=minutes)


def input_row(amount: float) -> str:
    """A CSV request in the spec's feature order: ``amount`` first."""
    rest = ["grocery", "14", "1", "3.5", "20.0", "140.0", "600.0", "1", "7", "30", "1.2"]
    assert len(rest) + 1 == len(FRAUD_DETECTION.feature_names)
    return ",".join([f"{amount}", *rest])


def capture_line(
    inference_id: str,
    score: float,
    *,
    time: datetime,
    amount: float = 10.0,
    with_inference_id: bool = True,
) -> str:
    meta: dict[str, Any] = {"eventId": f"evt-{inference_id}", "inferenceTime": time.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if with_inference_id:
        meta["inferenceId"] = inference_id
    else:
        meta["eventId"] = inference_id
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": input_row(amount),
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv; charset=utf-8",
                    "mode": "OUTPUT",
                    "data": f"{score}",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": meta,
            "eventVersion": "0",
        }
    )


def label_line(event_id: str, value: int | str) -> str:
    return json.dumps(
        {
            "groundTruthData": {"data": str(value), "encoding": "CSV"},
            "eventMetadata": {"eventId": event_id},
            "eventVersion": "0",
        }
    )


class World:
    """moto S3 + CloudWatch holding one endpoint's captures and ground truth."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        for bucket in (CAPTURE_BUCKET, TRUTH_BUCKET, REPORTS_BUCKET):
            self.s3.create_bucket(Bucket=bucket)

    def put_captures(self, variant: str, hour: datetime, lines: list[str], name: str = "part-0.jsonl") -> str:
        key = f"{CAPTURE_PREFIX}/{ENDPOINT}/{variant}/{hour:%Y/%m/%d/%H}/{name}"
        self.s3.put_object(Bucket=CAPTURE_BUCKET, Key=key, Body="\n".join(lines).encode() + b"\n")
        return f"s3://{CAPTURE_BUCKET}/{key}"

    def put_labels(self, hour: datetime, lines: list[str], name: str = "labels.jsonl") -> str:
        key = f"{TRUTH_PREFIX}/{hour:%Y/%m/%d/%H}/{name}"
        self.s3.put_object(Bucket=TRUTH_BUCKET, Key=key, Body="\n".join(lines).encode() + b"\n")
        return f"s3://{TRUTH_BUCKET}/{key}"

    def run(
        self, settings: QualitySettings = SETTINGS, window: EvaluationWindow = WINDOW, **kwargs: Any
    ) -> QualityReport:
        evaluator = QualityEvaluator(s3=self.s3, settings=settings, **kwargs)
        return evaluator.run(window, generated_at=window.labels_until)

    def read(self, bucket: str, key: str) -> str:
        body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode()


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()
