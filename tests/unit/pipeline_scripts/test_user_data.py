"""A user's own data files: good rows become offline-store records, bad rows are counted and quarantined, and a file
that cannot be used stops the run with one line naming the file and the column."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from config import FRAUD_DETECTION
from pipeline_defs import user_data
from pipeline_defs.sample_data import SampleConfig
from pipeline_defs.sample_data import generate as generate_transactions
from tests.support.specs import CHURN, PLAN_UPGRADE

CHURN_COLUMNS = ("subscriber_id", "snapshot_time", "sessions_7d", "minutes_7d", "plan")
CHURN_ROWS = [
    dict(zip(CHURN_COLUMNS, values, strict=True))
    for values in (
        ("s1", "2024-01-01T08:00:00Z", "4", "12.5", "basic"),
        ("s2", "2024-01-01T09:00:00+01:00", "0", "0", "premium"),
        ("s1", "2024-01-02T08:00:00Z", "7", "30", "basic"),
    )
]
CHURN_LABELS = [
    {"subscriber_id": "s1", "snapshot_time": "2024-01-01T08:00:00Z", "churned": "0"},
    {"subscriber_id": "s2", "snapshot_time": "2024-01-01T08:00:00Z", "churned": "1"},
    {"subscriber_id": "s1", "snapshot_time": "2024-01-02T08:00:00Z", "churned": "true"},
]


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def rejects(out: Path, what: str) -> list[dict[str, str]]:
    with (out / "rejects" / f"{what}-rejects.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def run(tmp_path: Path, data: Path, labels: Path, *, spec: Any = CHURN, fraction: float = 0.5) -> dict[str, Any]:
    out = tmp_path / "out"
    return user_data.write(spec, user_data.load(spec, data=data, labels=labels), out, max_rejected_fraction=fraction)


def test_good_csv_files_become_the_offline_store_layout(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv", CHURN_ROWS)
    labels = write_csv(tmp_path / "labels.csv", CHURN_LABELS)

    summary = run(tmp_path, data, labels)

    usage = pq.read_table(tmp_path / "out" / "feature_groups" / "usage" / "part-00000.parquet").to_pylist()
    assert [(r["subscriber_id"], r["snapshot_time"], r["sessions_7d"], r["plan"]) for r in usage] == [
        ("s1", "2024-01-01T08:00:00.000Z", 4, "basic"),
        ("s2", "2024-01-01T08:00:00.000Z", 0, "premium"),
        ("s1", "2024-01-02T08:00:00.000Z", 7, "basic"),
    ]
    assert pq.read_table(tmp_path / "out" / "labels" / "labels.parquet").column("churned").to_pylist() == [0, 1, 1]
    assert summary["rows"] == {"data": {"read": 3, "rejected": 0}, "labels": {"read": 3, "rejected": 0}}
    assert rejects(tmp_path / "out", "data") == []


def test_parquet_files_with_typed_columns_are_read_alike(tmp_path: Path) -> None:
    typed = [{**r, "sessions_7d": int(r["sessions_7d"]), "minutes_7d": float(r["minutes_7d"])} for r in CHURN_ROWS]
    pq.write_table(pa.Table.from_pylist(typed), tmp_path / "data.parquet")
    labels = [{**r, "churned": int(r["churned"] == "1" or r["churned"] == "true")} for r in CHURN_LABELS]
    pq.write_table(pa.Table.from_pylist(labels), tmp_path / "labels.parquet")

    summary = run(tmp_path, tmp_path / "data.parquet", tmp_path / "labels.parquet")

    assert summary["rows"]["data"] == {"read": 3, "rejected": 0}
    usage = pq.read_table(tmp_path / "out" / "feature_groups" / "usage" / "part-00000.parquet")
    assert usage.column("minutes_7d").to_pylist() == [12.5, 0.0, 30.0]


def test_bad_rows_are_quarantined_with_their_row_column_and_problem(tmp_path: Path) -> None:
    bad = [
        {**CHURN_ROWS[0], "subscriber_id": "s9", "sessions_7d": "many"},
        {**CHURN_ROWS[0], "subscriber_id": "s8", "snapshot_time": "2024-01-01 08:00"},
        {**CHURN_ROWS[0], "subscriber_id": "", "plan": "basic"},
        {**CHURN_ROWS[0], "subscriber_id": "s7", "sessions_7d": "2.5"},
        {**CHURN_ROWS[0], "subscriber_id": "s6", "minutes_7d": "inf"},
        dict(CHURN_ROWS[0]),  # the same entity and time as line 2
    ]
    data = write_csv(tmp_path / "data.csv", [*CHURN_ROWS, *bad])
    labels = write_csv(tmp_path / "labels.csv", [*CHURN_LABELS, {**CHURN_LABELS[0], "churned": "2"}])

    summary = run(tmp_path, data, labels, fraction=0.9)

    found = [(r["row"], r["column"], r["problem"]) for r in rejects(tmp_path / "out", "data")]
    assert found == [
        ("5", "sessions_7d", "'many' is not a number"),
        ("6", "snapshot_time", "'2024-01-01 08:00' has no UTC offset (add 'Z' or '+00:00')"),
        ("7", "subscriber_id", "missing"),
        ("8", "sessions_7d", "'2.5' is not a whole number"),
        ("9", "minutes_7d", "'inf' is not finite"),
        ("10", "snapshot_time", "row 2 has the same entity and event time"),
    ]
    assert json.loads(rejects(tmp_path / "out", "data")[0]["values"])["sessions_7d"] == "many"
    assert [(r["row"], r["column"], r["problem"]) for r in rejects(tmp_path / "out", "labels")] == [
        ("5", "churned", "'2' is not a 0/1 label"),
    ]
    assert summary["rows"] == {"data": {"read": 9, "rejected": 6}, "labels": {"read": 4, "rejected": 1}}
    usage = pq.read_table(tmp_path / "out" / "feature_groups" / "usage" / "part-00000.parquet")
    assert usage.num_rows == 3


def test_a_csv_row_with_the_wrong_number_of_fields_is_quarantined(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv", CHURN_ROWS)
    with data.open("a", encoding="utf-8") as handle:
        handle.write("s5,2024-01-03T00:00:00Z,1\n")
    labels = write_csv(tmp_path / "labels.csv", CHURN_LABELS)

    run(tmp_path, data, labels)

    assert [(r["row"], r["column"], r["problem"]) for r in rejects(tmp_path / "out", "data")] == [
        ("5", "<row>", "has 3 fields, the header has 5")
    ]


def test_too_many_rejected_rows_stop_the_run_and_keep_the_rejects(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv", [{**r, "plan": ""} for r in CHURN_ROWS])
    labels = write_csv(tmp_path / "labels.csv", CHURN_LABELS)

    with pytest.raises(user_data.UserDataError, match=r"^data: 3 of 3 rows rejected \(more than 50%\); see "):
        run(tmp_path, data, labels)
    assert len(rejects(tmp_path / "out", "data")) == 3


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.parquet", b"PAR1 this is not parquet", r"^data: cannot read 'data.parquet' as Parquet"),
        ("data.csv", b"subscriber_id,snapshot_time\n\xff\xfe\n", r"^data: 'data.csv' is not UTF-8 text"),
        ("data.csv", b"", r"^data: 'data.csv' is empty \(expected a header row\)"),
        ("data.json", b"{}", r"^data: 'data.json' is neither .csv nor .parquet"),
        (
            "data.csv",
            b"subscriber_id,snapshot_time,sessions_7d,plan\n",
            r"^data: 'data.csv' has no column\(s\) \['minutes_7d'\]",
        ),
    ],
)
def test_a_corrupt_or_incomplete_file_stops_with_one_line_naming_it(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    labels = write_csv(tmp_path / "labels.csv", CHURN_LABELS)

    with pytest.raises(user_data.UserDataError, match=message):
        user_data.load(CHURN, data=tmp_path / name, labels=labels)


def test_a_labels_file_needs_the_label_id_of_a_spec_that_has_one(tmp_path: Path) -> None:
    rows = [{"account_id": "a", "offer_time": "2024-01-01T00:00:00Z", "accepted": "1"}]
    header = "account_id,offer_time,plan,region,signup_channel,seats,active_days_28d,storage_gb\n"
    (tmp_path / "data.csv").write_text(header + "a,2024-01-01T00:00:00Z,free,emea,web,1,2,3.5\n")

    with pytest.raises(user_data.UserDataError, match=r"^labels: 'labels.csv' has no column\(s\) \['offer_id'\]"):
        user_data.load(PLAN_UPGRADE, data=tmp_path / "data.csv", labels=write_csv(tmp_path / "labels.csv", rows))


def test_raw_events_become_features_through_the_feature_module_and_bad_events_are_quarantined(tmp_path: Path) -> None:
    generated = generate_transactions(SampleConfig(customers=5, days=3, seed=2, history_days=0))
    events = [dict(e) for e in generated.events]
    events[1]["amount"] = "-3"
    events[2]["merchant_category"] = None
    header = sorted({key for event in events for key in event})
    data = write_csv(tmp_path / "events.csv", events, header)
    labels = write_csv(tmp_path / "labels.csv", generated.labels)

    summary = run(tmp_path, data, labels, spec=FRAUD_DETECTION)

    assert [(r["row"], r["column"], r["problem"]) for r in rejects(tmp_path / "out", "data")] == [
        ("3", "amount", "-3.0 is below 0.0"),
        ("4", "merchant_category", "missing"),
    ]
    assert summary["rows"]["data"] == {"read": len(events), "rejected": 2}
    spend = pq.read_table(tmp_path / "out" / "feature_groups" / "customer-spend" / "part-00000.parquet")
    kept = {e["transaction_id"] for i, e in enumerate(events) if i not in (1, 2)}
    expected = [
        r["spend_30d"]
        for r, label in zip(generated.records["customer-spend"], generated.labels, strict=True)
        if label["transaction_id"] in kept
    ]
    assert spend.num_rows == len(kept)
    # Two dropped events change later rolling sums; the first customer's first record is the same either way.
    assert spend.column("spend_30d").to_pylist()[0] == expected[0]
