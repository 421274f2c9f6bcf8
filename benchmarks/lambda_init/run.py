"""Benchmark: cold import-and-init time of every Lambda handler module vs the floor.

The floor is what any of our functions must pay: ``import boto3`` plus one Powertools ``Logger``. Each sample
is a fresh interpreter (``python -X importtime`` is not used: we time the whole import including module-level
client creation, as Lambda's Init phase does), alternating handler and floor so load on the machine hits
both alike. Each sample records the child's CPU time (``time.process_time``) and its wall time: the import is
CPU-bound, and on a shared machine CPU time stays near what an idle machine's wall time would be, while wall
time grows with every other process. The target is judged on CPU time: each handler <= 1.3x the floor. Also
reports the deployed asset size (target < 1 MB).
Every sample goes to results.json; RESULTS.md and the README section are rendered from it (record.py).

Run: ``.venv/bin/python benchmarks/lambda_init/run.py --runs 15``
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import records  # noqa: E402 - after the path set-up above
from benchmarks.common import Session, python_command  # noqa: E402

ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    # Settings the handlers validate at import (values are not used: no call is made).
    "FEATURE_GROUPS": '{"transaction": "t", "customer-spend": "s"}',
    "HISTORY_TABLE": "h",
    "DEAD_LETTER_BUCKET": "b",
    "MODEL_NAME": "fraud-detection",
    "ENVIRONMENT": "dev",
    "ENDPOINT_NAME": "e",
    "VARIANT_NAME": "primary",
    "SERVING_POINTER_PARAMETER": "/p",
    "MODEL_PACKAGE_GROUP": "g",
    "SAGEMAKER_ROLE_ARN": "arn:aws:iam::111111111111:role/r",
    "DEPLOYMENT_SETTINGS": "{}",
    "FEATURE_NAMES": "[]",
    "ENTITY_ID_NAME": "customer_id",
}
FLOOR = "import boto3\nfrom aws_lambda_powertools import Logger\nLogger()\n"
TIMER = (
    "import time, importlib\nwall, cpu = time.perf_counter(), time.process_time()\n{body}\n"
    "print(time.perf_counter() - wall, time.process_time() - cpu)\n"
)


def handler_modules() -> list[str]:
    modules = []
    for path in sorted((ROOT / "lambdas").rglob("*.py")):
        if re.search(r"^def \w*handler\(event", path.read_text(), re.M):
            modules.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return modules


def sample(body: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh interpreter running ``body``."""
    result = subprocess.run(
        [sys.executable, "-c", TIMER.format(body=body)],
        cwd=ROOT,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = result.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def asset_size() -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((ROOT / "lambdas").rglob("*.py")):
            archive.write(path, path.relative_to(ROOT))
    return len(buffer.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--record", action=argparse.BooleanOptionalAction, default=True, help="write the record")
    args = parser.parse_args()
    session = Session()
    modules = handler_modules()
    floor: list[tuple[float, float]] = []
    samples: dict[str, list[tuple[float, float]]] = {m: [] for m in modules}
    for _ in range(args.runs):
        for module in modules:
            floor.append(sample(FLOOR))
            samples[module].append(sample(f"importlib.import_module({module!r})"))
    raw = {
        "command": python_command("benchmarks/lambda_init/run.py", sys.argv[1:]),
        "environment": session.environment(),
        "parameters": {"runs": args.runs},
        "versions": {name: metadata.version(name) for name in ("boto3", "aws-lambda-powertools")},
        "floor_s": [round(wall, 5) for wall, _ in floor],
        "samples_s": {module: [round(wall, 5) for wall, _ in values] for module, values in samples.items()},
        "floor_cpu_s": [round(cpu, 5) for _, cpu in floor],
        "samples_cpu_s": {module: [round(cpu, 5) for _, cpu in values] for module, values in samples.items()},
        "asset_bytes": asset_size(),
    }
    return records.publish("lambda_init", raw, record=args.record)


if __name__ == "__main__":
    sys.exit(main())
