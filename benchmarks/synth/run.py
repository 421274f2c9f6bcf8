"""Benchmark: full synth of every environment vs a bare app with the same number of empty stacks.

Run: `make benchmarks` (or `.venv/bin/python benchmarks/synth/run.py --runs 5`). Both run in the same
invocation, alternating, each in a fresh process with the pinned Node 22 on PATH. Writes
``benchmarks/synth/results/synth.md`` itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.synth.scaling import SynthRunner, machine_line, write_results  # noqa: E402
from benchmarks.synth.specs import stacks_per_environment  # noqa: E402
from config import ENVIRONMENTS, MODELS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "synth.md"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    stacks = stacks_per_environment(len(MODELS))
    total = stacks * len(ENVIRONMENTS)
    runner = SynthRunner()
    full, bare = runner.alternate([("full", ["full_app.py"]), ("bare", ["bare_app.py", str(stacks)])], runs=args.runs)
    lines = [
        "# Synth: the full app vs the floor",
        "",
        f"Written by `benchmarks/synth/run.py --runs {args.runs}`. {machine_line()} Medians of {args.runs}.",
        "",
        "| app | wall (s) | peak RSS (MB) |",
        "|---|---|---|",
        f"| full app ({len(ENVIRONMENTS)} envs, {len(MODELS)} model(s), {total} stacks) | {full.wall_s:.2f} | "
        f"{full.peak_rss_mb:.0f} |",
        f"| bare app ({total} empty stacks) | {bare.wall_s:.2f} | {bare.peak_rss_mb:.0f} |",
        f"| ratio full / bare | {full.wall_s / bare.wall_s:.2f} | {full.peak_rss_mb / bare.peak_rss_mb:.2f} |",
        "",
    ]
    write_results(RESULTS, lines)


if __name__ == "__main__":
    main()
