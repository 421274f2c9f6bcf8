"""The synth benchmark's record: RESULTS.md and its README section, rendered from results.json alone (run.py)."""

from __future__ import annotations

from benchmarks.records import Raw, environment_paragraph, median

TITLE = "Synth benchmark"


def _row(raw: Raw, name: str, label: str) -> str:
    samples = raw["samples"][name]
    wall, cpu, peak = (median(samples, key) for key in ("wall_s", "cpu_s", "peak_rss_mb"))
    others = median(samples, "other_cpu_s") / wall
    return f"| {label} ({raw['stacks'][name]} stacks) | {wall:.2f} | {cpu:.2f} | {peak:.0f} | {others:.2f} |"


def ratios(raw: Raw) -> tuple[float, float]:
    full, bare = raw["samples"]["full"], raw["samples"]["bare"]
    return (
        median(full, "wall_s") / median(bare, "wall_s"),
        median(full, "peak_rss_mb") / median(bare, "peak_rss_mb"),
    )


def render(raw: Raw) -> str:
    wall, memory = ratios(raw)
    versions = ", ".join(f"{k} {v}" for k, v in sorted(raw["versions"].items()))
    return f"""Command: `{raw["command"]}`

{environment_paragraph(raw["environment"])} Versions: {versions}.

The full app is every environment synthesized as `cdk synth` does it (the `cdk.json` context, the cdk-nag
plugin); the bare app is one Stage per environment holding empty stacks, synthesized the same way: the floor
the jsii runtime sets. Medians of {raw["parameters"]["runs"]} alternating runs, each a fresh process; peak
memory is that of the Python process and its Node.js child together; "others" is how many cores other
processes kept busy on average meanwhile.

| app | wall (s) | CPU (s) | peak RSS (MB) | others (cores) |
|---|---|---|---|---|
{_row(raw, "full", "full app")}
{_row(raw, "bare", "bare app")}
| ratio full / bare | {wall:.2f} | | {memory:.2f} | |
"""


def summary(raw: Raw) -> str:
    wall, memory = ratios(raw)
    full, bare = raw["samples"]["full"], raw["samples"]["bare"]
    recorded = raw["environment"]["recorded_at"]
    return f"""Recorded {recorded}: the full app ({raw["stacks"]["full"]} stacks) synthesizes in
{median(full, "wall_s"):.1f} s against {median(bare, "wall_s"):.1f} s for the bare app ({raw["stacks"]["bare"]} stacks),
{wall:.2f}x the time and {memory:.2f}x the peak memory. Details and machine load: `synth/RESULTS.md`."""
