"""Ingestion Lambdas: thin handlers over ``lambdas.ingestion.logic``.

- ``s3_handler``: EventBridge "Object Created" events for raw-event JSONL files landing in S3 (batch);
- ``event_handler``: one raw transaction (direct invoke, API or EventBridge ``detail``).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

from lambdas.ingestion.logic import IngestionReport, IngestionTarget, Ingestor
from lambdas.shared.aws import LazyClient
from lambdas.shared.observability import logger, metrics

_TARGET = IngestionTarget.from_env(os.environ)
_S3 = LazyClient("s3")
_INGESTOR = Ingestor(
    featurestore=LazyClient("sagemaker-featurestore-runtime"),
    dynamodb=LazyClient("dynamodb"),
    s3=_S3,
    target=_TARGET,
)


class MalformedNotification(ValueError):  # noqa: N818 - named by what it is, like MalformedEvent
    """The triggering event is not an S3 Object Created notification."""


def _publish(report: IngestionReport) -> dict[str, Any]:
    metrics.add_metric(name="RecordsReceived", unit="Count", value=report.received)
    metrics.add_metric(name="RecordsIngested", unit="Count", value=report.ingested)
    metrics.add_metric(name="RecordsDuplicate", unit="Count", value=report.duplicates)
    metrics.add_metric(name="RecordsDeadLettered", unit="Count", value=report.dead_lettered)
    metrics.add_metric(name="PutRecordRetries", unit="Count", value=report.throttle_retries)
    result = {
        "received": report.received,
        "ingested": report.ingested,
        "duplicates": report.duplicates,
        "dead_lettered": report.dead_lettered,
        "dead_letter_reasons": dict(report.dead_letter_reasons),
        "dead_letter_uri": report.dead_letter_uri,
    }
    logger.info("ingestion finished", extra=result)
    return result


def _object_of(event: dict[str, Any]) -> tuple[str, str]:
    """Bucket and (unquoted) key of the notification, read by Powertools' event source data class."""
    try:
        detail = S3EventBridgeNotificationEvent(event).detail
        return detail.bucket.name, detail.object.key
    except (KeyError, TypeError, AttributeError):
        raise MalformedNotification(
            "expected an EventBridge 'Object Created' event with detail.bucket.name and detail.object.key"
        ) from None


@logger.inject_lambda_context
@metrics.log_metrics
def s3_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket, key = _object_of(event)
    body = _S3.get_object(Bucket=bucket, Key=key)["Body"]
    lines = (line.decode("utf-8", errors="replace") for line in body.iter_lines())
    return _publish(_INGESTOR.ingest_lines(lines, source=f"s3://{bucket}/{key}"))


@logger.inject_lambda_context
@metrics.log_metrics
def event_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raw = event.get("detail", event) if isinstance(event, dict) else event
    source = f"event/{getattr(context, 'aws_request_id', 'local')}"
    return _publish(_INGESTOR.ingest_event(raw, source=source))
