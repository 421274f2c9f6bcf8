"""The preprocess step: time-ordered split, XGBoost CSV layout, the serving encoding, and bad input."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from config import FRAUD_DETECTION
from lambdas.shared.features import format_csv_row, to_model_input
from pipeline_defs.scripts import preprocess
from pipeline_defs.scripts.common import StepInputError
from pipeline_defs.scripts.preprocess import build_splits, read_dataset, time_split
from pipeline_defs.scripts.spec import StepSpec
from tests.unit.pipeline_scripts.conftest import SPEC


@pytest.fixture(scope="module")
def outputs(generated_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("preprocess")
    spec_file = out / "spec.json"
    spec_file.write_text(SPEC.to_json(), encoding="utf-8")
    assert (
        preprocess.main(
            ["--spec", str(spec_file), "--dataset", str(generated_dataset.parent), "--output-dir", str(out)]
        )
        == 0
    )
    return out


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def dataset_rows(spec: StepSpec, count: int, *, positive_every: int = 5, **overrides: Any) -> list[dict[str, Any]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        row: dict[str, Any] = {name: 1.0 for name in spec.feature_names}
        row |= {
            "merchant_category": "grocery",
            spec.label: int(i % positive_every == 0),
            spec.event_time: (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        row |= overrides
        rows.append(row)
    return rows


def write_dataset(tmp_path: Path, rows: list[dict[str, Any]], schema: pa.Schema | None = None) -> Path:
    path = tmp_path / "dataset.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def test_validation_and_test_rows_are_all_later_than_training_rows(outputs: Path) -> None:
    splits = json.loads((outputs / "summary.json").read_text())["splits"]

    assert splits["train"]["last_event_time"] < splits["validation"]["first_event_time"]
    assert splits["validation"]["last_event_time"] < splits["test"]["first_event_time"]
    assert all(s["positives"] > 0 for s in splits.values())


def test_summary_gives_the_training_class_ratio(outputs: Path) -> None:
    summary = json.loads((outputs / "summary.json").read_text())
    train = summary["splits"]["train"]
    assert summary["scale_pos_weight"] == (train["rows"] - train["positives"]) / train["positives"]


def test_csv_files_have_the_label_first_and_no_header(outputs: Path, step_spec: StepSpec) -> None:
    for name in ("train", "validation", "test"):
        rows = read_csv(outputs / name / f"{name}.csv")
        assert {row[0] for row in rows} <= {"0", "1"}
        assert {len(row) for row in rows} == {1 + len(step_spec.feature_names)}


def test_baseline_has_a_feature_header_and_the_training_inputs(outputs: Path, step_spec: StepSpec) -> None:
    baseline = read_csv(outputs / "baseline" / "baseline.csv")
    train = read_csv(outputs / "train" / "train.csv")

    assert baseline[0] == list(step_spec.feature_names)
    assert baseline[1:] == [row[1:] for row in train]


def test_training_rows_are_exactly_the_serving_encoding(
    generated_dataset: Path, outputs: Path, step_spec: StepSpec
) -> None:
    records = sorted(pq.read_table(generated_dataset).to_pylist(), key=lambda r: (r["event_time"], r["customer_id"]))
    first = records[0]
    # The score function's categories are the config spec's (its CATEGORIES variable); training's come via spec.json.
    serving = to_model_input(first, FRAUD_DETECTION.feature_names, FRAUD_DETECTION.category_vocabularies)
    serving_line = format_csv_row(serving)

    train_lines = (outputs / "train" / "train.csv").read_text().splitlines()
    assert train_lines[0] == f"{first[step_spec.label]},{serving_line}"


def test_split_never_separates_rows_with_the_same_time() -> None:
    t = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=h) for h in (0, 1, 2, 2, 2, 3, 4, 5, 6, 7)]
    train_end, validation_end = time_split(t, 0.3, 0.3)

    assert (train_end, validation_end) == (5, 6)  # index 3 would cut the three 02:00 rows


@pytest.mark.parametrize(("train", "validation"), [(0.0, 0.2), (0.8, 0.2), (0.7, -0.1)])
def test_fractions_must_leave_every_split_a_share(train: float, validation: float) -> None:
    with pytest.raises(StepInputError, match="split fractions"):
        time_split([datetime(2024, 1, 1, tzinfo=UTC)] * 3, train, validation)


# ---- bad input ----


def test_missing_column_is_named(tmp_path: Path, step_spec: StepSpec) -> None:
    rows = dataset_rows(step_spec, 20)
    for row in rows:
        del row["count_7d"]
    with pytest.raises(StepInputError, match=r"missing column\(s\) \['count_7d'\]"):
        read_dataset(write_dataset(tmp_path, rows), step_spec)


def test_wrong_type_is_named(tmp_path: Path, step_spec: StepSpec) -> None:
    rows = dataset_rows(step_spec, 20, amount="12.5")
    with pytest.raises(StepInputError, match="column 'amount' has type string, expected a number"):
        read_dataset(write_dataset(tmp_path, rows), step_spec)


def test_missing_values_are_counted_and_named(tmp_path: Path, step_spec: StepSpec) -> None:
    rows = dataset_rows(step_spec, 20)
    rows[3]["hour_of_day"] = None
    with pytest.raises(StepInputError, match="column 'hour_of_day' has 1 missing value"):
        read_dataset(write_dataset(tmp_path, rows), step_spec)


def test_labels_other_than_zero_and_one_are_refused(tmp_path: Path, step_spec: StepSpec) -> None:
    rows = dataset_rows(step_spec, 20)
    rows[0][step_spec.label] = 2
    with pytest.raises(StepInputError, match=r"has values \[2\], expected only 0 and 1"):
        read_dataset(write_dataset(tmp_path, rows), step_spec)


def test_empty_dataset_is_refused(tmp_path: Path, step_spec: StepSpec) -> None:
    table = pa.Table.from_pylist(dataset_rows(step_spec, 1)).slice(0, 0)
    pq.write_table(table, tmp_path / "dataset.parquet")
    with pytest.raises(StepInputError, match="no rows"):
        read_dataset(tmp_path / "dataset.parquet", step_spec)


def test_a_split_without_positives_is_refused(tmp_path: Path, step_spec: StepSpec) -> None:
    rows = dataset_rows(step_spec, 40, positive_every=1000)  # only row 0 is positive
    table = read_dataset(write_dataset(tmp_path, rows), step_spec)
    with pytest.raises(StepInputError, match=r"split 'validation' .* has only negative labels"):
        build_splits(table, step_spec, 0.7, 0.15)


def test_cli_exits_2_naming_the_problem(
    tmp_path: Path, spec_file: Path, step_spec: StepSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = dataset_rows(step_spec, 20)
    for row in rows:
        del row[step_spec.label]
    write_dataset(tmp_path, rows)

    status = preprocess.main(
        ["--spec", str(spec_file), "--dataset", str(tmp_path), "--output-dir", str(tmp_path / "out")]
    )

    assert status == 2
    assert "missing column(s) ['is_fraud']" in capsys.readouterr().err


def test_event_time_that_is_not_a_timestamp_is_named(tmp_path: Path, step_spec: StepSpec) -> None:
    rows = dataset_rows(step_spec, 20)
    rows[4][step_spec.event_time] = "soon"
    table = read_dataset(write_dataset(tmp_path, rows), step_spec)
    with pytest.raises(StepInputError, match="dataset column 'event_time': 'soon' is not an ISO-8601 timestamp"):
        build_splits(table, step_spec, 0.5, 0.25)


def test_event_times_without_an_offset_are_read_as_utc(tmp_path: Path, step_spec: StepSpec) -> None:
    rows = dataset_rows(step_spec, 20, positive_every=2)
    for row in rows:
        row[step_spec.event_time] = row[step_spec.event_time].removesuffix("Z")
    splits = build_splits(read_dataset(write_dataset(tmp_path, rows), step_spec), step_spec, 0.5, 0.25)
    assert [len(s.rows) for s in splits] == [10, 5, 5]
    assert splits[0].first == datetime(2024, 1, 1, tzinfo=UTC)
