"""Benchmark: `make demo`'s whole story, run several times in a row without cleaning up between runs.

    .venv/bin/python benchmarks/demo/run.py --runs 2      (also part of `make benchmarks`)

Each run is ``python -m tools.demo`` (what `make demo` runs after its set-up) in a fresh process: the emulator,
`cdk bootstrap`, synth and deploy of the dev stage, then the story to the on-call CLI's status. The second run
starts while the first one's emulator is still up, as a user's second `make demo` would. Per run the record
keeps the wall time, the CPU time and the peak memory of the whole process tree (driver, emulator, the CDK
CLI's Node.js, the Lambda handlers' processes), the emulator's own peak (VmHWM), the story's timeline per stage
and the exit code. The emulator is stopped at the end. Goal: under five minutes per run on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import records  # noqa: E402 - after the path set-up above
from benchmarks.common import PYTHON, Session, measure, project_env, python_command  # noqa: E402

STATE_DIR = ROOT / ".local" / "demo"
_STAGE = re.compile(r"^\s*([\d.]+)\s*-\s*([\d.]+) s\s+(\S.*?)\s+(\d+) event\(s\)$")
_TOTAL = re.compile(r"^\s*total ([\d.]+) s$")


def timeline(stdout: str) -> tuple[list[dict[str, object]], float]:
    """The stages of the story's closing timeline (name, start, end) and its total, from the driver's output."""
    stages: list[dict[str, object]] = []
    total = None
    for line in stdout.splitlines():
        if found := _STAGE.match(line):
            start, end, name, _ = found.groups()
            stages.append({"stage": name.strip(), "start_s": float(start), "end_s": float(end)})
        elif found := _TOTAL.match(line):
            total = float(found.group(1))
    if total is None or not stages:
        raise RuntimeError("the demo's output has no timeline: did the story end?\n" + stdout[-2000:])
    return stages, total


def emulator_peak_mb() -> float | None:
    """The running emulator's own peak resident memory (VmHWM), if one is running."""
    try:
        pid = json.loads((STATE_DIR / "server.json").read_text())["pid"]
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, ValueError, KeyError):
        return None
    kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="demo runs in a row, without cleanup between them")
    parser.add_argument("--record", action=argparse.BooleanOptionalAction, default=True, help="write the record")
    args = parser.parse_args()
    session = Session()
    runs = []
    try:
        for index in range(args.runs):
            measured = measure([PYTHON, "-m", "tools.demo"], env=project_env(), label=f"run {index + 1}")
            stages, total = timeline(measured.stdout)
            runs.append(
                {
                    **measured.raw(),
                    "story_s": total,
                    "stages": stages,
                    "emulator_peak_mb": emulator_peak_mb(),
                }
            )
    finally:
        stop = [PYTHON, "-m", "tools.demo.server.launcher", "stop"]
        subprocess.run(stop, cwd=ROOT, env={**os.environ, **project_env()}, check=False)
    raw = {
        "command": python_command("benchmarks/demo/run.py", sys.argv[1:]),
        "environment": session.environment(),
        "parameters": {"runs": args.runs},
        "runs": runs,
    }
    return records.publish("demo", raw, record=args.record)


if __name__ == "__main__":
    sys.exit(main())
