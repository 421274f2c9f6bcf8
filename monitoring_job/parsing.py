"""Turn captured payloads (CSV rows, JSON objects) into typed columns, one batch at a time.

Payload formats (SageMaker data capture, platform-facts §2.4): ``endpointInput.data`` holds the request body
as sent, with ``encoding`` ``CSV`` (the CSV text), ``JSON`` (the JSON text) or ``BASE64`` (the body encoded;
``observedContentType`` says whether it is CSV or JSON). A CSV body is one row of the model's features in
spec order, or several rows separated by newlines; a JSON body is an object ``{feature: value}`` or a list of
them. ``endpointOutput.data`` is the response: for CSV one score per row; for JSON a number, a list of
numbers, or an object holding them under ``predictions`` or under the prediction's name.

Values: the tokens in ``MISSING_TOKENS`` (and JSON ``null`` or an absent key) are missing values, in every
column; a numeric column accepts what ``float()`` accepts, except non-finite values. Any other value in a
numeric column, a wrong number of CSV columns, or an unknown key in a JSON object makes the *record* bad:
the caller quarantines its whole line and takes none of its values.

Speed: a batch of CSV rows is parsed by ``numpy.loadtxt``'s C tokenizer in one call, with string columns
mapped to integer codes by a per-batch code table. Empty fields are rewritten to ``nan`` first (plain string
replaces). If that fast path refuses the batch (a bad value, a quote, a wrong column count), the batch is
parsed again column by column, and only the offending values fall back to Python's ``float``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from monitoring_job.binning import FloatArray, IntArray
from monitoring_job.config import FeatureConfig, JobConfig

MISSING_TOKENS = frozenset({"", "nan", "NaN", "NAN", "null", "NULL", "None"})


class Reason(StrEnum):
    """Why a captured line was quarantined."""

    INVALID_JSON = "invalid_json"
    MISSING_CAPTURE_DATA = "missing_capture_data"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    INVALID_PAYLOAD = "invalid_payload"
    TOO_FEW_COLUMNS = "too_few_columns"
    TOO_MANY_COLUMNS = "too_many_columns"
    NON_NUMERIC = "non_numeric"
    UNKNOWN_FEATURE = "unknown_feature"
    INVALID_PREDICTION = "invalid_prediction"


@dataclass(frozen=True)
class Problem:
    """A bad record: its row in the batch, the reason, the feature at fault (if one) and a short detail."""

    row: int
    reason: Reason
    feature: str | None
    detail: str


class CodeTable(dict[str, int]):
    """Per-batch dictionary encoding of a string column: value -> code, new values numbered on first lookup.

    A dict subclass so that ``table.__getitem__`` (a C-level call, no Python frame per value) can serve as
    ``loadtxt``'s converter; missing tokens get codes like any value and are mapped to -1 afterwards.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ordered: list[str] = []  # code -> value

    def __missing__(self, value: str) -> int:
        code = self[value] = len(self.ordered)
        self.ordered.append(value)
        return code

    def code(self, value: str) -> int:
        return self[value]

    def missing_remap(self) -> IntArray:
        remap = np.arange(len(self.ordered), dtype=np.int64)
        for i, value in enumerate(self.ordered):
            if value in MISSING_TOKENS:
                remap[i] = -1
        return remap


@dataclass
class Columns:
    """One batch as columns: numeric values (NaN = missing) and string codes (-1 = missing)."""

    rows: int
    numeric: dict[str, FloatArray]
    codes: dict[str, IntArray]
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """Column positions of the model's features, from the job config."""

    features: tuple[FeatureConfig, ...]

    @classmethod
    def of(cls, config: JobConfig) -> Layout:
        return cls(config.features)

    @property
    def width(self) -> int:
        return len(self.features)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.features)


def parse_csv_rows(rows: Sequence[str], layout: Layout, tables: Mapping[str, CodeTable]) -> Columns:
    """Parse single-line CSV rows (no newline inside); fast path first, column-wise fallback otherwise."""
    if not rows:
        return _empty(layout)
    fast = _csv_fast(rows, layout, tables)
    return fast if fast is not None else _csv_slow(rows, layout, tables)


def _empty(layout: Layout) -> Columns:
    numeric = {f.name: np.empty(0, dtype=np.float64) for f in layout.features if f.kind.is_numeric}
    codes = {f.name: np.empty(0, dtype=np.int64) for f in layout.features if not f.kind.is_numeric}
    return Columns(0, numeric, codes)


