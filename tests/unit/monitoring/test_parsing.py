"""CSV and JSON payloads to columns: the fast path and the fallback agree, and every bad value is caught."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from monitor_stats.columns import FeatureKind, MonitoredColumn
from monitoring_job.parsing import (
    CodeTable,
    Columns,
    JsonRows,
    Layout,
    Reason,
    _csv_fast,
    _csv_slow,
    _csv_vectorised,
    _predictions_one_by_one,
    parse_csv_rows,
    parse_predictions,
)

LAYOUT = Layout(
    (
        MonitoredColumn(name="amount", kind=FeatureKind.FRACTIONAL, drift_threshold=0.1),
        MonitoredColumn(name="category", kind=FeatureKind.STRING, drift_threshold=0.1),
        MonitoredColumn(name="count", kind=FeatureKind.INTEGRAL, drift_threshold=0.1),
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


NUMBER_TOKENS = [
    *("0", "-0", "-0.0", "0.0", "-0e0", "7", "-39", "1e5", "1E-3", "-1e-05", "0.1", "3.141592653589793"),
    *("123456789012345678901234567890", "18446744073709551616", "9007199254740993", "1e-400", "99999"),
    *("", "nan", "NaN", "null", "None", "+1", ".5", "5.", "01", "1_0", "inf", "-inf", "1e400", "Infinity"),
    *(" 1", "1 ", "\t2", " -0", "-0 ", "true", "false", "[1]", "{}", "abc", "\uff11", "0x10", "1e", "--1"),
]
STRING_TOKENS = ["a", "bb", "grocery", "null", "nan", "", "-0", "1", "x y", "ünï", "longer_than_eight", "12345678"]


def _layout(kinds: list[FeatureKind]) -> Layout:
    return Layout(tuple(MonitoredColumn(name=f"f{i}", kind=k, drift_threshold=0.1) for i, k in enumerate(kinds)))


def _as_lists(columns: Columns, tables: dict[str, CodeTable], layout: Layout) -> dict[str, list[object]]:
    """Numbers as their bit patterns (so -0.0 and NaN compare exactly), strings decoded."""
    out: dict[str, list[object]] = {}
    for f in layout.features:
        if f.kind.is_numeric:
            out[f.name] = columns.numeric[f.name].view(np.uint64).tolist()
        else:
            ordered = tables[f.name].ordered
            out[f.name] = [None if c < 0 else ordered[c] for c in columns.codes[f.name].tolist()]
    return out


def test_the_vectorised_parser_agrees_bit_for_bit_with_the_other_parsers_wherever_it_accepts() -> None:
    rng = random.Random(11)
    kinds_pool = [FeatureKind.FRACTIONAL, FeatureKind.INTEGRAL, FeatureKind.STRING]
    accepted = 0
    for _ in range(1500):
        kinds = [rng.choice(kinds_pool) for _ in range(rng.randint(1, 6))]
        layout, messy = _layout(kinds), rng.random() < 0.4
        rows = []
        for _ in range(rng.randint(1, 25)):
            fields = [
                (rng.choice(NUMBER_TOKENS) if messy and rng.random() < 0.3 else repr(rng.uniform(-1e3, 1e3)))
                if k.is_numeric
                else rng.choice(STRING_TOKENS)
                for k in kinds
            ]
            rows.append(",".join(fields + (["9"] if messy and rng.random() < 0.05 else [])))
        tables = {f.name: CodeTable() for f in layout.features if not f.kind.is_numeric}
        vectorised = _csv_vectorised(rows, layout, tables)
        if vectorised is None:
            continue
        accepted += 1
        reference_tables = {f.name: CodeTable() for f in layout.features if not f.kind.is_numeric}
        reference = _csv_fast(rows, layout, reference_tables) or _csv_slow(rows, layout, reference_tables)
        assert vectorised.problems == [] == reference.problems, rows
        assert _as_lists(vectorised, tables, layout) == _as_lists(reference, reference_tables, layout), rows
    assert accepted > 500  # the clean slices, and the messy ones without a doubtful token


@pytest.mark.parametrize("token", ["true", "+1", ".5", "1_0", "nan", "inf", "1e400", "Infinity", '"1"', "[1]", "1\r"])
def test_tokens_json_would_read_differently_are_left_to_the_other_parsers(token: str) -> None:
    rows = ["1.5,a,1", f"{token},b,2"]

    assert _csv_vectorised(rows, LAYOUT, _tables()) is None
    new, old = _tables(), _tables()
    parsed = parse_csv_rows(rows, LAYOUT, new)
    reference = _csv_fast(rows, LAYOUT, old) or _csv_slow(rows, LAYOUT, old)
    assert _as_lists(parsed, new, LAYOUT) == _as_lists(reference, old, LAYOUT)
    assert parsed.problems == reference.problems


def test_negative_zero_keeps_its_sign() -> None:
    rows = ["-0,a,-0", "-0.0,b,0", "0,c,-0e0"]
    assert _csv_vectorised(rows, LAYOUT, _tables()) is not None  # JSON reads -0 as 0: the sign is put back

    amounts, _, counts, problems = _decoded(rows)
    spaced, _, _, _ = _decoded([" -0,a,1", "-0 ,b,2"])  # with whitespace: left to loadtxt

    assert [math.copysign(1.0, x) for x in amounts] == [-1.0, -1.0, 1.0]
    assert [math.copysign(1.0, x) for x in counts] == [-1.0, 1.0, -1.0]
    assert [math.copysign(1.0, x) for x in spaced] == [-1.0, -1.0]
    assert problems == []


def test_string_fields_longer_than_a_word_and_rows_of_uneven_length() -> None:
    rows = ["1234567890123,a,1", "1,bbbbbbbbbbbbb,2", "2,ünï,3", "3,,4"] * 3

    amounts, categories, counts, problems = _decoded(rows)

    assert amounts == [1234567890123.0, 1.0, 2.0, 3.0] * 3
    assert categories == ["a", "bbbbbbbbbbbbb", "ünï", None] * 3
    assert counts == [1.0, 2.0, 3.0, 4.0] * 3
    assert problems == []


def test_predictions_parsed_as_one_json_array_equal_the_one_by_one_parse() -> None:
    rng = random.Random(5)
    tokens = ["0.5", "0.25\n", " 0.1", "-0", "-0.0", "0", "1e400", "inf", "nan", "", "0.9,0.1", "yes", "true", "+1"]
    for _ in range(2000):
        values = [repr(rng.random()) if rng.random() < 0.8 else rng.choice(tokens) for _ in range(rng.randint(1, 8))]
        fast, fast_bad = parse_predictions(values)
        slow, slow_bad = _predictions_one_by_one(values)
        assert fast_bad == slow_bad
        assert fast.view(np.uint64).tolist() == slow.view(np.uint64).tolist(), values
