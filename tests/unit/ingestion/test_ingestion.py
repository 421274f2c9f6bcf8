"""Ingestion: batched, retried on throttling, idempotent, dead-letters with reasons, nothing lost."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.ingestion.logic import IngestionConfigError, IngestionReport, IngestionTarget, Ingestor
from lambdas.shared.features import batch_feature_records, parse_event, to_put_record
from tests.unit.ingestion.conftest import TARGET, Harness


def txn(txn_id: str, customer: str, time: str, amount: float, **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": txn_id,
        "customer_id": customer,
        "event_time": time,
        "amount": amount,
        "merchant_category": "grocery",
        "card_present": True,
        "distance_from_home_km": 3.5,
        **extra,
    }


BATCH = [
    txn("t1", "c1", "2026-03-01T10:00:00Z", 20.0),
    txn("t2", "c2", "2026-03-01T11:00:00Z", 99.5),
    txn("t3", "c1", "2026-03-01T12:30:00Z", 45.25),
]


def expected_put_records(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the shared feature module computes, in the order ingestion writes it (customer, then time)."""
    calls = []
    parsed = [parse_event(e) for e in events]
    computed = dict(((e.transaction_id), r) for e, r in batch_feature_records(parsed))
    for event in sorted(parsed, key=lambda e: (e.customer_id, e.order_key)):
        for group, record in computed[event.transaction_id].by_group().items():
            calls.append({"FeatureGroupName": TARGET.feature_groups[group], "Record": to_put_record(record)})
    return calls


def lines(events: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(e) for e in events]


def test_a_throttled_batch_is_retried_and_lands_whole_with_the_shared_features(harness: Harness) -> None:
    calls = expected_put_records(BATCH)
    harness.stubber.add_client_error(
        "put_record", "ThrottlingException", http_status_code=400, expected_params=calls[0]
    )
    harness.stubber.add_client_error(
        "put_record", "ThrottlingException", http_status_code=400, expected_params=calls[0]
    )
    for call in calls:
        harness.stubber.add_response("put_record", {}, expected_params=call)

    report = harness.ingestor().ingest_lines(lines(BATCH), source="s3://landing/raw/batch-1.jsonl")

    harness.stubber.assert_no_pending_responses()
    assert (report.received, report.ingested, report.dead_lettered) == (3, 3, 0)
    assert report.throttle_retries == 2
    assert len(harness.sleeps) == 2
    assert all(0 <= s <= 0.1 for s in harness.sleeps)
    assert harness.history_status() == {"t1": "ingested", "t2": "ingested", "t3": "ingested"}


def test_rolling_windows_include_history_from_earlier_batches(harness: Harness) -> None:
    for call in expected_put_records(BATCH[:1]):
        harness.stubber.add_response("put_record", {}, expected_params=call)
    harness.ingestor().ingest_lines(lines(BATCH[:1]), source="batch-a")

    later = txn("t9", "c1", "2026-03-02T09:00:00Z", 10.0)
    calls = expected_put_records([BATCH[0], later])[2:]  # t9's records, computed with t1 in its window
    spend = {i["FeatureName"]: i["ValueAsString"] for i in calls[1]["Record"]}
    assert spend["spend_1d"] == "30.0"
    assert spend["count_1d"] == "2"
    for call in calls:
        harness.stubber.add_response("put_record", {}, expected_params=call)
    report = harness.ingestor().ingest_lines(lines([later]), source="batch-b")
    harness.stubber.assert_no_pending_responses()
    assert report.ingested == 1


def test_reingesting_the_same_events_writes_nothing_new(harness: Harness) -> None:
    for call in expected_put_records(BATCH):
        harness.stubber.add_response("put_record", {}, expected_params=call)
    harness.ingestor().ingest_lines(lines(BATCH), source="batch-1")

    # No PutRecord response is queued: any write would fail the Stubber.
    replay = harness.ingestor().ingest_lines(lines(BATCH + BATCH[:1]), source="batch-1")

    assert (replay.received, replay.ingested, replay.duplicates, replay.dead_lettered) == (4, 0, 4, 0)
    assert replay.balanced


def test_malformed_events_go_to_the_dead_letter_location_with_a_reason(harness: Harness) -> None:
    bad_lines = [
        "{not json",
        json.dumps({k: v for k, v in BATCH[0].items() if k != "amount"}),
        json.dumps(txn("t5", "c5", "2026-03-01T10:00:00Z", -4.0)),
        json.dumps([1, 2]),
    ]
    for call in expected_put_records(BATCH[1:2]):
        harness.stubber.add_response("put_record", {}, expected_params=call)

    report = harness.ingestor().ingest_lines(
        [bad_lines[0], *lines(BATCH[1:2]), *bad_lines[1:]], source="s3://b/k.jsonl"
    )

    assert (report.received, report.ingested, report.dead_lettered) == (5, 1, 4)
    assert report.balanced
    assert report.dead_letter_uri == "s3://dead-letters/ingestion-dead-letter/fraud-detection/b/k.jsonl.jsonl"
    body = harness.s3.get_object(Bucket="dead-letters", Key="ingestion-dead-letter/fraud-detection/b/k.jsonl.jsonl")[
        "Body"
    ].read()
    dead = [json.loads(line) for line in body.decode().splitlines()]
    assert [d["line"] for d in dead] == [1, 3, 4, 5]
    assert dead[0]["reason"].startswith("invalid JSON")
    assert "amount" in dead[1]["reason"]
    assert "amount" in dead[2]["reason"]
    assert "JSON object" in dead[3]["reason"]
    assert dead[0]["raw"] == "{not json"  # the original line, verbatim, so it can be replayed


