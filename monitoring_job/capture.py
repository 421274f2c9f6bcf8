"""Stream SageMaker data-capture files into column batches; quarantine every line that cannot be used.

Capture format (Amazon SageMaker Developer Guide, "Capture data from real-time endpoint";
docs/aws-facts.md#data-capture): files ``{endpoint}/{variant}/yyyy/mm/dd/hh/<name>.jsonl`` under the capture
prefix, one JSON object per line::

    {"captureData": {"endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                                        "data": "0.93", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...", "inferenceTime": "2026-01-01T00:00:00Z"},
     "eventVersion": "0"}

Every ``*.jsonl`` file under the input directory is read (recursively, in path order) ``READ_LINES`` lines
at a time, so memory is bounded by one batch (``chunk_records`` lines) whatever the window size. A line whose
JSON, capture envelope, payload or values are unusable is written verbatim to ``quarantine/<reason>.jsonl`` as
``{"source", "line", "reason", "feature", "detail", "raw"}`` (``raw_base64`` if the line is not UTF-8) and
counted by reason; blank lines are counted too. No line is dropped without a trace, and one bad line never
costs the good lines around it.

Speed: lines are decoded a block at a time with ``orjson.loads`` mapped over the block and the envelope
fields picked out with ``itemgetter`` over whole lists (no Python bytecode per line); a block with any line
that is not a one-row CSV record is read again line by line, which finds exactly the bad lines. Buffered
records are parsed in slices of at most ``SLICE_LINES`` lines (the slice's text and values stay in the CPU
caches); the statistics get batches of ``chunk_records`` lines assembled from the slices, with their rows in
the order a single parse of the batch would give (every CSV row, then every JSON row), so the accumulators
see exactly the arrays they would see without slicing.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import numpy as np

from monitor_stats.binning import BoolArray, FloatArray, IntArray
from monitoring_job.config import JobConfig
from monitoring_job.parsing import (
    CodeTable,
    Columns,
    JsonRows,
    Layout,
    Problem,
    Reason,
    concat_columns,
    parse_csv_rows,
    parse_predictions,
)
from monitoring_job.parsing import loads as _loads  # orjson when installed (~3x the stdlib decoder), else json

CAPTURE_GLOB = "*.jsonl"
QUARANTINE_DIR = "quarantine"
READ_BUFFER = 1024 * 1024  # bytes per read from the file
READ_LINES = 128  # lines decoded at a time: their decoded objects stay in the CPU caches
SLICE_LINES = 2048  # at most this many buffered lines are parsed together
_NO_OUTPUT = "nan"
_CAPTURE = itemgetter("captureData")
_REQUEST = itemgetter("endpointInput")
_RESPONSE = itemgetter("endpointOutput")
_DATA = itemgetter("data")
_ENCODING = itemgetter("encoding")


@dataclass
class Batch:
    """Good records of one batch, as columns. ``categorical`` maps a feature to (codes, code -> value)."""

    rows: int
    numeric: dict[str, FloatArray]
    categorical: dict[str, tuple[IntArray, list[str]]]


@dataclass
class ReadCounts:
    """What the reader saw; merges by addition."""

    files: int = 0
    lines: int = 0
    blank_lines: int = 0
    records: int = 0
    bad_lines: Counter[str] = field(default_factory=Counter)
    bad_values: Counter[tuple[str, str]] = field(default_factory=Counter)  # (reason, feature) -> lines

    def merge(self, other: ReadCounts) -> None:
        self.files += other.files
        self.lines += other.lines
        self.blank_lines += other.blank_lines
        self.records += other.records
        self.bad_lines.update(other.bad_lines)
        self.bad_values.update(other.bad_values)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "lines": self.lines,
            "blank_lines": self.blank_lines,
            "records": self.records,
            "bad_lines": dict(sorted(self.bad_lines.items())),
            "bad_values": [[r, f, n] for (r, f), n in sorted(self.bad_values.items())],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ReadCounts:
        return cls(
            files=int(raw["files"]),
            lines=int(raw["lines"]),
            blank_lines=int(raw["blank_lines"]),
            records=int(raw["records"]),
            bad_lines=Counter({str(k): int(v) for k, v in raw["bad_lines"].items()}),
            bad_values=Counter({(str(r), str(f)): int(n) for r, f, n in raw["bad_values"]}),
        )


class Quarantine:
    """Appends bad lines, verbatim, to ``<directory>/<reason><suffix>.jsonl`` (opened on first use)."""

    def __init__(self, directory: Path, suffix: str = "") -> None:
        self.directory = directory
        self.suffix = suffix
        self._handles: dict[str, IO[str]] = {}

    def write(self, *, source: str, line: int, raw: bytes, problem: Problem) -> None:
        entry: dict[str, Any] = {
            "source": source,
            "line": line,
            "reason": problem.reason.value,
            "feature": problem.feature,
            "detail": problem.detail,
        }
        body = raw[:-1] if raw.endswith(b"\n") else raw
        try:
            entry["raw"] = body.decode("utf-8")
        except UnicodeDecodeError:
            entry["raw_base64"] = base64.b64encode(body).decode("ascii")
        self._handle(problem.reason).write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _handle(self, reason: Reason) -> IO[str]:
        handle = self._handles.get(reason)
        if handle is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = self._handles[reason] = (self.directory / f"{reason.value}{self.suffix}.jsonl").open(
                "a", encoding="utf-8"
            )
        return handle

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


def capture_files(input_dir: Path) -> list[Path]:
    """Every capture file under ``input_dir``, in a stable order."""
    return sorted(p for p in input_dir.rglob(CAPTURE_GLOB) if p.is_file())


class CaptureReader:
    """Reads capture files into batches of good records, handing each batch to ``sink``."""

    def __init__(self, config: JobConfig, *, sink: Callable[[Batch], None], quarantine: Quarantine, root: Path) -> None:
        self.config = config
        self.layout = Layout.of(config)
        self.sink = sink
        self.quarantine = quarantine
        self.root = root
        self.counts = ReadCounts()
        self._sources: list[str] = []
        slices = -(-config.chunk_records // SLICE_LINES)
        self._slice = -(-config.chunk_records // slices)  # equal slices, the last one possibly shorter
        self._parts: list[tuple[Batch, int]] = []  # parsed slices of this batch and their count of CSV rows
        self._part_lines = 0
        self._new_tables()
        self._reset()

    def _new_tables(self) -> None:
        """Code tables live as long as a batch (every slice of it shares them)."""
        self.tables = {f.name: CodeTable() for f in self.layout.features if not f.kind.is_numeric}

    def _reset(self) -> None:
        """Empty line buffers for the next slice."""
        self.lines: list[bytes] = []
        self.line_number: list[int] = []
        self.file_starts: list[tuple[int, int]] = []  # (first line index in this batch, file index)
        self.csv_rows: list[str] = []
        self.csv_line: list[int] = []
        self.csv_pred: list[str] = []
        self.json_line: list[int] = []
        self.json_pred: list[str] = []
        self.pending: list[tuple[int, Problem]] = []  # line -> problem found while routing
        self.json_rows = JsonRows(self.layout, self.tables)

    def read_all(self, files: list[Path]) -> ReadCounts:
        for path in files:
            self.read_file(path)
        self.flush()
        return self.counts

    def read_file(self, path: Path) -> None:
        file_index = len(self._sources)
        self._sources.append(_relative(path, self.root))
        self.counts.files += 1
        self.file_starts.append((len(self.lines), file_index))
        done = 0
        with path.open("rb", buffering=READ_BUFFER) as handle:
            while lines := list(islice(handle, READ_LINES)):
                self._take(lines, file_index, done)
                done += len(lines)

    def _take(self, lines: list[bytes], file_index: int, done: int) -> None:
        """Buffer lines ``done + 1 ...`` of a file, parsing the slice whenever it is full."""
        start = 0
        while start < len(lines):
            target = min(self._slice, self.config.chunk_records - self._part_lines)  # buffered lines
            room = target - len(self.lines)  # lines that are not decodable records are not buffered
            part = lines if start == 0 and len(lines) <= room else lines[start : start + room]
            if not self._take_fast(part, done + start):
                self._take_lines(part, file_index, done + start)
            start += len(part)
            if len(self.lines) >= target:
                self._parse_slice()
                self.file_starts.append((0, file_index))

    def _take_fast(self, lines: list[bytes], done: int) -> bool:
        """The hot path: every line a capture record with one CSV row and a CSV score (or no response).

        Whole lists at a time -- ``orjson.loads`` mapped over the lines, the envelope fields picked out with
        ``itemgetter`` -- so no Python bytecode runs per line. False (nothing buffered) if any line is anything
        else; ``_take_lines`` then reads the same lines one by one and finds exactly which ones are bad.
        """
        count = len(lines)
        try:
            captures = list(map(_CAPTURE, map(_loads, lines)))
            requests = list(map(_REQUEST, captures))
            if list(map(_ENCODING, requests)).count("CSV") != count:
                return False
            rows = list(map(_DATA, requests))
            predictions = self._fast_predictions(captures)
            if predictions is None or "\n" in "".join(rows):  # join: TypeError unless all are strings
                return False
        except (ValueError, KeyError, TypeError):  # JSON errors are ValueErrors
            return False
        index = len(self.lines)
        self.lines += lines
        self.line_number += range(done + 1, done + count + 1)
        self.csv_rows += rows
        self.csv_line += range(index, index + count)
        self.csv_pred += predictions
        return True

    def _fast_predictions(self, captures: list[Any]) -> list[str] | None:
        """Every score text (CSV) or, if no line has a response, ``"nan"`` for each; None otherwise."""
        try:
            responses = list(map(_RESPONSE, captures))
        except KeyError:
            if [c.get("endpointOutput") for c in captures].count(None) == len(captures):
                return [_NO_OUTPUT] * len(captures)
            return None
        if list(map(_ENCODING, responses)).count("CSV") != len(captures):
            return None
        predictions = list(map(_DATA, responses))
        ",".join(predictions)  # TypeError unless every score is a string
        return predictions

    def _take_lines(self, lines: list[bytes], file_index: int, done: int) -> None:
        """Line by line: decode; a one-row CSV record with a CSV score is buffered inline, the rest routed."""
        loads, nan = _loads, _NO_OUTPUT
        add_line, add_number, add_row, add_row_line, add_pred = self._appenders()
        for number, raw in enumerate(lines, done + 1):
            try:
                record = loads(raw)
            except ValueError:
                self._undecodable(raw, file_index, number)
                continue
            try:
                capture = record["captureData"]
                request = capture["endpointInput"]
                encoding = request["encoding"]
                data = request["data"]
                response = capture.get("endpointOutput")
            except (KeyError, TypeError, AttributeError):
                self._reject_line(raw, file_index, number, Reason.MISSING_CAPTURE_DATA, "no endpointInput")
                continue
            prediction: str | None
            if response is None:
                prediction = nan
            else:
                try:
                    prediction = response["data"] if response["encoding"] == "CSV" else None
                except (KeyError, TypeError):
                    prediction = None
            index = len(self.lines)
            add_line(raw)
            add_number(number)
            if encoding == "CSV" and type(data) is str and type(prediction) is str and "\n" not in data:
                add_row(data)
                add_row_line(index)
                add_pred(prediction)
            else:
                self._route(index, request, response)

    def _appenders(self) -> tuple[Callable[[Any], None], ...]:
        return (
            self.lines.append,
            self.line_number.append,
            self.csv_rows.append,
            self.csv_line.append,
            self.csv_pred.append,
        )

    def _file_of(self, line: int) -> int:
        position = bisect.bisect_right(self.file_starts, (line, sys.maxsize)) - 1
        return self.file_starts[position][1]

    def _undecodable(self, raw: bytes, file_index: int, number: int) -> None:
        if not raw.strip():
            self.counts.blank_lines += 1
            return
        self._reject_line(raw, file_index, number, Reason.INVALID_JSON, "not a JSON object")

    def _reject_line(self, raw: bytes, file_index: int, number: int, reason: Reason, detail: str) -> None:
        self.counts.lines += 1
        self.counts.bad_lines[reason.value] += 1
        problem = Problem(0, reason, None, detail)
        self.quarantine.write(source=self._sources[file_index], line=number, raw=raw, problem=problem)

    def _route(self, index: int, request: Mapping[str, Any], response: object) -> None:
        """Anything but a one-row CSV record: multi-row CSV, JSON, BASE64, JSON or multi-row responses."""
        try:
            kind, payload = _payload(request)
            if kind == "csv":
                assert isinstance(payload, str)
                rows = _csv_lines(payload)
                outputs = _outputs(response, len(rows), self.config)
                self.csv_rows.extend(rows)
                self.csv_line.extend([index] * len(rows))
                self.csv_pred.extend(outputs)
            else:
                objects = _json_objects(payload)
                outputs = _outputs(response, len(objects), self.config)
                for obj in objects:
                    self.json_rows.add(obj)
                self.json_line.extend([index] * len(objects))
                self.json_pred.extend(outputs)
        except _BadRecordError as bad:
            self.pending.append((index, Problem(0, bad.reason, bad.feature, bad.detail)))

    def flush(self) -> None:
        """Parse the buffered lines and hand every good row read so far to the sink."""
        self._parse_slice()
        self._emit()

    def _emit(self) -> None:
        """The parsed slices, as one batch, to the sink."""
        if not self._parts:
            return
        parts, self._parts, self._part_lines = self._parts, [], 0
        if len(parts) == 1:
            batch = parts[0][0]
        else:  # rows in the order of one parse of the whole batch: every CSV row, then every JSON row

            def joined(columns: list[tuple[Any, int]]) -> Any:
                return np.concatenate([c[:k] for c, k in columns] + [c[k:] for c, k in columns])

            first = parts[0][0]
            numeric = {n: joined([(p.numeric[n], k) for p, k in parts]) for n in first.numeric}
            categorical = {
                n: (joined([(p.categorical[n][0], k) for p, k in parts]), values)
                for n, (_, values) in first.categorical.items()
            }
            batch = Batch(sum(p.rows for p, _ in parts), numeric, categorical)
        self._new_tables()
        self.json_rows = JsonRows(self.layout, self.tables)
        self.sink(batch)

    def _parse_slice(self) -> None:
        """Parse the buffered lines and quarantine the bad ones; a batch is emitted once it is big enough."""
        if not self.lines:
            return
        csv_columns = parse_csv_rows(self.csv_rows, self.layout, self.tables)
        columns = concat_columns([csv_columns, self.json_rows.columns()], self.layout)
        row_line = np.asarray(self.csv_line + self.json_line, dtype=np.int64)
        problems = list(columns.problems)
        predictions = self._predictions(problems)
        bad = self._bad_lines(problems, row_line)
        self._quarantine_lines(bad)
        self.counts.lines += len(self.lines)
        keep = ~np.isin(row_line, np.fromiter(bad, dtype=np.int64, count=len(bad)))
        part = self._batch(columns, predictions, keep)
        self.counts.records += part.rows
        self._parts.append((part, int(np.count_nonzero(keep[: csv_columns.rows]))))
        self._part_lines += len(self.lines)
        if self._part_lines >= self.config.chunk_records:
            self._emit()
        self._reset()

    def _predictions(self, problems: list[Problem]) -> FloatArray | None:
        if self.config.prediction is None:
            return None
        values, bad_rows = parse_predictions(self.csv_pred + self.json_pred)
        name = self.config.prediction.name
        problems.extend(Problem(r, Reason.INVALID_PREDICTION, name, f"{name}: not a number") for r in bad_rows)
        return values

    def _bad_lines(self, problems: list[Problem], row_line: IntArray) -> dict[int, list[Problem]]:
        bad: dict[int, list[Problem]] = {}
        for line, problem in self.pending:
            bad.setdefault(line, []).append(problem)
        for problem in problems:
            bad.setdefault(int(row_line[problem.row]), []).append(problem)
        return bad

    def _quarantine_lines(self, bad: dict[int, list[Problem]]) -> None:
        for line in sorted(bad):
            found = bad[line]
            first = found[0]
            self.counts.bad_lines[first.reason.value] += 1
            for reason, feature in {(p.reason.value, p.feature) for p in found if p.feature is not None}:
                self.counts.bad_values[(reason, feature)] += 1
            source = self._sources[self._file_of(line)]
            self.quarantine.write(source=source, line=self.line_number[line], raw=self.lines[line], problem=first)

    def _batch(self, columns: Columns, predictions: FloatArray | None, keep: BoolArray) -> Batch:
        everything = bool(keep.all())
        numeric = {n: (v if everything else v[keep]) for n, v in columns.numeric.items()}
        if predictions is not None and self.config.prediction is not None:
            numeric[self.config.prediction.name] = predictions if everything else predictions[keep]
        categorical = {
            n: (codes if everything else codes[keep], self.tables[n].ordered) for n, codes in columns.codes.items()
        }
        return Batch(int(keep.sum()), numeric, categorical)


class _BadRecordError(Exception):
    def __init__(self, reason: Reason, detail: str, feature: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.feature = feature


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _payload(message: Mapping[str, Any]) -> tuple[str, object]:
    """("csv", text) or ("json", decoded value) from a capture message (request or response)."""
    encoding, data = message.get("encoding"), message.get("data")
    content_type = str(message.get("observedContentType", "")).lower()
    if encoding == "BASE64":
        if not isinstance(data, str):
            raise _BadRecordError(Reason.UNSUPPORTED_ENCODING, "BASE64 data is not a string")
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _BadRecordError(Reason.UNSUPPORTED_ENCODING, "BASE64 data does not decode to UTF-8 text") from None
        encoding = "JSON" if "json" in content_type else "CSV"
    if encoding == "CSV":
        if not isinstance(data, str):
            raise _BadRecordError(Reason.INVALID_PAYLOAD, "CSV data is not a string")
        return "csv", data
    if encoding == "JSON":
        if isinstance(data, str):
            try:
                return "json", _loads(data)
            except ValueError:
                raise _BadRecordError(Reason.INVALID_PAYLOAD, "JSON data does not parse") from None
        return "json", data
    raise _BadRecordError(Reason.UNSUPPORTED_ENCODING, f"encoding {str(encoding)[:20]!r} is not CSV, JSON or BASE64")


def _csv_lines(text: str) -> list[str]:
    rows = [row.rstrip("\r") for row in text.rstrip("\r\n").split("\n")]
    if not rows or rows == [""]:
        raise _BadRecordError(Reason.INVALID_PAYLOAD, "empty CSV payload")
    return rows


def _json_objects(value: object) -> list[Mapping[str, object]]:
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return value
    raise _BadRecordError(Reason.INVALID_PAYLOAD, "JSON payload is not an object or a list of objects")


def _outputs(response: object, rows: int, config: JobConfig) -> list[str]:
    """One score text per input row."""
    if response is None or config.prediction is None:
        return [_NO_OUTPUT] * rows
    if not isinstance(response, Mapping):
        raise _BadRecordError(Reason.INVALID_PREDICTION, "endpointOutput is not an object")
    try:
        kind, payload = _payload(response)
    except _BadRecordError as bad:
        raise _BadRecordError(Reason.INVALID_PREDICTION, f"endpointOutput: {bad.detail}") from None
    values = _csv_outputs(str(payload), rows) if kind == "csv" else _json_outputs(payload, config.prediction.name)
    if len(values) != rows:
        raise _BadRecordError(Reason.INVALID_PREDICTION, f"{len(values)} predictions for {rows} input rows")
    return values


def _csv_outputs(text: str, rows: int) -> list[str]:
    lines = [line for line in text.strip().split("\n") if line.strip()]
    if rows > 1 and len(lines) == 1:
        return lines[0].split(",")
    return lines


def _json_outputs(value: object, name: str) -> list[str]:
    if isinstance(value, Mapping):
        for key in (name, "predictions", "prediction", "score", "scores"):
            if key in value:
                return _json_outputs(value[key], name)
        raise _BadRecordError(Reason.INVALID_PREDICTION, "JSON response has no predictions")
    if isinstance(value, list):
        return [item for v in value for item in _json_outputs(v, name)[:1]]
    if isinstance(value, bool | int | float | str):
        return [str(value)]
    raise _BadRecordError(Reason.INVALID_PREDICTION, "JSON response is not a number, list or object")