def _has_empty_field(text: str) -> bool:
    return ",," in text or "\n," in text or ",\n" in text or text.startswith(",") or text.endswith(",")


def _fill_empty_fields(text: str) -> str:
    if ",," in text:
        text = text.replace(",,", ",nan,").replace(",,", ",nan,")
    if "\n," in text or ",\n" in text:
        text = text.replace("\n,", "\nnan,").replace(",\n", ",nan\n")
    if text.startswith(","):
        text = "nan" + text
    if text.endswith(","):
        text += "nan"
    return text


def _load(
    lines: Sequence[str], converters: dict[int | str, Callable[[str], int]], shape: tuple[int, int]
) -> FloatArray | None:
    try:
        table = np.loadtxt(
            lines, delimiter=",", dtype=np.float64, comments=None, quotechar='"', ndmin=2, converters=converters
        )
    except ValueError:
        return None
    return table if table.shape == shape else None


def _csv_fast(rows: Sequence[str], layout: Layout, tables: Mapping[str, CodeTable]) -> Columns | None:
    """One ``loadtxt`` call; if it refuses, a retry with empty fields spelled ``nan`` (unless quotes are in play)."""
    converters: dict[int | str, Callable[[str], int]] = {
        i: tables[f.name].__getitem__ for i, f in enumerate(layout.features) if not f.kind.is_numeric
    }
    shape = (len(rows), layout.width)
    table = _load(rows, converters, shape)
    if table is None:
        text = "\n".join(rows)
        if '"' in text or not _has_empty_field(text):
            return None
        table = _load(_fill_empty_fields(text).split("\n"), converters, shape)
        if table is None:
            return None
    columns = Columns(len(rows), {}, {})
    for i, feature in enumerate(layout.features):
        if feature.kind.is_numeric:
            values = np.ascontiguousarray(table[:, i])
            _flag_infinite(values, feature.name, columns.problems)
            columns.numeric[feature.name] = values
        else:
            columns.codes[feature.name] = tables[feature.name].missing_remap()[table[:, i].astype(np.int64)]
    return columns


def _flag_infinite(values: FloatArray, name: str, problems: list[Problem]) -> None:
    infinite = np.isinf(values)
    if infinite.any():
        for row in np.flatnonzero(infinite).tolist():
            problems.append(Problem(row, Reason.NON_NUMERIC, name, f"{name}: non-finite value"))
        values[infinite] = np.nan


def _csv_slow(rows: Sequence[str], layout: Layout, tables: Mapping[str, CodeTable]) -> Columns:
    split = [next(csv.reader([row])) if '"' in row else row.split(",") for row in rows]
    problems: list[Problem] = []
    width = layout.width
    for row, fields in enumerate(split):
        if len(fields) != width:
            reason = Reason.TOO_FEW_COLUMNS if len(fields) < width else Reason.TOO_MANY_COLUMNS
            problems.append(Problem(row, reason, None, f"{len(fields)} columns, expected {width}"))
            split[row] = [""] * width  # the row is dropped with its line; keep the columns aligned meanwhile
    columns = Columns(len(rows), {}, {}, problems)
    by_column = list(zip(*split, strict=True))
    for i, feature in enumerate(layout.features):
        if feature.kind.is_numeric:
            columns.numeric[feature.name] = _to_float(by_column[i], feature.name, problems)
        else:
            table = tables[feature.name]
            codes = np.fromiter((table.code(v) for v in by_column[i]), dtype=np.int64, count=len(rows))
            columns.codes[feature.name] = table.missing_remap()[codes]
    return columns


def _to_float(values: Sequence[str], name: str, problems: list[Problem]) -> FloatArray:
    try:
        array = np.array(values, dtype=np.float64)
    except ValueError:
        array = np.empty(len(values), dtype=np.float64)
        for row, value in enumerate(values):
            array[row] = _one_float(value, row, name, problems)
        return array
    _flag_infinite(array, name, problems)
    return array


def _one_float(value: str, row: int, name: str, problems: list[Problem]) -> float:
    if value.strip() in MISSING_TOKENS:
        return math.nan
    try:
        number = float(value)
    except ValueError:
        problems.append(Problem(row, Reason.NON_NUMERIC, name, f"{name}: {value[:40]!r} is not a number"))
        return math.nan
    if math.isinf(number):
        problems.append(Problem(row, Reason.NON_NUMERIC, name, f"{name}: non-finite value"))
        return math.nan
    return number


