"""The dataset step's Athena engine: the same point-in-time query, run through the Athena API.

Athena is a botocore Stubber on a real athena client (StartQueryExecution / GetQueryExecution as the API
shapes them); the query's CSV result sits in moto S3. The CSV is what Athena would write for the query: the
exact Athena SQL text, run by DuckDB over the same parquet files under the Glue table names (with
``from_iso8601_timestamp`` defined as DuckDB's parser). So "Athena path == DuckDB path" below proves that the
Athena text selects the same rows and that reading, typing, checking and writing its CSV result loses nothing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.endpoint
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws

from lambdas.shared.features import CUSTOMER_SPEND_GROUP, TRANSACTION_GROUP
from pipeline_defs.scripts import dataset
from pipeline_defs.scripts.common import StepInputError
from pipeline_defs.scripts.dataset import (
    ATHENA_POLL_MAX_SECONDS,
    AthenaQueryError,
    AthenaTarget,
    Clock,
    TimeWindow,
    athena_sql,
    build_dataset,
    build_dataset_athena,
    client_request_token,
    read_athena_result,
    result_types,
    run_athena_query,
)
from pipeline_defs.scripts.spec import StepSpec
from tests.unit.pipeline_scripts.conftest import SPEC, aware, label_row, store_row

TXN, SPEND = TRANSACTION_GROUP, CUSTOMER_SPEND_GROUP
REGION = "us-east-1"
RESULTS_BUCKET = "mlops-artifacts-111111111111"
DATABASE = "mlops_dev_feature_store"
TABLES = {TXN: "fraud_detection_dev_transaction", SPEND: "fraud_detection_dev_customer_spend"}
LABELS_TABLE = "fraud_detection_dev_labels"
TARGET = AthenaTarget(
    database=DATABASE,
    workgroup="mlops-dev",
    labels_table=LABELS_TABLE,
    feature_tables=TABLES,
    request_scope="execution-1",
)
NOW = aware("2026-03-01 12:00:00")
ID_COLUMNS = ["transaction_id"]


# ---- what Athena would return ----


def athena_csv(store: Path, sql: str) -> bytes:
    """Athena's CSV result of ``sql`` over ``store``: DuckDB runs the Athena text over the Glue table names.

    Athena's format: a header, every value double-quoted (quotes doubled), NULL an empty unquoted field,
    booleans ``true``/``false``.
    """
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)")
    con.execute(f"CREATE SCHEMA {DATABASE}")
    sources = {LABELS_TABLE: store / "labels"} | {TABLES[g]: store / "feature_groups" / g for g in TABLES}
    for table, directory in sources.items():
        con.execute(
            f"CREATE VIEW {DATABASE}.{table} AS SELECT * FROM "
            f"read_parquet('{directory}/**/*.parquet', union_by_name = true, hive_partitioning = false)"
        )
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]

    def cell(value: Any) -> str:
        if value is None:
            return ""
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return '"' + text.replace('"', '""') + '"'

    lines = [",".join(cell(name) for name in names)]
    lines += [",".join(cell(value) for value in row) for row in cursor.fetchall()]
    return ("\n".join(lines) + "\n").encode("utf-8")


class FakeClock:
    """Monotonic time that only sleeping advances; ``now`` is fixed."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds

    def clock(self) -> Clock:
        return Clock(sleep=self.sleep, monotonic=lambda: self.elapsed, now=lambda: NOW)


