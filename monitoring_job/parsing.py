"""Turn captured payloads (CSV rows, JSON objects) into typed columns, one batch at a time.

Payload formats (SageMaker data capture, docs/aws-facts.md#data-capture): ``endpointInput.data`` holds the
request body as sent, with ``encoding`` ``CSV`` (the CSV text), ``JSON`` (the JSON text) or ``BASE64`` (the body
encoded; ``observedContentType`` says whether it is CSV or JSON). A CSV body is one row of the model's features in
spec order, or several rows separated by newlines; a JSON body is an object ``{feature: value}`` or a list of them.
``endpointOutput.data`` is the response: for CSV one score per row; for JSON a number, a list of numbers, or an object
holding them under ``predictions`` or under the prediction's name.

Values: the tokens in ``MISSING_TOKENS`` (and JSON ``null`` or an absent key) are missing values, in every
column; a numeric column accepts what ``float()`` accepts, except non-finite values. Any other value in a
numeric column, a wrong number of CSV columns, or an unknown key in a JSON object makes the *record* bad:
the caller quarantines its whole line and takes none of its values.

Speed: CSV rows are parsed in slices of ``SLICE_ROWS`` rows (small enough to stay in the CPU caches) by the
first of three parsers that accepts the slice; all three give the same values for the rows they accept:

1. vectorised (``_csv_vectorised``): the slice is joined into one byte string; numpy finds every separator
   (which also checks each row's column count) and blanks the string fields out, and what is left --
   numbers separated by commas -- is decoded by ONE ``orjson.loads`` call (a correctly rounded decimal
   parser, tested bit for bit against ``float``) and packed into a float64 array by ``struct``. String
   fields of up to 8 bytes are read as little-endian integers and dictionary-encoded by sorting; longer
   ones are sliced out. Any slice this parser is not sure of -- quotes, CR or NUL characters, a wrong
   column count, a token that is not a JSON number (``nan``, ``+1``, ``.5``, ``1_0``, ``true``, ``inf``) --
   goes to the next parser. JSON reads the integer ``-0`` as 0: its sign is put back.
2. ``numpy.loadtxt``'s C tokenizer in one call, string columns mapped to integer codes by the code table.
3. column by column, and only the offending values fall back to Python's ``float``.

Empty fields are rewritten as a missing token first (plain string replaces). Scores are parsed the same way:
one JSON array if every score is a JSON number, else one by one.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor_stats.binning import FloatArray, IntArray
from monitor_stats.columns import MISSING_TOKENS, MonitoredColumn
from monitoring_job.config import JobConfig

SLICE_ROWS = 2048  # rows parsed per call: ~0.5 MB of text, so the slice and its values stay in L2


def _pick_loads() -> Callable[[bytes | bytearray | str], Any]:
    """orjson when installed (its number parser is what makes the vectorised path fast), else json."""
    try:
        import orjson  # noqa: PLC0415 - optional dependency
    except ImportError:  # pragma: no cover - exercised only where orjson is absent
        return json.loads
    return orjson.loads


loads = _pick_loads()


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

    features: tuple[MonitoredColumn, ...]

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
    """Parse single-line CSV rows (no newline inside), slice by slice, each by the first parser that accepts it."""
    if not rows:
        return _empty(layout)
    parts = [_csv_slice(rows[k : k + SLICE_ROWS], layout, tables) for k in range(0, len(rows), SLICE_ROWS)]
    return concat_columns(parts, layout)


def _csv_slice(rows: Sequence[str], layout: Layout, tables: Mapping[str, CodeTable]) -> Columns:
    parsed = _csv_vectorised(rows, layout, tables)
    if parsed is None:
        parsed = _csv_fast(rows, layout, tables)
    return parsed if parsed is not None else _csv_slow(rows, layout, tables)


def _empty(layout: Layout) -> Columns:
    numeric = {f.name: np.empty(0, dtype=np.float64) for f in layout.features if f.kind.is_numeric}
    codes = {f.name: np.empty(0, dtype=np.int64) for f in layout.features if not f.kind.is_numeric}
    return Columns(0, numeric, codes)


def _has_empty_field(text: str) -> bool:
    return ",," in text or "\n," in text or ",\n" in text or text.startswith(",") or text.endswith(",")


def _fill_empty_fields(text: str, filler: str = "nan") -> str:
    if ",," in text:
        text = text.replace(",,", f",{filler},").replace(",,", f",{filler},")
    if "\n," in text or ",\n" in text:
        text = text.replace("\n,", f"\n{filler},").replace(",\n", f",{filler}\n")
    if text.startswith(","):
        text = filler + text
    if text.endswith(","):
        text += filler
    return text


_COMMA, _NEWLINE, _SPACE, _MINUS, _ZERO, _CLOSE, _E, _N = 44, 10, 32, 45, 48, 93, 101, 110
_WORD = 8  # bytes in a uint64: string fields this short are handled as integers
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(_WORD + 1)], dtype=np.uint64)  # the first k bytes
_SPACES = np.uint64(int.from_bytes(b" " * _WORD, "little"))
_NUMBER_GOES_ON = np.zeros(256, dtype=np.bool_)  # bytes that can follow "-0" inside a JSON number
_NUMBER_GOES_ON[[*b"0123456789.eE"]] = True


@dataclass(frozen=True)
class _Slice:
    """Some rows as bytes: ``data`` is ``[``, every row followed by a newline, then 8 spaces (so that an
    8-byte word can be read at any position, and JSON still ends well); ``ends`` holds, rows x width, the
    position in ``data`` of the separator after each field (a comma, or the row's newline)."""

    data: bytes
    size: int  # len(data) without the padding
    ends: IntArray

    @classmethod
    def of(cls, text: str, rows: int, width: int) -> _Slice | None:
        """None unless the text has ``rows`` lines of exactly ``width - 1`` commas each."""
        data = f"[{text}\n{' ' * _WORD}".encode()
        buffer = np.frombuffer(data, dtype=np.uint8, count=len(data) - _WORD)
        newline = buffer == _NEWLINE
        separators = np.flatnonzero(newline | (buffer == _COMMA))
        if separators.size != rows * width or int(np.count_nonzero(newline)) != rows:
            return None
        ends = separators.reshape(rows, width)
        if not bool((buffer[ends[:, -1]] == _NEWLINE).all()):
            return None
        return cls(data, buffer.size, ends)

    @property
    def view(self) -> npt.NDArray[np.uint8]:
        return np.frombuffer(self.data, dtype=np.uint8, count=self.size)

    def has_empty_field(self) -> bool:
        flat = self.ends.reshape(-1)
        return int(flat[0]) == 1 or bool((np.diff(flat) == 1).any())

    def starts(self, column: int) -> IntArray:
        """Position of the first byte of each field of a column."""
        if column:
            return self.ends[:, column - 1] + 1
        starts = np.empty(self.ends.shape[0], dtype=np.int64)
        starts[0] = 1
        starts[1:] = self.ends[:-1, -1] + 1
        return starts

    def words(self, buffer: bytes | bytearray) -> npt.NDArray[np.uint64]:
        """The 8 bytes from each position of ``buffer`` (``data`` or a copy), as little-endian integers."""
        return np.ndarray(shape=(self.size,), dtype="<u8", buffer=buffer, strides=(1,))


def _csv_vectorised(rows: Sequence[str], layout: Layout, tables: Mapping[str, CodeTable]) -> Columns | None:
    """Numbers through one ``orjson.loads`` call, strings through ``numpy.unique``; None when not sure.

    Returns None (and the caller uses the next parser) unless every row has exactly ``layout.width``
    unquoted fields and every numeric field is a JSON number or a missing field; so it never decides
    anything the other parsers would decide differently.
    """
    n, width = len(rows), layout.width
    text = "\n".join(rows)
    if '"' in text or "\r" in text or "\x00" in text:  # CSV quoting, loadtxt's other line end, NUL
        return None
    rows_bytes = _Slice.of(text, n, width)
    if rows_bytes is not None and rows_bytes.has_empty_field():
        text = _fill_empty_fields(text, "null")  # missing for numbers (JSON null -> NaN) and strings alike
        rows_bytes = _Slice.of(text, n, width)
        if rows_bytes is not None and rows_bytes.has_empty_field():  # blank rows of a one-column layout
            return None
    if rows_bytes is None:
        return None
    columns = Columns(n, {}, {})
    numeric = [i for i, f in enumerate(layout.features) if f.kind.is_numeric]
    strings = [i for i, f in enumerate(layout.features) if not f.kind.is_numeric]
    for i in strings:
        name = layout.features[i].name
        columns.codes[name] = _string_codes(rows_bytes, text, i, tables[name])
    if not numeric:
        return columns
    values = _numbers(rows_bytes, strings, numeric, whitespace=" " in text or "\t" in text)
    if values is None or bool(np.isinf(values).any()):  # infinities are problems: the other parsers name them
        return None
    by_column = values.reshape(n, len(numeric)).T.copy()  # one transposing copy: each column contiguous
    for j, i in enumerate(numeric):
        columns.numeric[layout.features[i].name] = by_column[j]
    return columns


def _numbers(rows: _Slice, strings: list[int], numeric: list[int], *, whitespace: bool) -> FloatArray | None:
    """The numeric fields as one JSON array (string fields blanked, row ends turned into commas), decoded."""
    work = bytearray(rows.data)
    body = np.frombuffer(work, dtype=np.uint8, count=rows.size)
    for i in strings:  # blank the field and the comma before it (after it, for the first column)
        first = rows.ends[:, i - 1] if i else rows.starts(0)
        last = rows.ends[:, i] if i else rows.ends[:, 0] + 1
        _blank(rows, work, body, first, last)
    body[rows.ends[:, -1]] = _COMMA
    body[-1] = _CLOSE
    expected = rows.ends.shape[0] * len(numeric)
    values = _decode_numbers(work, body, expected, nulls=int(np.count_nonzero(body == _N)), zero=whitespace)
    if values is None or whitespace:
        return values
    # Without whitespace a number is its whole field: a zero whose field starts with "-" was "-0" (JSON: 0).
    zeros = np.flatnonzero(values == 0)
    if zeros.size:
        row, column = np.divmod(zeros, len(numeric))
        at = row * rows.ends.shape[1] + np.asarray(numeric)[column] - 1  # the separator before the field
        starts = np.where(at >= 0, rows.ends.reshape(-1)[np.maximum(at, 0)] + 1, 1)
        values[zeros[rows.view[starts] == _MINUS]] = -0.0
    return values


def _blank(rows: _Slice, work: bytearray, body: npt.NDArray[np.uint8], first: IntArray, last: IntArray) -> None:
    """Spaces over ``[first, last)`` of every row."""
    lengths = last - first
    if int(lengths.max()) <= _WORD and int(np.diff(first).min(initial=_WORD)) >= _WORD:
        # spans starting at least a word apart: one read-modify-write of a word per row, none overlapping
        words = rows.words(work)
        masks = _MASKS[lengths]
        words[first] = (words[first] & ~masks) | (_SPACES & masks)
        return
    offsets = np.cumsum(lengths) - lengths
    body[np.repeat(first - offsets, lengths) + np.arange(int(lengths.sum()))] = _SPACE


def _decode_numbers(
    work: bytearray, body: npt.NDArray[np.uint8], expected: int, *, nulls: int, zero: bool
) -> FloatArray | None:
    """``work`` (a JSON array; ``body`` its bytes, ``nulls`` its count of ``n``) decoded if it holds exactly
    ``expected`` numbers or nulls, else None.

    Bytes above ``e`` occur in no number: with no ``t`` or ``f`` (``true``, ``false``, ``Infinity``) and no
    such byte but the 4 of each ``null`` (one of them its ``n``), the only JSON values left without quotes
    are numbers, nulls, arrays (which fail the count or the conversion) and stdlib json's ``NaN`` (a missing
    value anyway). If ``zero``, an integer ``-0`` (JSON reads it as 0, ``float`` as -0.0) is refused.
    """
    if int(np.count_nonzero(body > _E)) != 4 * nulls or b"t" in work or b"f" in work:
        return None
    if zero:
        zeros = np.flatnonzero((body[:-2] == _MINUS) & (body[1:-1] == _ZERO))
        if zeros.size and not bool(_NUMBER_GOES_ON[body[zeros + 2]].all()):
            return None
    try:
        parsed = loads(work)
    except ValueError:
        return None
    if len(parsed) != expected:
        return None
    values = np.empty(expected, dtype=np.float64)
    try:
        if nulls:
            values[:] = parsed  # None -> NaN; a nested list raises
        else:  # struct packs a list of numbers about twice as fast as numpy converts it
            _packer(expected).pack_into(values.data, 0, *parsed)
    except (ValueError, TypeError, struct.error, OverflowError):
        return None
    return values


@functools.lru_cache(maxsize=8)
def _packer(count: int) -> struct.Struct:
    return struct.Struct(f"{count}d")


def _string_codes(rows: _Slice, text: str, column: int, table: CodeTable) -> IntArray:
    """Codes (-1 = missing) of one string column, numbered in order of first appearance like elsewhere."""
    starts, ends = rows.starts(column), rows.ends[:, column]
    lengths = ends - starts
    if int(lengths.max()) <= _WORD:  # each value read as one integer, the bytes beyond the field zeroed
        keys = rows.words(rows.data)[starts] & _MASKS[lengths]
        ordered = np.sort(keys)  # np.unique hashes, which is slower on a few distinct values
        unique = ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
        inverse = np.searchsorted(unique, keys)
        first = np.full(unique.size, keys.size, dtype=np.int64)
        np.minimum.at(first, inverse, np.arange(keys.size))
        order = np.argsort(first, kind="stable")
        spelled = unique[order].astype("<u8").tobytes()
        values = [spelled[k : k + _WORD].rstrip(b"\x00").decode() for k in range(0, len(spelled), _WORD)]
        codes = np.empty(unique.size, dtype=np.int64)
        codes[order] = [-1 if v in MISSING_TOKENS else table.code(v) for v in values]
        coded: IntArray = codes[inverse]
        return coded
    if text.isascii():  # byte offsets are character offsets (plus the "[")
        found = list(map(text.__getitem__, map(slice, (starts - 1).tolist(), (ends - 1).tolist())))
    else:
        found = [rows.data[a:b].decode() for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    lookup = {v: (-1 if v in MISSING_TOKENS else table.code(v)) for v in dict.fromkeys(found)}
    return np.fromiter(map(lookup.__getitem__, found), dtype=np.int64, count=len(found))


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
    fast = _json_numbers(values)
    if fast is not None:
        return fast, []
    return _predictions_one_by_one(values)


def _predictions_one_by_one(values: Sequence[str]) -> tuple[FloatArray, list[int]]:
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


def _json_numbers(values: Sequence[str]) -> FloatArray | None:
    """One number per string through one ``orjson.loads`` call, or None if any string is not just a JSON number
    (``"0.9,0.1"``, several outputs, fails the count)."""
    text = ",".join(values)
    if not text or '"' in text:
        return None
    work = bytearray(f"[{text}]".encode())
    parsed = _decode_numbers(work, np.frombuffer(work, dtype=np.uint8), len(values), nulls=0, zero=True)
    return None if parsed is None or bool(np.isinf(parsed).any()) else parsed


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
