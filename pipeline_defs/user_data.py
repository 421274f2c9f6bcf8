"""A user's own data for the local pipeline run: checked row by row, bad rows counted and quarantined.

    python -m pipeline_defs.user_data --model NAME --data FILE --labels FILE --out DIR [--max-rejected-fraction F]

``FILE`` is CSV (UTF-8, a header row) or Parquet, told apart by the name (``.csv``; ``.parquet`` or ``.pq``).
The schema of both files is in ``docs/user-data.md``:

- the data file holds the model's raw fields: for a model whose features are computed from raw events (the fraud
  example) the raw event's fields (``lambdas/shared/features.py``), which become feature records through that
  module exactly as ingestion computes them; for any other model the entity id, the event time and every feature
  of the spec, each row one record in every feature group;
- the labels file holds the label id (if the spec has one), the entity id, the event time and the 0/1 label.

A file that cannot be read, or that lacks a required column, stops with one line naming the file and the column.
A row that fails a check (a missing or malformed value, a duplicate) is not used: it is written, with its row
number in the file, the column at fault and the problem, to ``DIR/rejects/{data,labels}-rejects.csv`` and
counted in ``DIR/summary.json``. More than ``--max-rejected-fraction`` of a file's rows rejected stops the run
(the rejects are still written).

Output (``DIR``), the layout the dataset step reads::

    DIR/feature_groups/<group>/part-00000.parquet    offline-store rows (written at each record's event time)
    DIR/labels/labels.parquet
    DIR/rejects/data-rejects.csv, DIR/rejects/labels-rejects.csv
    DIR/summary.json                                  rows read, used and rejected per file
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from config import ModelSpec
from config.model_spec import FeatureType
from lambdas.shared.features import (
    MalformedEvent,
    TransactionEvent,
    batch_feature_records,
    format_event_time,
    parse_event,
    parse_event_time,
)
from pipeline_defs.offline_store import choose_model, write_tables

DEFAULT_MAX_REJECTED_FRACTION = 0.05
# Columns of a raw card transaction (lambdas/shared/features.py); the rest of the raw fields are optional.
RAW_EVENT_REQUIRED = ("transaction_id", "customer_id", "event_time", "amount", "merchant_category", "card_present")
RAW_EVENT_OPTIONAL = (
    "distance_from_home_km",
    "merchant_lat",
    "merchant_lon",
    "home_lat",
    "home_lon",
    "utc_offset_minutes",
)
REJECT_COLUMNS = ("row", "column", "problem", "values")


class UserDataError(Exception):
    """A file cannot be used at all (unreadable, a required column missing, too many bad rows)."""


class _BadValueError(ValueError):
    def __init__(self, column: str, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


@dataclass
class Rejects:
    """The rows of one file that were not used, with why."""

    what: str
    rows: list[dict[str, str]] = field(default_factory=list)

    def add(self, row: int, column: str, problem: str, values: Mapping[str, Any]) -> None:
        shown = json.dumps({k: _jsonable(v) for k, v in values.items()}, sort_keys=True)
        self.rows.append({"row": str(row), "column": column, "problem": problem, "values": shown})

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=REJECT_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# ---- reading files ----


def read_rows(path: Path, what: str, required: Sequence[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, values by column) of a CSV or Parquet file; its columns checked against ``required``.

    Row numbers are the ones a user finds the row by: a CSV file's line number (the header is line 1), a Parquet
    file's row index from 1. An empty CSV cell is a missing value (None)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise UserDataError(f"{what}: '{path}' does not exist")
    if suffix == ".csv":
        yield from _csv_rows(path, what, required)
    elif suffix in (".parquet", ".pq"):
        yield from _parquet_rows(path, what, required)
    else:
        raise UserDataError(f"{what}: '{path.name}' is neither .csv nor .parquet")


def _check_header(what: str, path: Path, columns: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        raise UserDataError(f"{what}: '{path.name}' has no column(s) {missing}; its columns are {list(columns)}")
    duplicated = sorted({c for c in columns if list(columns).count(c) > 1})
    if duplicated:
        raise UserDataError(f"{what}: '{path.name}' has the column(s) {duplicated} more than once")


def _csv_rows(path: Path, what: str, required: Sequence[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header is None:
                raise UserDataError(f"{what}: '{path.name}' is empty (expected a header row)")
            header = [name.strip() for name in header]
            _check_header(what, path, header, required)
            for values in reader:
                line = reader.line_num
                if len(values) != len(header):
                    fields = dict(zip(header, values, strict=False))
                    yield line, {"__error__": f"has {len(values)} fields, the header has {len(header)}", **fields}
                    continue
                yield (
                    line,
                    {name: (value if value.strip() else None) for name, value in zip(header, values, strict=True)},
                )
    except UnicodeDecodeError as error:
        raise UserDataError(f"{what}: '{path.name}' is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise UserDataError(f"{what}: '{path.name}' is not valid CSV ({error})") from None


def _parquet_rows(path: Path, what: str, required: Sequence[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise UserDataError(f"{what}: cannot read '{path.name}' as Parquet ({error})") from None
    _check_header(what, path, table.column_names, required)
    yield from enumerate(table.to_pylist(), start=1)


# ---- values ----


def _text(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    if value is None:
        raise _BadValueError(column, "missing")
    if not isinstance(value, str):
        value = str(value) if isinstance(value, int) and not isinstance(value, bool) else None
        if value is None:
            raise _BadValueError(column, f"expected text, got {type(row[column]).__name__}")
    if not value.strip():
        raise _BadValueError(column, "empty")
    return value.strip()


def _event_time(row: Mapping[str, Any], column: str) -> str:
    """The event time as the offline store keeps it; a Parquet timestamp without a zone is UTC."""
    value = row.get(column)
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return format_event_time(moment)
    try:
        return format_event_time(parse_event_time(_text(row, column), field=column))
    except MalformedEvent as error:
        raise _BadValueError(column, error.problem) from None


def _feature_value(row: Mapping[str, Any], column: str, kind: FeatureType) -> str | int | float:
    value = row.get(column)
    if value is None:
        raise _BadValueError(column, "missing")
    if kind is FeatureType.STRING:
        return _text(row, column)
    if isinstance(value, bool):
        raise _BadValueError(column, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _BadValueError(column, f"'{value}' is not a number") from None
    if not math.isfinite(number):
        raise _BadValueError(column, f"{value!r} is not finite")
    if kind is FeatureType.INTEGRAL:
        if not number.is_integer():
            raise _BadValueError(column, f"'{value}' is not a whole number")
        return int(number)
    return number


def _label(row: Mapping[str, Any], column: str) -> int:
    value = row.get(column)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, float) and value in (0.0, 1.0):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return 1 if value.strip().lower() in ("1", "true") else 0
    raise _BadValueError(column, "missing" if value is None else f"{value!r} is not a 0/1 label")


# ---- the two files ----


@dataclass
class UserData:
    records: dict[str, list[dict[str, Any]]]
    labels: list[dict[str, Any]]
    data_rejects: Rejects
    labels_rejects: Rejects
    rows_read: dict[str, int]


def _check_fields(row: dict[str, Any]) -> None:
    """A CSV row with more or fewer fields than the header cannot be read by column."""
    if "__error__" in row:
        raise _BadValueError("<row>", row.pop("__error__"))


def _system_columns(event_time: str) -> dict[str, Any]:
    moment = datetime.fromisoformat(event_time.replace("Z", "+00:00")).replace(tzinfo=None)
    return {"api_invocation_time": moment, "write_time": moment, "is_deleted": False}


def _spec_records(spec: ModelSpec, path: Path, rejects: Rejects) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Feature records of a model that writes its features itself: one row, one record per group."""
    required = [spec.entity_id, spec.event_time, *spec.feature_names]
    records: dict[str, list[dict[str, Any]]] = {g.name: [] for g in spec.feature_groups}
    seen: dict[tuple[str, str], int] = {}
    read = 0
    for number, row in read_rows(path, "data", required):
        read += 1
        try:
            _check_fields(row)
            entity = _text(row, spec.entity_id)
            event_time = _event_time(row, spec.event_time)
            values = {f.name: _feature_value(row, f.name, f.type) for f in spec.features}
            if (entity, event_time) in seen:
                raise _BadValueError(
                    spec.event_time, f"row {seen[entity, event_time]} has the same entity and event time"
                )
        except _BadValueError as bad:
            rejects.add(number, bad.column, bad.problem, row)
            continue
        seen[entity, event_time] = number
        keys = {spec.entity_id: entity, spec.event_time: event_time}
        for group in spec.feature_groups:
            features = {f.name: values[f.name] for f in spec.features_of(group.name)}
            records[group.name].append({**keys, **features, **_system_columns(event_time)})
    return records, read


