"""Benchmark: full synth of every environment vs a bare app with empty stacks (the jsii floor).

    .venv/bin/python benchmarks/synth/run.py --runs 3      (also part of `make benchmarks`)

Both apps run in the same invocation, alternating, each in a fresh process with the pinned Node 22 on PATH;
``benchmarks.common.measure`` takes wall time, CPU time and the peak memory of the Python process and its
Node.js (jsii) child. The number of stacks each app synthesized is counted from its cloud assembly. Every
sample goes to results.json; RESULTS.md and the README section are rendered from it (record.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import records  # noqa: E402 - after the path set-up above
from benchmarks.common import PYTHON, Session, measure, project_env, python_command  # noqa: E402

APPS = ("full", "bare")


def stacks_in(assembly: Path) -> int:
    return len(list(assembly.rglob("*.template.json")))


def versions() -> dict[str, str]:
    node = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, check=True, env={**os.environ, **project_env()}
    ).stdout.strip()
    return {"aws-cdk-lib": metadata.version("aws-cdk-lib"), "cdk-nag": metadata.version("cdk-nag"), "node": node}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action=argparse.BooleanOptionalAction, default=True, help="write the record")
    args = parser.parse_args()
    session = Session()
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in APPS}
    stacks: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for name in APPS:
                out = Path(tmp) / f"{name}-{i}"
                script = ROOT / "benchmarks" / "synth" / f"{name}_app.py"
                measured = measure([PYTHON, str(script), str(out)], env=project_env(), label=f"{name} app, run {i + 1}")
                samples[name].append(measured.raw())
                stacks[name] = stacks_in(out)
    raw = {
        "command": python_command("benchmarks/synth/run.py", sys.argv[1:]),
        "environment": session.environment(),
        "parameters": {"runs": args.runs},
        "stacks": stacks,
        "versions": versions(),
        "samples": samples,
    }
    return records.publish("synth", raw, record=args.record)


if __name__ == "__main__":
    sys.exit(main())
