"""Drift-job benchmark: our job vs Evidently's DataDriftPreset vs the JSON-decoding floor, in one run.

    .venv/bin/python benchmarks/drift/run.py --records 1000000 --evidently-python "$EVIDENTLY_PYTHON"

1. Generates data capture for a wide example-shaped model (20 numeric + 3 categorical features and the
   score; three features drifted) -- ``--records`` lines and ``--scale`` times as many for the memory check --
   plus a 100,000-row reference sample, our baseline computed from it, and the job config.
2. Measures, each in its own subprocess, end to end (files in, verdicts out): (a) our job, single process and
   with one reader process per CPU; (b) Evidently (evidently_runner.py); (c) the floor of only JSON-decoding
   every line (json_floor.py, orjson and stdlib); and our job on the ``--scale`` x larger window.
   Wall time from ``perf_counter``; CPU time (user + sys) from ``os.wait4``'s rusage (children included);
   peak RSS sampled from /proc every 5 ms: each process's VmHWM (its own peak), summed over the process tree.
3. Writes RESULTS.md beside this file with the numbers, ratios against the targets, the machine and the command.

Not part of the test suite. Evidently and pandas live in a separate venv (``--evidently-python``, default
``$EVIDENTLY_PYTHON``) so the project venv stays free of their ~50 dependencies; pins are listed in RESULTS.md.
RESULTS.md records the command with ``$EVIDENTLY_PYTHON`` in place of that interpreter's path, which differs
from machine to machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitoring_job.synthetic import (  # noqa: E402 - after the path set-up above
    PREDICTION,
    SyntheticFeature,
    capture_lines,
    generate,
    job_config,
    wide_features,
    write_baseline,
)

HERE = Path(__file__).resolve().parent
DRIFTED = frozenset({"num_03", "num_11", "cat_1"})
BLOCK = 100_000
LINES_PER_FILE = 15_625  # 64 files per million records, ~8.5 MB each, like rotated capture files


@dataclass(frozen=True)
class Measurement:
    label: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    exit_code: int
    output: str


def _status_kb(status: str, key: str) -> int:
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith(key)), 0)


class TreeMemory:
    """Samples a process tree from /proc: the peak of the summed RSS, and each process's own peak (VmHWM).

    ``ru_maxrss`` from ``wait4`` is not used: a forked child inherits the parent's high-water mark, so it would
    report this (large, data-generating) runner's RSS for every small child.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_sum_kb = 0
        self.hwm_kb: dict[int, int] = {}

    def sample(self) -> None:
        total, stack = 0, [self.root]
        while stack:
            pid = stack.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            if _status_kb(status, "VmRSS:") == 0:  # a zombie waiting to be reaped
                continue
            total += _status_kb(status, "VmRSS:")
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), _status_kb(status, "VmHWM:"))
            stack.extend(int(c) for c in children)
        self.peak_sum_kb = max(self.peak_sum_kb, total)

    @property
    def peak_mb(self) -> float:
        """Per-process peaks added up (an upper bound for several processes), or the sampled sum if larger."""
        return max(self.peak_sum_kb, sum(self.hwm_kb.values())) / 1024


def measure(label: str, command: Sequence[str], *, ok: Sequence[int] = (0,)) -> Measurement:
    print(f"  {label}: {' '.join(command)}", flush=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=ROOT, stdout=out, stderr=err)
        memory = TreeMemory(process.pid)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                memory.sample()
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode not in ok:
        raise RuntimeError(f"{label} exited {process.returncode}: {stderr[-3000:]}")
    peak = memory.peak_mb
    result = Measurement(label, wall, usage.ru_utime + usage.ru_stime, peak, process.returncode, stdout.strip())
    print(f"    wall {wall:.2f}s cpu {result.cpu_s:.2f}s peak {peak:.0f} MB exit {process.returncode}", flush=True)
    return result


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
    """Reference sample as CSV (Evidently's input), our baseline from the same sample, and the job config."""
    columns = generate(features, rows, seed=1)
    write_baseline(directory / "baseline", features, columns)
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


def versions(python: str, modules: Sequence[str]) -> str:
    code = f"import importlib.metadata as m;print(', '.join(f'{{n}}=={{m.version(n)}}' for n in {list(modules)!r}))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return (
        f"{platform.machine()}, {os.cpu_count()} vCPUs ({model}), {int(memory) / 1024 / 1024:.0f} GiB RAM, "
        f"Linux {platform.release()}, Python {platform.python_version()}"
    )


