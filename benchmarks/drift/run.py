"""Drift-job benchmark: our job vs Evidently's DataDriftPreset vs the JSON-decoding floor, in one run.

    .venv/bin/python benchmarks/drift/run.py --records 1000000 --evidently-python "$EVIDENTLY_PYTHON"

1. Generates data capture for a wide example-shaped model (20 numeric + 3 categorical features and the
   score; three features drifted) -- ``--records`` lines and ``--scale`` times as many for the memory check --
   plus a reference sample (CSV) and the job config.
2. Measures, each in its own subprocess, end to end (files in, verdicts out), ``--runs`` times in turn:
   (a) our baseline built from the reference (baseline_runner.py: the pipeline's Baseline-step statistics);
   (b) our job with that baseline, in one process and with its default (one reader process per vCPU);
   (c) Evidently (evidently_runner.py), which profiles the same reference inside its run; (d) the floor of
   only JSON-decoding every line (json_floor.py, orjson and stdlib); and our job on the ``--scale`` x window.
   What is measured and how: ``benchmarks.common.measure`` (wall, CPU of the process tree, peak memory,
   other processes' CPU meanwhile).
3. Stores every sample, the machine, its load, the versions and both tools' verdicts in results.json, and
   renders RESULTS.md and the README section from it (record.py).

Not part of the test suite. Evidently and pandas live in a separate venv (``--evidently-python``, default
``$EVIDENTLY_PYTHON``) so the project venv stays free of their ~50 dependencies; the record lists its pins.
The record states the command with ``"$EVIDENTLY_PYTHON"`` in place of that interpreter's path, which differs
from machine to machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import records  # noqa: E402 - after the path set-up above
from benchmarks.common import PYTHON, Session, measure, python_command  # noqa: E402
from monitoring_job.synthetic import (  # noqa: E402
    PREDICTION,
    SyntheticFeature,
    capture_lines,
    generate,
    job_config,
    wide_features,
)

HERE = Path(__file__).resolve().parent
DRIFTED = frozenset({"num_03", "num_11", "cat_1"})
BLOCK = 100_000
LINES_PER_FILE = 15_625  # 64 files per million records, ~8.5 MB each, like rotated capture files
NUMERIC, CATEGORICAL = 20, 3


def write_window(directory: Path, features: Sequence[SyntheticFeature], records: int, seed: int) -> None:
    """Capture files for ``records`` requests, generated and written block by block (bounded memory)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    handle = None
    try:
        for block, start in enumerate(range(0, records, BLOCK)):
            columns = generate(features, min(BLOCK, records - start), seed * 1000 + block, drifted=DRIFTED)
            for line in capture_lines(features, columns, seed=seed * 1000 + block):
                if written % LINES_PER_FILE == 0:
                    if handle is not None:
                        handle.close()
                    index = written // LINES_PER_FILE
                    path = directory / "ep" / "AllTraffic" / "2026" / "01" / "01" / f"{index % 24:02d}"
                    path.mkdir(parents=True, exist_ok=True)
                    handle = (path / f"capture-{index:05d}.jsonl").open("w", encoding="utf-8")
                handle.write(line + "\n")
                written += 1
    finally:
        if handle is not None:
            handle.close()


def write_reference(directory: Path, features: Sequence[SyntheticFeature], rows: int) -> Path:
    """The reference sample as CSV with a header (what Evidently and our baseline both read), and the job config."""
    columns = generate(features, rows, seed=1)
    (directory / "job_config.json").write_text(json.dumps(job_config(features)), encoding="utf-8")
    names = [f.name for f in features] + [PREDICTION]
    reference = directory / "reference.csv"
    with reference.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows(zip(*(list(columns[n]) for n in names), strict=True))
    return reference


