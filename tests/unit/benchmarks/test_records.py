"""Benchmark records are what their scripts write: every RESULTS.md and README section re-renders from the
results.json the script stored, and the hand-written part of benchmarks/README.md holds no number.

The mutation tests work on a copy of the real records (benchmarks/), so they show that the check catches a
typed-in number in the files as committed, not in a toy record.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from benchmarks import records

EXPECTED = {"demo", "drift", "lambda_init", "synth", "transitions"}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """benchmarks/ as committed: README, and per benchmark its results.json and RESULTS.md."""
    root = tmp_path / "benchmarks"
    root.mkdir()
    shutil.copy(records.BENCHMARKS / "README.md", root / "README.md")
    for name in records.names():
        (root / name).mkdir()
        for file in (records.RESULTS_JSON, records.RESULTS_MD):
            if (records.BENCHMARKS / name / file).exists():
                shutil.copy(records.BENCHMARKS / name / file, root / name / file)
    return root


def _first_number(text: str) -> re.Match[str]:
    """The first measured-looking number (digits with a decimal point) in ``text``."""
    found = re.search(r"\d+\.\d+", text)
    assert found, "no number to change"
    return found


def _bump(path: Path, *, after: str = "") -> None:
    """Change the first decimal number in ``path`` that follows ``after`` by one in its last digit."""
    text = path.read_text(encoding="utf-8")
    start = text.index(after) + len(after) if after else 0
    found = _first_number(text[start:])
    value = found.group()
    changed = value[:-1] + str((int(value[-1]) + 1) % 10)
    path.write_text(text[: start + found.start()] + changed + text[start + found.end() :], encoding="utf-8")


def test_every_benchmark_has_a_record() -> None:
    assert set(records.names()) == EXPECTED


def test_every_record_is_what_its_script_writes() -> None:
    assert records.all_problems() == []


def test_the_unchanged_copy_passes(copy: Path) -> None:
    assert records.all_problems(copy) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_number_typed_into_results_md_fails(copy: Path, name: str) -> None:
    _bump(copy / name / records.RESULTS_MD, after="|---|")  # a number in the first table

    assert records.all_problems(copy) == [
        f"benchmarks/{name}/RESULTS.md is not what benchmarks/{name}/run.py renders from results.json"
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_number_typed_into_a_readme_section_fails(copy: Path, name: str) -> None:
    _bump(copy / "README.md", after=records.begin_marker(name))

    assert records.all_problems(copy) == [
        f"benchmarks/README.md: the '{name}' section is not what benchmarks/{name}/run.py renders"
    ]


def test_a_changed_raw_result_no_longer_matches_its_record(copy: Path) -> None:
    raw_path = copy / "synth" / records.RESULTS_JSON
    raw = json.loads(raw_path.read_text(encoding="utf-8"))
    raw["samples"]["full"] = [{**s, "wall_s": s["wall_s"] * 2} for s in raw["samples"]["full"]]
    raw_path.write_text(records.dump(raw), encoding="utf-8")

    problems = records.all_problems(copy)

    assert "benchmarks/synth/RESULTS.md is not what benchmarks/synth/run.py renders from results.json" in problems
    assert "benchmarks/README.md: the 'synth' section is not what benchmarks/synth/run.py renders" in problems


def test_a_number_in_the_hand_written_readme_fails(copy: Path) -> None:
    readme = copy / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nThe synth takes about 12 s.\n", encoding="utf-8")

    assert records.all_problems(copy) == [
        "benchmarks/README.md outside the record sections has a number: 'The synth takes about 12 s.'"
    ]


def test_a_results_md_without_a_script_fails(copy: Path) -> None:
    (copy / "handmade").mkdir()
    (copy / "handmade" / records.RESULTS_MD).write_text("| run | wall (s) |\n| ours | 1.0 |\n", encoding="utf-8")

    assert records.all_problems(copy) == [
        "benchmarks/handmade/RESULTS.md has no record.py to render it: records are written by scripts"
    ]


def test_a_missing_results_json_fails(copy: Path) -> None:
    (copy / "drift" / records.RESULTS_JSON).unlink()

    assert records.all_problems(copy) == ["benchmarks/drift/results.json is missing: run benchmarks/drift/run.py"]


def test_rerendering_rewrites_only_the_record_sections(copy: Path) -> None:
    readme = copy / "README.md"
    before = readme.read_text(encoding="utf-8")
    _bump(readme, after=records.begin_marker("drift"))
    _bump(copy / "drift" / records.RESULTS_MD, after="|---|")

    records.rerender(records.load("drift", root=copy))

    assert readme.read_text(encoding="utf-8") == before
    assert records.all_problems(copy) == []


def test_the_drift_record_states_both_headlines_with_the_baseline_cost() -> None:
    from benchmarks.drift.record import headlines  # noqa: PLC0415 - one record's own rendering

    record = records.load("drift")
    raw = records.read_raw(record)
    text = (record.folder / records.RESULTS_MD).read_text(encoding="utf-8")

    assert {"baseline", "ours", "ours_auto", "evidently"} <= set(raw["samples"])
    names = [name for name, _, _ in headlines(raw)]
    assert names == [
        "one process each (like for like), our baseline precomputed",
        "one process each (like for like), ours also building its baseline",
        "each tool's default, our baseline precomputed",
        "each tool's default, ours also building its baseline",
    ]
    assert all(f"| {name} |" in text for name in names)
