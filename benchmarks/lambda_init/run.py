"""Benchmark: cold import-and-init time of every Lambda handler module vs the floor.

The floor is what any of our functions must pay: ``import boto3`` plus one Powertools ``Logger``. Each sample
is a fresh interpreter (``python -X importtime`` is not used: we time the whole import including module-level
client creation, as Lambda's Init phase does), alternating handler and floor so load on the machine hits
both alike. Target: each handler <= 1.3x the floor. Also reports the deployed asset size (target < 1 MB).

Run: ``.venv/bin/python benchmarks/lambda_init/run.py --runs 15``
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
TIMER = "import time, importlib\nt = time.perf_counter()\n{body}\nprint(time.perf_counter() - t)\n"


def handler_modules() -> list[str]:
    modules = []
    for path in sorted((ROOT / "lambdas").rglob("*.py")):
        if re.search(r"^def \w*handler\(event", path.read_text(), re.M):
            modules.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return modules


def sample(body: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", TIMER.format(body=body)],
        cwd=ROOT,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def asset_size() -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((ROOT / "lambdas").rglob("*.py")):
            archive.write(path, path.relative_to(ROOT))
    return len(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    modules = handler_modules()
    floor: list[float] = []
    samples: dict[str, list[float]] = {m: [] for m in modules}
    for _ in range(args.runs):
        for module in modules:
            floor.append(sample(FLOOR))
            samples[module].append(sample(f"importlib.import_module({module!r})"))
    floor_median = statistics.median(floor)
    print(f"runs: {args.runs} per module; medians; Python {sys.version.split()[0]}")
    print(f"{'module':<40}{'init (ms)':>10}{'ratio':>8}")
    print(f"{'floor: boto3 + Logger':<40}{floor_median * 1000:>10.1f}{1.0:>8.2f}")
    for module, values in samples.items():
        median = statistics.median(values)
        print(f"{module:<40}{median * 1000:>10.1f}{median / floor_median:>8.2f}")
    print(f"asset (zip of lambdas/): {asset_size() / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
