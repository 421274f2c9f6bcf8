"""Benchmark records that only their scripts write.

Each benchmark is a folder ``benchmarks/<name>/`` with ``run.py`` (measures) and ``record.py`` (renders). A run
stores everything it measured -- every sample, the machine, its load, the command, the commit -- in
``results.json`` beside it, then renders ``RESULTS.md`` and the benchmark's section of ``benchmarks/README.md``
from that file alone (``record.render`` and ``record.summary``: pure functions of the raw results).

``python -m benchmarks.records`` re-renders every record from its ``results.json`` and fails, naming the file,
when a ``RESULTS.md`` or a README section is not exactly what the script writes, so a number typed into a
record does not survive (tests/unit/benchmarks runs the same check). ``--write`` re-renders them instead, for a
change of wording in a ``record.py``; the numbers still come from ``results.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
RESULTS_JSON = "results.json"
RESULTS_MD = "RESULTS.md"

Raw = dict[str, Any]


@dataclass(frozen=True)
class Record:
    name: str
    title: str
    render: Callable[[Raw], str]  # the body of RESULTS.md
    summary: Callable[[Raw], str]  # the benchmark's section of benchmarks/README.md
    root: Path = BENCHMARKS  # the benchmarks folder (a copy of it in tests)

    @property
    def folder(self) -> Path:
        return self.root / self.name

    @property
    def readme(self) -> Path:
        return self.root / "README.md"

    @property
    def script(self) -> str:
        return f"benchmarks/{self.name}/run.py"

    def results_md(self, raw: Raw) -> str:
        notice = (
            f"Written by `{self.script}` from `{RESULTS_JSON}` beside this file; do not edit. "
            "`.venv/bin/python -m benchmarks.records` checks that it is exactly what the script writes."
        )
        return f"# {self.title}\n\n{notice}\n\n{self.render(raw).strip()}\n"

    def section(self, raw: Raw) -> str:
        """The README section: the command that wrote the record (to regenerate it), then the summary."""
        body = f"Command: `{raw['command']}`\n\n{self.summary(raw).strip()}"
        return f"{begin_marker(self.name)}\n{body}\n{end_marker(self.name)}"


class RecordError(Exception):
    """A record that is missing, malformed or not what its script writes."""


def begin_marker(name: str) -> str:
    return f"<!-- record {name}: written by benchmarks/{name}/run.py from its {RESULTS_JSON}; do not edit -->"


def end_marker(name: str) -> str:
    return f"<!-- end record {name} -->"


def names() -> list[str]:
    """Every benchmark with a record (a folder holding ``record.py``)."""
    return sorted(p.parent.name for p in BENCHMARKS.glob("*/record.py"))


def load(name: str, *, root: Path = BENCHMARKS) -> Record:
    module = importlib.import_module(f"benchmarks.{name}.record")
    return Record(name=name, title=module.TITLE, render=module.render, summary=module.summary, root=root)


def read_raw(record: Record) -> Raw:
    path = record.folder / RESULTS_JSON
    if not path.exists():
        raise RecordError(f"benchmarks/{record.name}/{RESULTS_JSON} is missing: run {record.script}")
    raw: Raw = json.loads(path.read_text(encoding="utf-8"))
    return raw


def dump(raw: Raw) -> str:
    return json.dumps(raw, indent=1, sort_keys=True) + "\n"


def replace_section(readme: str, record: Record, raw: Raw) -> str:
    """``readme`` with the record's section rewritten (appended at the end when it has none yet)."""
    pattern = re.compile(re.escape(begin_marker(record.name)) + r".*?" + re.escape(end_marker(record.name)), re.S)
    section = record.section(raw)
    if pattern.search(readme):
        return pattern.sub(lambda _: section, readme, count=1)
    return f"{readme.rstrip()}\n\n{section}\n"


def write(record: Record, raw: Raw) -> None:
    """Store the raw results and render RESULTS.md and the README section from them."""
    (record.folder / RESULTS_JSON).write_text(dump(raw), encoding="utf-8")
    rerender(record)


