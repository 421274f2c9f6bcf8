"""The backfill into the feature groups created from the SYNTHESIZED dev templates (the emulated Feature Store
validates every record against its group's definitions and writes the offline store in Feature Store's layout).

The raw events are the local run's (``sample-data/raw/events.jsonl``), whose feature rows the local run computed
with the same feature module in one batch: the backfilled offline store must hold exactly those rows, whatever the
order of the files. The end-to-end check (backfill twice, then the deployed pipeline's first model on it, its
dataset equal to the local run's) is in test_first_model.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from config import DEV, FRAUD_DETECTION, ModelDeployment
from config.naming import bucket_name
from tests.integration.demo.conftest import LOOPBACK_ONLY
from tests.integration.demo.support import World
from tests.support.specs import CHURN
from tools.backfill import BackfillError, Source, backfill, landing_prefix
from tools.demo.emulators import feature_store
from tools.demo.emulators.runtime import Aws

pytestmark = LOOPBACK_ONLY
DEPLOYMENT = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
GROUPS = {"transaction": "fraud-detection-dev-transaction", "customer-spend": "fraud-detection-dev-customer-spend"}
SYSTEM = ("api_invocation_time", "write_time", "is_deleted")


class EmulatedFeatureStore:
    """The Feature Store runtime client, answered by the emulator (a refused record is PutRecord's ClientError)."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws
        self.requests: list[dict[str, Any]] = []

    def put_record(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        try:
            return feature_store.put_record(self._aws, **request)
        except feature_store.ValidationError as error:
            raise ClientError({"Error": {"Code": "ValidationError", "Message": str(error)}}, "PutRecord") from None


def history_source(world: World, local: Path, *, extra_lines: tuple[str, ...] = ()) -> Source:
    """The local run's raw events in two files, the LATER half first, plus ``extra_lines`` in a third."""
    lines = (local / "sample-data" / "raw" / "events.jsonl").read_text().splitlines()
    half = len(lines) // 2
    landing = bucket_name(DEV, "Landing")
    prefix = "history/fraud-detection/"
    s3 = world.aws.client("s3")
    s3.put_object(Bucket=landing, Key=f"{prefix}2024-a.jsonl", Body="\n".join(lines[half:]).encode())
    s3.put_object(Bucket=landing, Key=f"{prefix}2024-b.jsonl", Body="\n".join(lines[:half]).encode())
    if extra_lines:
        s3.put_object(Bucket=landing, Key=f"{prefix}2024-c.jsonl", Body="\n".join(extra_lines).encode())
    return Source(bucket=landing, prefix=prefix)


def run(world: World, source: Source, tmp_path: Path, store: EmulatedFeatureStore, **options: Any) -> Any:
    return backfill(
        DEPLOYMENT,
        source=source,
        s3=world.aws.client("s3"),
        featurestore=store,
        workdir=tmp_path,
        workers=4,
        **options,
    )


def offline_rows(world: World, group: str) -> list[dict[str, Any]]:
    """Every row of the group's offline store, as the emulator flushed it (Parquet under ``data/``)."""
    location = feature_store.offline_location(world.aws, GROUPS[group])
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    s3 = world.aws.client("s3")
    rows: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/data/"):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            rows += pq.read_table(io.BytesIO(body)).to_pylist()
    return rows


def features(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(sorted((k, v) for k, v in row.items() if k not in SYSTEM)) for row in rows)


@pytest.fixture
def store(world: World) -> EmulatedFeatureStore:
    return EmulatedFeatureStore(world.aws)


def test_the_offline_store_holds_the_feature_modules_point_in_time_records(
    world: World, local: Path, tmp_path: Path, store: EmulatedFeatureStore
) -> None:
    report = run(world, history_source(world, local), tmp_path, store, shard_bytes=64 * 1024)

    events = len((local / "sample-data" / "raw" / "events.jsonl").read_text().splitlines())
    assert (report.lines, report.events, report.duplicates, report.rejected) == (events, events, 0, 0)
    assert report.balanced
    assert report.records_written == 2 * events == len(store.requests)
    assert {tuple(r["TargetStores"]) for r in store.requests} == {("OfflineStore",)}  # history: offline only
    for group, name in GROUPS.items():
        assert feature_store.flush_offline(world.aws, name)
        local_rows = pq.read_table(local / "sample-data" / "feature_groups" / group).to_pylist()
        # Rolling windows over each customer's whole history, across files and shards: the local batch's rows.
        assert features(offline_rows(world, group)) == features(local_rows), group


def test_the_same_sources_again_write_nothing_and_force_writes_them_again(
    world: World, local: Path, tmp_path: Path, store: EmulatedFeatureStore
) -> None:
    source = history_source(world, local)
    first = run(world, source, tmp_path, store)
    written = len(store.requests)

    again = run(world, source, tmp_path, store)

    assert again.already_done
    assert (again.run, again.events, again.records_written) == (first.run, first.events, first.records_written)
    assert len(store.requests) == written
    forced = run(world, source, tmp_path, store, force=True)
    assert (forced.already_done, forced.records_written, len(store.requests)) == (False, written, 2 * written)


def test_bad_lines_are_counted_and_quarantined_with_their_reason_and_line(
    world: World, local: Path, tmp_path: Path, store: EmulatedFeatureStore
) -> None:
    first_event = (local / "sample-data" / "raw" / "events.jsonl").read_text().splitlines()[0]
    no_amount = {k: v for k, v in json.loads(first_event).items() if k != "amount"}
    bad = ("{not json", json.dumps(no_amount), first_event, "[1, 2]")
    report = run(world, history_source(world, local, extra_lines=bad), tmp_path, store)

    assert (report.rejected, report.duplicates) == (3, 1)
    assert report.balanced
    assert report.reject_reasons == {"invalid JSON": 1, "malformed event": 2}
    bucket, _, key = str(report.rejects_uri).removeprefix("s3://").partition("/")
    assert key == f"backfill/fraud-detection/rejects/{report.run}.jsonl"
    quarantined = [
        json.loads(line)
        for line in world.aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    ]
    source = f"s3://{bucket}/history/fraud-detection/2024-c.jsonl"
    assert [(q["source"], q["line"], q["reason"].split(":")[0]) for q in quarantined] == [
        (source, 1, "invalid JSON"),
        (source, 2, "malformed event"),
        (source, 4, "malformed event"),
    ]
    assert "amount: missing" in quarantined[1]["reason"]
    assert quarantined[1]["raw"] == json.dumps(no_amount)


def test_too_many_rejects_stop_before_anything_is_written(
    world: World, local: Path, tmp_path: Path, store: EmulatedFeatureStore
) -> None:
    landing = bucket_name(DEV, "Landing")
    world.aws.client("s3").put_object(Bucket=landing, Key="history/bad/a.jsonl", Body=b"{}\nnot json\n")

    with pytest.raises(BackfillError, match=r"2 of 2 lines rejected \(100.0% > 5.0%\): nothing was written; see s3://"):
        run(world, Source(landing, "history/bad/"), tmp_path, store)
    assert store.requests == []


def test_refusals_name_the_problem(world: World, local: Path, tmp_path: Path, store: EmulatedFeatureStore) -> None:
    landing = bucket_name(DEV, "Landing")
    live = Source(landing, landing_prefix(DEPLOYMENT) + "2024/")
    with pytest.raises(BackfillError, match=r"under the live ingestion's prefix .*/landing/fraud-detection/"):
        run(world, live, tmp_path, store)
    with pytest.raises(BackfillError, match=r"no objects under s3://.*/history/none/"):
        run(world, Source(landing, "history/none/"), tmp_path, store)
    with pytest.raises(BackfillError, match=r"churn's features are not computed from raw events"):
        backfill(
            ModelDeployment(spec=CHURN, env=DEV),
            source=history_source(world, local),
            s3=world.aws.client("s3"),
            featurestore=store,
            workdir=tmp_path,
        )
    assert store.requests == []


def test_the_live_ingestion_reads_the_prefix_the_backfill_keeps_out_of(world: World) -> None:
    """The ingestion function of the synthesized training stack reads raw files under ``landing_prefix``."""
    reads = [
        statement["Resource"]
        for _, policy in world.resources(("dev", "fraud-detection-training"), "AWS::IAM::Policy")
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Action"] == "s3:GetObject"
    ]
    assert f"{bucket_name(DEV, 'Landing')}/{landing_prefix(DEPLOYMENT)}*" in json.dumps(reads)
