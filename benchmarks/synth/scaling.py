"""Running the synth benchmarks' apps in fresh processes, and writing their results files."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import Measurement, measure, median

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


class SynthRunner:
    """Runs ``benchmarks/synth/<script> <outdir> [args]`` in a fresh Python with the pinned Node 22 on PATH."""

    def __init__(self) -> None:
        self.env = {
            "PATH": f"{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_DISABLE_VERSION_CHECK": "1",
        }

    def once(self, command: Sequence[str], outdir: Path) -> Measurement:
        script, *arguments = command
        return measure([sys.executable, str(HERE / script), str(outdir), *arguments], cwd=ROOT, env=self.env)

    def alternate(self, commands: Sequence[tuple[str, Sequence[str]]], *, runs: int) -> list[Measurement]:
        """The median of ``runs`` runs of each command, the commands alternating within each run."""
        samples: dict[str, list[Measurement]] = {name: [] for name, _ in commands}
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(runs):
                for name, command in commands:
                    samples[name].append(self.once(command, Path(tmp) / f"{name}-{i}"))
        return [median(samples[name]) for name, _ in commands]


def machine_line() -> str:
    return (
        f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.1f} at the end: other work shares the machine), Python "
        f"{platform.python_version()}."
    )


def slope(points: Sequence[tuple[int, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return covariance / variance


def write_results(path: Path, lines: Sequence[str]) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines))
    print("\n".join(lines))
