"""Dataset step: a point-in-time-correct training set from the offline feature store and the labels.

For every labelled event in the window, each feature group contributes its latest record for the same entity
whose event time is AT OR BEFORE the label's event time, never after (a feature written later would leak the
future into training). Among records with the same event time the latest write wins
(``api_invocation_time`` then ``write_time``, descending). If the winning record is a delete marker
(``is_deleted``), the entity had no features at that time. ``--as-of`` additionally ignores records written
after that instant (time travel: rebuild the dataset as the store was then).

The SQL comes from the spec (``point_in_time_sql``) in two dialects that differ only in how text timestamps
are parsed: ``athena`` (Presto/Trino ``from_iso8601_timestamp``) and ``duckdb`` (``CAST(... AS TIMESTAMPTZ)``
with the session time zone set to UTC). Both honour a UTC offset in the text and read text without one as UTC.
Both use only the common subset: CTEs, ``ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ... DESC)``, joins
and ``TIMESTAMP '...'`` literals. Two engines run it:

- ``--engine duckdb`` (the default; the local run): the DuckDB form over local parquet files;
- ``--engine athena`` (the pipeline in AWS): the Athena form over the offline store's Glue (Iceberg) tables
  and the labels' Glue table, through the Athena API (``build_dataset_athena``). The query's CSV result is
  read back from S3 and typed from the spec. DuckDB is not used on this path (no SageMaker image carries it:
  ``pipeline_defs/images.py``); it is imported only by the local engine.

Both engines hand the joined rows to one pyarrow check-and-write (``_finish``), so they count, refuse and
write alike.

Inputs (both engines)
  ``--spec``                 spec.json (``pipeline_defs.scripts.spec``)
  ``--window-start``/``--window-end``, ``--as-of``, ``--id-columns``, ``--max-unmatched-fraction``
Inputs (``--engine duckdb``)
  ``--feature-groups-dir``   one sub-directory per feature group (named as in the spec) holding its
                             offline-store parquet files at any depth
  ``--labels-dir``           parquet files with the entity id, event time (ISO-8601 text), label and the
                             ``--id-columns``
Inputs (``--engine athena``)
  ``--database``             Glue database of the tables (the query's default database)
  ``--feature-tables``       ``group=table[,group=table...]``: the Glue table of every feature group (may be
                             repeated); a table without ``db.`` is in ``--database``
  ``--labels-table``         Glue table of the labels (same columns as the labels files above)
  ``--workgroup``            Athena workgroup; it enforces the result location and its encryption
  ``--region``               default: the container's ``AWS_REGION``
  ``--query-timeout-seconds``, ``--request-scope`` (see ``client_request_token``)
Output (``--output-dir``)
  ``dataset.parquet``        label, features in spec order, event time, entity id, id columns; sorted by time
  ``query.sql``              the query that produced it;  ``summary.json``: counts, window, unmatched rows,
                             ``engine`` and, for Athena, the query execution id and the bytes it scanned

Labelled rows that lack a record in some feature group ("label-only" rows) are dropped and counted; more
than ``--max-unmatched-fraction`` of them, or no row left at all, fails the step. A failed step writes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from lambdas.shared.features import format_event_time
from pipeline_defs.scripts.common import StepInputError, files_under, iso, parse_utc, run_main, write_json
from pipeline_defs.scripts.spec import StepSpec, load_step_spec

if TYPE_CHECKING:
    import duckdb

SYSTEM_COLUMNS = ("api_invocation_time", "write_time", "is_deleted")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
    "DECIMAL",
)
_INTEGER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "BOOLEAN",
)
_MATCHED = "__matched_"


class Dialect(StrEnum):
    ATHENA = "athena"
    DUCKDB = "duckdb"


class Engine(StrEnum):
    """Where the query runs: DuckDB over local parquet files, or Athena over the Glue tables."""

    DUCKDB = "duckdb"
    ATHENA = "athena"


@dataclass(frozen=True)
class TimeWindow:
    """Label event times in ``[start, end)``; either bound may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise StepInputError(
                f"empty window: start {format_event_time(self.start)} is not before end {format_event_time(self.end)}"
            )


# ---- SQL ----


def quote_identifier(name: str) -> str:
    """A double-quoted identifier (both dialects); refuses names that would need escaping."""
    if not _IDENTIFIER.match(name):
        raise StepInputError(f"'{name}' is not a valid column or table name")
    return f'"{name}"'


