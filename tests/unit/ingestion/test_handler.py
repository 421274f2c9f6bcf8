"""The ingestion handlers end to end through moto: event parsing, streaming the object, dead letters, metrics."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from types import ModuleType, SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from lambdas.shared.aws import LazyClient


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("FEATURE_GROUPS", json.dumps({"transaction": "t", "customer-spend": "s"}))
    monkeypatch.setenv("HISTORY_TABLE", "history")
    monkeypatch.setenv("DEAD_LETTER_BUCKET", "landing")
    monkeypatch.setenv("DEAD_LETTER_PREFIX", "ingestion-dead-letter/fraud-detection")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ingestion-test")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="landing")
        boto3.client("dynamodb").create_table(
            TableName="history",
            KeySchema=[
                {"AttributeName": "customer_id", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "customer_id", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        import lambdas.ingestion.handler as module  # noqa: PLC0415 - settings are read at import

        yield importlib.reload(module)


CONTEXT = SimpleNamespace(
    function_name="ingest",
    memory_limit_in_mb=512,
    aws_request_id="req-1",
    invoked_function_arn="arn:aws:lambda:us-east-1:111111111111:function:ingest",
)


def test_s3_handler_streams_the_object_and_dead_letters_bad_lines(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "{broken\n\n" + json.dumps({"transaction_id": "t1", "customer_id": "c1"}) + "\n"
    boto3.client("s3").put_object(Bucket="landing", Key="landing/fraud-detection/2026/03/01/a b.jsonl", Body=body)
    event = {
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "landing"}, "object": {"key": "landing/fraud-detection/2026/03/01/a+b.jsonl"}},
    }

    result = handler.s3_handler(event, CONTEXT)

    assert (result["received"], result["ingested"], result["dead_lettered"]) == (2, 0, 2)
    key = "ingestion-dead-letter/fraud-detection/landing/landing/fraud-detection/2026/03/01/a b.jsonl.jsonl"
    dead = boto3.client("s3").get_object(Bucket="landing", Key=key)["Body"].read().decode().splitlines()
    assert [json.loads(d)["line"] for d in dead] == [1, 3]
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emitted, "the handler publishes its counts as CloudWatch EMF metrics"
    assert emitted[-1]["RecordsDeadLettered"] in (2, 2.0, [2.0])
    assert emitted[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "MLOps/Test"


def test_s3_handler_rejects_an_event_that_is_not_an_object_notification(handler: ModuleType) -> None:
    with pytest.raises(handler.MalformedNotification, match=r"detail\.bucket\.name"):
        handler.s3_handler({"detail": {}}, CONTEXT)


def test_event_handler_dead_letters_a_malformed_single_event(handler: ModuleType) -> None:
    result = handler.event_handler({"detail": {"transaction_id": "t1"}}, CONTEXT)
    assert (result["received"], result["dead_lettered"]) == (1, 1)
    assert result["dead_letter_uri"] == "s3://landing/ingestion-dead-letter/fraud-detection/event/req-1.jsonl"


def test_lazy_client_is_created_once_on_first_use() -> None:
    with mock_aws():
        client = LazyClient("s3")
        assert client._client is None
        client.create_bucket(Bucket="lazy-bucket")
        first = client._client
        assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["lazy-bucket"]
        assert client._client is first
