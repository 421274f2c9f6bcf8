"""Our app, synthesized exactly as `cdk synth` does (cdk.json context, cdk-nag plugin included)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import aws_cdk as cdk

from app import build_app


def main(outdir: str) -> None:
    context = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]
    app = cdk.App(outdir=outdir, context=context)
    build_app(app)
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1])
