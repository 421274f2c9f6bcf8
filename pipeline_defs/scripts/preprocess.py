"""Preprocess step: time-based split and the CSV files built-in XGBoost and the monitors read.

The dataset (``dataset.parquet`` from the dataset step) is ordered by event time and cut into train,
validation and test by the given fractions, never splitting rows that share an event time, so every
validation and test row is later than every training row (no look-ahead through the split).

Each row becomes the model input with ``lambdas.shared.features.to_model_input`` and ``format_csv_row``, the
same functions the serving path uses: spec column order, the spec's categories, the same number
formatting. Outputs (``--output-dir``):

  ``train/train.csv``, ``validation/validation.csv``, ``test/test.csv``
        label first, then the features in spec order; no header (built-in XGBoost's ``text/csv``)
  ``baseline/baseline.csv``
        the training rows' model inputs WITH a header of feature names and no label: what the endpoint
        receives, so the data-quality baseline is computed on exactly what data capture records
  ``summary.json``
        row and positive counts, time range per split, feature names and vocabularies, and
        ``scale_pos_weight`` (training negatives / positives) for the training step
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lambdas.shared.features import (
    FeatureValue,
    format_csv_row,
    format_event_time,
    to_model_input,
)
from pipeline_defs.scripts.common import StepInputError, parse_utc, run_main, single_file, write_json
from pipeline_defs.scripts.spec import StepSpec, load_step_spec

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    name: str
    rows: list[tuple[int, list[float]]]
    first: datetime
    last: datetime

    @property
    def positives(self) -> int:
        return sum(label for label, _ in self.rows)


def read_dataset(path: Path, spec: StepSpec) -> pa.Table:
    """The dataset table, checked: columns present, of the right kind, without nulls; labels 0/1."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise StepInputError(f"dataset: cannot read '{path}' as parquet ({error})") from None
    required = [spec.label, *spec.feature_names, spec.event_time]
    absent = [c for c in required if c not in table.column_names]
    if absent:
        raise StepInputError(f"dataset: missing column(s) {absent}; found {table.column_names}")
    if table.num_rows == 0:
        raise StepInputError("dataset: no rows (empty window?)")
    _check_type(table, spec.label, "an integer 0/1 label", pa.types.is_integer, pa.types.is_boolean)
    _check_type(table, spec.event_time, "ISO-8601 text", pa.types.is_string, pa.types.is_large_string)
    for feature in spec.features:
        if feature.is_categorical:
            _check_type(table, feature.name, "text", pa.types.is_string, pa.types.is_large_string)
        else:
            _check_type(table, feature.name, "a number", pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
    for name in required:
        nulls = table.column(name).null_count
        if nulls:
            raise StepInputError(f"dataset: column '{name}' has {nulls} missing value(s)")
    labels = set(table.column(spec.label).to_pylist())
    if not labels <= {0, 1}:
        raise StepInputError(
            f"dataset: label column '{spec.label}' has values {sorted(labels - {0, 1})}, expected only 0 and 1"
        )
    return table


def _check_type(table: pa.Table, column: str, expected: str, *checks: Any) -> None:
    kind = table.schema.field(column).type
    if not any(check(kind) for check in checks):
        raise StepInputError(f"dataset: column '{column}' has type {kind}, expected {expected}")


def time_split(times: Sequence[datetime], train_fraction: float, validation_fraction: float) -> tuple[int, int]:
    """End indices of train and validation in time-sorted rows; ties in time stay in one split."""
    if not (0 < train_fraction < 1 and 0 < validation_fraction < 1 and train_fraction + validation_fraction < 1):
        raise StepInputError(
            f"split fractions train={train_fraction} validation={validation_fraction} must be positive and leave "
            "a test share (train + validation < 1)"
        )
    n = len(times)
    train_end = _after_ties(times, math.floor(n * train_fraction))
    validation_end = _after_ties(times, max(train_end, math.floor(n * (train_fraction + validation_fraction))))
    return train_end, validation_end


def _after_ties(times: Sequence[datetime], index: int) -> int:
    while 0 < index < len(times) and times[index] == times[index - 1]:
        index += 1
    return index


def build_splits(table: pa.Table, spec: StepSpec, train_fraction: float, validation_fraction: float) -> list[Split]:
    """Model inputs per split, in time order; every split non-empty, train/validation/test with both classes."""
    records: list[dict[str, Any]] = table.select([spec.label, *spec.feature_names, spec.event_time]).to_pylist()
    keyed = sorted(
        (parse_utc(str(r[spec.event_time]), f"dataset column '{spec.event_time}'", naive_is_utc=True), i)
        for i, r in enumerate(records)
    )
    times = [moment for moment, _ in keyed]
    train_end, validation_end = time_split(times, train_fraction, validation_fraction)
    bounds = {"train": (0, train_end), "validation": (train_end, validation_end), "test": (validation_end, len(keyed))}
    splits = []
    for name in SPLITS:
        start, end = bounds[name]
        if start >= end:
            raise StepInputError(
                f"split '{name}' is empty: {len(keyed)} rows are too few for the fractions "
                f"train={train_fraction} validation={validation_fraction}"
            )
        rows = [_model_row(records[index], spec) for _, index in keyed[start:end]]
        split = Split(name=name, rows=rows, first=times[start], last=times[end - 1])
        if split.positives in (0, len(rows)):
            only = "positive" if split.positives else "negative"
            raise StepInputError(
                f"split '{name}' ({format_event_time(split.first)} .. {format_event_time(split.last)}"
                f", {len(rows)} rows) has only {only} labels: widen the window or change fractions"
            )
        splits.append(split)
    return splits


def _model_row(record: dict[str, Any], spec: StepSpec) -> tuple[int, list[float]]:
    values: dict[str, FeatureValue | None] = {name: record[name] for name in spec.feature_names}
    return int(record[spec.label]), to_model_input(values, spec.feature_names, spec.category_vocabularies)


def write_outputs(splits: Sequence[Split], spec: StepSpec, output_dir: Path) -> dict[str, Any]:
    for split in splits:
        directory = output_dir / split.name
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / f"{split.name}.csv").open("w", encoding="utf-8", newline="\n") as handle:
            for label, vector in split.rows:
                handle.write(f"{label},{format_csv_row(vector)}\n")
    train = next(s for s in splits if s.name == "train")
    (output_dir / "baseline").mkdir(parents=True, exist_ok=True)
    with (output_dir / "baseline" / "baseline.csv").open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(",".join(spec.feature_names) + "\n")
        for _, vector in train.rows:
            handle.write(format_csv_row(vector) + "\n")
    summary = {
        # negatives / positives of the training split: built-in XGBoost's scale_pos_weight for the rare class.
        "scale_pos_weight": (len(train.rows) - train.positives) / train.positives,
        "feature_names": list(spec.feature_names),
        "category_vocabularies": {k: list(v) for k, v in spec.category_vocabularies.items()},
        "splits": {
            s.name: {
                "rows": len(s.rows),
                "positives": s.positives,
                "first_event_time": format_event_time(s.first),
                "last_event_time": format_event_time(s.last),
            }
            for s in splits
        },
    }
    write_json(output_dir / "summary.json", summary)
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="preprocess", description="Time-based split and XGBoost CSV files.")
    parser.add_argument("--spec", type=Path, default=Path("/opt/ml/processing/code/spec.json"))
    parser.add_argument(
        "--dataset",
        type=Path,
        default=Path("/opt/ml/processing/input/dataset"),
        help="dataset.parquet or the directory holding it",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--train-fraction", type=float, default=0.7)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    return parser


def _run(args: argparse.Namespace) -> None:
    spec = load_step_spec(args.spec)
    table = read_dataset(single_file(args.dataset, "*.parquet", "dataset"), spec)
    splits = build_splits(table, spec, args.train_fraction, args.validation_fraction)
    summary = write_outputs(splits, spec, args.output_dir)
    counts = ", ".join(f"{name} {s['rows']} ({s['positives']} positive)" for name, s in summary["splits"].items())
    print(f"preprocess: {counts}")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, _parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
