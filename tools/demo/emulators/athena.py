"""Athena queries executed by DuckDB over the Glue tables' S3 data, with Athena's CSV result in S3.

Real: the query text (the Dataset step's Athena dialect, as ``pipeline_defs/scripts/dataset.py`` sends it),
StartQueryExecution / GetQueryExecution through moto's API, the Glue catalogue (GetTable), the table's S3
objects and the result written to S3 through the API.

Emulated, in ``run_query`` (called when a query starts):

- each ``"db"."table"`` the query names becomes a DuckDB view over the Parquet files under the Glue table's
  ``StorageDescriptor.Location`` (an empty table of the Glue columns if there are none), read from the
  emulator's S3 storage directly (Athena's own read of S3 is not an API call of the account's either);
- the Athena (Trino) functions the dialect uses are DuckDB macros: ``from_iso8601_timestamp`` is
  ``CAST(... AS TIMESTAMPTZ)`` in a UTC session;
- the result goes where the workgroup says (its ``ResultConfiguration.OutputLocation``, which wins when the
  workgroup enforces its configuration or the request gives none), as ``<query id>.csv`` in Athena's CSV
  format (a header, every value double-quoted, NULL as an empty unquoted field), encrypted as the workgroup
  says; the query ends ``SUCCEEDED`` or ``FAILED``.

What it could hide: Trino's own semantics (type coercion, NULL ordering, time zone rules where DuckDB differs),
Iceberg table metadata (every Parquet file under the location is read, deleted snapshots included), Lake
Formation and IAM, partition pruning and cost, and the failure reason (moto's GetQueryExecution returns no
``StateChangeReason``, so a failed query's reason is only in ``last_failure``).
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from tools.demo.emulators.runtime import Aws, moto_backend

_TABLE_REFERENCE = re.compile(r'"([A-Za-z_][A-Za-z0-9_\-]*)"\."([A-Za-z_][A-Za-z0-9_\-]*)"')
_MACROS = ("CREATE MACRO from_iso8601_timestamp(text) AS CAST(text AS TIMESTAMPTZ)",)
_GLUE_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}

last_failure: dict[str, str] = {}  # query id -> why it failed (moto does not return StateChangeReason)


class QueryFailedError(RuntimeError):
    """The query cannot run (unknown table, SQL error); Athena would end it FAILED with this reason."""


def run_query(aws: Aws, query_execution_id: str, *, workdir: Path) -> str:
    """Execute a started query (moto's record of it) and set its final state; return the state."""
    backend = moto_backend("athena", aws.account, aws.region)
    execution = backend.executions[query_execution_id]
    scratch = workdir / query_execution_id
    try:
        location, encryption = _result_location(execution, query_execution_id)
        execution.config = {
            "OutputLocation": location,
            **({"EncryptionConfiguration": encryption} if encryption else {}),
        }
        body = _execute(aws, str(execution.query), _default_database(execution), scratch)
        _put_result(aws, location, body, encryption)
    except QueryFailedError as error:
        last_failure[query_execution_id] = str(error)
        execution.status = "FAILED"
    else:
        execution.status = "SUCCEEDED"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return str(execution.status)


def _default_database(execution: Any) -> str | None:
    context = execution.context or {}
    return context.get("Database") if isinstance(context, Mapping) else None


def _result_location(execution: Any, query_id: str) -> tuple[str, dict[str, Any] | None]:
    requested = (execution.config or {}).get("OutputLocation")
    configuration = execution.workgroup.configuration if execution.workgroup is not None else {}
    result_config = configuration.get("ResultConfiguration") or {}
    enforced = bool(configuration.get("EnforceWorkGroupConfiguration", False))
    encryption = result_config.get("EncryptionConfiguration")
    if result_config.get("OutputLocation") and (enforced or not requested):
        base = str(result_config["OutputLocation"])
        return (base if base.endswith("/") else base + "/") + f"{query_id}.csv", encryption
    if not requested:
        raise QueryFailedError("no output location: neither the request nor the workgroup gives one")
    return str(requested), (execution.config or {}).get("EncryptionConfiguration")


def _execute(aws: Aws, sql: str, database: str | None, scratch: Path) -> bytes:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    for macro in _MACROS:
        con.execute(macro)
    for db, table in sorted(set(_TABLE_REFERENCE.findall(sql))):
        _register_table(aws, con, db, table, scratch)
    if database:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
        con.execute(f"SET schema = '{database}'")
    try:
        cursor = con.execute(sql)
        columns = [str(d[0]) for d in cursor.description or []]
        rows = cursor.fetchall()
    except duckdb.Error as error:
        raise QueryFailedError(f"query failed: {error}") from None
    return _athena_csv(columns, rows)


def _register_table(aws: Aws, con: duckdb.DuckDBPyConnection, db: str, table: str, scratch: Path) -> None:
    glue = aws.client("glue")
    try:
        found = glue.get_table(DatabaseName=db, Name=table)["Table"]
    except glue.exceptions.EntityNotFoundException:
        raise QueryFailedError(f"TABLE_NOT_FOUND: Table '{db}.{table}' does not exist") from None
    descriptor = found.get("StorageDescriptor") or {}
    location = str(descriptor.get("Location") or "")
    if not location.startswith("s3://"):
        raise QueryFailedError(f"table '{db}.{table}' has no S3 location")
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    files: list[Path] = []
    for body in _parquet_objects(aws, bucket, prefix):
        target = scratch / db / table / f"{len(files):06d}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        files.append(target)
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{db}"')
    if files:
        listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
        con.execute(
            f'CREATE VIEW "{db}"."{table}" AS SELECT * FROM '  # noqa: S608 - names matched by the pattern above
            f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
        )
        return
    columns = [*descriptor.get("Columns", []), *found.get("PartitionKeys", [])]
    if not columns:
        raise QueryFailedError(f"table '{db}.{table}' has no data files and no columns")
    definition = ", ".join(f'"{c["Name"]}" {_GLUE_TYPES.get(str(c["Type"]).lower(), "VARCHAR")}' for c in columns)
    con.execute(f'CREATE TABLE "{db}"."{table}" ({definition})')


def _parquet_objects(aws: Aws, bucket: str, prefix: str) -> list[bytes]:
    """The current version of every ``.parquet`` object under ``prefix``, in key order, read from the emulator's
    own S3 storage (as Athena reads S3 inside AWS): the offline store holds one file per record, and fetching
    hundreds of them one request at a time through the API made the Dataset step wait half a minute."""
    s3 = moto_backend("s3", aws.account, "global")
    from moto.s3.models import FakeKey  # noqa: PLC0415 - moto is loaded by the process that runs it (above)

    try:
        stored = s3.get_bucket(bucket)
    except Exception as error:  # moto's MissingBucket: Athena fails the query naming the location
        raise QueryFailedError(f"table location s3://{bucket}/{prefix} cannot be read: {error}") from None
    bodies: list[bytes] = []
    for key in sorted(name for name in stored.keys if name.startswith(prefix) and name.endswith(".parquet")):
        current = stored.keys.get(key)
        if isinstance(current, FakeKey):  # a delete marker is no object
            bodies.append(bytes(current.value))
    return bodies


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return '"' + text.replace('"', '""') + '"'


def _athena_csv(columns: list[str], rows: list[tuple[Any, ...]]) -> bytes:
    out = io.StringIO()
    out.write(",".join(_cell(c) for c in columns) + "\n")
    for row in rows:
        out.write(",".join(_cell(v) for v in row) + "\n")
    return out.getvalue().encode("utf-8")


def _put_result(aws: Aws, location: str, body: bytes, encryption: Mapping[str, Any] | None) -> None:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    extra: dict[str, str] = {}
    if encryption and encryption.get("EncryptionOption") == "SSE_KMS":
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": str(encryption.get("KmsKey", ""))}
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body, **extra)
