"""The Lambda cold-init benchmark's record: RESULTS.md and its README section, from results.json alone (run.py)."""

from __future__ import annotations

import statistics

from benchmarks.records import Raw, environment_paragraph

TITLE = "Lambda cold-init benchmark"
RATIO_TARGET = 1.3  # each handler's init / the floor's
ASSET_TARGET_BYTES = 1024 * 1024


def medians(raw: Raw, kind: str = "cpu_s") -> tuple[float, dict[str, float]]:
    """The floor's median and each module's, in seconds: CPU time (``cpu_s``, what the target is judged on) or
    wall time (``s``)."""
    floor = statistics.median(raw[f"floor_{kind}"])
    return floor, {module: statistics.median(values) for module, values in raw[f"samples_{kind}"].items()}


def render(raw: Raw) -> str:
    floor, modules = medians(raw)
    wall_floor, wall = medians(raw, "s")
    rows = "\n".join(
        f"| `{module}` | {value * 1000:.1f} | {value / floor:.2f} | "
        f"{'met' if value / floor <= RATIO_TARGET else 'NOT met'} | {wall[module] * 1000:.1f} |"
        for module, value in modules.items()
    )
    asset = raw["asset_bytes"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(raw["versions"].items()))
    return f"""Command: `{raw["command"]}`

{environment_paragraph(raw["environment"])} Versions: {versions}.

Import-and-init time of every handler module (each sample a fresh interpreter, including module-level settings
validation and Powertools objects), alternating with the floor every function pays: `import boto3` plus one
Powertools `Logger`. Medians of {raw["parameters"]["runs"]} samples per module ({len(raw["floor_s"])} of the floor).
Target: each handler at most {RATIO_TARGET}x the floor, in CPU time of the importing process (the import is
CPU-bound; CPU time does not grow with the other processes on a shared machine, wall time does: it is shown
for reference).

| module | init CPU (ms) | ratio to floor | target | init wall (ms) |
|---|---|---|---|---|
| floor: boto3 + Logger | {floor * 1000:.1f} | 1.00 | | {wall_floor * 1000:.1f} |
{rows}

Asset: the zip of `lambdas/` (every function ships the same package) is {asset / 1024:.1f} KiB (target: under
{ASSET_TARGET_BYTES // 1024 // 1024} MiB; Powertools comes from its public layer, boto3 from the runtime).
"""


def summary(raw: Raw) -> str:
    floor, modules = medians(raw)
    worst = max(modules, key=modules.__getitem__)
    over = [m for m, v in modules.items() if v / floor > RATIO_TARGET]
    verdict = f"{len(over)} over the target: {', '.join(over)}" if over else "all within the target"
    return f"""Recorded {raw["environment"]["recorded_at"]}: {len(modules)} handler modules, the slowest `{worst}` at
{modules[worst] / floor:.2f}x the floor of {floor * 1000:.0f} ms CPU ({verdict} of {RATIO_TARGET}x); asset
{raw["asset_bytes"] / 1024:.1f} KiB. Details and machine load: `lambda_init/RESULTS.md`."""