def _raw_event_records(spec: ModelSpec, path: Path, rejects: Rejects) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Feature records of a model fed by raw events: each row parsed and computed by the feature module."""
    events: list[TransactionEvent] = []
    seen: dict[str, int] = {}
    read = 0
    for number, row in read_rows(path, "data", RAW_EVENT_REQUIRED):
        read += 1
        try:
            _check_fields(row)
            event = parse_event({k: v for k, v in row.items() if v is not None})
            if event.transaction_id in seen:
                raise _BadValueError("transaction_id", f"row {seen[event.transaction_id]} has the same transaction_id")
        except MalformedEvent as bad:
            rejects.add(number, bad.field, bad.problem, row)
            continue
        except _BadValueError as bad:
            rejects.add(number, bad.column, bad.problem, row)
            continue
        seen[event.transaction_id] = number
        events.append(event)
    records: dict[str, list[dict[str, Any]]] = {g.name: [] for g in spec.feature_groups}
    for _, computed in batch_feature_records(events):
        for group, record in computed.by_group().items():
            records[group].append({**record, **_system_columns(str(record[spec.event_time]))})
    return records, read


def _labels(spec: ModelSpec, path: Path, rejects: Rejects) -> tuple[list[dict[str, Any]], int]:
    key_columns = [*([spec.label_id] if spec.label_id else []), spec.entity_id, spec.event_time]
    labels: list[dict[str, Any]] = []
    seen: dict[tuple[str, ...], int] = {}
    read = 0
    for number, row in read_rows(path, "labels", [*key_columns, spec.label]):
        read += 1
        try:
            _check_fields(row)
            entity = _text(row, spec.entity_id)
            event_time = _event_time(row, spec.event_time)
            label_id = _text(row, spec.label_id) if spec.label_id else None
            label = _label(row, spec.label)
            key = (label_id,) if label_id is not None else (entity, event_time)
            if key in seen:
                column = spec.label_id or spec.event_time
                raise _BadValueError(column, f"row {seen[key]} labels the same event")
        except _BadValueError as bad:
            rejects.add(number, bad.column, bad.problem, row)
            continue
        seen[key] = number
        labelled = {spec.entity_id: entity, spec.event_time: event_time, spec.label: label}
        labels.append({spec.label_id: label_id, **labelled} if spec.label_id else labelled)
    return labels, read


def load(spec: ModelSpec, *, data: Path, labels: Path) -> UserData:
    """Both files, checked row by row (``UserDataError`` for a file that cannot be used at all)."""
    data_rejects, labels_rejects = Rejects("data"), Rejects("labels")
    reader = _raw_event_records if spec.raw_event_ingestion else _spec_records
    records, data_rows = reader(spec, data, data_rejects)
    label_rows, labels_read = _labels(spec, labels, labels_rejects)
    return UserData(
        records=records,
        labels=label_rows,
        data_rejects=data_rejects,
        labels_rejects=labels_rejects,
        rows_read={"data": data_rows, "labels": labels_read},
    )


def write(spec: ModelSpec, loaded: UserData, out_dir: Path, *, max_rejected_fraction: float) -> dict[str, Any]:
    """Write the usable rows as the dataset step reads them, and the rejects; stop if too many were rejected."""
    loaded.data_rejects.write(out_dir / "rejects" / "data-rejects.csv")
    loaded.labels_rejects.write(out_dir / "rejects" / "labels-rejects.csv")
    counts = {
        what: {"read": loaded.rows_read[what], "rejected": len(rejects.rows)}
        for what, rejects in (("data", loaded.data_rejects), ("labels", loaded.labels_rejects))
    }
    summary: dict[str, Any] = {"model": spec.name, "rows": counts, "rejects": str(out_dir / "rejects")}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    for what, count in counts.items():
        if count["read"] == 0:
            raise UserDataError(f"{what}: the file has no rows")
        if count["rejected"] > max_rejected_fraction * count["read"]:
            raise UserDataError(
                f"{what}: {count['rejected']} of {count['read']} rows rejected (more than "
                f"{max_rejected_fraction:.0%}); see {out_dir / 'rejects' / f'{what}-rejects.csv'}"
            )
    write_tables(spec, loaded.records, loaded.labels, out_dir)
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="user_data", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a model name from config.MODELS")
    parser.add_argument("--data", type=Path, required=True, help="the raw fields, CSV or Parquet")
    parser.add_argument("--labels", type=Path, required=True, help="the labels, CSV or Parquet")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-rejected-fraction", type=float, default=DEFAULT_MAX_REJECTED_FRACTION)
    return parser


def main(argv: Sequence[str] | None = None, *, models: Sequence[ModelSpec] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    spec = choose_model(parser, args.model, models)
    if not 0.0 <= args.max_rejected_fraction < 1.0:
        parser.error("--max-rejected-fraction must be in [0, 1)")
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        summary = write(
            spec,
            load(spec, data=args.data, labels=args.labels),
            args.out,
            max_rejected_fraction=args.max_rejected_fraction,
        )
    except UserDataError as error:
        print(f"error: user_data: {error}", file=sys.stderr)
        return 2
    rows = summary["rows"]
    print(
        f"user_data: data {rows['data']['read']} rows ({rows['data']['rejected']} rejected), "
        f"labels {rows['labels']['read']} rows ({rows['labels']['rejected']} rejected); rejects in {summary['rejects']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