class JsonRows:
    """Collects JSON-object records for one batch, validating each against the layout."""

    def __init__(self, layout: Layout, tables: Mapping[str, CodeTable]) -> None:
        self.layout = layout
        self.tables = tables
        self.numeric: dict[str, list[float]] = {f.name: [] for f in layout.features if f.kind.is_numeric}
        self.codes: dict[str, list[int]] = {f.name: [] for f in layout.features if not f.kind.is_numeric}
        self.problems: list[Problem] = []
        self.rows = 0

    def add(self, record: Mapping[str, object]) -> None:
        row = self.rows
        self.rows += 1
        unknown = [key for key in record if key not in self.layout.names]
        if unknown:
            detail = f"unknown features {sorted(map(str, unknown))[:5]}"
            self.problems.append(Problem(row, Reason.UNKNOWN_FEATURE, str(sorted(map(str, unknown))[0]), detail))
        for feature in self.layout.features:
            value = record.get(feature.name)
            if feature.kind.is_numeric:
                self.numeric[feature.name].append(self._number(value, row, feature.name))
            else:
                self.codes[feature.name].append(self._code(value, row, feature.name))

    def _number(self, value: object, row: int, name: str) -> float:
        if value is None:
            return math.nan
        if isinstance(value, bool | int | float):
            number = float(value)
            if math.isinf(number):
                self.problems.append(Problem(row, Reason.NON_NUMERIC, name, f"{name}: non-finite value"))
                return math.nan
            return number
        if isinstance(value, str):
            return _one_float(value, row, name, self.problems)
        self.problems.append(Problem(row, Reason.NON_NUMERIC, name, f"{name}: a {type(value).__name__}"))
        return math.nan

    def _code(self, value: object, row: int, name: str) -> int:
        if value is None:
            return -1
        if isinstance(value, str):
            return -1 if value in MISSING_TOKENS else self.tables[name].code(value)
        if isinstance(value, bool):  # JSON true/false as category: the JSON spelling
            return self.tables[name].code("true" if value else "false")
        if isinstance(value, int | float):  # a numeric code used as a category, e.g. an MCC
            return self.tables[name].code(str(value))
        self.problems.append(Problem(row, Reason.INVALID_PAYLOAD, name, f"{name}: a {type(value).__name__}"))
        return -1

    def columns(self) -> Columns:
        numeric = {name: np.asarray(values, dtype=np.float64) for name, values in self.numeric.items()}
        codes = {name: np.asarray(values, dtype=np.int64) for name, values in self.codes.items()}
        return Columns(self.rows, numeric, codes, self.problems)


def parse_predictions(values: Sequence[str]) -> tuple[FloatArray, list[int]]:
    """Scores from per-row output strings (``"nan"`` = no output); returns the values and the bad rows."""
    try:
        array = np.array(values, dtype=np.float64)
    except ValueError:
        array = np.empty(len(values), dtype=np.float64)
        bad: list[int] = []
        for row, value in enumerate(values):
            first = value.split(",", 1)[0]  # multi-output models: the first field is the score
            try:
                array[row] = math.nan if first.strip() in MISSING_TOKENS else float(first)
            except ValueError:
                array[row] = math.nan
                bad.append(row)
        return _drop_infinite(array, bad)
    return _drop_infinite(array, [])


def _drop_infinite(array: FloatArray, bad: list[int]) -> tuple[FloatArray, list[int]]:
    infinite = np.isinf(array)
    if infinite.any():
        bad = sorted({*bad, *np.flatnonzero(infinite).tolist()})
        array[infinite] = np.nan
    return array, bad


def concat_columns(parts: Sequence[Columns], layout: Layout) -> Columns:
    """One Columns from several (problem rows are renumbered)."""
    parts = [p for p in parts if p.rows]
    if not parts:
        return _empty(layout)
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [p.rows for p in parts])
    problems = [
        Problem(int(offset) + p.row, p.reason, p.feature, p.detail)
        for part, offset in zip(parts, offsets, strict=False)
        for p in part.problems
    ]
    return Columns(
        int(offsets[-1]),
        {name: np.concatenate([p.numeric[name] for p in parts]) for name in parts[0].numeric},
        {name: np.concatenate([p.codes[name] for p in parts]) for name in parts[0].codes},
        problems,
    )
