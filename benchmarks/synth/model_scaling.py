"""Benchmark: what adding a model costs at synth, across all three environments.

Synthesizes the full app with 1, 5 and 20 model specs (``benchmarks/synth/specs.py``: the app's spec, the tests'
second spec, then renamed copies of it) and, alternating with each, a bare app with as many empty stacks per
environment (1 + 4 per model). The slope per added model is the least-squares slope of wall time over the model
count; the bare app's slope is what the jsii floor alone charges for the four stacks a model adds. Goal: the
full app's slope is at most 1.5 s per model.

Run: `.venv/bin/python benchmarks/synth/model_scaling.py --runs 1` (about five minutes on two cores). Writes
``benchmarks/synth/results/model_scaling.md`` itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.synth.scaling import SynthRunner, machine_line, slope, write_results  # noqa: E402
from benchmarks.synth.specs import stacks_per_environment  # noqa: E402
from config import ENVIRONMENTS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "model_scaling.md"
GOAL_SECONDS_PER_MODEL = 1.5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--models", type=int, nargs="+", default=[1, 5, 20])
    args = parser.parse_args()
    runner = SynthRunner()
    rows = []
    for models in args.models:
        stacks = stacks_per_environment(models)
        full, bare = runner.alternate(
            [("full", ["full_app.py", str(models)]), ("bare", ["bare_app.py", str(stacks)])], runs=args.runs
        )
        rows.append((models, stacks * len(ENVIRONMENTS), full, bare))
    full_slope = slope([(m, full.wall_s) for m, _, full, _ in rows])
    bare_slope = slope([(m, bare.wall_s) for m, _, _, bare in rows])
    verdict = "meets" if full_slope <= GOAL_SECONDS_PER_MODEL else "misses"
    lines = [
        "# Synth cost of adding a model",
        "",
        f"Written by `benchmarks/synth/model_scaling.py --runs {args.runs} --models "
        f"{' '.join(map(str, args.models))}`. {machine_line()} Medians of {args.runs} run(s) per point; "
        f"{len(ENVIRONMENTS)} environments each.",
        "",
        "| models | stacks | full app wall (s) | full app peak RSS (MB) | bare app wall (s) | bare app peak RSS (MB) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {m} | {s} | {full.wall_s:.2f} | {full.peak_rss_mb:.0f} | {bare.wall_s:.2f} | {bare.peak_rss_mb:.0f} |"
            for m, s, full, bare in rows
        ),
        "",
        f"Slope per added model (least squares over the points above): full app {full_slope:.2f} s, bare app "
        f"{bare_slope:.2f} s, difference {full_slope - bare_slope:.2f} s. The full app {verdict} the goal of "
        f"{GOAL_SECONDS_PER_MODEL} s per added model.",
        "",
    ]
    write_results(RESULTS, lines)


if __name__ == "__main__":
    main()
