"""Backfill: historical raw events (JSONL files in S3) become feature records in the offline store.

    python -m tools.backfill --env prod --model fraud-detection --source s3://BUCKET/history/fraud-detection/
        [--workers 16] [--max-rejected-fraction 0.05] [--force] [--account ... --region ... --profile ...]

Why a command that calls PutRecord, and not a Processing job or writing the store's files: ADR 0021
(docs/decisions/0021-backfill-by-putrecord-from-the-operator.md); PutRecord's stores:
docs/aws-facts.md#feature-store-putrecord-target-stores.

What it does, for a model whose features are computed from raw events (the fraud example; the schema of a raw
event is in ``lambdas/shared/features.py``):

1. **reads** every object under ``--source`` (JSON lines, one raw event each, as the landing prefix takes them)
   and checks each line as ingestion does (``parse_event``). A line that is not JSON or not a valid event is a
   **reject**: counted, and written with its reason, source object and line number to
   ``s3://<landing bucket>/backfill/<model>/rejects/<run>.jsonl`` (the shape of ingestion's dead letters). More
   than ``--max-rejected-fraction`` of the lines rejected stops the run before anything is written;
2. **computes** the features with the same module as ingestion (``lambdas/shared/features.py``), over each
   customer's transactions in time order, so every record is **point-in-time correct**: its rolling windows hold
   the transactions at or before its own event time and never a later one. Events are split into shards by
   customer on local disk first (``--workdir``), so memory holds one shard, not the whole history. The same
   transaction twice (customer, event time and transaction id) is counted once as a duplicate, as ingestion does;
3. **writes** each record with PutRecord to the model's feature groups with ``TargetStores=["OfflineStore"]``:
   history belongs in the offline store the pipeline's dataset step reads; the online store keeps serving the
   live ingestion's latest values. Throttling is retried by botocore's adaptive retry mode. A record the
   Feature Store refuses is a reject like the others;
4. **records the run**: ``s3://<landing bucket>/backfill/<model>/runs/<run>.json`` holds the counts. ``<run>`` is a
   digest of the source objects (key, ETag, size): the same sources again are recognised and nothing is written
   twice (``--force`` writes them again).

Idempotent: beyond the run record, a record written twice has the same customer, event time and values, and the
dataset step's point-in-time join ranks a feature group's rows by event time, then write time, and takes one,
so a repeated backfill (``--force``, or sources that overlap) cannot change a training dataset. Added history
(an older file) changes the windows of later events: the rewritten records are written later, so they are the
ones the join takes.

Not done here: the live ingestion's history table (its rolling windows over the last 30 days) is not seeded,
so for 30 days after go-live the live records' windows hold only what was ingested live (ADR 0021).

The source must not be under the landing prefix (``landing/<model>/`` of the landing bucket): files there are
ingested by the live ingestion function too. IAM the operator needs: ``s3:ListBucket`` and ``s3:GetObject`` on
the source, ``s3:GetObject`` and ``s3:PutObject`` under ``backfill/<model>/`` of the landing bucket (and
``kms:Encrypt``/``kms:Decrypt``/``kms:GenerateDataKey`` on the platform key), ``sagemaker:PutRecord`` on the
model's feature groups, ``sts:GetCallerIdentity``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from config import ENVIRONMENTS, MODELS, ModelDeployment
from config.naming import bucket_name
from lambdas.ingestion.logic import DeadLetter
from lambdas.shared.features import (
    FeatureInputError,
    MalformedEvent,
    TransactionEvent,
    batch_feature_records,
    parse_event,
    to_put_record,
)
from tools.aws_access import (
    add_account_arguments,
    check_account,
    one_line_aws_errors,
    resolve_environment,
    session_for,
)

OFFLINE_ONLY = ["OfflineStore"]
DEFAULT_MAX_REJECTED_FRACTION = 0.05
DEFAULT_WORKERS = 16
SHARD_BYTES = 128 * 1024 * 1024  # raw bytes per shard: memory holds one shard's events
CHUNK = 2_000  # records handed to the writers at a time


class BackfillError(RuntimeError):
    """The backfill cannot run or must stop; the message says why (nothing is lost: see the rejects)."""


@dataclass(frozen=True)
class Source:
    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class SourceObject:
    key: str
    etag: str
    size: int


@dataclass
class BackfillReport:
    run: str
    source: str
    objects: int = 0
    lines: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: int = 0
    records_written: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    rejects_uri: str | None = None
    run_uri: str = ""
    already_done: bool = False

    @property
    def balanced(self) -> bool:
        """Every line is accounted for exactly once: an event written, a duplicate, or a reject."""
        return self.lines == self.events + self.duplicates + self.rejected


@dataclass(frozen=True)
class _Reject:
    source: str
    dead: DeadLetter


@dataclass(frozen=True)
class _Line:
    source: str
    line: int
    raw: str
    event: TransactionEvent


def parse_source(uri: str) -> Source:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise BackfillError(f"--source {uri!r}: expected s3://BUCKET/PREFIX")
    return Source(bucket=bucket, prefix=prefix)


def landing_prefix(deployment: ModelDeployment) -> str:
    """The live ingestion's prefix (mlops_constructs.feature_ingestion; a test keeps the two equal)."""
    return f"landing/{deployment.spec.name}/"


