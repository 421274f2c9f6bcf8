"""The retraining state table: single-flight lock, runs, skipped triggers, the pause flag and task tokens.

Table keys: ``pk`` (partition) and ``sk`` (sort), both strings; TTL attribute ``expires_at`` (epoch seconds).
Every item of a model in an environment is under ``pk = "<model>#<environment>"`` (the deployment history's
partition, so the two may share a table):

==========================================  ============================================================
``sk = "LOCK"``                             single flight. ``owner`` (execution name; absent = free),
                                            ``run_sk``, ``acquired_at``, ``stale_after``, ``generation``
                                            (N, +1 on every acquisition), ``released_at``, ``released_by``,
                                            ``taken_over_from``. Never deleted: acquisition is a
                                            conditional update on the ``generation`` the guard read, so
                                            the cooldown and budget it checked still hold when it wins.
``sk = "RUN#<started_at>#<execution>"``     one per started run: ``execution_name``, ``run_id``,
                                            ``trigger_source``, ``trigger_detail`` (JSON), ``started_at``,
                                            ``window_start``, ``window_end``, ``lock_taken_over_from``;
                                            later ``pipeline_execution_arn``, ``champion_package_arn``,
                                            ``champion_model_uri``, ``pipeline_started_at`` (start_pipeline)
                                            and ``outcome``, ``outcome_reason``, ``finished_at`` (release).
                                            ``started_at`` is fixed-width UTC: text order is time order,
                                            so "runs since T" is one Query on ``sk BETWEEN``.
``sk = "SKIP#<skipped_at>#<execution>"``    one per skipped trigger: ``execution_name``, ``code``
                                            (``in_progress|paused|cooldown|budget``), ``error`` (exception
                                            name), ``reason`` (its message), ``until`` (cooldown end /
                                            next budget slot), ``trigger_*``, ``skipped_at``,
                                            ``outcome`` = ``skipped`` once released; TTL 90 days.
``sk = "EXECUTION#<execution>"``            lookup: ``record_sk`` names the execution's RUN or SKIP item
                                            (written in the same transaction), so any step finds it from
                                            the execution name; the TTL of its SKIP item, if any.
``sk = "PAUSED"``                           present = paused: ``paused_by``, ``reason``, ``paused_at``.
``sk = "TOKEN#PIPELINE#<execution arn>"``   a pending ``.waitForTaskToken`` for a pipeline execution:
``sk = "TOKEN#APPROVAL#<package arn>"``     or for a package's approval. ``task_token``,
                                            ``execution_name``, ``stored_at``, ``expires_at`` (TTL: the
                                            wait's timeout + 1 day). Deleted once used.
==========================================  ============================================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from lambdas.shared.events import format_time, parse_time
from lambdas.shared.table import NEW_ITEM, PartitionStore, decode, text

LOCK_SK = "LOCK"
PAUSED_SK = "PAUSED"
RUN_PREFIX = "RUN#"
SKIP_PREFIX = "SKIP#"
EXECUTION_PREFIX = "EXECUTION#"
TOKEN_PREFIX = "TOKEN#"  # noqa: S105 - a sort-key prefix, not a secret
TTL_ATTRIBUTE = "expires_at"
SKIP_RETENTION = timedelta(days=90)
TOKEN_GRACE = timedelta(days=1)


class WaitKind(StrEnum):
    PIPELINE = "PIPELINE"  # keyed by the pipeline execution ARN
    APPROVAL = "APPROVAL"  # keyed by the model package ARN


class Outcome(StrEnum):
    PROMOTED = "promoted"
    NOT_BETTER = "not_better"
    REJECTED = "rejected"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    SKIPPED = "skipped"


@dataclass(frozen=True, kw_only=True)
class Lock:
    owner: str  # "" = free
    generation: int  # 0 = never acquired
    run_sk: str = ""
    acquired_at: str = ""
    stale_after: str = ""

    def is_free_at(self, now: datetime) -> bool:
        return not self.owner or self.is_stale_at(now)

    def is_stale_at(self, now: datetime) -> bool:
        return bool(self.owner) and bool(self.stale_after) and self.stale_after < format_time(now)


@dataclass(frozen=True, kw_only=True)
class Run:
    execution_name: str
    run_id: str
    started_at: str
    trigger_source: str
    trigger_detail: str = ""
    window_start: str = ""
    window_end: str = ""
    lock_taken_over_from: str = ""
    pipeline_execution_arn: str = ""
    pipeline_started_at: str = ""
    champion_package_arn: str = ""
    champion_model_uri: str = ""
    outcome: str = ""
    outcome_reason: str = ""
    finished_at: str = ""

    @property
    def sort_key(self) -> str:
        return f"{RUN_PREFIX}{self.started_at}#{self.execution_name}"

    @property
    def last_activity(self) -> datetime:
        """When the run finished, else when it started (the cooldown counts from here)."""
        return parse_time(max(self.started_at, self.finished_at))

    def result(self) -> dict[str, Any]:
        """What ``guard`` returns for this run."""
        return {
            "execution_name": self.execution_name,
            "run_id": self.run_id,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "started_at": self.started_at,
        }


@dataclass(frozen=True, kw_only=True)
class Skip:
    execution_name: str
    skipped_at: str
    code: str
    error: str
    reason: str
    trigger_source: str
    trigger_detail: str = ""
    until: str = ""  # when the cause ends (cooldown end, next budget slot)
    outcome: str = ""
    outcome_reason: str = ""
    finished_at: str = ""

    @property
    def sort_key(self) -> str:
        return f"{SKIP_PREFIX}{self.skipped_at}#{self.execution_name}"


@dataclass(frozen=True, kw_only=True)
class Pause:
    paused_by: str
    reason: str
    paused_at: str


@dataclass(frozen=True, kw_only=True)
class PendingToken:
    kind: WaitKind
    key: str  # pipeline execution ARN or model package ARN
    task_token: str
    execution_name: str
    stored_at: str


_Record = TypeVar("_Record", Run, Skip)


class LockContended(Exception):  # noqa: N818 - internal signal, never leaves the guard
    """The lock's generation changed between the guard's reads and its conditional write."""


class StateStore(PartitionStore):
    """Typed access to one model's and environment's items (``lambdas/shared/table.py`` stores the records)."""

    # ---- lock ----

    def lock(self) -> Lock:
        item = self.read(LOCK_SK)
        if item is None:
            return Lock(owner="", generation=0)
        return Lock(
            owner=text(item, "owner"),
            generation=int(item["generation"]["N"]) if "generation" in item else 0,
            run_sk=text(item, "run_sk"),
            acquired_at=text(item, "acquired_at"),
            stale_after=text(item, "stale_after"),
        )

    def start_run(self, run: Run, *, seen: Lock, now: datetime, stale_after: datetime) -> None:
        """Acquire the lock for ``run`` and record it, in one transaction.

        Conditional on the lock still being at the generation the caller read (``LockContended`` otherwise) and
        on the execution having no record yet (``LockContended`` too: the caller re-reads and finds it).
        """
        sets = "#owner = :owner, run_sk = :run_sk, acquired_at = :now, stale_after = :stale, generation = :next"
        values: dict[str, Any] = {
            ":owner": {"S": run.execution_name},
            ":run_sk": {"S": run.sort_key},
            ":now": {"S": format_time(now)},
            ":stale": {"S": format_time(stale_after)},
            ":next": {"N": str(seen.generation + 1)},
        }
        removes = "released_at, released_by"
        if seen.owner:  # a stale lock taken over
            sets += ", taken_over_from = :previous"
            values[":previous"] = {"S": seen.owner}
        else:
            removes += ", taken_over_from"
        lock_update: dict[str, Any] = {
            "TableName": self.table,
            "Key": self.key(LOCK_SK),
            "UpdateExpression": f"SET {sets} REMOVE {removes}",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": values,
        }
        if seen.generation == 0:
            lock_update["ConditionExpression"] = "attribute_not_exists(generation)"
        else:
            lock_update["ConditionExpression"] = "generation = :seen"
            lock_update["ExpressionAttributeValues"][":seen"] = {"N": str(seen.generation)}
        items = [
            {"Update": lock_update},
            {"Put": {"TableName": self.table, "Item": self.record_item(run.sort_key, run), **NEW_ITEM}},
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {**self.key(EXECUTION_PREFIX + run.execution_name), "record_sk": {"S": run.sort_key}},
                    **NEW_ITEM,
                }
            },
        ]
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            raise LockContended(run.execution_name) from None

    def release(self, owner: str, *, now: datetime) -> tuple[bool, str]:
        """Free the lock if ``owner`` holds it: ``(released, current owner)``. Never raises for "not held"."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self.key(LOCK_SK),
                UpdateExpression="REMOVE #owner, stale_after SET released_at = :now, released_by = :me",
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": owner}, ":now": {"S": format_time(now)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False, self.lock().owner
        return True, ""

    # ---- pause ----

    def paused(self) -> Pause | None:
        item = self.read(PAUSED_SK)
        if item is None:
            return None
        return Pause(paused_by=text(item, "paused_by"), reason=text(item, "reason"), paused_at=text(item, "paused_at"))

    def pause(self, *, by: str, reason: str, now: datetime) -> None:
        self.dynamodb.put_item(
            TableName=self.table,
            Item=self.record_item(PAUSED_SK, Pause(paused_by=by, reason=reason, paused_at=format_time(now))),
        )

    def resume(self) -> None:
        self.dynamodb.delete_item(TableName=self.table, Key=self.key(PAUSED_SK))

    # ---- runs and skips ----

    def last_run(self) -> Run | None:
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": self.pk}, ":prefix": {"S": RUN_PREFIX}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return decode(Run, items[0]) if items else None

    def runs_since(self, moment: datetime) -> list[Run]:
        """Runs started at or after ``moment``, oldest first."""
        runs: list[Run] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {
                ":pk": {"S": self.pk},
                ":low": {"S": RUN_PREFIX + format_time(moment)},
                ":high": {"S": RUN_PREFIX + "~"},
            },
            "ConsistentRead": True,
        }
        while True:
            response = self.dynamodb.query(**request)
            runs.extend(decode(Run, item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return runs
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def record_skip(self, skip: Skip, *, now: datetime) -> None:
        expires = {TTL_ATTRIBUTE: {"N": str(int((now + SKIP_RETENTION).timestamp()))}}
        items = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {**self.record_item(skip.sort_key, skip), **expires},
                    **NEW_ITEM,
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **self.key(EXECUTION_PREFIX + skip.execution_name),
                        "record_sk": {"S": skip.sort_key},
                        **expires,
                    },
                    **NEW_ITEM,
                }
            },
        ]
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            # A concurrent invocation for the same execution recorded it first; its record stands.

    def record_of(self, execution_name: str) -> Run | Skip | None:
        lookup = self.read(EXECUTION_PREFIX + execution_name)
        return None if lookup is None else self.record_at(text(lookup, "record_sk"))

    def record_at(self, sk: str) -> Run | Skip | None:
        """The RUN or SKIP item with this sort key."""
        if not sk.startswith((RUN_PREFIX, SKIP_PREFIX)):
            return None
        item = self.read(sk)
        if item is None:
            return None
        return decode(Run, item) if sk.startswith(RUN_PREFIX) else decode(Skip, item)

    def run_of(self, execution_name: str) -> Run | None:
        record = self.record_of(execution_name)
        return record if isinstance(record, Run) else None

    def update_record(self, record: _Record, **changes: str) -> _Record:
        """Set fields of a recorded run or skip (the item must exist); ``""`` removes the attribute."""
        self.dynamodb.update_item(**self.update_request(record, changes))
        return dataclasses.replace(record, **changes)

    def record_outcome(self, record: Run | Skip, *, outcome: str, reason: str, now: datetime) -> tuple[bool, str]:
        """Record the outcome once: ``(recorded now, the outcome that stands)``; a second call keeps the first."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self.key(record.sort_key),
                UpdateExpression="SET outcome = :o, finished_at = :now" + (", outcome_reason = :r" if reason else ""),
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(outcome)",
                ExpressionAttributeValues={
                    ":o": {"S": outcome},
                    ":now": {"S": format_time(now)},
                    **({":r": {"S": reason}} if reason else {}),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self.read(record.sort_key)
            return False, text(current, "outcome") if current else ""
        return True, outcome

    # ---- task tokens ----

    def put_token(
        self, kind: WaitKind, key: str, *, task_token: str, execution_name: str, now: datetime, ttl: timedelta
    ) -> None:
        """Store (or replace: a retried wait state has a new token) the pending token for ``key``."""
        item = {
            **self.key(_token_sk(kind, key)),
            "task_token": {"S": task_token},
            "stored_at": {"S": format_time(now)},
            TTL_ATTRIBUTE: {"N": str(int((now + ttl + TOKEN_GRACE).timestamp()))},
        }
        if execution_name:
            item["execution_name"] = {"S": execution_name}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    def token(self, kind: WaitKind, key: str) -> PendingToken | None:
        item = self.read(_token_sk(kind, key))
        if item is None:
            return None
        return PendingToken(
            kind=kind,
            key=key,
            task_token=text(item, "task_token"),
            execution_name=text(item, "execution_name"),
            stored_at=text(item, "stored_at"),
        )

    def delete_token(self, token: PendingToken) -> None:
        """Delete the token item if it still holds this token (a newer wait may have replaced it)."""
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key=self.key(_token_sk(token.kind, token.key)),
                ConditionExpression="task_token = :token",
                ExpressionAttributeValues={":token": {"S": token.task_token}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def tokens_of(self, execution_name: str) -> list[PendingToken]:
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression="execution_name = :name",
            ExpressionAttributeValues={
                ":pk": {"S": self.pk},
                ":prefix": {"S": TOKEN_PREFIX},
                ":name": {"S": execution_name},
            },
            ConsistentRead=True,
        )
        tokens = []
        for item in response.get("Items", []):
            _, kind, key = item["sk"]["S"].split("#", 2)
            tokens.append(
                PendingToken(
                    kind=WaitKind(kind),
                    key=key,
                    task_token=text(item, "task_token"),
                    execution_name=execution_name,
                    stored_at=text(item, "stored_at"),
                )
            )
        return tokens


def _token_sk(kind: WaitKind, key: str) -> str:
    return f"{TOKEN_PREFIX}{kind.value}#{key}"
