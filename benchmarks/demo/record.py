"""The demo benchmark's record: RESULTS.md and its README section, rendered from results.json alone (run.py)."""

from __future__ import annotations

from benchmarks.records import Raw, environment_paragraph

TITLE = "`make demo`: the whole story, run after run"
GOAL_S = 300.0  # the demo's goal: under five minutes on two cores after set-up


def _stages(run: Raw) -> str:
    return ", ".join(f"{s['stage']} {float(s['end_s']) - float(s['start_s']):.0f} s" for s in run["stages"])


def _emulator(run: Raw) -> str:
    peak = run.get("emulator_peak_mb")
    return "not running" if peak is None else f"{peak:.0f}"


def render(raw: Raw) -> str:
    rows = "\n".join(
        f"| {i} | {run['wall_s']:.1f} | {run['story_s']:.1f} | {run['wall_s'] / GOAL_S:.2f} | {run['cpu_s']:.1f} | "
        f"{run['other_cpu_s']:.1f} | {run['peak_rss_mb']:.0f} | {_emulator(run)} |"
        for i, run in enumerate(raw["runs"], start=1)
    )
    stages = "\n".join(f"- run {i}: {_stages(run)}" for i, run in enumerate(raw["runs"], start=1))
    return f"""Command: `{raw["command"]}`

{environment_paragraph(raw["environment"])}

Each run is `python -m tools.demo` (what `make demo` runs once its set-up is done) in a fresh process: a local
AWS emulator, `cdk bootstrap`, synth and `cdk deploy` of the dev stage, then the whole story (ingestion, the first
model, traffic, drift and its alarm, three retraining runs: promoted, not better, rolled back) and the on-call
CLI's status. Each run after the first starts while the previous run's emulator is still up, as a second
`make demo` would. Goal: each run under {GOAL_S:.0f} s on two cores.

Wall time is the whole process's, the story's total is the driver's own timeline (from the emulator's start).
CPU time is the driver's and that of the processes it waited for (the CDK CLI, the on-call CLI), not the
emulator's, which keeps running after the run; "others" is the CPU time every other process used meanwhile,
the emulator and its Lambda handlers' processes included. Peak memory is the process tree's while the driver
ran (the sum of each process's own peak: an upper bound, since they do not all peak at once); the emulator's is
its own high-water mark (VmHWM).

| run | wall (s) | story (s) | wall / goal | driver CPU (s) | others' CPU (s) | peak, tree (MB) | emulator peak (MB) |
|---|---|---|---|---|---|---|---|
{rows}

Stages (from each run's timeline):

{stages}
"""


def summary(raw: Raw) -> str:
    runs = raw["runs"]
    slowest = max(run["wall_s"] for run in runs)
    verdict = "meets" if slowest < GOAL_S else "misses"
    walls = ", ".join(f"{run['wall_s']:.0f} s" for run in runs)
    return f"""Recorded {raw["environment"]["recorded_at"]}: {len(runs)} runs of the demo in a row, without cleanup
between them, took {walls} (the slowest {slowest / GOAL_S:.2f}x the goal of {GOAL_S:.0f} s: it {verdict} it),
with a peak of at most {max(run["peak_rss_mb"] for run in runs):.0f} MB for the whole process tree. Details and
machine load: `demo/RESULTS.md`."""
