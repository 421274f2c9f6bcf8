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
and ``TIMESTAMP '...'`` literals. Locally (and in the Processing job) the step runs the DuckDB form over the
offline-store parquet files.

Inputs
  ``--spec``                 spec.json (``pipeline_defs.scripts.spec``)
  ``--feature-groups-dir``   one sub-directory per feature group (named as in the spec) holding its
                             offline-store parquet files at any depth
  ``--labels-dir``           parquet files with the entity id, event time (ISO-8601 text), label and the
                             ``--id-columns``
Output (``--output-dir``)
  ``dataset.parquet``        label, features in spec order, event time, entity id, id columns; sorted by time
  ``query.sql``              the query that produced it;  ``summary.json``: counts, window, unmatched rows

Labelled rows that lack a record in some feature group ("label-only" rows) are dropped and counted; more
than ``--max-unmatched-fraction`` of them, or no row left at all, fails the step.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb

from lambdas.shared.features import format_event_time
from pipeline_defs.scripts.common import StepInputError, files_under, iso, parse_utc, run_main, write_json
from pipeline_defs.scripts.spec import StepSpec, load_step_spec

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
    id_columns = [c for c in dict.fromkeys(id_columns) if c not in (spec.entity_id, spec.event_time, spec.label)]
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
    con.execute(f"CREATE TABLE joined AS {sql}")
    summary = _summarise(con, spec, window, max_unmatched_fraction)
    output_dir.mkdir(parents=True, exist_ok=True)
    keep = list(dict.fromkeys([spec.label, *spec.feature_names, spec.event_time, spec.entity_id, *id_columns]))
    matched = " AND ".join(quote_identifier(_MATCHED + str(i)) for i in range(len(spec.feature_groups)))
    selection = ", ".join(quote_identifier(c) for c in keep)
    con.execute(
        f"COPY (SELECT {selection} FROM joined WHERE {matched}) "  # noqa: S608 - quoted, validated names
        f"TO {_sql_string(output_dir / 'dataset.parquet')} (FORMAT PARQUET)"
    )
    (output_dir / "query.sql").write_text(sql + "\n", encoding="utf-8")
    summary |= {"window": {"start": iso(window.start), "end": iso(window.end)}, "as_of": iso(as_of)}
    write_json(output_dir / "summary.json", summary)
    return summary


def _check_label_times(con: duckdb.DuckDBPyConnection, spec: StepSpec) -> None:
    column = quote_identifier(spec.event_time)
    bad = con.execute(
        f"SELECT {column} FROM labels WHERE TRY_CAST({column} AS TIMESTAMPTZ) IS NULL LIMIT 1"  # noqa: S608
    ).fetchall()
    if bad:
        raise StepInputError(f"labels: '{spec.event_time}' value {bad[0][0]!r} is not an ISO-8601 timestamp")


def _summarise(
    con: duckdb.DuckDBPyConnection, spec: StepSpec, window: TimeWindow, max_unmatched_fraction: float
) -> dict[str, Any]:
    groups = spec.feature_groups
    unmatched_sql = ", ".join(
        f"count(*) FILTER (WHERE NOT {quote_identifier(_MATCHED + str(i))})" for i in range(len(groups))
    )
    all_matched = " AND ".join(quote_identifier(_MATCHED + str(i)) for i in range(len(groups)))
    label = quote_identifier(spec.label)
    row = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {all_matched}), "  # noqa: S608 - quoted, validated names
        f"count(*) FILTER (WHERE {label} IS NULL), {unmatched_sql} FROM joined"
    ).fetchone()
    assert row is not None
    labelled, kept, null_labels, *unmatched = (int(v) for v in row)
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
    positives = con.execute(
        f"SELECT count(*) FILTER (WHERE {label} = 1) FROM joined WHERE {all_matched}"  # noqa: S608
    ).fetchone()
    assert positives is not None
    return {
        "labelled_events": labelled,
        "rows": kept,
        "positives": int(positives[0]),
        "dropped_label_only_rows": dropped,
        "unmatched_per_group": per_group,
    }


# ---- CLI ----


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dataset", description="Point-in-time-correct training set.")
    parser.add_argument("--spec", type=Path, default=Path("/opt/ml/processing/input/spec/spec.json"))
    parser.add_argument("--feature-groups-dir", type=Path, default=Path("/opt/ml/processing/input/feature_groups"))
    parser.add_argument("--labels-dir", type=Path, default=Path("/opt/ml/processing/input/labels"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output/dataset"))
    parser.add_argument("--window-start", default="", help="first label event time (ISO-8601); empty = open")
    parser.add_argument("--window-end", default="", help="label event times before this (ISO-8601); empty = open")
    parser.add_argument("--as-of", default="", help="ignore feature records written after this; empty = now")
    parser.add_argument("--id-columns", default="", help="comma-separated label-table columns to carry through")
    parser.add_argument("--max-unmatched-fraction", type=float, default=0.01)
    return parser


def _run(args: argparse.Namespace) -> None:
    window = TimeWindow(
        start=parse_utc(args.window_start, "--window-start") if args.window_start else None,
        end=parse_utc(args.window_end, "--window-end") if args.window_end else None,
    )
    summary = build_dataset(
        load_step_spec(args.spec),
        feature_groups_dir=args.feature_groups_dir,
        labels_dir=args.labels_dir,
        output_dir=args.output_dir,
        window=window,
        id_columns=[c.strip() for c in args.id_columns.split(",") if c.strip()],
        as_of=parse_utc(args.as_of, "--as-of") if args.as_of else None,
        max_unmatched_fraction=args.max_unmatched_fraction,
    )
    print(f"dataset: {summary['rows']} rows, {summary['positives']} positives")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, _parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
