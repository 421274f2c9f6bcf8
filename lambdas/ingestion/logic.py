"""Feature ingestion: raw card transactions -> feature records -> Feature Store PutRecord (online + offline).

The features themselves come from ``lambdas.shared.features`` (the one place they are computed). This module
adds what production ingestion needs around it:

- **history**: rolling windows need the customer's recent transactions. They live in a DynamoDB table
  (``customer_id``, ``sk = <event time>#<transaction id>``, expiring after the longest window), queried once per
  customer per batch;
- **idempotency per record id and event time**: an event is claimed in the history table with a conditional
  write (``status = pending``), written to every feature group, then marked ``ingested``. A replay finds it
  ``ingested`` and writes nothing; a crash between claim and PutRecord leaves it ``pending`` and a replay
  finishes it (PutRecord of the same record id, event time and values is itself idempotent);
- **throttling**: PutRecord is retried with exponential backoff and full jitter on throttling and transient
  service errors, up to ``max_attempts``;
- **nothing lost**: a line that is not JSON, an event that fails validation, or a record the Feature Store
  rejects goes to the dead-letter location in S3 with the reason, source and line number. Every received
  event is counted exactly once as ingested, duplicate or dead-lettered.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared.features import (
    HISTORY,
    FeatureInputError,
    MalformedEvent,
    TransactionEvent,
    features_for_event,
    format_event_time,
    parse_event,
    to_put_record,
)

RETRYABLE_ERRORS = frozenset(
    {"ThrottlingException", "Throttling", "ServiceUnavailable", "InternalFailure", "RequestTimeout"}
)
# History items outlive the longest rolling window by a margin so late events still see their past.
HISTORY_RETENTION = HISTORY + timedelta(days=5)
PENDING, INGESTED = "pending", "ingested"


class IngestionConfigError(ValueError):
    """The function's configuration is incomplete; the message names the setting."""


@dataclass(frozen=True, kw_only=True)
class IngestionTarget:
    """Where records go. ``feature_groups`` maps the spec's group name to the deployed feature group name."""

    feature_groups: Mapping[str, str]
    history_table: str
    dead_letter_bucket: str
    dead_letter_prefix: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> IngestionTarget:
        missing = [k for k in ("FEATURE_GROUPS", "HISTORY_TABLE", "DEAD_LETTER_BUCKET") if not environ.get(k)]
        if missing:
            raise IngestionConfigError(f"missing environment variables: {', '.join(missing)}")
        try:
            groups = json.loads(environ["FEATURE_GROUPS"])
        except json.JSONDecodeError as error:
            raise IngestionConfigError(f"FEATURE_GROUPS is not JSON: {error}") from None
        if not isinstance(groups, dict) or not groups:
            raise IngestionConfigError("FEATURE_GROUPS must map group names to feature group names")
        return cls(
            feature_groups={str(k): str(v) for k, v in groups.items()},
            history_table=environ["HISTORY_TABLE"],
            dead_letter_bucket=environ["DEAD_LETTER_BUCKET"],
            dead_letter_prefix=environ.get("DEAD_LETTER_PREFIX", "ingestion-dead-letter").strip("/"),
        )


@dataclass
class IngestionReport:
    received: int = 0
    ingested: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    throttle_retries: int = 0
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    dead_letter_uri: str | None = None

    @property
    def balanced(self) -> bool:
        """Every received event is accounted for exactly once."""
        return self.received == self.ingested + self.duplicates + self.dead_lettered


@dataclass(frozen=True)
class DeadLetter:
    """A line that was not ingested, with why (``tools/backfill.py`` quarantines its rejects the same way)."""

    reason: str
    line: int
    raw: str

    def to_json(self, source: str) -> str:
        return json.dumps({"reason": self.reason, "source": source, "line": self.line, "raw": self.raw}, sort_keys=True)


@dataclass(frozen=True)
class _Parsed:
    line: int
    raw: str
    event: TransactionEvent


class PutRecordFailed(Exception):  # noqa: N818 - a failure of one record, reported as a dead letter
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def history_key(event: TransactionEvent) -> str:
    return f"{format_event_time(event.event_time)}#{event.transaction_id}"


