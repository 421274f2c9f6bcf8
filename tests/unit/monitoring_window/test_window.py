"""Listing a window's capture objects into a ManifestFile, and the CaptureObjects metric, through moto."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from lambdas.monitoring.capture_window import LIST_PAGE_SIZE, CaptureWindow, PreparedWindow, prepare_window
from lambdas.monitoring.settings import S3Location, WindowSettings
from tests.unit.monitoring_window.conftest import (
    CAPTURE_BUCKET,
    CAPTURE_PREFIX,
    ENDPOINT,
    NOW,
    REPORTS_BUCKET,
    REPORTS_PREFIX,
    ROOT,
    SETTINGS,
    START,
    WINDOW,
    World,
    relative,
)

MANIFEST_KEY = f"{REPORTS_PREFIX}/2026/03/02/11/manifest.json"
HOUR = timedelta(hours=1)


def run(
    world: World,
    window: CaptureWindow = WINDOW,
    *,
    settings: WindowSettings = SETTINGS,
    now: datetime = NOW,
    page_size: int = LIST_PAGE_SIZE,
) -> PreparedWindow:
    return prepare_window(
        s3=world.s3, cloudwatch=world.cloudwatch, settings=settings, window=window, now=now, page_size=page_size
    )


def test_the_manifest_lists_exactly_the_window_objects_of_every_variant(world: World) -> None:
    inside = sorted(
        [
            world.put_capture("AllTraffic", START, "a.jsonl"),
            world.put_capture("AllTraffic", START, "b.jsonl"),
            world.put_capture("Shadow", START, "c.jsonl"),
        ]
    )
    for variant in ("AllTraffic", "Shadow"):
        world.put_capture(variant, START - HOUR, "before.jsonl")  # the hour before the window
        world.put_capture(variant, START + HOUR, "after.jsonl")  # the hour after it
    world.put_capture("Retired", START - timedelta(days=3))  # a variant with nothing in the window
    world.s3.put_object(Bucket=CAPTURE_BUCKET, Key=f"{ROOT}AllTraffic/2026/03/02/11/", Body=b"")  # folder marker
    world.s3.put_object(Bucket=CAPTURE_BUCKET, Key=f"{CAPTURE_PREFIX}/other-endpoint/AllTraffic/2026/03/02/11/x")

    result = run(world)

    assert world.manifest() == [{"prefix": f"s3://{CAPTURE_BUCKET}/{CAPTURE_PREFIX}/{ENDPOINT}/"}, *inside]
    assert result.to_dict() == {
        "window_id": "20260302T11",
        "window_start": "2026-03-02T11:00:00Z",
        "window_end": "2026-03-02T12:00:00Z",
        "manifest_uri": f"s3://{REPORTS_BUCKET}/{MANIFEST_KEY}",
        "object_count": 3,
        "variants": ["AllTraffic", "Shadow"],
        "output_prefix": f"s3://{REPORTS_BUCKET}/{REPORTS_PREFIX}/2026/03/02/11",
        "job_name_suffix": result.job_name_suffix,
    }
    assert world.capture_objects(WINDOW.end) == {"SampleCount": 1.0, "Minimum": 3.0, "Maximum": 3.0}


def test_manifest_entries_resolve_to_the_captured_objects(world: World) -> None:
    world.put_capture("AllTraffic", START, "a.jsonl")
    world.put_capture("Shadow", START, "b.jsonl")
    run(world)

    prefix, *keys = world.manifest()
    assert set(prefix) == {"prefix"}
    assert prefix["prefix"].startswith("s3://")
    assert prefix["prefix"].endswith("/")
    bucket, _, key_prefix = prefix["prefix"][len("s3://") :].partition("/")
    assert all(isinstance(key, str) and not key.startswith("/") for key in keys)
    for key in keys:  # the prefix plus each entry is an existing object
        world.s3.head_object(Bucket=bucket, Key=key_prefix + key)
    head = world.s3.head_object(Bucket=REPORTS_BUCKET, Key=MANIFEST_KEY)
    assert head["ContentType"] == "application/json"


def test_a_multi_hour_window_lists_each_hour_and_nothing_around_it(world: World) -> None:
    window = CaptureWindow(START - 2 * HOUR, START + HOUR)  # 09:00 - 12:00
    expected = [world.put_capture("AllTraffic", START - h * HOUR, f"{h}.jsonl") for h in (2, 1, 0)]
    world.put_capture("AllTraffic", START - 3 * HOUR)
    world.put_capture("AllTraffic", START + HOUR)

    result = run(world, window, settings=replace(SETTINGS, window_hours=3))

    assert world.manifest(window)[1:] == expected
    assert (result.object_count, result.to_dict()["window_id"]) == (3, "20260302T09")
    assert result.manifest_uri == f"s3://{REPORTS_BUCKET}/{REPORTS_PREFIX}/2026/03/02/09/manifest.json"


def test_listings_are_paginated(world: World) -> None:
    # More objects than one page holds, and more variants too: with page_size=4 the 10 objects of one
    # variant-hour take 3 ListObjectsV2 pages (as 1001+ objects would with the real 1000-key pages).
    variants = ["A", "B", "C", "D", "E"]
    expected = [world.put_capture(v, START, f"part-{n:02d}.jsonl") for v in variants for n in range(10)]

    result = run(world, page_size=4)

    assert result.object_count == 50
    assert world.manifest()[1:] == expected
    assert list(result.variants) == variants
    discovery = [c for c in world.list_calls if c.get("Delimiter") == "/"]
    listing = [c for c in world.list_calls if "Delimiter" not in c]
    assert len(discovery) == 2  # 5 variant prefixes in pages of 4
    assert len(listing) == 5 * 3
    assert all(c["MaxKeys"] == 4 for c in world.list_calls)


def test_the_default_page_size_is_the_s3_maximum(world: World) -> None:
    world.put_capture("AllTraffic", START)
    run(world)
    assert {c["MaxKeys"] for c in world.list_calls} == {1000}


def test_an_empty_window_writes_no_manifest_but_publishes_zero(world: World) -> None:
    world.put_capture("AllTraffic", START - HOUR)  # the endpoint captured, just not in this window

    result = run(world)

    assert result.to_dict() | {"job_name_suffix": None} == {
        "window_id": "20260302T11",
        "window_start": "2026-03-02T11:00:00Z",
        "window_end": "2026-03-02T12:00:00Z",
        "manifest_uri": None,
        "object_count": 0,
        "variants": [],
        "output_prefix": f"s3://{REPORTS_BUCKET}/{REPORTS_PREFIX}/2026/03/02/11",
        "job_name_suffix": None,
    }
    assert not world.exists(REPORTS_BUCKET, MANIFEST_KEY)
    assert world.capture_objects(WINDOW.end) == {"SampleCount": 1.0, "Minimum": 0.0, "Maximum": 0.0}


def test_an_endpoint_that_never_captured_is_an_empty_window(world: World) -> None:
    result = run(world)
    assert (result.object_count, result.manifest_uri, result.variants) == (0, None, ())
    assert world.capture_objects(WINDOW.end) == {"SampleCount": 1.0, "Minimum": 0.0, "Maximum": 0.0}


def test_a_rerun_gives_the_same_result_and_manifest_bytes(world: World) -> None:
    for variant in ("Shadow", "AllTraffic"):
        for n in range(3):
            world.put_capture(variant, START, f"{n}.jsonl")

    first = run(world)
    first_bytes = world.read(REPORTS_BUCKET, MANIFEST_KEY)
    second = run(world)

    assert second == first
    assert world.read(REPORTS_BUCKET, MANIFEST_KEY) == first_bytes
    keys = json.loads(first_bytes)[1:]
    assert keys == sorted(keys)


def test_a_rerun_overwrites_the_manifest_and_an_empty_rerun_removes_it(world: World) -> None:
    world.put_capture("AllTraffic", START, "a.jsonl")
    run(world)
    late = world.put_capture("AllTraffic", START, "late.jsonl")

    assert run(world).object_count == 2
    assert world.manifest()[1:] == [relative("AllTraffic", START, "a.jsonl"), late]

    world.s3.delete_objects(
        Bucket=CAPTURE_BUCKET,
        Delete={"Objects": [{"Key": ROOT + k} for k in (relative("AllTraffic", START, "a.jsonl"), late)]},
    )
    assert run(world).manifest_uri is None
    assert not world.exists(REPORTS_BUCKET, MANIFEST_KEY)


def test_the_metric_goes_to_the_configured_namespace(world: World) -> None:
    world.put_capture("AllTraffic", START)
    run(world, settings=replace(SETTINGS, metrics_namespace="MLOps/Drift"))
    [metric] = world.cloudwatch.list_metrics(Namespace="MLOps/Drift")["Metrics"]
    assert metric["MetricName"] == "CaptureObjects"
    assert sorted((d["Name"], d["Value"]) for d in metric["Dimensions"]) == [
        ("Environment", "dev"),
        ("Model", "fraud-detection"),
    ]
    assert world.cloudwatch.list_metrics(Namespace="MLOps/DataQuality")["Metrics"] == []


def test_a_recent_backfill_is_timestamped_at_its_window_end(world: World) -> None:
    window = CaptureWindow(START - timedelta(days=5), START - timedelta(days=5) + HOUR)
    world.put_capture("AllTraffic", window.start)
    assert run(world, window).object_count == 1
    assert world.capture_objects(window.end) == {"SampleCount": 1.0, "Minimum": 1.0, "Maximum": 1.0}
    assert world.capture_objects(WINDOW.end) is None  # nothing lands in the present


def test_a_backfill_older_than_cloudwatch_accepts_lists_but_sends_no_metric(world: World) -> None:
    window = CaptureWindow(START - timedelta(days=30), START - timedelta(days=30) + HOUR)
    world.put_capture("AllTraffic", window.start)

    result = run(world, window)

    assert (result.object_count, result.metric_published) == (1, False)
    assert world.cloudwatch.list_metrics(Namespace="MLOps/DataQuality")["Metrics"] == []


def test_captures_at_the_bucket_root_use_a_bucket_only_prefix(world: World) -> None:
    settings = replace(SETTINGS, data_capture=S3Location(CAPTURE_BUCKET, ""))
    key = f"{ENDPOINT}/AllTraffic/2026/03/02/11/a.jsonl"
    world.s3.put_object(Bucket=CAPTURE_BUCKET, Key=key, Body=b"{}\n")

    run(world, settings=settings)

    assert world.manifest() == [
        {"prefix": f"s3://{CAPTURE_BUCKET}/{ENDPOINT}/"},
        "AllTraffic/2026/03/02/11/a.jsonl",
    ]