def recorded_command(argv: Sequence[str]) -> str:
    """The command line as RESULTS.md records it: the Evidently interpreter's path (machine-specific) becomes
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
    return " ".join([".venv/bin/python", "benchmarks/drift/run.py", *words])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--scale", type=int, default=4, help="the memory check runs on records x scale")
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mlops-drift-bench")
    parser.add_argument(
        "--evidently-python",
        default=os.environ.get("EVIDENTLY_PYTHON", sys.executable),
        help="interpreter with evidently installed (default: $EVIDENTLY_PYTHON, else this one)",
    )
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    features = wide_features(20, 3)
    work: Path = args.workdir
    small, large = work / f"capture-{args.records}", work / f"capture-{args.records * args.scale}"
    load_start = os.getloadavg()
    print(f"generating data under {work} ...", flush=True)
    started = time.perf_counter()
    reference = write_reference(work, features, args.reference_rows)
    for directory, records, seed in ((small, args.records, 2), (large, args.records * args.scale, 3)):
        if not (directory / ".complete").exists():
            write_window(directory, features, records, seed)
            (directory / ".complete").write_text("", encoding="utf-8")
    print(f"  done in {time.perf_counter() - started:.0f}s", flush=True)
    warm_page_cache(small)

    ours = [
        sys.executable,
        "-m",
        "monitoring_job",
        "analyze",
        "--baseline",
        str(work / "baseline"),
        "--config",
        str(work / "job_config.json"),
        "--no-publish",
    ]
    results: dict[str, Measurement] = {}
    print("measuring ...", flush=True)
    results["floor"] = measure(
        "JSON-decode floor (orjson)", [sys.executable, str(HERE / "json_floor.py"), "--input", str(small)]
    )
    results["floor_json"] = measure(
        "JSON-decode floor (stdlib json)",
        [sys.executable, str(HERE / "json_floor.py"), "--input", str(small), "--decoder", "json"],
    )
    results["ours"] = measure(
        "our job, 1 process",
        [*ours, "--input", str(small), "--output", str(work / "out-ours"), "--workers", "1"],
        ok=(0, 2),
    )
    results["ours_auto"] = measure(
        "our job, 1 reader process per vCPU",
        [*ours, "--input", str(small), "--output", str(work / "out-ours-auto")],
        ok=(0, 2),
    )
    results["evidently"] = measure(
        "Evidently DataDriftPreset",
        [
            args.evidently_python,
            str(HERE / "evidently_runner.py"),
            "--input",
            str(small),
            "--reference",
            str(reference),
            "--schema",
            str(work / "job_config.json"),
            "--output",
            str(work / "out-evidently" / "snapshot.json"),
        ],
    )
    warm_page_cache(large)
    results["ours_large"] = measure(
        f"our job, 1 process, {args.scale}x records",
        [*ours, "--input", str(large), "--output", str(work / "out-ours-large"), "--workers", "1"],
        ok=(0, 2),
    )
    drifted = json.loads((work / "out-ours" / "drift_report.json").read_text())["drifted_features"]
    write_results(args, results, drifted, load_start)
    print(args.results.read_text(encoding="utf-8"))
    return 0


def write_results(
    args: argparse.Namespace, results: dict[str, Measurement], drifted: list[str], load_start: tuple[float, ...]
) -> None:
    ours, evidently, floor, large = results["ours"], results["evidently"], results["floor"], results["ours_large"]
    auto = results["ours_auto"]
    checks = [
        ("Evidently wall / ours wall", evidently.wall_s / ours.wall_s, ">= 20", evidently.wall_s / ours.wall_s >= 20),
        (
            "ours peak RSS / Evidently peak RSS",
            ours.peak_rss_mb / evidently.peak_rss_mb,
            "<= 0.25",
            ours.peak_rss_mb / evidently.peak_rss_mb <= 0.25,
        ),
        (
            f"ours peak RSS at {args.scale}x / at 1x",
            large.peak_rss_mb / ours.peak_rss_mb,
            "<= 1.2",
            large.peak_rss_mb / ours.peak_rss_mb <= 1.2,
        ),
        (
            "ours wall / JSON-decode floor wall (1 process)",
            ours.wall_s / floor.wall_s,
            "<= 3",
            ours.wall_s / floor.wall_s <= 3,
        ),
        (
            "ours wall / JSON-decode floor wall (1 process per vCPU)",
            auto.wall_s / floor.wall_s,
            "<= 3",
            auto.wall_s / floor.wall_s <= 3,
        ),
        ("ours CPU / JSON-decode floor CPU (1 process)", ours.cpu_s / floor.cpu_s, "(info)", None),
        ("Evidently CPU / ours CPU (1 process)", evidently.cpu_s / ours.cpu_s, "(info)", None),
    ]
    rows = "\n".join(f"| {m.label} | {m.wall_s:.2f} | {m.cpu_s:.2f} | {m.peak_rss_mb:.0f} |" for m in results.values())
    ratio_rows = "\n".join(
        f"| {name} | {value:.2f} | {target} | {'-' if met is None else 'met' if met else 'NOT met'} |"
        for name, value, target, met in checks
    )
    evidently_versions = versions(args.evidently_python, ["evidently", "pandas", "numpy", "scipy", "orjson"])
    ours_versions = versions(sys.executable, ["numpy", "orjson"])
    command = recorded_command(sys.argv[1:])
    text = f"""# Drift job benchmark

Generated by `benchmarks/drift/run.py` on {datetime.now(UTC).isoformat(timespec="seconds")}.

Command: `{command}`

Machine: {machine()}. Load average at start {load_start[0]:.2f} / at end {os.getloadavg()[0]:.2f}
(the machine is shared: other work ran on the same 2 cores, so wall times are upper bounds; CPU time is
the steadier number).

Data: {args.records:,} capture lines ({args.records * args.scale:,} for the scaling run), 20 numeric + 3
categorical features + the score, CSV payloads, {LINES_PER_FILE:,} lines per file; features {", ".join(sorted(DRIFTED))}
drifted; reference/baseline sample {args.reference_rows:,} rows. Our job flagged: {", ".join(drifted)}.

Versions: ours {ours_versions}; peer {evidently_versions}.

| run | wall (s) | CPU (s) | peak RSS (MB) |
|---|---|---|---|
{rows}

| ratio | value | target | |
|---|---|---|---|
{ratio_rows}
"""
    args.results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
