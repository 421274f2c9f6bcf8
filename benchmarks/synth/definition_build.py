"""Benchmark: building one SageMaker pipeline definition, cold (fresh interpreter) and warm (same process).

Cold: a fresh interpreter imports ``pipeline_defs.definition`` and builds the fraud-detection definition for
prod (the SDK import and the per-spec template are paid here). Warm: in one process, after a first build, the
median of further builds of another environment of the same spec (the template is reused) and of a direct SDK
build (``build_pipeline_definition_directly``: what a new spec or region costs once the SDK is imported).

Run: `.venv/bin/python benchmarks/synth/definition_build.py --runs 5`. It writes
``benchmarks/synth/results/definition_build.md`` itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from config import DEV, FRAUD_DETECTION, STAGING, ModelDeployment  # noqa: E402
from pipeline_defs.definition import build_pipeline_definition, build_pipeline_definition_directly  # noqa: E402
from tests.unit.pipeline_definition.conftest import context_for  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "definition_build.md"

_COLD = (
    "import time; started = time.perf_counter()\n"
    "from config import FRAUD_DETECTION, PROD, ModelDeployment\n"
    "from pipeline_defs.definition import build_pipeline_definition\n"
    "from tests.unit.pipeline_definition.conftest import context_for\n"
    "build_pipeline_definition(ModelDeployment(spec=FRAUD_DETECTION, env=PROD), context_for(PROD))\n"
    "print(time.perf_counter() - started)\n"
)


def cold_seconds() -> float:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-c", _COLD], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def timed(build: object, deployment: ModelDeployment) -> float:
    started = time.perf_counter()
    build(deployment, context_for(deployment.env))  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    cold = statistics.median(cold_seconds() for _ in range(args.runs))
    build_pipeline_definition(ModelDeployment(spec=FRAUD_DETECTION, env=DEV), context_for(DEV))
    staging = ModelDeployment(spec=FRAUD_DETECTION, env=STAGING)
    warm = statistics.median(timed(build_pipeline_definition, staging) for _ in range(args.runs))
    direct = statistics.median(timed(build_pipeline_definition_directly, staging) for _ in range(args.runs))

    load = os.getloadavg()[0]
    lines = [
        "# Pipeline definition build",
        "",
        f"Written by `benchmarks/synth/definition_build.py --runs {args.runs}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.1f}, Python {platform.python_version()}. Medians of {args.runs}.",
        "",
        "| build | seconds |",
        "|---|---|",
        f"| cold: fresh interpreter, import and first build | {cold:.2f} |",
        f"| warm: another environment of a built spec (template reused) | {warm:.3f} |",
        f"| warm: direct SDK build (a new spec or region) | {direct:.3f} |",
        "",
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