def quote_table(name: str) -> str:
    """``db.table`` or ``table``, each part quoted."""
    return ".".join(quote_identifier(part) for part in name.split("."))


def _parse_time(expression: str, dialect: Dialect) -> str:
    if dialect is Dialect.ATHENA:
        return f"from_iso8601_timestamp({expression})"
    return f"CAST({expression} AS TIMESTAMPTZ)"


def _time_literal(moment: datetime, dialect: Dialect) -> str:
    return _parse_time(f"'{format_event_time(moment)}'", dialect)


def _write_time_literal(moment: datetime) -> str:
    # write_time is a plain (UTC) timestamp column in the offline store: compare with a plain literal.
    text = format_event_time(moment).removesuffix("Z").replace("T", " ")
    return f"TIMESTAMP '{text}'"


def point_in_time_sql(
    spec: StepSpec,
    *,
    labels_table: str,
    feature_tables: Mapping[str, str],
    window: TimeWindow = TimeWindow(),
    id_columns: Sequence[str] = (),
    as_of: datetime | None = None,
    dialect: Dialect = Dialect.DUCKDB,
) -> str:
    """The point-in-time join of the labels with every feature group of ``spec``.

    Output columns: label, the spec's features in order, event time, entity id, ``id_columns``, and one
    boolean ``__matched_<n>`` per feature group (false when the group had no live record for the row).
    """
    id_columns = _extra_id_columns(spec, id_columns)
    missing = [g for g in spec.feature_groups if g not in feature_tables]
    if missing:
        raise StepInputError(f"no table given for feature group(s) {missing}")
    q = quote_identifier
    entity, event_time, label = q(spec.entity_id), q(spec.event_time), q(spec.label)
    ids = "".join(f", l.{q(c)}" for c in id_columns)
    label_time = _parse_time(f"l.{event_time}", dialect)
    bounds = [f"{label_time} >= {_time_literal(window.start, dialect)}"] if window.start else []
    bounds += [f"{label_time} < {_time_literal(window.end, dialect)}"] if window.end else []
    where = f"\n  WHERE {' AND '.join(bounds)}" if bounds else ""
    # Names are validated and quoted and times are formatted by us, so building SQL as text is safe here.
    ctes = [
        "labelled AS (\n"  # noqa: S608
        f"  SELECT l.{label}, l.{event_time}, l.{entity}{ids},\n"
        f"    {label_time} AS label_ts,\n"
        f"    ROW_NUMBER() OVER (ORDER BY {label_time}, l.{entity}{ids}) AS label_row\n"
        f"  FROM {quote_table(labels_table)} l{where}\n)"
    ]
    for index, group in enumerate(spec.feature_groups):
        ctes += _group_ctes(spec, index=index, group=group, table=feature_tables[group], as_of=as_of, dialect=dialect)
    group_index = {group: index for index, group in enumerate(spec.feature_groups)}
    features = [f"g{group_index[f.feature_group]}.{q(f.name)}" for f in spec.features]
    joins = [f"LEFT JOIN g{i} ON g{i}.label_row = l.label_row" for i in group_index.values()]
    matched = [f"g{i}.label_row IS NOT NULL AS {q(_MATCHED + str(i))}" for i in group_index.values()]
    columns = [f"l.{label}", *features, f"l.{event_time}", f"l.{entity}", *(f"l.{q(c)}" for c in id_columns), *matched]
    return (
        "WITH " + ",\n".join(ctes) + "\n"
        "SELECT " + ",\n  ".join(columns) + "\n"
        "FROM labelled l\n" + "\n".join(joins) + "\n"
        "ORDER BY l.label_row"
    )


def _extra_id_columns(spec: StepSpec, id_columns: Sequence[str]) -> list[str]:
    """The id columns to carry through beyond entity id, event time and label (which are always there)."""
    return [c for c in dict.fromkeys(id_columns) if c not in (spec.entity_id, spec.event_time, spec.label)]