@dataclass
class Aws:
    athena: Any
    s3: Any
    stubber: Stubber
    time: FakeClock = field(default_factory=FakeClock)

    def result(self, query_id: str, body: bytes) -> str:
        key = f"athena-results/{query_id}.csv"
        self.s3.put_object(Bucket=RESULTS_BUCKET, Key=key, Body=body)
        return f"s3://{RESULTS_BUCKET}/{key}"

    def expect_start(self, sql: str, query_id: str, *, target: AthenaTarget = TARGET, attempt: int = 0) -> None:
        token = client_request_token(
            sql, database=target.database, workgroup=target.workgroup, scope=target.request_scope, attempt=attempt
        )
        self.stubber.add_response(
            "start_query_execution",
            {"QueryExecutionId": query_id},
            {
                "QueryString": sql,
                "ClientRequestToken": token,
                "QueryExecutionContext": {"Database": target.database},
                "WorkGroup": target.workgroup,
            },
        )

    def expect_state(
        self,
        query_id: str,
        state: str,
        *,
        location: str = "",
        reason: str = "",
        submitted: datetime = NOW,
        scanned: int = 0,
    ) -> None:
        status: dict[str, Any] = {"State": state, "SubmissionDateTime": submitted}
        if reason:
            status["StateChangeReason"] = reason
        execution: dict[str, Any] = {
            "QueryExecutionId": query_id,
            "Status": status,
            "Statistics": {"DataScannedInBytes": scanned, "EngineExecutionTimeInMillis": 1234},
        }
        if location:
            execution["ResultConfiguration"] = {"OutputLocation": location}
        self.stubber.add_response("get_query_execution", {"QueryExecution": execution}, {"QueryExecutionId": query_id})

    def expect_success(self, sql: str, query_id: str, body: bytes, **start: Any) -> None:
        self.expect_start(sql, query_id, **start)
        self.expect_state(query_id, "RUNNING")
        self.expect_state(query_id, "SUCCEEDED", location=self.result(query_id, body), scanned=52_428_800)

    def build(self, spec: StepSpec, out: Path, *, target: AthenaTarget = TARGET, **kwargs: Any) -> dict[str, Any]:
        return build_dataset_athena(
            spec,
            athena=self.athena,
            s3=self.s3,
            target=target,
            output_dir=out,
            clock=self.time.clock(),
            **kwargs,
        )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=RESULTS_BUCKET)
        athena = boto3.client("athena", region_name=REGION)
        with Stubber(athena) as stubber:
            yield Aws(athena=athena, s3=s3, stubber=stubber)


def duckdb_build(store: Path, out: Path, **kwargs: Any) -> dict[str, Any]:
    return build_dataset(
        SPEC,
        feature_groups_dir=store / "feature_groups",
        labels_dir=store / "labels",
        output_dir=out,
        id_columns=ID_COLUMNS,
        **kwargs,
    )


def without_engine(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in ("engine", "athena")}


# ---- the same dataset as the DuckDB path ----


def test_athena_result_yields_the_dataset_the_duckdb_path_writes(
    aws: Aws, generated_store: Path, generated_dataset: Path, tmp_path: Path
) -> None:
    sql = athena_sql(SPEC, TARGET, id_columns=ID_COLUMNS)
    aws.expect_success(sql, "q-1", athena_csv(generated_store, sql))

    summary = aws.build(SPEC, tmp_path / "out", id_columns=ID_COLUMNS)

    aws.stubber.assert_no_pending_responses()
    athena_table = pq.read_table(tmp_path / "out" / "dataset.parquet")
    duckdb_table = pq.read_table(generated_dataset)
    assert athena_table.schema == duckdb_table.schema
    assert athena_table.num_rows > 100
    assert athena_table.equals(duckdb_table)
    duckdb_summary = json.loads((generated_dataset.parent / "summary.json").read_text())
    assert duckdb_summary["engine"] == "duckdb"
    assert without_engine(summary) == without_engine(duckdb_summary)
    assert summary["engine"] == "athena"
    assert summary["athena"] == {
        "query_execution_id": "q-1",
        "data_scanned_bytes": 52_428_800,
        "engine_execution_time_ms": 1234,
        "workgroup": "mlops-dev",
        "database": DATABASE,
        "result_location": f"s3://{RESULTS_BUCKET}/athena-results/q-1.csv",
    }
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary
    assert (tmp_path / "out" / "query.sql").read_text() == sql + "\n"
    assert aws.time.sleeps == [1.0]  # one poll while RUNNING


