"""Flows shared by the deployment tests: drive the real steps through a ``World``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lambdas.deployment.compare import compare
from lambdas.deployment.deploy import deploy
from lambdas.deployment.errors import EndpointNotReady
from lambdas.deployment.prepare import prepare
from lambdas.deployment.promote import promote
from lambdas.deployment.rollback import rollback
from lambdas.deployment.settings import DeploymentEnv
from lambdas.deployment.verify import verify
from tests.unit.deployment.conftest import World


def prepare_and_deploy(world: World, env: DeploymentEnv, deployment_id: str, package: str) -> dict[str, Any]:
    prepared = world.run(prepare, {"deployment_id": deployment_id, "model_package_arn": world.packages[package]}, env)
    world.run(deploy, {"deployment_id": deployment_id}, env)
    return prepared


def deploy_and_promote(world: World, env: DeploymentEnv, deployment_id: str, package: str) -> dict[str, Any]:
    """A guardrail-strategy deployment that SageMaker completes, verified and promoted."""
    prepare_and_deploy(world, env, deployment_id, package)
    world.sagemaker.finish_update()
    world.run(verify, {"deployment_id": deployment_id}, env)
    return world.run(promote, {"deployment_id": deployment_id}, env)


def promote_until_done(world: World, env: DeploymentEnv, deployment_id: str) -> dict[str, Any]:
    """shadow/ab promotion: the first call collapses the endpoint (EndpointNotReady), SageMaker finishes it."""
    try:
        return world.run(promote, {"deployment_id": deployment_id}, env)
    except EndpointNotReady:
        world.sagemaker.finish_update()
    return world.run(promote, {"deployment_id": deployment_id}, env)


def rollback_until_done(world: World, env: DeploymentEnv, event: dict[str, Any]) -> dict[str, Any]:
    """What the state machine's Retry on EndpointNotReady does, with SageMaker finishing the update between."""
    for _ in range(3):
        try:
            return world.run(rollback, event, env)
        except EndpointNotReady:
            world.sagemaker.finish_update()
    raise AssertionError("rollback did not finish")


def scores(n: int, *, shift: float = 0.0, prefix: str = "inf") -> dict[str, float]:
    """``n`` scores spread over [0, 1), optionally shifted (clipped to [0, 1])."""
    return {f"{prefix}-{i:04d}": min(1.0, max(0.0, (i + 0.5) / n + shift)) for i in range(n)}


def healthy_evidence(world: World, candidate_variant: str, *, at: datetime) -> None:
    """Champion and candidate look alike: same traffic quality, same scores for the same inferences."""
    world.cloudwatch.set("primary", invocations=5000, errors=2, p99_us=40_000)
    world.cloudwatch.set(candidate_variant, invocations=5000, errors=3, p99_us=42_000)
    champion = scores(200)
    world.write_captures("primary", champion, at=at - timedelta(minutes=5))
    world.write_captures(candidate_variant, {k: v + 0.001 for k, v in champion.items()}, at=at - timedelta(minutes=5))


def regressed_evidence(world: World, candidate_variant: str, *, at: datetime) -> None:
    """The candidate errs, is slow, and scores the same requests very differently."""
    world.cloudwatch.set("primary", invocations=5000, errors=2, p99_us=40_000)
    world.cloudwatch.set(candidate_variant, invocations=5000, errors=250, p99_us=95_000)
    world.write_captures("primary", scores(200), at=at - timedelta(minutes=5))
    world.write_captures(candidate_variant, scores(200, shift=0.45), at=at - timedelta(minutes=5))


def run_compare(world: World, env: DeploymentEnv, deployment_id: str) -> dict[str, Any]:
    return world.run(compare, {"deployment_id": deployment_id, "window_end": world.now.isoformat()}, env)