def _group_ctes(
    spec: StepSpec, *, index: int, group: str, table: str, as_of: datetime | None, dialect: Dialect
) -> list[str]:
    q = quote_identifier
    entity, event_time = q(spec.entity_id), q(spec.event_time)
    feature_time = _parse_time(f"f.{event_time}", dialect)
    features = "".join(f", f.{q(f.name)}" for f in spec.features_of(group))
    written = f"\n    AND f.{q('write_time')} <= {_write_time_literal(as_of)}" if as_of else ""
    ranked = (
        f"g{index}_ranked AS (\n"  # noqa: S608
        f"  SELECT l.label_row{features}, f.{q('is_deleted')} AS deleted,\n"
        f"    ROW_NUMBER() OVER (PARTITION BY l.label_row ORDER BY {feature_time} DESC,"
        f" f.{q('api_invocation_time')} DESC, f.{q('write_time')} DESC) AS rank_in_row\n"
        f"  FROM labelled l\n"
        f"  JOIN {quote_table(table)} f ON f.{entity} = l.{entity}\n"
        f"    AND {feature_time} <= l.label_ts{written}\n)"
    )
    latest = f"g{index} AS (\n  SELECT * FROM g{index}_ranked WHERE rank_in_row = 1 AND NOT deleted\n)"  # noqa: S608
    return [ranked, latest]


# ---- local execution ----