def test_window_and_as_of_give_the_same_rows_on_both_engines(aws: Aws, generated_store: Path, tmp_path: Path) -> None:
    options: dict[str, Any] = {
        "window": TimeWindow(start=aware("2024-01-05 00:00:00"), end=aware("2024-01-15 00:00:00")),
        "as_of": aware("2024-01-12 00:00:00"),
        "max_unmatched_fraction": 1.0,
    }
    expected = duckdb_build(generated_store, tmp_path / "duckdb", **options)
    sql = athena_sql(SPEC, TARGET, id_columns=ID_COLUMNS, window=options["window"], as_of=options["as_of"])
    aws.expect_success(sql, "q-window", athena_csv(generated_store, sql))

    summary = aws.build(SPEC, tmp_path / "athena", id_columns=ID_COLUMNS, **options)

    assert without_engine(summary) == without_engine(expected)
    athena_table = pq.read_table(tmp_path / "athena" / "dataset.parquet")
    assert athena_table.equals(pq.read_table(tmp_path / "duckdb" / "dataset.parquet"))
    # The as-of instant really matters: without it, labels after it see later feature records.
    duckdb_build(generated_store, tmp_path / "now", window=options["window"], max_unmatched_fraction=1.0)
    assert athena_table.num_rows > 100
    assert not athena_table.equals(pq.read_table(tmp_path / "now" / "dataset.parquet"))


def test_athena_sql_reads_the_glue_tables_and_parses_times_with_from_iso8601_timestamp() -> None:
    sql = athena_sql(SPEC, TARGET, id_columns=ID_COLUMNS, as_of=aware("2024-01-12 00:00:00"))

    assert f'FROM "{DATABASE}"."{LABELS_TABLE}" l' in sql
    assert f'JOIN "{DATABASE}"."fraud_detection_dev_transaction" f' in sql
    assert f'JOIN "{DATABASE}"."fraud_detection_dev_customer_spend" f' in sql
    assert 'from_iso8601_timestamp(f."event_time")' in sql
    assert 'from_iso8601_timestamp(l."event_time")' in sql
    assert "CAST(" not in sql
    assert "\"write_time\" <= TIMESTAMP '2024-01-12 00:00:00.000'" in sql


def test_a_database_qualified_table_is_used_as_given() -> None:
    target = replace(TARGET, labels_table="labels_db.fraud_labels")

    assert 'FROM "labels_db"."fraud_labels" l' in athena_sql(SPEC, target)


# ---- same checks, same messages ----


