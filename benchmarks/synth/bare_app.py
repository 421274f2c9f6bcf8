"""The floor: a CDK app with one Stage per environment, each holding one empty stack, synthesized the same way."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from config import ENVIRONMENTS


def main(outdir: str) -> None:
    app = cdk.App(outdir=outdir)
    for env in ENVIRONMENTS:
        stage = cdk.Stage(app, env.name, env=cdk.Environment(account=env.account, region=env.region))
        stack = cdk.Stack(stage, "platform")
        cdk.CfnWaitConditionHandle(stack, "Empty")  # a stack needs one resource to synthesize
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1])
