"""Our app, synthesized exactly as `cdk synth` does (cdk.json context, cdk-nag plugin included).

Usage: ``full_app.py OUTDIR [MODELS]``: with MODELS, the app gets that many model specs
(``benchmarks/synth/specs.py``) instead of the configured ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import aws_cdk as cdk

from app import build_app
from benchmarks.synth.specs import model_specs
from config import MODELS


def main(outdir: str, models: int | None = None) -> None:
    context = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]
    app = cdk.App(outdir=outdir, context=context)
    build_app(app, models=MODELS if models is None else model_specs(models))
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