@pytest.fixture
def small_store(write_store: Callable[..., Path]) -> Path:
    return write_store(
        [store_row(TXN, "C1", "2024-01-01T10:00:00.000Z"), store_row(TXN, "C2", "2024-01-01T10:00:00.000Z")],
        [store_row(SPEND, "C1", "2024-01-01T10:00:00.000Z")],  # C2 has no spend record: a label-only row
        [
            label_row("C1", "2024-01-01T11:00:00.000Z", label=1, transaction_id="L1"),
            label_row("C2", "2024-01-01T11:00:00.000Z", transaction_id="L2"),
            label_row("C1", "2024-01-01T12:00:00.000Z", transaction_id="L3"),
        ],
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_unmatched_fraction": 0.1}, r"label-only rows: 1 of 3 labelled events \(33.3%\)"),
        ({"window": TimeWindow(start=aware("2025-01-01 00:00:00"))}, "empty window: no labelled events"),
    ],
    ids=["label-only-rows", "empty-window"],
)
def test_post_query_checks_fail_with_the_duckdb_paths_messages(
    aws: Aws, small_store: Path, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(StepInputError, match=message) as local:
        duckdb_build(small_store, tmp_path / "duckdb", **options)
    sql = athena_sql(SPEC, TARGET, id_columns=ID_COLUMNS, window=options.get("window", TimeWindow()))
    aws.expect_success(sql, "q-check", athena_csv(small_store, sql))

    with pytest.raises(StepInputError) as remote:
        aws.build(SPEC, tmp_path / "athena", id_columns=ID_COLUMNS, **options)

    assert str(remote.value) == str(local.value)
    assert not (tmp_path / "athena").exists()


def test_a_result_without_a_spec_column_names_it(aws: Aws, small_store: Path, tmp_path: Path) -> None:
    sql = athena_sql(SPEC, TARGET, id_columns=ID_COLUMNS)
    header, *rows = athena_csv(small_store, sql).decode().splitlines()
    columns = next(csv.reader([header]))
    drop = columns.index("spend_7d")
    kept = [",".join(part for i, part in enumerate(line.split(",")) if i != drop) for line in [header, *rows]]
    aws.expect_success(sql, "q-cols", ("\n".join(kept) + "\n").encode())

    with pytest.raises(StepInputError, match=r"athena result s3://\S+/q-cols.csv: missing column\(s\) \['spend_7d'\]"):
        aws.build(SPEC, tmp_path / "out", id_columns=ID_COLUMNS)
    assert not (tmp_path / "out").exists()


# ---- reading Athena's CSV ----

TYPES = {"label": pa.int64(), "x": pa.float64(), "n": pa.int64(), "s": pa.string(), "__matched_0": pa.bool_()}


def put(aws: Aws, body: str) -> str:
    return aws.result("q-csv", body.encode())


def test_athena_csv_values_nulls_and_empty_strings_are_typed(aws: Aws) -> None:
    location = put(
        aws,
        '"label","x","n","s","__matched_0","extra"\n'
        '"1","1.0E-5","7","a ""quoted"", text","true","z"\n'
        '"0",,,"","false","z"\n'
        '"1","NaN","-3",,"true","z"\n'
        '"0","Infinity","9007199254740993","multi\nline","false","z"\n',
    )

    table = read_athena_result(aws.s3, location, TYPES)

    assert table.schema == pa.schema([pa.field(name, kind) for name, kind in TYPES.items()])
    rows = table.to_pylist()
    assert rows[0] == {"label": 1, "x": 1e-5, "n": 7, "s": 'a "quoted", text', "__matched_0": True}
    assert rows[1] == {"label": 0, "x": None, "n": None, "s": "", "__matched_0": False}  # NULL vs ""
    assert math.isnan(rows[2]["x"])
    assert rows[2]["s"] is None  # NULL, not ""
    assert rows[3] == {
        "label": 0,
        "x": float("inf"),
        "n": 9007199254740993,  # parsed as an integer, not through a float
        "s": "multi\nline",
        "__matched_0": False,
    }


def test_the_result_columns_get_the_spec_types() -> None:
    types = result_types(SPEC, ID_COLUMNS)

    assert types[SPEC.label] == pa.int64()
    assert types["amount"] == pa.float64()  # Fractional
    assert types["hour_of_day"] == pa.int64()  # Integral
    assert types["merchant_category"] == pa.string()  # String
    assert types["event_time"] == types["customer_id"] == types["transaction_id"] == pa.string()
    assert types["__matched_0"] == types["__matched_1"] == pa.bool_()
    assert list(types)[: 1 + len(SPEC.features)] == [SPEC.label, *SPEC.feature_names]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('"label","x","n","s","__matched_0"\n"1","ten","1","a","true"\n', "column 'x' is not a number"),
        ('"label","x","n","s","__matched_0"\n"1.5","1","1","a","true"\n', "column 'label' is not an integer"),
        ('"label","x","n","s","__matched_0"\n"1","1","1","a","maybe"\n', "column '__matched_0' is not a boolean"),
        ('"label","x","s"\n"1","1","a"\n', r"missing column\(s\) \['n', '__matched_0'\]"),
        ("", "not a readable CSV result"),
    ],
    ids=["number", "integer", "boolean", "columns", "empty-file"],
)
def test_an_unreadable_result_is_named(aws: Aws, body: str, message: str) -> None:
    location = put(aws, body)

    with pytest.raises(StepInputError, match=message) as error:
        read_athena_result(aws.s3, location, TYPES)
    assert str(error.value).startswith(f"athena result {location}: ")