def backfill_prefix(deployment: ModelDeployment) -> str:
    return f"backfill/{deployment.spec.name}"


def list_objects(s3: Any, source: Source) -> list[SourceObject]:
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=source.prefix):
        for item in page.get("Contents", []):
            if not str(item["Key"]).endswith("/"):
                objects.append(SourceObject(str(item["Key"]), str(item.get("ETag", "")), int(item.get("Size", 0))))
    return sorted(objects, key=lambda o: o.key)


def run_digest(source: Source, objects: Sequence[SourceObject]) -> str:
    """The run's name: the same objects (key, ETag, size) give the same name."""
    text = json.dumps([source.bucket, *[(o.key, o.etag, o.size) for o in objects]])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def backfill(
    deployment: ModelDeployment,
    *,
    source: Source,
    s3: Any,
    featurestore: Any,
    workdir: Path,
    workers: int = DEFAULT_WORKERS,
    max_rejected_fraction: float = DEFAULT_MAX_REJECTED_FRACTION,
    force: bool = False,
    shard_bytes: int = SHARD_BYTES,
    progress: Callable[[str], None] = lambda _: None,
) -> BackfillReport:
    """Backfill the model's feature groups from ``source`` (steps in the module docstring)."""
    spec = deployment.spec
    if not spec.raw_event_ingestion:
        raise BackfillError(
            f"{spec.name}'s features are not computed from raw events: load its feature records with "
            "`python -m pipeline_defs.user_data` or PutRecord them directly"
        )
    landing = bucket_name(deployment.env, "Landing")
    if source.bucket == landing and source.prefix.startswith(landing_prefix(deployment)):
        raise BackfillError(
            f"{source.uri} is under the live ingestion's prefix s3://{landing}/{landing_prefix(deployment)}: files "
            f"there are ingested as they land; put the history elsewhere (e.g. s3://{landing}/history/{spec.name}/)"
        )
    objects = list_objects(s3, source)
    if not objects:
        raise BackfillError(f"no objects under {source.uri}")
    run = run_digest(source, objects)
    base = backfill_prefix(deployment)
    report = BackfillReport(
        run=run, source=source.uri, objects=len(objects), run_uri=f"s3://{landing}/{base}/runs/{run}.json"
    )
    if not force:
        done = _previous_run(s3, landing, f"{base}/runs/{run}.json")
        if done is not None:
            done["already_done"] = True
            return BackfillReport(**{k: v for k, v in done.items() if k in BackfillReport.__dataclass_fields__})
    shards = max(1, -(-sum(o.size for o in objects) // shard_bytes))
    rejects: list[_Reject] = []
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        paths = [Path(scratch) / f"shard-{index:05d}.jsonl" for index in range(shards)]
        _split(s3, source=source, objects=objects, paths=paths, report=report, rejects=rejects, progress=progress)
        if report.lines and report.rejected / report.lines > max_rejected_fraction:
            _write_rejects(s3, landing, f"{base}/rejects/{run}.jsonl", rejects, report)
            raise BackfillError(
                f"{report.rejected} of {report.lines} lines rejected ({report.rejected / report.lines:.1%} > "
                f"{max_rejected_fraction:.1%}): nothing was written; see {report.rejects_uri}"
            )
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for index, path in enumerate(paths):
                _write_shard(
                    deployment, path=path, featurestore=featurestore, pool=pool, report=report, rejects=rejects
                )
                progress(f"shard {index + 1}/{shards}: {report.records_written} records written")
    _write_rejects(s3, landing, f"{base}/rejects/{run}.jsonl", rejects, report)
    body = json.dumps(asdict(report), indent=2, sort_keys=True).encode()
    s3.put_object(Bucket=landing, Key=f"{base}/runs/{run}.json", Body=body, ContentType="application/json")
    return report


def _previous_run(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    recorded: dict[str, Any] = json.loads(body)
    return recorded


def _lines(s3: Any, bucket: str, key: str) -> Iterator[tuple[int, str]]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for number, line in enumerate(body.iter_lines(), start=1):
        yield number, line.decode("utf-8", errors="replace")


def _split(
    s3: Any,
    *,
    source: Source,
    objects: Sequence[SourceObject],
    paths: Sequence[Path],
    report: BackfillReport,
    rejects: list[_Reject],
    progress: Callable[[str], None],
) -> None:
    """Check every line; write the valid ones to the shard of their customer."""
    handles = [path.open("w", encoding="utf-8") for path in paths]
    try:
        for item in objects:
            where = f"s3://{source.bucket}/{item.key}"
            for number, raw in _lines(s3, source.bucket, item.key):
                if not raw.strip():
                    continue
                report.lines += 1
                try:
                    payload = json.loads(raw)
                    if not isinstance(payload, dict):
                        raise MalformedEvent("event", "must be a JSON object")
                    event = parse_event(payload)
                except json.JSONDecodeError as error:
                    rejects.append(_Reject(where, DeadLetter(f"invalid JSON: {error.msg}", number, raw)))
                    report.rejected += 1
                    continue
                except MalformedEvent as error:
                    rejects.append(_Reject(where, DeadLetter(str(error), number, raw)))
                    report.rejected += 1
                    continue
                shard = zlib.crc32(event.customer_id.encode()) % len(handles)
                handles[shard].write(json.dumps({"source": where, "line": number, "raw": raw}) + "\n")
            progress(f"read {where}")
    finally:
        for handle in handles:
            handle.close()


def _write_shard(
    deployment: ModelDeployment,
    *,
    path: Path,
    featurestore: Any,
    pool: ThreadPoolExecutor,
    report: BackfillReport,
    rejects: list[_Reject],
) -> None:
    """One shard's customers: their records in time order, written by the pool."""
    lines: dict[tuple[str, object], _Line] = {}
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            entry = json.loads(text)
            event = parse_event(json.loads(entry["raw"]))
            key = (event.customer_id, event.order_key)
            if key in lines:
                report.duplicates += 1
                continue
            lines[key] = _Line(entry["source"], entry["line"], entry["raw"], event)
    pending: list[tuple[_Line, list[tuple[str, list[dict[str, str]]]]]] = []
    for event, records in batch_feature_records(line.event for line in lines.values()):
        line = lines[(event.customer_id, event.order_key)]
        try:
            puts = [
                (deployment.feature_group_name(group), to_put_record(record))
                for group, record in records.by_group().items()
            ]
        except FeatureInputError as error:
            rejects.append(_Reject(line.source, DeadLetter(f"invalid feature: {error}", line.line, line.raw)))
            report.rejected += 1
            continue
        pending.append((line, puts))
        if len(pending) >= CHUNK:
            _flush(featurestore, pool, pending, report, rejects)
    _flush(featurestore, pool, pending, report, rejects)


def _flush(
    featurestore: Any,
    pool: ThreadPoolExecutor,
    pending: list[tuple[_Line, list[tuple[str, list[dict[str, str]]]]]],
    report: BackfillReport,
    rejects: list[_Reject],
) -> None:
    def write(item: tuple[_Line, list[tuple[str, list[dict[str, str]]]]]) -> str | None:
        for group, record in item[1]:
            try:
                featurestore.put_record(FeatureGroupName=group, Record=record, TargetStores=OFFLINE_ONLY)
            except ClientError as error:
                detail = error.response.get("Error", {})
                return f"PutRecord to {group} rejected: {detail.get('Code', '')}: {detail.get('Message', '')}"
        return None

    for (line, puts), failure in zip(pending, pool.map(write, pending), strict=True):
        if failure is None:
            report.events += 1
            report.records_written += len(puts)
        else:
            rejects.append(_Reject(line.source, DeadLetter(failure, line.line, line.raw)))
            report.rejected += 1
    pending.clear()


def _write_rejects(s3: Any, bucket: str, key: str, rejects: list[_Reject], report: BackfillReport) -> None:
    report.reject_reasons = dict(Counter(r.dead.reason.split(":")[0] for r in rejects))
    if not rejects:
        return
    ordered = sorted(rejects, key=lambda r: (r.source, r.dead.line))
    body = "".join(r.dead.to_json(r.source) + "\n" for r in ordered)
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson")
    report.rejects_uri = f"s3://{bucket}/{key}"


def featurestore_client(session: Any, *, workers: int) -> Any:
    """Feature Store runtime with botocore's adaptive retries (backoff, jitter and client-side rate limiting
    on throttling; docs/aws-facts.md#boto3-retry-modes) and a connection per writer."""
    config = Config(retries={"mode": "adaptive", "max_attempts": 10}, max_pool_connections=max(10, workers))
    return session.client("sagemaker-featurestore-runtime", config=config)


def main(argv: Sequence[str] | None = None) -> int:
    return one_line_aws_errors("backfill", lambda: _main(argv), errors=(BackfillError,))


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.backfill", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", required=True, choices=[e.name for e in ENVIRONMENTS])
    parser.add_argument("--model", required=True, choices=[m.name for m in MODELS])
    parser.add_argument("--source", required=True, metavar="s3://BUCKET/PREFIX", help="the raw-event files")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help=f"parallel writers ({DEFAULT_WORKERS})")
    parser.add_argument(
        "--max-rejected-fraction",
        type=float,
        default=DEFAULT_MAX_REJECTED_FRACTION,
        help=f"stop before writing if more lines are rejected ({DEFAULT_MAX_REJECTED_FRACTION})",
    )
    parser.add_argument("--force", action="store_true", help="write again sources a recorded run covered")
    parser.add_argument("--workdir", type=Path, default=None, help="local scratch for the shards (default: temp)")
    add_account_arguments(parser)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    source = parse_source(args.source)
    env = resolve_environment(args.env, account=args.account, region=args.region, environ=os.environ)
    deployment = ModelDeployment(spec=next(m for m in MODELS if m.name == args.model), env=env)
    session = session_for(env.region, profile=args.profile)
    check_account(session.client("sts"), env)
    report = backfill(
        deployment,
        source=source,
        s3=session.client("s3"),
        featurestore=featurestore_client(session, workers=args.workers),
        workdir=args.workdir or Path(tempfile.gettempdir()),
        workers=args.workers,
        max_rejected_fraction=args.max_rejected_fraction,
        force=args.force,
        progress=lambda message: print(message, file=sys.stderr, flush=True),
    )
    if report.already_done:
        print(f"{source.uri} was already backfilled ({report.run_uri}); pass --force to write it again")
        return 0
    print(
        f"{report.events} events -> {report.records_written} records in the offline store; "
        f"{report.duplicates} duplicates, {report.rejected} rejected"
        + (f" ({report.rejects_uri})" if report.rejects_uri else "")
        + f"; run recorded at {report.run_uri}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
