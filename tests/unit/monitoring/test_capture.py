"""Reading capture files: every good record counts, every bad line is quarantined verbatim and counted."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from monitoring_job import capture as capture_module
from monitoring_job.capture import Batch, CaptureReader, Quarantine, ReadCounts, capture_files
from monitoring_job.config import JobConfig, parse_job_config
from monitoring_job.synthetic import capture_lines, fraud_features, generate, job_config, write_capture

FEATURES = fraud_features()


@pytest.fixture
def config() -> JobConfig:
    return parse_job_config({**job_config(FEATURES), "chunk_records": 64})


def _read(config: JobConfig, root: Path, out: Path) -> tuple[ReadCounts, list[Batch]]:
    batches: list[Batch] = []
    quarantine = Quarantine(out / "quarantine")
    try:
        reader = CaptureReader(config, sink=batches.append, quarantine=quarantine, root=root)
        counts = reader.read_all(capture_files(root))
    finally:
        quarantine.close()
    return counts, batches


def _envelope(data: str, *, encoding: str = "CSV", output: object = "0.5") -> str:
    response = {"observedContentType": "text/csv", "mode": "OUTPUT", "data": output, "encoding": "CSV"}
    request = {"observedContentType": "text/csv", "mode": "INPUT", "data": data, "encoding": encoding}
    return json.dumps({"captureData": {"endpointInput": request, "endpointOutput": response}, "eventVersion": "0"})


GOOD_ROW = "12.5,grocery,14,1,3.2,100.0,400.0,1500.0,2,9,35,1.1"
BAD_LINES = {
    "invalid_json": '{"captureData": {',
    "missing_capture_data": json.dumps({"eventMetadata": {"eventId": "x"}}),
    "too_few_columns": _envelope("12.5,grocery,14"),
    "too_many_columns": _envelope(GOOD_ROW + ",7"),
    "non_numeric": _envelope(GOOD_ROW.replace("12.5", "twelve")),
    "unsupported_encoding": _envelope(GOOD_ROW, encoding="XML"),
    "unknown_feature": _envelope(json.dumps({"amount": 1.0, "colour": "red"}), encoding="JSON"),
    "invalid_prediction": _envelope(GOOD_ROW, output="high"),
}


def _mixed_file(root: Path, good: int) -> tuple[Path, dict[int, str]]:
    """``good`` valid records with every kind of bad line spread among them; returns line number -> reason."""
    lines = list(capture_lines(FEATURES, generate(FEATURES, good, seed=5)))
    bad_at: dict[int, str] = {}
    for offset, line in enumerate(BAD_LINES.values()):
        position = min(len(lines), 1 + offset * (good // len(BAD_LINES)))
        lines.insert(position, line)
    for number, line in enumerate(lines, 1):
        for reason, bad in BAD_LINES.items():
            if line == bad:
                bad_at[number] = reason
    lines.insert(3, "")  # a blank line: counted, not quarantined
    bad_at = {n + (1 if n > 3 else 0): r for n, r in bad_at.items()}
    path = root / "ep" / "AllTraffic" / "mixed.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, bad_at


def test_a_mixed_file_keeps_every_good_line_and_quarantines_every_bad_one(config: JobConfig, tmp_path: Path) -> None:
    capture, out = tmp_path / "capture", tmp_path / "out"
    path, bad_at = _mixed_file(capture, good=500)

    counts, batches = _read(config, capture, out)

    assert counts.records == 500 == sum(b.rows for b in batches)
    assert counts.lines == 500 + len(BAD_LINES)
    assert counts.blank_lines == 1
    assert dict(counts.bad_lines) == dict.fromkeys(BAD_LINES, 1)
    source_lines = path.read_text(encoding="utf-8").split("\n")
    for reason, bad_line in BAD_LINES.items():
        [entry] = [json.loads(x) for x in (out / "quarantine" / f"{reason}.jsonl").read_text().splitlines()]
        assert entry["reason"] == reason
        assert entry["source"] == "ep/AllTraffic/mixed.jsonl"
        assert bad_at[entry["line"]] == reason
        assert entry["raw"] == source_lines[entry["line"] - 1] == bad_line


def test_statistics_come_from_the_good_lines_only(config: JobConfig, tmp_path: Path) -> None:
    capture = tmp_path / "capture"
    _mixed_file(capture, good=300)
    clean = tmp_path / "clean"
    write_capture(clean, capture_lines(FEATURES, generate(FEATURES, 300, seed=5)))

    _, mixed_batches = _read(config, capture, tmp_path / "o1")
    _, clean_batches = _read(config, clean, tmp_path / "o2")

    for name in ("amount", "count_30d", "prediction"):
        mixed = np.concatenate([b.numeric[name] for b in mixed_batches])
        assert np.array_equal(mixed, np.concatenate([b.numeric[name] for b in clean_batches]), equal_nan=True)


def test_non_utf8_lines_are_quarantined_as_base64(config: JobConfig, tmp_path: Path) -> None:
    capture = tmp_path / "capture"
    capture.mkdir()
    raw = b'{"captureData": "\xff\xfe"}'
    (capture / "binary.jsonl").write_bytes(raw + b"\n")

    counts, _ = _read(config, capture, tmp_path / "out")

    [entry] = [json.loads(x) for x in (tmp_path / "out/quarantine/invalid_json.jsonl").read_text().splitlines()]
    assert counts.bad_lines == {"invalid_json": 1}
    assert base64.b64decode(entry["raw_base64"]) == raw


@pytest.mark.parametrize("encoding", ["JSON", "BASE64"])
def test_json_and_base64_payloads_decode_like_csv(config: JobConfig, tmp_path: Path, encoding: str) -> None:
    columns = generate(FEATURES, 200, seed=9)
    write_capture(tmp_path / "csv", capture_lines(FEATURES, columns))
    write_capture(tmp_path / "other", capture_lines(FEATURES, columns, encoding=encoding))

    _, csv_batches = _read(config, tmp_path / "csv", tmp_path / "o1")
    counts, other_batches = _read(config, tmp_path / "other", tmp_path / "o2")

    assert counts.records == 200
    assert not counts.bad_lines
    for name in ("amount", "hour_of_day", "prediction"):
        expected = np.concatenate([b.numeric[name] for b in csv_batches])
        np.testing.assert_array_equal(np.concatenate([b.numeric[name] for b in other_batches]), expected)


def test_a_multi_row_request_yields_one_record_per_row(config: JobConfig, tmp_path: Path) -> None:
    capture = tmp_path / "capture"
    capture.mkdir()
    lines = [
        _envelope(f"{GOOD_ROW}\n{GOOD_ROW}\n", output="0.1\n0.2\n"),
        _envelope(f"{GOOD_ROW}\n{GOOD_ROW}", output="0.1"),  # two rows, one score: bad prediction
        json.dumps({"captureData": {"endpointInput": {"data": GOOD_ROW, "encoding": "CSV"}}}),  # no output
    ]
    (capture / "multi.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    counts, batches = _read(config, capture, tmp_path / "out")

    predictions = np.concatenate([b.numeric["prediction"] for b in batches])
    assert counts.records == 3
    assert counts.bad_lines == {"invalid_prediction": 1}
    assert predictions[:2].tolist() == [0.1, 0.2]
    assert np.isnan(predictions[2])


def test_files_are_found_recursively_and_only_jsonl(tmp_path: Path) -> None:
    for relative in ("ep/v/2026/01/01/00/a.jsonl", "ep/v/2026/01/01/01/b.jsonl", "ep/notes.txt"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("", encoding="utf-8")

    assert [p.name for p in capture_files(tmp_path)] == ["a.jsonl", "b.jsonl"]


def _batches_as_lists(batches: list[Batch]) -> list[dict[str, list[object]]]:
    """Each batch's columns, numbers as bit patterns (NaN and -0.0 compare exactly), strings decoded."""
    out = []
    for batch in batches:
        columns: dict[str, list[object]] = {n: v.view(np.uint64).tolist() for n, v in batch.numeric.items()}
        for name, (codes, values) in batch.categorical.items():
            columns[name] = [None if c < 0 else values[c] for c in codes.tolist()]
        out.append(columns)
    return out


