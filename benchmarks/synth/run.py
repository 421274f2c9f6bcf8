"""Benchmark: full synth of every environment vs a bare app with the same number of empty stacks.

Run: `make benchmarks` (or `.venv/bin/python benchmarks/synth/run.py --runs 5`). Both run in the same
invocation, alternating, each in a fresh process with the pinned Node 22 on PATH.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.common import Measurement, measure, median  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {"PATH": f"{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    results: dict[str, list[Measurement]] = {"full": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for name in ("full", "bare"):
                out = Path(tmp) / f"{name}-{i}"
                script = ROOT / "benchmarks" / "synth" / f"{name}_app.py"
                results[name].append(measure([sys.executable, str(script), str(out)], cwd=ROOT, env=env))
    full, bare = median(results["full"]), median(results["bare"])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"runs: {args.runs} each, medians")
    print(f"{'app':<28}{'wall (s)':>10}{'peak RSS (MB)':>16}")
    print(f"{'full app (3 envs)':<28}{full.wall_s:>10.2f}{full.peak_rss_mb:>16.0f}")
    print(f"{'bare app (3 empty stacks)':<28}{bare.wall_s:>10.2f}{bare.peak_rss_mb:>16.0f}")
    print(f"{'ratio full/bare':<28}{full.wall_s / bare.wall_s:>10.2f}{full.peak_rss_mb / bare.peak_rss_mb:>16.2f}")


if __name__ == "__main__":
    main()