class Ingestor:
    """Ingests batches of raw events. Clients are passed in (boto3, moto or Stubber-wrapped)."""

    def __init__(
        self,
        *,
        featurestore: Any,
        dynamodb: Any,
        s3: Any,
        target: IngestionTarget,
        max_attempts: int = 6,
        base_delay_s: float = 0.05,
        max_delay_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._featurestore = featurestore
        self._dynamodb = dynamodb
        self._s3 = s3
        self._target = target
        self._max_attempts = max_attempts
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    # ---- entry points ----

    def ingest_lines(self, lines: Iterable[str], *, source: str, chunk_size: int = 500) -> IngestionReport:
        """Ingest JSON lines (one raw event each), streaming in chunks so memory stays bounded."""
        report = IngestionReport()
        dead: list[DeadLetter] = []
        for chunk in _chunks(enumerate(lines, start=1), chunk_size):
            dead.extend(self._ingest_chunk(chunk, report))
        self._write_dead_letters(dead, source=source, report=report)
        return report

    def ingest_event(self, raw: Mapping[str, Any], *, source: str) -> IngestionReport:
        """Ingest one raw event (the single-event Lambda)."""
        return self.ingest_lines([json.dumps(raw, sort_keys=True, default=str)], source=source)

    # ---- one chunk ----

    def _ingest_chunk(self, chunk: list[tuple[int, str]], report: IngestionReport) -> list[DeadLetter]:
        dead: list[DeadLetter] = []
        by_customer: dict[str, list[_Parsed]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        for number, raw in chunk:
            if not raw.strip():
                continue
            report.received += 1
            try:
                payload = json.loads(raw)
                if not isinstance(payload, dict):
                    raise MalformedEvent("event", "must be a JSON object")
                event = parse_event(payload)
            except json.JSONDecodeError as error:
                dead.append(DeadLetter(f"invalid JSON: {error.msg}", number, raw))
                continue
            except MalformedEvent as error:
                dead.append(DeadLetter(f"malformed event: {error}", number, raw))
                continue
            key = (event.customer_id, history_key(event))
            if key in seen:
                report.duplicates += 1
                continue
            seen.add(key)
            by_customer[event.customer_id].append(_Parsed(number, raw, event))
        for customer_id in sorted(by_customer):
            dead.extend(self._ingest_customer(customer_id, by_customer[customer_id], report))
        return dead

    def _ingest_customer(self, customer_id: str, items: list[_Parsed], report: IngestionReport) -> list[DeadLetter]:
        items.sort(key=lambda p: p.event.order_key)
        stored = self._load_history(customer_id, since=items[0].event.event_time - HISTORY)
        history = [event for event, _ in stored.values()]
        dead: list[DeadLetter] = []
        for item in items:
            key = history_key(item.event)
            status = stored[key][1] if key in stored else None
            if status == INGESTED:
                report.duplicates += 1
                continue
            if status is None and not self._claim(item):
                report.duplicates += 1  # claimed by a concurrent invocation since we read the history
                continue
            try:
                records = features_for_event(item.event, history)
                for group, record in records.by_group().items():
                    self._put_record(self._feature_group(group), to_put_record(record), report)
            except (PutRecordFailed, FeatureInputError) as error:
                reason = error.reason if isinstance(error, PutRecordFailed) else f"invalid feature: {error}"
                dead.append(DeadLetter(reason, item.line, item.raw))
                continue
            self._mark_ingested(item)
            history.append(item.event)
            report.ingested += 1
        return dead

    # ---- AWS calls ----

    def _feature_group(self, group: str) -> str:
        try:
            return self._target.feature_groups[group]
        except KeyError:
            raise IngestionConfigError(f"FEATURE_GROUPS has no entry for group '{group}'") from None

    def _load_history(self, customer_id: str, *, since: Any) -> dict[str, tuple[TransactionEvent, str]]:
        """The customer's stored transactions from ``since`` on, by history key, with their status."""
        items: dict[str, tuple[TransactionEvent, str]] = {}
        kwargs: dict[str, Any] = {
            "TableName": self._target.history_table,
            "KeyConditionExpression": "customer_id = :c AND sk >= :since",
            "ExpressionAttributeValues": {":c": {"S": customer_id}, ":since": {"S": format_event_time(since)}},
            "ConsistentRead": True,
        }
        while True:
            page = self._dynamodb.query(**kwargs)
            for item in page.get("Items", []):
                event = parse_event(json.loads(item["raw"]["S"]))
                items[item["sk"]["S"]] = (event, item["status"]["S"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _claim(self, item: _Parsed) -> bool:
        expires = int((item.event.event_time + HISTORY_RETENTION).timestamp())
        try:
            self._dynamodb.put_item(
                TableName=self._target.history_table,
                Item={
                    "customer_id": {"S": item.event.customer_id},
                    "sk": {"S": history_key(item.event)},
                    "transaction_id": {"S": item.event.transaction_id},
                    "raw": {"S": item.raw},
                    "status": {"S": PENDING},
                    "expires_at": {"N": str(expires)},
                },
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _mark_ingested(self, item: _Parsed) -> None:
        self._dynamodb.update_item(
            TableName=self._target.history_table,
            Key={"customer_id": {"S": item.event.customer_id}, "sk": {"S": history_key(item.event)}},
            UpdateExpression="SET #s = :ingested",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":ingested": {"S": INGESTED}},
        )

    def _put_record(self, feature_group: str, record: list[Any], report: IngestionReport) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._featurestore.put_record(FeatureGroupName=feature_group, Record=record)
                return
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code not in RETRYABLE_ERRORS:
                    raise PutRecordFailed(
                        f"PutRecord to {feature_group} rejected: {code}: {error.response['Error'].get('Message', '')}"
                    ) from None
                if attempt == self._max_attempts:
                    raise PutRecordFailed(
                        f"PutRecord to {feature_group} still failing with {code} after {attempt} attempts"
                    ) from None
                report.throttle_retries += 1
                cap = min(self._max_delay_s, self._base_delay_s * 2 ** (attempt - 1))
                self._sleep(self._rng.uniform(0, cap))  # exponential backoff, full jitter

    def _write_dead_letters(self, dead: list[DeadLetter], *, source: str, report: IngestionReport) -> None:
        report.dead_lettered = len(dead)
        if not dead:
            return
        report.dead_letter_reasons.update(d.reason.split(":")[0] for d in dead)
        # One object per source: a replay of the same source overwrites it instead of duplicating lines.
        key = f"{self._target.dead_letter_prefix}/{_safe_key(source)}.jsonl"
        body = "".join(d.to_json(source) + "\n" for d in dead)
        self._s3.put_object(
            Bucket=self._target.dead_letter_bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson"
        )
        report.dead_letter_uri = f"s3://{self._target.dead_letter_bucket}/{key}"


def _chunks(items: Iterable[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _safe_key(source: str) -> str:
    return source.replace("s3://", "").replace(":", "_").strip("/")