def _quarantined(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.jsonl"))}


def _varied_capture(root: Path) -> None:
    """Clean CSV blocks (the block fast path), JSON payloads, and every kind of bad line, over two files."""
    path, _ = _mixed_file(root, good=700)
    clean = list(capture_lines(FEATURES, generate(FEATURES, 400, seed=6)))
    json_lines = list(capture_lines(FEATURES, generate(FEATURES, 40, seed=7), encoding="JSON"))
    mixed = clean[:150] + json_lines[:20] + clean[150:] + json_lines[20:]
    second = path.parent / "second.jsonl"
    second.write_text("\r\n".join(mixed), encoding="utf-8")  # CRLF, and no newline after the last line


def test_the_block_fast_path_reads_exactly_what_the_line_by_line_path_reads(
    config: JobConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = tmp_path / "capture"
    _varied_capture(capture)

    fast_counts, fast_batches = _read(config, capture, tmp_path / "fast")
    monkeypatch.setattr(CaptureReader, "_take_fast", lambda self, lines, done: False)
    slow_counts, slow_batches = _read(config, capture, tmp_path / "slow")

    assert fast_counts.to_json() == slow_counts.to_json()
    assert fast_counts.records == 700 + 400 + 40
    assert _batches_as_lists(fast_batches) == _batches_as_lists(slow_batches)
    assert _quarantined(tmp_path / "fast/quarantine") == _quarantined(tmp_path / "slow/quarantine")


def test_batches_assembled_from_slices_equal_batches_parsed_in_one_go(
    config: JobConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = tmp_path / "capture"
    _varied_capture(capture)

    whole_counts, whole_batches = _read(config, capture, tmp_path / "whole")  # one slice per 64-line batch
    monkeypatch.setattr(capture_module, "SLICE_LINES", 10)  # 7 slices per batch, the last one shorter
    sliced_counts, sliced_batches = _read(config, capture, tmp_path / "sliced")

    assert whole_counts.to_json() == sliced_counts.to_json()
    assert [b.rows for b in whole_batches] == [b.rows for b in sliced_batches]
    assert _batches_as_lists(whole_batches) == _batches_as_lists(sliced_batches)
    assert _quarantined(tmp_path / "whole/quarantine") == _quarantined(tmp_path / "sliced/quarantine")
