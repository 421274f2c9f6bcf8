"""The backfill command refuses what it cannot use before reaching AWS, in one line. What it writes, and how it
counts, quarantines and recognises a run, is tested against the emulated Feature Store
(tests/integration/demo/test_backfill.py)."""

from __future__ import annotations

import pytest

from tools.backfill import Source, SourceObject, main, parse_source, run_digest

ARGS = ("--env", "dev", "--model", "fraud-detection")


@pytest.mark.parametrize("uri", ["history/2024/", "s3://", "s3:///prefix", "https://bucket/prefix"])
def test_a_source_that_is_not_an_s3_uri_is_one_line(uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--source", uri]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"backfill: --source {uri!r}: expected s3://BUCKET/PREFIX"


def test_an_s3_uri_is_a_bucket_and_a_prefix() -> None:
    assert parse_source("s3://history-bucket/raw/2024/") == Source("history-bucket", "raw/2024/")
    assert parse_source("s3://history-bucket") == Source("history-bucket", "")


def test_a_run_is_named_by_its_objects() -> None:
    source = Source("b", "p/")
    objects = [SourceObject("p/a.jsonl", '"etag-a"', 10), SourceObject("p/b.jsonl", '"etag-b"', 20)]
    assert run_digest(source, objects) == run_digest(source, list(objects))
    changed = [objects[0], SourceObject("p/b.jsonl", '"etag-b2"', 20)]  # b.jsonl rewritten
    assert run_digest(source, changed) != run_digest(source, objects)
    assert run_digest(source, objects[:1]) != run_digest(source, objects)