def test_a_mixed_case_spec_column_is_found_under_the_lower_case_name_athena_gives_it(aws: Aws) -> None:
    location = put(aws, '"isfraud","homecity"\n"1","007"\n')

    table = read_athena_result(aws.s3, location, {"isFraud": pa.int64(), "homeCity": pa.string()})

    assert table.to_pylist() == [{"isFraud": 1, "homeCity": "007"}]


def test_a_result_that_cannot_be_read_names_the_location(aws: Aws) -> None:
    with pytest.raises(AthenaQueryError, match=rf"s3://{RESULTS_BUCKET}/athena-results/nope.csv: cannot read it: "):
        read_athena_result(aws.s3, f"s3://{RESULTS_BUCKET}/athena-results/nope.csv", TYPES)


# ---- failures, timeouts and retries ----


def test_a_failed_query_fails_with_athenas_reason_and_writes_nothing(aws: Aws, tmp_path: Path) -> None:
    sql = athena_sql(SPEC, TARGET)
    reason = "COLUMN_NOT_FOUND: line 5:20: Column 'spend_7d' cannot be resolved"
    aws.expect_start(sql, "q-bad")
    aws.expect_state("q-bad", "QUEUED")
    aws.expect_state("q-bad", "FAILED", reason=reason)

    with pytest.raises(AthenaQueryError) as error:
        aws.build(SPEC, tmp_path / "out")

    assert str(error.value) == f"athena: query q-bad FAILED: {reason} [workgroup 'mlops-dev', database '{DATABASE}']"
    assert not (tmp_path / "out").exists()
    aws.stubber.assert_no_pending_responses()


