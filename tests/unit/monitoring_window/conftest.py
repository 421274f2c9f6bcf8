"""Shared setup: moto S3 + CloudWatch with a capture bucket and a reports bucket, and the window's settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.monitoring.capture_window import CaptureWindow
from lambdas.monitoring.settings import S3Location, WindowSettings

CAPTURE_BUCKET, CAPTURE_PREFIX = "capture", "fraud-detection/data-capture"
REPORTS_BUCKET, REPORTS_PREFIX = "reports", "monitoring/fraud-detection"
ENDPOINT = "fraud-detection-dev"
NAMESPACE = "MLOps/DataQuality"
ROOT = f"{CAPTURE_PREFIX}/{ENDPOINT}/"  # the manifest's common prefix (a key prefix)
START = datetime(2026, 3, 2, 11, tzinfo=UTC)
WINDOW = CaptureWindow(START, START + timedelta(hours=1))
NOW = datetime(2026, 3, 2, 12, 10, tzinfo=UTC)  # the schedule fired ten minutes past the hour

SETTINGS = WindowSettings(
    model_name="fraud-detection",
    environment="dev",
    endpoint_name=ENDPOINT,
    data_capture=S3Location(CAPTURE_BUCKET, CAPTURE_PREFIX),
    window_hours=1,
    reports=S3Location(REPORTS_BUCKET, REPORTS_PREFIX),
)

ENV = {
    "MODEL_NAME": "fraud-detection",
    "ENVIRONMENT": "dev",
    "ENDPOINT_NAME": ENDPOINT,
    "DATA_CAPTURE_S3_URI": f"s3://{CAPTURE_BUCKET}/{CAPTURE_PREFIX}",
    "WINDOW_HOURS": "1",
    "REPORTS_BUCKET": REPORTS_BUCKET,
    "REPORTS_PREFIX": REPORTS_PREFIX,
}


def relative(variant: str, hour: datetime, name: str) -> str:
    """A capture object's key relative to the endpoint's capture prefix, as the manifest lists it."""
    return f"{variant}/{hour:%Y/%m/%d/%H}/{name}"


class World:
    """moto S3 + CloudWatch holding one endpoint's data capture."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        for bucket in (CAPTURE_BUCKET, REPORTS_BUCKET):
            self.s3.create_bucket(Bucket=bucket)
        self.list_calls: list[dict[str, Any]] = []
        self.s3.meta.events.register("provide-client-params.s3.ListObjectsV2", self._count_list)

    def _count_list(self, params: dict[str, Any], **_: Any) -> None:
        self.list_calls.append(dict(params))

    def put_capture(self, variant: str, hour: datetime, name: str = "part-0.jsonl") -> str:
        """Puts a capture object; returns its key relative to ``ROOT``."""
        key = relative(variant, hour, name)
        self.s3.put_object(Bucket=CAPTURE_BUCKET, Key=ROOT + key, Body=b'{"eventVersion": "0"}\n')
        return key

    def read(self, bucket: str, key: str) -> str:
        body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode()

    def manifest(self, window: CaptureWindow = WINDOW) -> Any:
        return json.loads(self.read(REPORTS_BUCKET, f"{REPORTS_PREFIX}/{window.path}/manifest.json"))

    def exists(self, bucket: str, key: str) -> bool:
        return bool(self.s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))

    def capture_objects(self, at: datetime) -> dict[str, float] | None:
        """Statistics of the ``CaptureObjects`` datapoints (Model=fraud-detection, Environment=dev) in the minute
        starting at ``at``; ``None`` when there are none."""
        datapoints = self.cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName="CaptureObjects",
            Dimensions=[{"Name": "Model", "Value": "fraud-detection"}, {"Name": "Environment", "Value": "dev"}],
            StartTime=at,
            EndTime=at + timedelta(minutes=1),
            Period=60,
            Statistics=["SampleCount", "Minimum", "Maximum"],
        )["Datapoints"]
        assert len(datapoints) <= 1
        return {k: datapoints[0][k] for k in ("SampleCount", "Minimum", "Maximum")} if datapoints else None


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()