def warm_page_cache(directory: Path) -> None:
    for path in directory.rglob("*.jsonl"):
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def versions(python: str, modules: Sequence[str]) -> dict[str, str]:
    code = f"import importlib.metadata as m, json; print(json.dumps({{n: m.version(n) for n in {list(modules)!r}}}))"
    found: dict[str, str] = json.loads(
        subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    return found


def recorded_command(argv: Sequence[str]) -> str:
    """The command line as the record states it: the Evidently interpreter's path (machine-specific) becomes
    ``"$EVIDENTLY_PYTHON"``, so the record reads the same on every machine and can be pasted after setting it."""
    words: list[str] = []
    replace_next = False
    for word in argv:
        if replace_next:
            words.append('"$EVIDENTLY_PYTHON"')
            replace_next = False
        elif word == "--evidently-python":
            words.append(word)
            replace_next = True
        elif word.startswith("--evidently-python="):
            words.append('--evidently-python="$EVIDENTLY_PYTHON"')
        else:
            words.append(word)
    return python_command("benchmarks/drift/run.py", words)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--scale", type=int, default=4, help="the memory check runs on records x scale")
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="samples of each measurement (the record shows medians)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mlops-drift-bench")
    parser.add_argument(
        "--evidently-python",
        default=os.environ.get("EVIDENTLY_PYTHON"),
        help="interpreter of a venv with evidently installed (default: $EVIDENTLY_PYTHON)",
    )
    parser.add_argument("--record", action=argparse.BooleanOptionalAction, default=True, help="write the record")
    args = parser.parse_args()
    if not args.evidently_python:
        parser.error("set $EVIDENTLY_PYTHON (or --evidently-python) to a venv's python with evidently installed")
    session = Session()
    features = wide_features(NUMERIC, CATEGORICAL)
    work: Path = args.workdir
    small, large = work / f"capture-{args.records}", work / f"capture-{args.records * args.scale}"
    print(f"generating data under {work} ...", flush=True)
    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    reference = write_reference(work, features, args.reference_rows)
    for directory, count, seed in ((small, args.records, 2), (large, args.records * args.scale, 3)):
        if not (directory / ".complete").exists():
            write_window(directory, features, count, seed)
            (directory / ".complete").write_text("", encoding="utf-8")
    print(f"  done in {time.perf_counter() - started:.0f}s", flush=True)

    baseline, config = work / "baseline", work / "job_config.json"
    ours = [PYTHON, "-m", "monitoring_job", "analyze", "--baseline", str(baseline), "--config", str(config)]
    ours.append("--no-publish")
    evidently = [args.evidently_python, str(HERE / "evidently_runner.py"), "--reference", str(reference)]
    commands: dict[str, tuple[list[str], tuple[int, ...]]] = {
        "floor": ([PYTHON, str(HERE / "json_floor.py"), "--input", str(small)], (0,)),
        "floor_json": ([PYTHON, str(HERE / "json_floor.py"), "--input", str(small), "--decoder", "json"], (0,)),
        "baseline": (
            [
                PYTHON,
                str(HERE / "baseline_runner.py"),
                "--reference",
                str(reference),
                "--config",
                str(config),
                "--output",
                str(baseline),
            ],
            (0,),
        ),
        "ours": ([*ours, "--input", str(small), "--output", str(work / "out-ours"), "--workers", "1"], (0, 2)),
        "ours_auto": ([*ours, "--input", str(small), "--output", str(work / "out-ours-auto")], (0, 2)),
        "evidently": (
            [*evidently, "--input", str(small), "--schema", str(config), "--output", str(work / "evidently.json")],
            (0,),
        ),
        "ours_large": (
            [*ours, "--input", str(large), "--output", str(work / "out-ours-large"), "--workers", "1"],
            (0, 2),
        ),
    }
    samples: dict[str, list[dict[str, float]]] = {key: [] for key in commands}
    evidently_verdicts: dict[str, object] = {}
    print("measuring ...", flush=True)
    for run in range(args.runs):
        print(f"run {run + 1} of {args.runs}", flush=True)
        for key, (command, ok) in commands.items():
            warm_page_cache(large if key == "ours_large" else small)
            measured = measure(command, ok=ok, label=key, env={"PYTHONPATH": str(ROOT)})
            samples[key].append(measured.raw())
            if key == "evidently":
                evidently_verdicts = json.loads(measured.stdout.splitlines()[-1])
    report = json.loads((work / "out-ours" / "drift_report.json").read_text(encoding="utf-8"))
    raw = {
        "command": recorded_command(sys.argv[1:]),
        "environment": session.environment(),
        "parameters": {
            "records": args.records,
            "scale": args.scale,
            "reference_rows": args.reference_rows,
            "runs": args.runs,
            "lines_per_file": LINES_PER_FILE,
            "numeric_features": NUMERIC,
            "categorical_features": CATEGORICAL,
            "drifted": sorted(DRIFTED),
        },
        "versions": {
            "ours": versions(PYTHON, ["numpy", "orjson"]),
            "evidently": versions(args.evidently_python, ["evidently", "pandas", "numpy", "scipy", "orjson"]),
        },
        "samples": samples,
        "flagged": {"ours": report["drifted_features"], "evidently": evidently_verdicts},
    }
    return records.publish("drift", raw, record=args.record)


if __name__ == "__main__":
    sys.exit(main())
