"""The dataset step: point-in-time correctness, the two SQL dialects, and clear errors for bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lambdas.shared.features import CUSTOMER_SPEND_GROUP, TRANSACTION_GROUP
from pipeline_defs import sample_data
from pipeline_defs.scripts import dataset
from pipeline_defs.scripts.common import StepInputError
from pipeline_defs.scripts.dataset import Dialect, TimeWindow, build_dataset, point_in_time_sql
from pipeline_defs.scripts.spec import StepSpec
from tests.unit.pipeline_scripts.conftest import aware, label_row, store_row

TXN, SPEND = TRANSACTION_GROUP, CUSTOMER_SPEND_GROUP


def rows_by_id(path: Path) -> dict[str, dict[str, Any]]:
    return {row["transaction_id"]: row for row in pq.read_table(path).to_pylist()}


def build(spec: StepSpec, root: Path, out: Path, **kwargs: Any) -> dict[str, Any]:
    return build_dataset(
        spec,
        feature_groups_dir=root / "feature_groups",
        labels_dir=root / "labels",
        output_dir=out,
        id_columns=["transaction_id"],
        **kwargs,
    )


@pytest.fixture
def pit_store(write_store: Callable[..., Path]) -> Path:
    transaction = [
        store_row(TXN, "C1", "2024-01-01T10:00:00.000Z", amount=10.0),
        # Same event time, written later: the later write wins the tie.
        store_row(TXN, "C1", "2024-01-01T10:00:00.000Z", written="2024-01-01T10:00:05Z", amount=11.0),
        # Event time after the first label (11:00): must never appear in that row.
        store_row(TXN, "C1", "2024-01-01T12:00:00.000Z", amount=20.0),
        # C3: a record, then a delete marker: from 10:00 on, C3 has no transaction features.
        store_row(TXN, "C3", "2024-01-01T09:00:00.000Z", amount=7.0),
        store_row(TXN, "C3", "2024-01-01T10:00:00.000Z", deleted=True, amount=None),
    ]
    spend = [
        store_row(SPEND, "C1", "2024-01-01T10:00:00.000Z", spend_1d=10.0),
        store_row(SPEND, "C1", "2024-01-01T11:00:00.001Z", spend_1d=999.0),  # one millisecond too late
        store_row(SPEND, "C3", "2024-01-01T09:00:00.000Z", spend_1d=7.0),
    ]
    labels = [
        label_row("C1", "2024-01-01T11:00:00.000Z", transaction_id="L1"),
        label_row("C1", "2024-01-01T12:30:00.000Z", label=1, transaction_id="L2"),
        label_row("C3", "2024-01-01T09:30:00.000Z", transaction_id="L3"),
        label_row("C3", "2024-01-01T11:00:00.000Z", transaction_id="L4"),
    ]
    return write_store(transaction, spend, labels)


def test_a_feature_record_after_the_label_time_never_appears_in_its_row(
    step_spec: StepSpec, pit_store: Path, tmp_path: Path
) -> None:
    summary = build(step_spec, pit_store, tmp_path / "out", max_unmatched_fraction=0.5)
    rows = rows_by_id(tmp_path / "out" / "dataset.parquet")

    assert rows["L1"]["amount"] == 11.0  # not 20.0 (later event), and the later write of the 10:00 record
    assert rows["L1"]["spend_1d"] == 10.0  # not 999.0 (one millisecond after the label)
    assert rows["L2"]["amount"] == 20.0
    assert rows["L2"]["spend_1d"] == 999.0
    assert rows["L3"]["amount"] == 7.0
    assert "L4" not in rows  # the latest C3 transaction record at 11:00 is a delete marker
    assert summary["dropped_label_only_rows"] == 1
    assert summary["unmatched_per_group"] == {TXN: 1, SPEND: 0}


def test_label_times_with_an_offset_are_compared_in_utc(
    step_spec: StepSpec, write_store: Callable[..., Path], tmp_path: Path
) -> None:
    root = write_store(
        [
            store_row(TXN, "C1", "2024-01-01T07:00:00.000Z", amount=7.0),
            store_row(TXN, "C1", "2024-01-01T09:00:00.000Z", amount=9.0),
        ],  # after 10:00+02:00 = 08:00Z
        [store_row(SPEND, "C1", "2024-01-01T07:00:00.000Z")],
        [label_row("C1", "2024-01-01T10:00:00+02:00", transaction_id="L1")],
    )
    build(step_spec, root, tmp_path / "out")

    assert rows_by_id(tmp_path / "out" / "dataset.parquet")["L1"]["amount"] == 7.0


def test_dataset_columns_are_label_then_spec_features_then_time_and_ids(
    step_spec: StepSpec, pit_store: Path, tmp_path: Path
) -> None:
    build(step_spec, pit_store, tmp_path / "out", max_unmatched_fraction=0.5)
    columns = pq.read_schema(tmp_path / "out" / "dataset.parquet").names

    assert columns == [step_spec.label, *step_spec.feature_names, "event_time", "customer_id", "transaction_id"]


def test_window_selects_labels_by_event_time(step_spec: StepSpec, pit_store: Path, tmp_path: Path) -> None:
    window = TimeWindow(start=aware("2024-01-01 10:00:00"), end=aware("2024-01-01 12:30:00"))
    build(step_spec, pit_store, tmp_path / "out", window=window, max_unmatched_fraction=0.5)

    assert set(rows_by_id(tmp_path / "out" / "dataset.parquet")) == {"L1"}


def test_as_of_ignores_records_written_later(step_spec: StepSpec, pit_store: Path, tmp_path: Path) -> None:
    as_of = aware("2024-01-01 10:00:01")
    build(step_spec, pit_store, tmp_path / "out", as_of=as_of, max_unmatched_fraction=0.5)

    assert rows_by_id(tmp_path / "out" / "dataset.parquet")["L1"]["amount"] == 10.0


def test_athena_and_duckdb_dialects_select_the_same_rows(step_spec: StepSpec, pit_store: Path) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW labels AS SELECT * FROM '{pit_store / 'labels' / 'labels.parquet'}'")
    for name, group in (("fg_txn", TXN), ("fg_spend", SPEND)):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{pit_store / 'feature_groups' / group / '*.parquet'}'")
    # Athena's parser, as DuckDB understands it: proves the Athena text is otherwise the common subset.
    con.execute("CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)")
    tables = {TXN: "fg_txn", SPEND: "fg_spend"}

    athena = point_in_time_sql(step_spec, labels_table="labels", feature_tables=tables, dialect=Dialect.ATHENA)
    local = point_in_time_sql(step_spec, labels_table="labels", feature_tables=tables, dialect=Dialect.DUCKDB)

    assert 'from_iso8601_timestamp(f."event_time")' in athena
    assert "CAST(" not in athena
    assert con.execute(athena).fetchall() == con.execute(local).fetchall()


def test_athena_sql_quotes_database_qualified_tables(step_spec: StepSpec) -> None:
    sql = point_in_time_sql(
        step_spec,
        labels_table="mlops.labels",
        feature_tables={TXN: "mlops.fraud_txn_1700000000", SPEND: "mlops.fraud_spend_1700000000"},
        dialect=Dialect.ATHENA,
    )
    assert 'JOIN "mlops"."fraud_txn_1700000000" f' in sql
    assert "ROW_NUMBER() OVER (PARTITION BY l.label_row ORDER BY" in sql


def test_generated_store_yields_one_row_per_labelled_transaction(
    step_spec: StepSpec, generated_store: Path, generated_dataset: Path
) -> None:
    labels = pq.read_table(generated_store / "labels").num_rows
    table = pq.read_table(generated_dataset)

    assert table.num_rows == labels
    assert table.column("transaction_id").to_pylist() == sorted(table.column("transaction_id").to_pylist())


# ---- bad input ----


def test_missing_feature_column_is_named(step_spec: StepSpec, write_store: Callable[..., Path], tmp_path: Path) -> None:
    schema = sample_data.offline_store_schema(SPEND)
    schema = schema.remove(schema.get_field_index("spend_7d"))
    row = store_row(SPEND, "C1", "2024-01-01T10:00:00.000Z")
    del row["spend_7d"]
    root = write_store(
        [store_row(TXN, "C1", "2024-01-01T10:00:00.000Z")],
        [row],
        [label_row("C1", "2024-01-01T10:00:00.000Z")],
        schemas={SPEND: schema},
    )

    with pytest.raises(StepInputError, match=r"feature group 'customer-spend': missing column\(s\) \['spend_7d'\]"):
        build(step_spec, root, tmp_path / "out")


def test_wrongly_typed_feature_column_is_named(
    step_spec: StepSpec, write_store: Callable[..., Path], tmp_path: Path
) -> None:
    schema = sample_data.offline_store_schema(TXN)
    schema = schema.set(schema.get_field_index("amount"), pa.field("amount", pa.string()))
    root = write_store(
        [store_row(TXN, "C1", "2024-01-01T10:00:00.000Z", amount="12.5")],
        [store_row(SPEND, "C1", "2024-01-01T10:00:00.000Z")],
        [label_row("C1", "2024-01-01T10:00:00.000Z")],
        schemas={TXN: schema},
    )

    with pytest.raises(StepInputError, match="column 'amount' has type VARCHAR"):
        build(step_spec, root, tmp_path / "out")


def test_label_time_that_is_not_a_timestamp_is_named(
    step_spec: StepSpec, write_store: Callable[..., Path], tmp_path: Path
) -> None:
    root = write_store(
        [store_row(TXN, "C1", "2024-01-01T10:00:00.000Z")],
        [store_row(SPEND, "C1", "2024-01-01T10:00:00.000Z")],
        [label_row("C1", "last tuesday")],
    )

    with pytest.raises(StepInputError, match="'event_time' value 'last tuesday' is not an ISO-8601 timestamp"):
        build(step_spec, root, tmp_path / "out")


def test_empty_window_fails(step_spec: StepSpec, pit_store: Path, tmp_path: Path) -> None:
    window = TimeWindow(start=aware("2025-01-01 00:00:00"))
    with pytest.raises(StepInputError, match="empty window: no labelled events"):
        build(step_spec, pit_store, tmp_path / "out", window=window)


def test_window_that_ends_before_it_starts_fails() -> None:
    with pytest.raises(StepInputError, match="empty window"):
        TimeWindow(start=aware("2024-01-02 00:00:00"), end=aware("2024-01-01 00:00:00"))


def test_label_only_rows_fail(step_spec: StepSpec, write_store: Callable[..., Path], tmp_path: Path) -> None:
    root = write_store(
        [store_row(TXN, "C1", "2024-01-02T10:00:00.000Z")],
        [store_row(SPEND, "C1", "2024-01-02T10:00:00.000Z")],
        [label_row("C1", "2024-01-01T10:00:00.000Z"), label_row("C2", "2024-01-03T10:00:00.000Z")],
    )

    with pytest.raises(StepInputError, match="label-only rows: none of the 2 labelled events"):
        build(step_spec, root, tmp_path / "out")


def test_too_many_label_only_rows_fail(step_spec: StepSpec, pit_store: Path, tmp_path: Path) -> None:
    with pytest.raises(StepInputError, match=r"label-only rows: 1 of 4 labelled events \(25.0%\)"):
        build(step_spec, pit_store, tmp_path / "out", max_unmatched_fraction=0.1)


def test_cli_reports_bad_input_in_one_line(
    spec_file: Path, pit_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = dataset.main(
        [
            "--spec",
            str(spec_file),
            "--feature-groups-dir",
            str(tmp_path / "nowhere"),
            "--labels-dir",
            str(pit_store / "labels"),
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )

    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error: dataset: feature group 'transaction':")
    assert "does not exist" in err
    assert "Traceback" not in err
