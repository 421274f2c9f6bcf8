"""The floor: a CDK app with one Stage per environment, each holding as many empty stacks as the app has.

Usage: ``bare_app.py OUTDIR [STACKS_PER_ENVIRONMENT]`` (default: as many as the configured app synthesizes).
"""

from __future__ import annotations

import sys

import aws_cdk as cdk

from benchmarks.synth.specs import stacks_per_environment
from config import ENVIRONMENTS, MODELS


def main(outdir: str, stacks: int) -> None:
    app = cdk.App(outdir=outdir)
    for env in ENVIRONMENTS:
        stage = cdk.Stage(app, env.name, env=cdk.Environment(account=env.account, region=env.region))
        for i in range(stacks):
            stack = cdk.Stack(stage, f"stack-{i}")
            cdk.CfnWaitConditionHandle(stack, "Empty")  # a stack needs one resource to synthesize
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else stacks_per_environment(len(MODELS)))