def test_a_query_cancelled_by_the_workgroup_scan_limit_says_so(aws: Aws, tmp_path: Path) -> None:
    sql = athena_sql(SPEC, TARGET)
    aws.expect_start(sql, "q-big")
    aws.expect_state("q-big", "CANCELLED", reason="Query cancelled! : Bytes scanned limit was exceeded")

    with pytest.raises(AthenaQueryError, match="query q-big CANCELLED: Query cancelled! : Bytes scanned limit"):
        aws.build(SPEC, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_query_that_cannot_start_names_the_workgroup_and_the_cause(aws: Aws, tmp_path: Path) -> None:
    aws.stubber.add_client_error(
        "start_query_execution", "InvalidRequestException", "WorkGroup mlops-dev is not found."
    )

    with pytest.raises(
        AthenaQueryError,
        match=r"could not start the query in workgroup 'mlops-dev' \(database 'mlops_dev_feature_store'\): "
        r"InvalidRequestException: WorkGroup mlops-dev is not found.",
    ):
        aws.build(SPEC, tmp_path / "out")


def test_a_query_still_running_at_the_timeout_is_stopped_and_reported(aws: Aws, tmp_path: Path) -> None:
    target = replace(TARGET, timeout_seconds=5)
    sql = athena_sql(SPEC, target)
    aws.expect_start(sql, "q-slow", target=target)
    for _ in range(5):
        aws.expect_state("q-slow", "RUNNING")
    aws.stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-slow"})

    with pytest.raises(AthenaQueryError) as error:
        aws.build(SPEC, tmp_path / "out", target=target)

    assert str(error.value) == (
        "athena: query q-slow did not finish within 5 s (still RUNNING); it was stopped. "
        "Raise --query-timeout-seconds if it needs longer"
    )
    assert aws.time.sleeps == [1.0, 1.5, 2.25, 0.25]  # backoff, never sleeping past the deadline
    assert not (tmp_path / "out").exists()
    aws.stubber.assert_no_pending_responses()


def test_polling_backs_off_to_a_bounded_interval(aws: Aws) -> None:
    sql = "SELECT 1"
    aws.expect_start(sql, "q-long")
    for _ in range(12):
        aws.expect_state("q-long", "RUNNING")
    aws.expect_state("q-long", "SUCCEEDED", location=f"s3://{RESULTS_BUCKET}/athena-results/q-long.csv")

    run_athena_query(aws.athena, sql, TARGET, clock=aws.time.clock())

    assert aws.time.sleeps[:3] == [1.0, 1.5, 2.25]
    assert max(aws.time.sleeps) == ATHENA_POLL_MAX_SECONDS
    assert aws.time.sleeps[-4:] == [ATHENA_POLL_MAX_SECONDS] * 4


def test_a_retried_job_sends_the_same_token_and_uses_the_first_attempts_query(
    aws: Aws, small_store: Path, tmp_path: Path
) -> None:
    sql = athena_sql(SPEC, TARGET, id_columns=ID_COLUMNS)
    aws.expect_success(sql, "q-first", athena_csv(small_store, sql))
    # The retried job: the same token, so Athena answers with the first attempt's (finished) query.
    aws.expect_start(sql, "q-first")
    location = f"s3://{RESULTS_BUCKET}/athena-results/q-first.csv"
    aws.expect_state("q-first", "SUCCEEDED", location=location, scanned=52_428_800)

    first = aws.build(SPEC, tmp_path / "first", id_columns=ID_COLUMNS, max_unmatched_fraction=0.5)
    second = aws.build(SPEC, tmp_path / "second", id_columns=ID_COLUMNS, max_unmatched_fraction=0.5)

    aws.stubber.assert_no_pending_responses()  # exactly the expected tokens, in order
    assert first == second
    assert first["athena"]["query_execution_id"] == "q-first"


def test_the_token_is_a_hash_of_the_query_where_it_runs_and_the_execution() -> None:
    sql = athena_sql(SPEC, TARGET)
    token = client_request_token(sql, database=DATABASE, workgroup="mlops-dev", scope="execution-1")

    assert token == client_request_token(sql, database=DATABASE, workgroup="mlops-dev", scope="execution-1")
    assert 32 <= len(token) <= 128  # StartQueryExecution's ClientRequestToken length
    others = {
        client_request_token(sql + " ", database=DATABASE, workgroup="mlops-dev", scope="execution-1"),
        client_request_token(sql, database="other", workgroup="mlops-dev", scope="execution-1"),
        client_request_token(sql, database=DATABASE, workgroup="mlops-prod", scope="execution-1"),
        client_request_token(sql, database=DATABASE, workgroup="mlops-dev", scope="execution-2"),
        client_request_token(sql, database=DATABASE, workgroup="mlops-dev", scope="execution-1", attempt=1),
    }
    assert token not in others
    assert len(others) == 5


def test_a_failed_query_of_an_earlier_attempt_is_not_reused(aws: Aws, small_store: Path, tmp_path: Path) -> None:
    sql = athena_sql(SPEC, TARGET, id_columns=ID_COLUMNS)
    aws.expect_start(sql, "q-old")
    aws.expect_state("q-old", "FAILED", reason="Glue throttled", submitted=NOW - timedelta(minutes=20))
    aws.expect_success(sql, "q-new", athena_csv(small_store, sql), attempt=1)

    summary = aws.build(SPEC, tmp_path / "out", id_columns=ID_COLUMNS, max_unmatched_fraction=0.5)

    aws.stubber.assert_no_pending_responses()
    assert summary["athena"]["query_execution_id"] == "q-new"


def test_botocore_retries_a_failed_start_with_the_same_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real client of the step (athena_clients): a start whose first try gets a 500 is retried as is."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda seconds: None)
    athena, _ = dataset.athena_clients(REGION)
    sent: list[dict[str, Any]] = []

    class Raw(io.BytesIO):
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield self.getvalue()

    def respond(request: Any, **_: Any) -> AWSResponse:
        sent.append(json.loads(request.body))
        if len(sent) == 1:
            body = {"__type": "InternalServerException", "Message": "try again"}
            return AWSResponse(request.url, 500, {}, Raw(json.dumps(body).encode()))
        return AWSResponse(request.url, 200, {}, Raw(json.dumps({"QueryExecutionId": "q-9"}).encode()))

    athena.meta.events.register("before-send.athena.StartQueryExecution", respond)

    query_id = dataset._start_query(athena, "SELECT 1", TARGET, "t" * 64)

    assert query_id == "q-9"
    assert [body["ClientRequestToken"] for body in sent] == ["t" * 64, "t" * 64]


# ---- the command line ----


def athena_argv(spec_file: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--engine",
        "athena",
        "--spec",
        str(spec_file),
        "--database",
        DATABASE,
        "--feature-tables",
        f"{TXN}={TABLES[TXN]}",
        "--feature-tables",
        f"{SPEND}={TABLES[SPEND]}",
        "--labels-table",
        LABELS_TABLE,
        "--workgroup",
        "mlops-dev",
        "--request-scope",
        "execution-1",
        "--output-dir",
        str(out),
        "--id-columns",
        "transaction_id",
        "--max-unmatched-fraction",
        "0.5",
        *extra,
    ]


def test_the_cli_runs_the_athena_engine_with_the_region_from_the_container(
    aws: Aws, small_store: Path, spec_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    regions: list[str] = []

    def clients(region: str) -> tuple[Any, Any]:
        regions.append(region)
        return aws.athena, aws.s3

    monkeypatch.setattr(dataset, "athena_clients", clients)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    sql = athena_sql(SPEC, TARGET, id_columns=ID_COLUMNS)
    aws.expect_start(sql, "q-cli")
    aws.expect_state("q-cli", "SUCCEEDED", location=aws.result("q-cli", athena_csv(small_store, sql)))  # no sleep

    status = dataset.main(athena_argv(spec_file, tmp_path / "out"))

    assert status == 0
    assert regions == ["eu-west-1"]
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["athena"]["query_execution_id"] == "q-cli"


def test_the_cli_reports_a_failed_query_in_one_line(
    aws: Aws, spec_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dataset, "athena_clients", lambda region: (aws.athena, aws.s3))
    sql = athena_sql(SPEC, TARGET, id_columns=ID_COLUMNS)
    aws.expect_start(sql, "q-denied")
    reason = "Access denied when writing to location: s3://x/athena-results/"
    aws.expect_state("q-denied", "FAILED", reason=reason, submitted=datetime.now(UTC))  # the CLI's clock is real

    status = dataset.main(athena_argv(spec_file, tmp_path / "out", "--region", REGION))

    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error: dataset: athena: query q-denied FAILED: Access denied when writing to location")
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--engine", "athena", "--workgroup", "mlops-dev"], "--engine athena needs --database, --feature-tables"),
        (["--engine", "athena", "--labels-dir", "/tmp/labels"], "--labels-dir: not an option of --engine athena"),
        (["--workgroup", "mlops-dev"], "--workgroup: not an option of --engine duckdb"),
        (["--engine", "athena", "--feature-tables", "transaction"], "'transaction' is not group=table"),
    ],
)
def test_the_cli_refuses_options_of_the_other_engine_and_missing_ones(
    tmp_path: Path, spec_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status = dataset.main([*argv, "--spec", str(spec_file), "--output-dir", str(tmp_path / "out")])

    assert status == 2
    assert message in capsys.readouterr().err


def test_the_cli_needs_a_region_for_athena(
    tmp_path: Path, spec_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)

    assert dataset.main(athena_argv(spec_file, tmp_path / "out")) == 2
    assert "no region; pass --region or set AWS_REGION" in capsys.readouterr().err


def test_feature_tables_parse_repeated_and_comma_separated() -> None:
    assert dataset.parse_feature_tables(["a=t1, b = t2", "c=db.t3"]) == {"a": "t1", "b": "t2", "c": "db.t3"}
    with pytest.raises(StepInputError, match="feature group 'a' has two tables: t1, t2"):
        dataset.parse_feature_tables(["a=t1", "a=t2"])


def test_a_feature_table_for_a_group_the_spec_lacks_is_refused() -> None:
    with pytest.raises(StepInputError, match=r"\['clicks'\] are not feature groups of the spec"):
        athena_sql(SPEC, replace(TARGET, feature_tables={**TABLES, "clicks": "clicks_table"}))


def test_the_duckdb_engine_does_not_import_boto3() -> None:
    code = "import sys, pipeline_defs.scripts.dataset; sys.exit('boto3' in sys.modules or 'botocore' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=Path(__file__).parents[3]).returncode == 0
