"""CSV and JSON payloads to columns: the fast path and the fallback agree, and every bad value is caught."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitoring_job.config import FeatureConfig, FeatureKind
from monitoring_job.parsing import CodeTable, JsonRows, Layout, Reason, _csv_slow, parse_csv_rows, parse_predictions

LAYOUT = Layout(
    (
        FeatureConfig(name="amount", kind=FeatureKind.FRACTIONAL, drift_threshold=0.1),
        FeatureConfig(name="category", kind=FeatureKind.STRING, drift_threshold=0.1),
        FeatureConfig(name="count", kind=FeatureKind.INTEGRAL, drift_threshold=0.1),
    )
)


def _tables() -> dict[str, CodeTable]:
    return {"category": CodeTable()}


def _decoded(
    rows: list[str],
) -> tuple[list[float], list[str | None], list[float], list[tuple[int, Reason, str | None]]]:
    tables = _tables()
    columns = parse_csv_rows(rows, LAYOUT, tables)
    ordered = tables["category"].ordered
    categories = [None if c < 0 else ordered[c] for c in columns.codes["category"].tolist()]
    problems = [(p.row, p.reason, p.feature) for p in columns.problems]
    return columns.numeric["amount"].tolist(), categories, columns.numeric["count"].tolist(), problems


def test_clean_rows_take_the_fast_path_and_keep_every_value() -> None:
    amounts, categories, counts, problems = _decoded(["1.5,grocery,3", "2.25,travel,0", "1e3,grocery,7"])

    assert amounts == [1.5, 2.25, 1000.0]
    assert categories == ["grocery", "travel", "grocery"]
    assert counts == [3.0, 0.0, 7.0]
    assert problems == []


def test_empty_fields_and_missing_tokens_are_missing_values() -> None:
    amounts, categories, counts, problems = _decoded([",grocery,3", "2.0,,", "nan,null,1", "4.0,NaN,2"])

    assert math.isnan(amounts[0])
    assert math.isnan(amounts[2])
    assert categories == ["grocery", None, None, None]
    assert math.isnan(counts[1])
    assert problems == []


def test_bad_values_and_column_counts_are_problems_naming_the_row_and_feature() -> None:
    _, _, _, problems = _decoded(["1.0,a,1", "oops,a,1", "1.0,a", "1.0,a,1,9", "inf,a,1", "1.0,a,x"])

    assert problems == [
        (2, Reason.TOO_FEW_COLUMNS, None),
        (3, Reason.TOO_MANY_COLUMNS, None),
        (1, Reason.NON_NUMERIC, "amount"),
        (4, Reason.NON_NUMERIC, "amount"),
        (5, Reason.NON_NUMERIC, "count"),
    ]


def test_quoted_fields_are_unquoted_including_embedded_commas() -> None:
    _, categories, _, problems = _decoded(['1.0,"food, drink",1', '2.0,"plain",2'])

    assert categories == ["food, drink", "plain"]
    assert problems == []


def test_fast_path_and_fallback_decode_identically() -> None:
    rng = np.random.default_rng(3)
    rows = [f"{x!r},{'abc'[i % 3]},{i % 5}" for i, x in enumerate(rng.normal(size=500).tolist())]
    rows[17] = ",b,"

    fast_tables, slow_tables = _tables(), _tables()
    fast = parse_csv_rows(rows, LAYOUT, fast_tables)
    slow = _csv_slow(rows, LAYOUT, slow_tables)

    for name in ("amount", "count"):
        np.testing.assert_array_equal(fast.numeric[name], slow.numeric[name])
    fast_values = [fast_tables["category"].ordered[c] for c in fast.codes["category"].tolist()]
    slow_values = [slow_tables["category"].ordered[c] for c in slow.codes["category"].tolist()]
    assert fast_values == slow_values


def test_json_rows_accept_numbers_strings_and_nulls_and_reject_unknown_keys() -> None:
    rows = JsonRows(LAYOUT, _tables())
    rows.add({"amount": 1.5, "category": "grocery", "count": 2})
    rows.add({"amount": "2.5", "category": 5411, "count": None})
    rows.add({"amount": 1.0, "category": "x", "count": 1, "colour": "red"})
    rows.add({"amount": "abc", "category": "x", "count": 1})
    rows.add({"amount": [1], "category": {"a": 1}, "count": 1})

    columns = rows.columns()

    assert columns.numeric["amount"].tolist()[:3] == [1.5, 2.5, 1.0]
    assert math.isnan(columns.numeric["count"][1])
    assert [(p.row, p.reason, p.feature) for p in columns.problems] == [
        (2, Reason.UNKNOWN_FEATURE, "colour"),
        (3, Reason.NON_NUMERIC, "amount"),
        (4, Reason.NON_NUMERIC, "amount"),
        (4, Reason.INVALID_PAYLOAD, "category"),
    ]


@pytest.mark.parametrize(
    ("outputs", "values", "bad"),
    [
        (["0.5", "0.25\n"], [0.5, 0.25], []),
        (["0.9,0.1", "nan"], [0.9, math.nan], []),
        (["yes", "0.1", "inf"], [math.nan, 0.1, math.nan], [0, 2]),
    ],
)
def test_predictions_parse_scores_and_flag_the_rest(outputs: list[str], values: list[float], bad: list[int]) -> None:
    parsed, bad_rows = parse_predictions(outputs)

    np.testing.assert_array_equal(parsed, np.array(values))
    assert bad_rows == bad