def publish(name: str, raw: Raw, *, record: bool) -> int:
    """A benchmark's last step: with ``record``, store and render its record and print its RESULTS.md; without,
    print the raw results only. The exit code."""
    if record:
        loaded = load(name)
        write(loaded, raw)
        print((loaded.folder / RESULTS_MD).read_text(encoding="utf-8"))
    else:
        print(dump(raw))
    return 0


def rerender(record: Record) -> None:
    raw = read_raw(record)
    (record.folder / RESULTS_MD).write_text(record.results_md(raw), encoding="utf-8")
    record.readme.write_text(replace_section(record.readme.read_text(encoding="utf-8"), record, raw), encoding="utf-8")


def problems(record: Record) -> list[str]:
    """Why the stored record is not what its script writes (empty when it is)."""
    try:
        raw = read_raw(record)
    except (RecordError, json.JSONDecodeError) as error:
        return [str(error)]
    try:
        expected = record.results_md(raw)
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as error:
        return [f"benchmarks/{record.name}/{RESULTS_JSON} cannot be rendered ({error!r}): re-run {record.script}"]
    found: list[str] = []
    results = record.folder / RESULTS_MD
    if not results.exists() or results.read_text(encoding="utf-8") != expected:
        found.append(f"benchmarks/{record.name}/{RESULTS_MD} is not what {record.script} renders from {RESULTS_JSON}")
    readme = record.readme.read_text(encoding="utf-8")
    if record.section(raw) not in readme:
        found.append(f"benchmarks/README.md: the '{record.name}' section is not what {record.script} renders")
    return found


def hand_written(readme: str) -> str:
    """The README without its record sections, code blocks and code spans: the part people write."""
    for name in re.findall(r"<!-- record (\S+):", readme):
        readme = re.sub(re.escape(begin_marker(name)) + r".*?" + re.escape(end_marker(name)), "", readme, flags=re.S)
    readme = re.sub(r"^```.*?^```", "", readme, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", readme)


# ---- helpers for record.py modules ----


def median(samples: Sequence[Raw], key: str) -> float:
    return float(statistics.median(float(s[key]) for s in samples))


def environment_paragraph(env: Raw) -> str:
    """What every record says about where and when it was measured."""
    machine = env["machine"]
    changes = env["uncommitted_changes"]
    measured = f"commit `{env['commit']}`"
    if changes:
        measured += " plus uncommitted changes to " + ", ".join(f"`{c}`" for c in changes)
    start, end = (" / ".join(f"{v:.2f}" for v in env[k]) for k in ("load_average_start", "load_average_end"))
    return (
        f"Recorded {env['recorded_at']} (the run took {env['duration_s']:.0f} s) at {measured}. "
        f"Machine: {machine['architecture']}, {machine['cpu_count']} vCPUs ({machine['cpu_model']}), "
        f"{machine['memory_gib']:.0f} GiB RAM, Linux {machine['kernel']}, Python {machine['python']}. "
        f"Load average (1 / 5 / 15 min) {start} at the start and {end} at the end; other processes kept "
        f"{env['others_cores']:.2f} of the {machine['cpu_count']} vCPUs busy on average during the run."
    )


def all_problems(root: Path = BENCHMARKS) -> list[str]:
    """Every way the records under ``root`` differ from what their scripts write."""
    found = [problem for name in names() for problem in problems(load(name, root=root))]
    stray = sorted(
        f"benchmarks/{p.relative_to(root)}" for p in root.glob(f"**/{RESULTS_MD}") if p.parent.name not in names()
    )
    found += [f"{path} has no record.py to render it: records are written by scripts" for path in stray]
    digits = re.findall(r"[^\n]*\d[^\n]*", hand_written((root / "README.md").read_text(encoding="utf-8")))
    found += [f"benchmarks/README.md outside the record sections has a number: {line.strip()!r}" for line in digits]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.records", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="re-render every record from its results.json")
    args = parser.parse_args(argv)
    if args.write:
        for name in names():
            rerender(load(name))
    found = all_problems()
    for problem in found:
        print(problem, file=sys.stderr)
    if not found:
        print(f"{len(names())} records are what their scripts write: {', '.join(names())}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