def test_exhausted_throttling_dead_letters_the_event_and_a_replay_finishes_it(harness: Harness) -> None:
    event = BATCH[1]
    calls = expected_put_records([event])
    for _ in range(3):
        harness.stubber.add_client_error(
            "put_record", "ThrottlingException", http_status_code=400, expected_params=calls[0]
        )
    report = harness.ingestor(max_attempts=3).ingest_lines(lines([event]), source="batch-x")
    assert (report.ingested, report.dead_lettered) == (0, 1)
    dead = harness.s3.get_object(Bucket="dead-letters", Key="ingestion-dead-letter/fraud-detection/batch-x.jsonl")
    assert "still failing with ThrottlingException after 3 attempts" in dead["Body"].read().decode()
    assert harness.history_status() == {"t2": "pending"}

    for call in calls:
        harness.stubber.add_response("put_record", {}, expected_params=call)
    replay = harness.ingestor().ingest_lines(lines([event]), source="batch-x")
    assert (replay.ingested, replay.duplicates) == (1, 0)
    assert harness.history_status() == {"t2": "ingested"}


def test_a_rejected_record_is_dead_lettered_not_retried(harness: Harness) -> None:
    calls = expected_put_records(BATCH[1:2])
    harness.stubber.add_client_error(
        "put_record", "ValidationError", "bad feature", http_status_code=400, expected_params=calls[0]
    )
    report = harness.ingestor().ingest_lines(lines(BATCH[1:2]), source="batch-y")
    assert report.dead_lettered == 1
    assert report.throttle_retries == 0
    assert report.dead_letter_reasons == {"PutRecord to fraud-detection-dev-transaction rejected": 1}


def test_missing_configuration_is_named() -> None:
    with pytest.raises(IngestionConfigError, match="HISTORY_TABLE, DEAD_LETTER_BUCKET"):
        IngestionTarget.from_env({"FEATURE_GROUPS": "{}"})
    with pytest.raises(IngestionConfigError, match="FEATURE_GROUPS is not JSON"):
        IngestionTarget.from_env({"FEATURE_GROUPS": "{", "HISTORY_TABLE": "t", "DEAD_LETTER_BUCKET": "b"})


class _Claimer:
    """One invocation's DynamoDB client, gated so two invocations race on the same event deterministically.

    Both read the customer's history (and see no claim) before either claims; the second claimer's write is
    sent only once the first's has been written. Everything else goes to the real (moto) client.
    """

    def __init__(self, client: Any, *, both_read: threading.Barrier, first_claimed: threading.Event, first: bool):
        self._client = client
        self._both_read = both_read
        self._first_claimed = first_claimed
        self._first = first

    def query(self, **kwargs: Any) -> Any:
        page = self._client.query(**kwargs)
        self._both_read.wait(timeout=10)
        return page

    def put_item(self, **kwargs: Any) -> Any:
        if self._first:
            try:
                return self._client.put_item(**kwargs)
            finally:
                self._first_claimed.set()
        assert self._first_claimed.wait(timeout=10), "the first claimer never claimed"
        return self._client.put_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_two_concurrent_invocations_of_one_event_write_it_once(harness: Harness) -> None:
    # Given two invocations of the same event that both read the history before either claims it
    event = BATCH[1]
    both_read, first_claimed = threading.Barrier(2), threading.Event()
    loser_featurestore = boto3.client("sagemaker-featurestore-runtime", region_name="us-east-1")
    for call in expected_put_records([event]):
        harness.stubber.add_response("put_record", {}, expected_params=call)

    def invocation(first: bool) -> IngestionReport:
        dynamodb = _Claimer(harness.dynamodb, both_read=both_read, first_claimed=first_claimed, first=first)
        featurestore = harness.featurestore if first else loser_featurestore
        ingestor = Ingestor(featurestore=featurestore, dynamodb=dynamodb, s3=harness.s3, target=TARGET)
        return ingestor.ingest_lines(lines([event]), source=f"race-{first}")

    # When they run at the same time (the loser's Feature Store client has no stubbed response: any write fails)
    with Stubber(loser_featurestore) as loser_stubber, ThreadPoolExecutor(max_workers=2) as pool:
        winner, loser = pool.submit(invocation, True), pool.submit(invocation, False)
        won, lost = winner.result(timeout=30), loser.result(timeout=30)
        loser_stubber.assert_no_pending_responses()

    # Then the claim decides: the winner writes the records once, the loser counts a duplicate and writes nothing
    harness.stubber.assert_no_pending_responses()
    assert (won.ingested, won.duplicates) == (1, 0)
    assert (lost.ingested, lost.duplicates, lost.dead_lettered) == (0, 1, 0)
    assert won.balanced
    assert lost.balanced
    assert harness.history_status() == {"t2": "ingested"}
