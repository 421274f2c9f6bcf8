"""What the loop scenarios check after a run: the state it leaves, read back from the world's AWS.

Serving: the pointer, the endpoint's config and the package it serves. Registry: the ``mlops:champion`` tag.
Deployment history: the deployment items and the champion record. Monitoring: whose baselines are current.
Retraining state: the run's (or skip's) record with its outcome, the lock. The owner's message.
"""

from __future__ import annotations

from typing import Any

from lambdas.deployment.history import CHAMPION_SK
from tests.support.sfn_offline import RetrainingWorld

BOOTSTRAP = "bootstrap"  # current baselines uploaded by the bootstrap (no package named on them)


def assert_lock_released(world: RetrainingWorld, execution_name: str) -> None:
    lock = world.lock()
    assert lock, "the guard never took the lock"
    assert "owner" not in lock, lock
    assert lock["released_by"] == execution_name


def assert_notified(world: RetrainingWorld, outcome: str, *, says: str = "") -> dict[str, Any]:
    """Exactly one message to the owner, about ``outcome`` (and saying ``says``, if given)."""
    messages = world.notifications()
    assert len(messages) == 1, messages
    text = f"{messages[0]['subject']} {messages[0]['message']}"
    assert outcome.replace("_", " ") in text.lower() or outcome in text.lower(), messages[0]
    assert says in text, (says, text)
    return messages[0]


def run_record(world: RetrainingWorld, execution_name: str) -> dict[str, Any]:
    [record] = [r for r in world.state_items("RUN#") if r["execution_name"] == execution_name]
    return record


def assert_run_recorded(
    world: RetrainingWorld, execution_name: str, outcome: str, *, reason: str | None = None
) -> dict[str, Any]:
    """The run's record says how it ended (and why, for the failing outcomes), and what it started from."""
    record = run_record(world, execution_name)
    assert record["outcome"] == outcome, record
    assert record["finished_at"] >= record["started_at"], record
    if reason is None:
        assert "outcome_reason" not in record, record
    else:
        assert reason in record.get("outcome_reason", ""), (reason, record)
    if world.pipeline_executions:
        assert record["pipeline_execution_arn"] == world.pipeline_executions[-1], record
        assert record["champion_package_arn"] == world.champion, record
    return record


def deployments(world: RetrainingWorld) -> list[dict[str, Any]]:
    return world.history_items("DEPLOYMENT#")


def champion_record(world: RetrainingWorld) -> dict[str, Any] | None:
    found = world.history_items(CHAMPION_SK)
    return found[0] if found else None


def assert_serving(world: RetrainingWorld, package: str, *, config: str | None = None) -> None:
    """The pointer names ``package`` and the endpoint serves it (on ``config``, if given)."""
    pointer, serving = world.pointer(), world.serving_package()
    assert pointer == package, f"the serving pointer names {pointer}, not {package}"
    assert serving == package, f"the endpoint serves {serving}, not {package}"
    if config is not None:
        on = world.endpoint_config()["EndpointConfigName"]
        assert on == config, f"the endpoint is on config {on}, not {config}"


def assert_nothing_deployed(world: RetrainingWorld) -> None:
    """The bootstrap's champion serves as CloudFormation deployed it; no deployment was recorded or started."""
    assert_serving(world, world.champion, config=world.resolved.initial_config)
    assert world.pointer_history() == [world.champion]
    assert world.sagemaker.mutations() == []
    assert world.history_items() == []
    assert world.champion_tagged() == []
    assert world.current_baselines_of() == {BOOTSTRAP}


def assert_promoted(world: RetrainingWorld, execution_name: str, candidate: str) -> dict[str, Any]:
    """The candidate serves, as the champion, everywhere the platform records it."""
    resolved = world.resolved
    [deployment] = deployments(world)
    assert deployment["deployment_id"] == execution_name
    assert deployment["strategy"] == resolved.strategy.value
    assert (deployment["status"], deployment["outcome"]) == ("promoted", "promoted")
    assert deployment["model_package_arn"] == candidate
    assert deployment["previous_model_package_arn"] == world.champion
    assert deployment["previous_endpoint_config_name"] == resolved.initial_config
    assert deployment["previous_model_name"] == resolved.initial_model
    assert "previous_deployment_id" not in deployment  # the bootstrap's version was not deployed by a run
    assert deployment["promoted_at"] == deployment["finished_at"]
    assert_serving(world, candidate, config=deployment["final_config"])
    assert world.pointer_history() == [world.champion, candidate]
    champion = champion_record(world)
    assert champion is not None
    assert champion["current_deployment_id"] == execution_name
    assert champion["current_model_package_arn"] == candidate
    assert champion["current_endpoint_config_name"] == deployment["final_config"]
    assert champion["previous_model_package_arn"] == world.champion
    assert champion["previous_endpoint_config_name"] == resolved.initial_config
    assert champion["updated_by"] == execution_name
    assert world.champion_tagged() == [candidate]
    assert world.current_baselines_of() == {candidate}
    return deployment


def assert_rolled_back(world: RetrainingWorld, execution_name: str, candidate: str, *, reason: str) -> dict[str, Any]:
    """The champion serves again on its pinned config; the deployment is recorded as rolled back, and nothing
    records the candidate as champion."""
    resolved = world.resolved
    [deployment] = deployments(world)
    assert deployment["deployment_id"] == execution_name
    assert (deployment["status"], deployment["outcome"]) == ("rolled_back", "rolled_back")
    assert deployment["model_package_arn"] == candidate
    assert deployment["previous_model_package_arn"] == world.champion
    assert deployment["rollback_config"] == resolved.initial_config
    assert reason in deployment["reason"], deployment["reason"]
    assert_serving(world, world.champion, config=resolved.initial_config)
    assert world.pointer_history()[-1] == world.champion
    assert champion_record(world) is None
    assert world.champion_tagged() == []
    assert world.current_baselines_of() == {world.champion}  # the rollback republished the champion's baselines
    return deployment