def _sql_string(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _register(con: duckdb.DuckDBPyConnection, view: str, files: Sequence[Path]) -> dict[str, str]:
    listed = ", ".join(_sql_string(p) for p in files)
    con.execute(
        f"CREATE VIEW {quote_identifier(view)} AS SELECT * FROM "  # noqa: S608 - quoted, validated names
        f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
    )
    rows = con.execute(f"DESCRIBE {quote_identifier(view)}").fetchall()
    return {str(r[0]): str(r[1]).upper() for r in rows}


def _check_columns(what: str, columns: Mapping[str, str], expected: Mapping[str, tuple[str, ...] | None]) -> None:
    """Every expected column is present and, where types are given, of one of them (by type-name prefix)."""
    absent = [name for name in expected if name not in columns]
    if absent:
        raise StepInputError(f"{what}: missing column(s) {absent}; found {sorted(columns)}")
    for name, allowed in expected.items():
        if allowed is not None and not columns[name].startswith(allowed):
            raise StepInputError(f"{what}: column '{name}' has type {columns[name]}, expected one of {allowed}")


def _feature_columns(spec: StepSpec, group: str) -> dict[str, tuple[str, ...] | None]:
    expected: dict[str, tuple[str, ...] | None] = {spec.entity_id: None, spec.event_time: ("VARCHAR",)}
    for feature in spec.features_of(group):
        expected[feature.name] = ("VARCHAR",) if feature.is_categorical else _NUMERIC_TYPES
    expected |= {"api_invocation_time": ("TIMESTAMP",), "write_time": ("TIMESTAMP",), "is_deleted": ("BOOLEAN",)}
    return expected


def build_dataset(
    spec: StepSpec,
    *,
    feature_groups_dir: Path,
    labels_dir: Path,
    output_dir: Path,
    window: TimeWindow = TimeWindow(),
    id_columns: Sequence[str] = (),
    as_of: datetime | None = None,
    max_unmatched_fraction: float = 0.01,
) -> dict[str, Any]:
    """Run the point-in-time query with DuckDB over local parquet files; write dataset, query and summary."""
    import duckdb  # noqa: PLC0415 - the local engine only: no SageMaker image carries DuckDB

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")  # text times without an offset are UTC, as on Athena
    labels = _register(con, "labels", files_under(labels_dir, "*.parquet", "labels"))
    _check_columns(
        "labels",
        labels,
        {spec.entity_id: None, spec.event_time: ("VARCHAR",), spec.label: _INTEGER_TYPES, **dict.fromkeys(id_columns)},
    )
    tables: dict[str, str] = {}
    for index, group in enumerate(spec.feature_groups):
        files = files_under(feature_groups_dir / group, "*.parquet", f"feature group '{group}'")
        tables[group] = f"fg_{index}"
        _check_columns(f"feature group '{group}'", _register(con, tables[group], files), _feature_columns(spec, group))
    _check_label_times(con, spec)
    sql = point_in_time_sql(
        spec,
        labels_table="labels",
        feature_tables=tables,
        window=window,
        id_columns=id_columns,
        as_of=as_of,
        dialect=Dialect.DUCKDB,
    )
    joined = con.sql(sql).to_arrow_table()
    return _finish(
        joined,
        spec,
        sql=sql,
        output_dir=output_dir,
        window=window,
        id_columns=id_columns,
        as_of=as_of,
        max_unmatched_fraction=max_unmatched_fraction,
        engine={"engine": Engine.DUCKDB.value},
    )


def _finish(
    joined: pa.Table,
    spec: StepSpec,
    *,
    sql: str,
    output_dir: Path,
    window: TimeWindow,
    id_columns: Sequence[str],
    as_of: datetime | None,
    max_unmatched_fraction: float,
    engine: Mapping[str, Any],
) -> dict[str, Any]:
    """Check the query's result (``joined``) and only then write dataset, query and summary (both engines)."""
    summary = _summarise(joined, spec, window, max_unmatched_fraction)
    output_dir.mkdir(parents=True, exist_ok=True)
    keep = list(dict.fromkeys([spec.label, *spec.feature_names, spec.event_time, spec.entity_id, *id_columns]))
    pq.write_table(joined.filter(_all_matched(joined, spec)).select(keep), output_dir / "dataset.parquet")
    (output_dir / "query.sql").write_text(sql + "\n", encoding="utf-8")
    summary |= {"window": {"start": iso(window.start), "end": iso(window.end)}, "as_of": iso(as_of), **engine}
    write_json(output_dir / "summary.json", summary)
    return summary


def _check_label_times(con: duckdb.DuckDBPyConnection, spec: StepSpec) -> None:
    column = quote_identifier(spec.event_time)
    bad = con.execute(
        f"SELECT {column} FROM labels WHERE TRY_CAST({column} AS TIMESTAMPTZ) IS NULL LIMIT 1"  # noqa: S608
    ).fetchall()
    if bad:
        raise StepInputError(f"labels: '{spec.event_time}' value {bad[0][0]!r} is not an ISO-8601 timestamp")


def _all_matched(joined: pa.Table, spec: StepSpec) -> Any:
    """Rows with a record in every feature group (a NULL match flag counts as no match, as in SQL)."""
    flags = [pc.fill_null(joined.column(_MATCHED + str(i)), False) for i in range(len(spec.feature_groups))]
    mask = flags[0]
    for flag in flags[1:]:
        mask = pc.and_(mask, flag)
    return mask


def _count(mask: Any) -> int:
    """How many entries of a boolean array are true (NULLs are not)."""
    return int(pc.sum(pc.cast(pc.fill_null(mask, False), pa.int64())).as_py() or 0)


def _summarise(joined: pa.Table, spec: StepSpec, window: TimeWindow, max_unmatched_fraction: float) -> dict[str, Any]:
    groups = spec.feature_groups
    labelled = joined.num_rows
    matched = _all_matched(joined, spec)
    kept = _count(matched)
    null_labels = joined.column(spec.label).null_count
    unmatched = [_count(pc.invert(joined.column(_MATCHED + str(i)))) for i in range(len(groups))]
    bounds = f"[{iso(window.start) or '-inf'}, {iso(window.end) or '+inf'})"
    if labelled == 0:
        raise StepInputError(f"empty window: no labelled events in {bounds}")
    if null_labels:
        raise StepInputError(f"labels: {null_labels} row(s) have no value in label column '{spec.label}'")
    per_group = dict(zip(groups, unmatched, strict=True))
    if kept == 0:
        raise StepInputError(
            f"label-only rows: none of the {labelled} labelled events in {bounds} has a record in every feature "
            f"group at or before its event time (rows without features per group: {per_group})"
        )
    dropped = labelled - kept
    if dropped / labelled > max_unmatched_fraction:
        raise StepInputError(
            f"label-only rows: {dropped} of {labelled} labelled events ({dropped / labelled:.1%}) have no feature "
            f"record at or before their event time, more than the allowed {max_unmatched_fraction:.1%} "
            f"(per group: {per_group})"
        )
    positives = _count(pc.and_(matched, pc.equal(joined.column(spec.label), 1)))
    return {
        "labelled_events": labelled,
        "rows": kept,
        "positives": positives,
        "dropped_label_only_rows": dropped,
        "unmatched_per_group": per_group,
    }


# ---- Athena execution ----

ATHENA_POLL_FIRST_SECONDS = 1.0
ATHENA_POLL_MAX_SECONDS = 10.0
ATHENA_POLL_BACKOFF = 1.5
DEFAULT_QUERY_TIMEOUT_SECONDS = 3600.0
# A failed query submitted this long before our start request belongs to an earlier attempt of the step.
_EARLIER_ATTEMPT_MARGIN = timedelta(seconds=60)
_MAX_QUERY_ATTEMPTS = 5
_FAILED_STATES = ("FAILED", "CANCELLED")
_WORKGROUP = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
_RESULT_BLOCK_BYTES = 8 * 1024 * 1024
_ARROW_TYPE_NAMES = {"int64": "an integer", "double": "a number", "bool": "a boolean"}


class AthenaQueryError(StepInputError):
    """The Athena query could not be started, failed, was cancelled, or did not finish in time."""


@dataclass(frozen=True, kw_only=True)
class AthenaTarget:
    """Where the Athena query runs and the Glue tables it reads.

    ``feature_tables`` maps each feature group of the spec to its Glue table; a table name without ``db.``
    (like ``labels_table``) is in ``database``, which is also the query's default database.
    ``request_scope`` goes into the idempotency token (``client_request_token``).
    """

    database: str
    workgroup: str
    labels_table: str
    feature_tables: Mapping[str, str]
    request_scope: str = ""
    timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        quote_identifier(self.database)
        if not _WORKGROUP.match(self.workgroup):
            raise StepInputError(f"athena: '{self.workgroup}' is not a valid workgroup name")
        if not 0 < self.timeout_seconds < float("inf"):
            raise StepInputError(f"athena: query timeout {self.timeout_seconds} s must be a positive number")

    def table(self, name: str) -> str:
        return name if "." in name else f"{self.database}.{name}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    """The time sources of the Athena wait (tests pass fakes)."""

    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = field(default=_utc_now)


def athena_sql(
    spec: StepSpec,
    target: AthenaTarget,
    *,
    window: TimeWindow = TimeWindow(),
    id_columns: Sequence[str] = (),
    as_of: datetime | None = None,
) -> str:
    """The point-in-time query in the Athena dialect over the target's Glue tables (database-qualified)."""
    unknown = sorted(set(target.feature_tables) - set(spec.feature_groups))
    if unknown:
        raise StepInputError(
            f"--feature-tables: {unknown} are not feature groups of the spec (groups: {list(spec.feature_groups)})"
        )
    return point_in_time_sql(
        spec,
        labels_table=target.table(target.labels_table),
        feature_tables={group: target.table(table) for group, table in target.feature_tables.items()},
        window=window,
        id_columns=id_columns,
        as_of=as_of,
        dialect=Dialect.ATHENA,
    )


def client_request_token(sql: str, *, database: str, workgroup: str, scope: str = "", attempt: int = 0) -> str:
    """StartQueryExecution's idempotency token: a hash of the query and where it runs.

    A retried job (or botocore retrying a start whose response was lost) sends the same token, so Athena hands
    back the query the first attempt started instead of starting, and billing, a second one. ``scope`` (the
    pipeline execution id) keeps a later execution with the same window from being handed an earlier
    execution's result; ``attempt`` numbers the fresh starts made after an earlier attempt's query had failed.
    """
    text = "\0".join([database, workgroup, scope, str(attempt), sql])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _client_error(error: Any) -> str:
    details = getattr(error, "response", {}).get("Error", {})
    return f"{details.get('Code', 'error')}: {details.get('Message', error)}"


def _start_query(athena: Any, sql: str, target: AthenaTarget, token: str) -> str:
    from botocore.exceptions import ClientError  # noqa: PLC0415 - botocore only for the Athena engine

    try:
        # No ResultConfiguration: the workgroup enforces the result location and its encryption.
        response = athena.start_query_execution(
            QueryString=sql,
            ClientRequestToken=token,
            QueryExecutionContext={"Database": target.database},
            WorkGroup=target.workgroup,
        )
    except ClientError as error:
        raise AthenaQueryError(
            f"athena: could not start the query in workgroup '{target.workgroup}' (database '{target.database}'): "
            f"{_client_error(error)}"
        ) from None
    return str(response["QueryExecutionId"])


def _query_execution(athena: Any, query_id: str) -> dict[str, Any]:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    except ClientError as error:
        raise AthenaQueryError(
            f"athena: could not read the state of query {query_id}: {_client_error(error)}"
        ) from None
    return execution


def _stop_query(athena: Any, query_id: str) -> str:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        athena.stop_query_execution(QueryExecutionId=query_id)
    except ClientError as error:
        return f"stopping it failed too ({_client_error(error)})"
    return "it was stopped"


def _wait_for_query(athena: Any, query_id: str, timeout_seconds: float, clock: Clock) -> dict[str, Any]:
    """Poll until the query ends (bounded backoff); stop it and fail once ``timeout_seconds`` have passed."""
    deadline = clock.monotonic() + timeout_seconds
    delay = ATHENA_POLL_FIRST_SECONDS
    while True:
        execution = _query_execution(athena, query_id)
        state = str(execution["Status"]["State"])
        if state == "SUCCEEDED" or state in _FAILED_STATES:
            return execution
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            stopped = _stop_query(athena, query_id)
            raise AthenaQueryError(
                f"athena: query {query_id} did not finish within {timeout_seconds:g} s (still {state}); {stopped}. "
                "Raise --query-timeout-seconds if it needs longer"
            )
        clock.sleep(min(delay, remaining))
        delay = min(delay * ATHENA_POLL_BACKOFF, ATHENA_POLL_MAX_SECONDS)


def _failure(query_id: str, execution: Mapping[str, Any], target: AthenaTarget) -> str:
    status = execution["Status"]
    error = status.get("AthenaError") or {}
    reason = status.get("StateChangeReason") or error.get("ErrorMessage") or "Athena gave no reason"
    retryable = " (Athena marks the error retryable)" if error.get("Retryable") else ""
    return (
        f"athena: query {query_id} {status['State']}: {reason}{retryable} "
        f"[workgroup '{target.workgroup}', database '{target.database}']"
    )


def _submitted_before(execution: Mapping[str, Any], moment: datetime) -> bool:
    submitted = execution["Status"].get("SubmissionDateTime")
    if not isinstance(submitted, datetime):
        return False
    if submitted.tzinfo is None:
        submitted = submitted.replace(tzinfo=UTC)
    return submitted < moment


def run_athena_query(athena: Any, sql: str, target: AthenaTarget, *, clock: Clock = Clock()) -> dict[str, Any]:
    """Start ``sql`` idempotently, wait for it and return its QueryExecution (state SUCCEEDED).

    A running or succeeded query of an earlier attempt (same token) is waited for or used as it is; a failed
    or cancelled one is not reused: the next attempt number gives a fresh token (a retried job must not fail
    again only because its first attempt's query did). A query of this run that fails raises
    ``AthenaQueryError`` with Athena's reason.
    """
    started = clock.now()
    for attempt in range(_MAX_QUERY_ATTEMPTS):
        token = client_request_token(
            sql, database=target.database, workgroup=target.workgroup, scope=target.request_scope, attempt=attempt
        )
        query_id = _start_query(athena, sql, target, token)
        print(f"athena: query {query_id} in workgroup '{target.workgroup}' (token {token[:12]}...)")
        execution = _wait_for_query(athena, query_id, target.timeout_seconds, clock)
        if execution["Status"]["State"] == "SUCCEEDED":
            return execution
        earlier = _submitted_before(execution, started - _EARLIER_ATTEMPT_MARGIN)
        if not earlier or attempt == _MAX_QUERY_ATTEMPTS - 1:
            raise AthenaQueryError(_failure(query_id, execution, target))
        print(f"{_failure(query_id, execution, target)}; an earlier attempt's query: starting it again")
    raise AssertionError("unreachable")


def _split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise AthenaQueryError(f"athena: result location '{uri}' is not an s3://bucket/key URI")
    return bucket, key


def result_types(spec: StepSpec, id_columns: Sequence[str] = ()) -> dict[str, pa.DataType]:
    """The columns of the point-in-time query with the types the spec gives them (the CSV result is text)."""
    feature_types = {"Integral": pa.int64(), "Fractional": pa.float64(), "String": pa.string()}
    types: dict[str, pa.DataType] = {spec.label: pa.int64()}
    types |= {f.name: feature_types[f.type] for f in spec.features}
    types |= {spec.event_time: pa.string(), spec.entity_id: pa.string()}
    types |= {c: pa.string() for c in _extra_id_columns(spec, id_columns)}
    types |= {_MATCHED + str(i): pa.bool_() for i in range(len(spec.feature_groups))}
    return types


def _typed(column: Any, name: str, kind: pa.DataType, location: str) -> Any:
    if kind == pa.string():
        return column
    # Athena writes NULL as an empty unquoted field; an empty quoted one can only mean NULL for these types too.
    column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
    try:
        return column.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        expected = _ARROW_TYPE_NAMES.get(str(kind), str(kind))
        raise StepInputError(f"athena result {location}: column '{name}' is not {expected} ({error})") from None


def read_athena_result(s3: Any, location: str, types: Mapping[str, pa.DataType]) -> pa.Table:
    """The query's CSV result (``OutputLocation``), streamed from S3 and typed; missing columns are named.

    Athena's CSV: a header row, every value double-quoted, NULL as an empty unquoted field.
    """
    from botocore.exceptions import ClientError  # noqa: PLC0415

    bucket, key = _split_s3_uri(location)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as error:
        raise AthenaQueryError(f"athena result {location}: cannot read it: {_client_error(error)}") from None
    try:
        reader = pa_csv.open_csv(
            body,
            read_options=pa_csv.ReadOptions(block_size=_RESULT_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                # Everything as text, typed below; Athena may give the names in lower case.
                column_types=dict.fromkeys([*types, *(name.lower() for name in types)], pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,  # "" is an empty string, an empty unquoted field NULL
            ),
        )
        table = reader.read_all()
    except pa.ArrowInvalid as error:
        raise StepInputError(f"athena result {location}: not a readable CSV result ({error})") from None
    finally:
        body.close()
    header = {name.lower(): name for name in reversed(table.schema.names)}
    found = {name: header.get(name.lower(), name) for name in types}
    present = {name: str(kind).upper() for name, kind in zip(table.schema.names, table.schema.types, strict=True)}
    present |= {name: present[column] for name, column in found.items() if column in present}
    _check_columns(f"athena result {location}", present, dict.fromkeys(types))
    return pa.table(
        [_typed(table.column(found[name]), name, kind, location) for name, kind in types.items()], names=list(types)
    )


def build_dataset_athena(
    spec: StepSpec,
    *,
    athena: Any,
    s3: Any,
    target: AthenaTarget,
    output_dir: Path,
    window: TimeWindow = TimeWindow(),
    id_columns: Sequence[str] = (),
    as_of: datetime | None = None,
    max_unmatched_fraction: float = 0.01,
    clock: Clock = Clock(),
) -> dict[str, Any]:
    """Run the point-in-time query on Athena, then check and write its result exactly as ``build_dataset`` does.

    ``athena`` and ``s3`` are boto3 clients (``athena_clients``; tests pass stubbed ones). The result is read
    from the query's ``OutputLocation``. Nothing is written unless the query succeeds and every check passes.
    """
    sql = athena_sql(spec, target, window=window, id_columns=id_columns, as_of=as_of)
    execution = run_athena_query(athena, sql, target, clock=clock)
    query_id = str(execution["QueryExecutionId"])
    location = (execution.get("ResultConfiguration") or {}).get("OutputLocation")
    if not location:
        raise AthenaQueryError(f"athena: query {query_id} SUCCEEDED but reports no result OutputLocation")
    table = read_athena_result(s3, str(location), result_types(spec, id_columns))
    statistics = execution.get("Statistics") or {}
    scanned = int(statistics.get("DataScannedInBytes", 0))
    print(f"athena: query {query_id} SUCCEEDED, {scanned / 1e6:.1f} MB scanned, {table.num_rows} result rows")
    return _finish(
        table,
        spec,
        sql=sql,
        output_dir=output_dir,
        window=window,
        id_columns=id_columns,
        as_of=as_of,
        max_unmatched_fraction=max_unmatched_fraction,
        engine={
            "engine": Engine.ATHENA.value,
            "athena": {
                "query_execution_id": query_id,
                "data_scanned_bytes": scanned,
                "engine_execution_time_ms": int(statistics.get("EngineExecutionTimeInMillis", 0)),
                "workgroup": target.workgroup,
                "database": target.database,
                "result_location": str(location),
            },
        },
    )


def athena_clients(region: str) -> tuple[Any, Any]:
    """boto3 Athena and S3 clients (boto3 is imported here only: the DuckDB engine never needs it)."""
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=10, read_timeout=60)
    session = boto3.session.Session(region_name=region)
    return session.client("athena", config=config), session.client("s3", config=config)


# ---- CLI ----


FEATURE_GROUPS_DIR = Path("/opt/ml/processing/input/feature_groups")
LABELS_DIR = Path("/opt/ml/processing/input/labels")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dataset", description="Point-in-time-correct training set.")
    parser.add_argument(
        "--engine",
        choices=[e.value for e in Engine],
        default=Engine.DUCKDB.value,
        help="duckdb: local parquet files (default); athena: the Glue tables, through Athena",
    )
    parser.add_argument("--spec", type=Path, default=Path("/opt/ml/processing/code/spec.json"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output/dataset"))
    parser.add_argument("--window-start", default="", help="first label event time (ISO-8601); empty = open")
    parser.add_argument("--window-end", default="", help="label event times before this (ISO-8601); empty = open")
    parser.add_argument("--as-of", default="", help="ignore feature records written after this; empty = now")
    parser.add_argument("--id-columns", default="", help="comma-separated label-table columns to carry through")
    parser.add_argument("--max-unmatched-fraction", type=float, default=0.01)
    local = parser.add_argument_group("--engine duckdb")
    local.add_argument("--feature-groups-dir", type=Path, default=None, help=f"default {FEATURE_GROUPS_DIR}")
    local.add_argument("--labels-dir", type=Path, default=None, help=f"default {LABELS_DIR}")
    aws = parser.add_argument_group("--engine athena")
    aws.add_argument("--database", default="", help="Glue database of the tables (required)")
    aws.add_argument(
        "--feature-tables",
        action="append",
        default=[],
        metavar="GROUP=TABLE[,GROUP=TABLE...]",
        help="the Glue table of every feature group (required; may be repeated)",
    )
    aws.add_argument("--labels-table", default="", help="Glue table of the labels (required)")
    aws.add_argument("--workgroup", default="", help="Athena workgroup (required)")
    aws.add_argument("--region", default="", help="default: $AWS_REGION")
    aws.add_argument("--query-timeout-seconds", type=float, default=DEFAULT_QUERY_TIMEOUT_SECONDS)
    aws.add_argument("--request-scope", default="", help="e.g. the pipeline execution id (idempotency token)")
    return parser


def parse_feature_tables(values: Sequence[str]) -> dict[str, str]:
    """``group=table[,group=table...]`` values (the option may be repeated) as {group: table}."""
    tables: dict[str, str] = {}
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            group, separator, table = (part.strip() for part in item.partition("="))
            if not separator or not group or not table:
                raise StepInputError(f"--feature-tables: '{item}' is not group=table")
            if tables.get(group, table) != table:
                raise StepInputError(
                    f"--feature-tables: feature group '{group}' has two tables: {tables[group]}, {table}"
                )
            tables[group] = table
    return tables


def _refuse_options(engine: Engine, given: Mapping[str, object]) -> None:
    wrong = [option for option, value in given.items() if value]
    if wrong:
        raise StepInputError(f"{', '.join(wrong)}: not an option of --engine {engine.value}")


def _athena_target(args: argparse.Namespace) -> AthenaTarget:
    _refuse_options(Engine.ATHENA, {"--feature-groups-dir": args.feature_groups_dir, "--labels-dir": args.labels_dir})
    tables = parse_feature_tables(args.feature_tables)
    required = {
        "--database": args.database,
        "--feature-tables": tables,
        "--labels-table": args.labels_table,
        "--workgroup": args.workgroup,
    }
    missing = [option for option, value in required.items() if not value]
    if missing:
        raise StepInputError(f"--engine athena needs {', '.join(missing)}")
    return AthenaTarget(
        database=args.database,
        workgroup=args.workgroup,
        labels_table=args.labels_table,
        feature_tables=tables,
        request_scope=args.request_scope,
        timeout_seconds=args.query_timeout_seconds,
    )


def _run(args: argparse.Namespace) -> None:
    window = TimeWindow(
        start=parse_utc(args.window_start, "--window-start") if args.window_start else None,
        end=parse_utc(args.window_end, "--window-end") if args.window_end else None,
    )
    id_columns = [c.strip() for c in args.id_columns.split(",") if c.strip()]
    as_of = parse_utc(args.as_of, "--as-of") if args.as_of else None
    if args.engine == Engine.ATHENA:
        target = _athena_target(args)
        region = args.region or os.environ.get("AWS_REGION", "")
        if not region:
            raise StepInputError("--engine athena: no region; pass --region or set AWS_REGION")
        spec = load_step_spec(args.spec)
        athena, s3 = athena_clients(region)
        summary = build_dataset_athena(
            spec,
            athena=athena,
            s3=s3,
            target=target,
            output_dir=args.output_dir,
            window=window,
            id_columns=id_columns,
            as_of=as_of,
            max_unmatched_fraction=args.max_unmatched_fraction,
        )
    else:
        _refuse_options(
            Engine.DUCKDB,
            {
                "--database": args.database,
                "--feature-tables": args.feature_tables,
                "--labels-table": args.labels_table,
                "--workgroup": args.workgroup,
                "--region": args.region,
                "--request-scope": args.request_scope,
            },
        )
        summary = build_dataset(
            load_step_spec(args.spec),
            feature_groups_dir=args.feature_groups_dir or FEATURE_GROUPS_DIR,
            labels_dir=args.labels_dir or LABELS_DIR,
            output_dir=args.output_dir,
            window=window,
            id_columns=id_columns,
            as_of=as_of,
            max_unmatched_fraction=args.max_unmatched_fraction,
        )
    print(f"dataset: {summary['rows']} rows, {summary['positives']} positives")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, _parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
