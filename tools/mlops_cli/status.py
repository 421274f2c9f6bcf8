"""``status``: what serves, whether the endpoint really serves it, recent deployments, retraining, alarms.

Tolerates what is not deployed yet (pointer, endpoint, history or state table, state machine): the section says
so and the rest is still reported. Any other AWS error fails the command.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from lambdas.deployment.history import FINISHED, Champion, Deployment, HistoryStore
from tools.mlops_cli.errors import error_code
from tools.mlops_cli.registry import Package, describe_package, package_version, serving_arn
from tools.mlops_cli.retraining import Execution, PauseState, find_state_machine, read_pause, running_executions
from tools.mlops_cli.target import Target

IN_SERVICE = "InService"


@dataclass(frozen=True, kw_only=True)
class Serving:
    pointer_parameter: str
    pointer: str | None  # None: the parameter does not exist (run tools.bootstrap_serving)
    package: Package | None


@dataclass(frozen=True, kw_only=True)
class EndpointState:
    name: str
    status: str | None  # None: the endpoint does not exist
    config_name: str = ""
    pending_config_name: str = ""
    failure_reason: str = ""
    champion_deployment_id: str | None = None
    champion_config_name: str | None = None  # None: no champion recorded by the automation
    matches_champion: bool | None = None
    expected_config_name: str | None = None  # what it should serve: champion's, or an in-flight deployment's
    silent_rollback: bool = False
    # The endpoint does not exist because the idle schedule deleted it (ADR 0020): the config it wakes on.
    asleep_on_config: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeploymentRow:
    deployment_id: str
    model_package_arn: str
    package_version: int | None
    strategy: str
    status: str
    outcome: str
    started_at: str
    finished_at: str
    trigger: str
    requested_by: str
    reason: str
    last_error: str


@dataclass(frozen=True, kw_only=True)
class Retraining:
    state_machine_name: str
    state_machine_arn: str | None  # None: not deployed
    running: list[Execution]
    state_table: str
    pause: PauseState


@dataclass(frozen=True, kw_only=True)
class Alarm:
    name: str
    state: str
    reason: str
    updated: datetime | None
    kind: str  # metric | composite


@dataclass(frozen=True, kw_only=True)
class Status:
    model: str
    environment: str
    region: str
    serving: Serving
    endpoint: EndpointState
    history_table: str
    history_found: bool
    deployments: list[DeploymentRow]
    retraining: Retraining
    alarm_prefix: str
    alarms: list[Alarm]
    warnings: list[str] = field(default_factory=list)


def status(
    target: Target,
    *,
    sagemaker: Any,
    ssm: Any,
    dynamodb: Any,
    stepfunctions: Any,
    cloudwatch: Any,
    last: int = 5,
) -> Status:
    warnings: list[str] = []
    serving = _serving(target, sagemaker=sagemaker, ssm=ssm)
    if serving.pointer is None:
        warnings.append(
            f"serving pointer {target.pointer_parameter} does not exist: run tools.bootstrap_serving for "
            f"{target.environment}"
        )
    elif serving.package is None:
        warnings.append(f"the serving pointer names model package '{serving.pointer}', which does not exist")
    elif serving.package.approval != "Approved":
        warnings.append(f"the serving model package is {serving.package.approval}, not Approved")

    champion, deployments, history_found = _history(target, dynamodb=dynamodb, last=last)
    if not history_found:
        warnings.append(f"deployment history table '{target.history_table}' does not exist")
    in_flight = deployments[0] if deployments and deployments[0].status not in FINISHED else None
    endpoint = _endpoint(target, sagemaker=sagemaker, champion=champion, in_flight=in_flight)
    if endpoint.status is None and history_found:
        asleep = HistoryStore(
            dynamodb=dynamodb, table=target.history_table, model_name=target.model, environment=target.environment
        ).sleeping_config()
        endpoint = replace(endpoint, asleep_on_config=asleep or None)
    if endpoint.status is None and endpoint.asleep_on_config is None:
        warnings.append(f"endpoint '{target.endpoint_name}' does not exist")
    if endpoint.silent_rollback:
        source = (
            f"deployment '{in_flight.deployment_id}' requested"
            if in_flight is not None and in_flight.requested_config
            else f"the champion (deployment '{endpoint.champion_deployment_id}') is recorded on"
        )
        warnings.append(
            f"SILENT ROLLBACK: endpoint '{endpoint.name}' is InService on config '{endpoint.config_name}', but "
            f"{source} '{endpoint.expected_config_name}'"
        )
    if (
        champion is not None
        and in_flight is None
        and serving.pointer
        and champion.current.model_package_arn
        and serving.pointer != champion.current.model_package_arn
    ):
        warnings.append(
            f"the serving pointer names '{serving.pointer}', but the champion is '{champion.current.model_package_arn}'"
        )
    if in_flight is not None:
        warnings.append(f"deployment '{in_flight.deployment_id}' is in progress ({in_flight.status})")

    machine = find_state_machine(stepfunctions, target.state_machine_name)
    pause = read_pause(dynamodb, target)
    retraining = Retraining(
        state_machine_name=target.state_machine_name,
        state_machine_arn=machine,
        running=running_executions(stepfunctions, machine) if machine else [],
        state_table=target.state_table,
        pause=pause,
    )
    if machine is None:
        warnings.append(f"retraining state machine '{target.state_machine_name}' does not exist")
    if pause.paused:
        warnings.append(f"retraining is paused by {pause.paused_by or 'someone'}: {pause.reason or 'no reason given'}")
    alarms = _alarms(cloudwatch, target.alarm_prefix)
    firing = [a.name for a in alarms if a.state == "ALARM"]
    if firing:
        warnings.append(f"{len(firing)} alarm(s) in ALARM: {', '.join(firing)}")
    return Status(
        model=target.model,
        environment=target.environment,
        region=target.region,
        serving=serving,
        endpoint=endpoint,
        history_table=target.history_table,
        history_found=history_found,
        deployments=[_row(d) for d in deployments],
        retraining=retraining,
        alarm_prefix=target.alarm_prefix,
        alarms=alarms,
        warnings=warnings,
    )


def _serving(target: Target, *, sagemaker: Any, ssm: Any) -> Serving:
    pointer = serving_arn(ssm, target)
    package = describe_package(sagemaker, pointer) if pointer else None
    return Serving(pointer_parameter=target.pointer_parameter, pointer=pointer, package=package)


def _history(target: Target, *, dynamodb: Any, last: int) -> tuple[Champion | None, list[Deployment], bool]:
    store = HistoryStore(
        dynamodb=dynamodb, table=target.history_table, model_name=target.model, environment=target.environment
    )
    try:
        return store.champion(), store.list_deployments(limit=last), True
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None, [], False
        raise


def _endpoint(
    target: Target, *, sagemaker: Any, champion: Champion | None, in_flight: Deployment | None
) -> EndpointState:
    try:
        described = sagemaker.describe_endpoint(EndpointName=target.endpoint_name)
    except ClientError as error:
        if error_code(error) == "ValidationException" and "Could not find endpoint" in str(error):
            return EndpointState(name=target.endpoint_name, status=None)
        raise
    status = str(described.get("EndpointStatus", ""))
    config = str(described.get("EndpointConfigName", ""))
    champion_config = champion.current.endpoint_config_name if champion is not None else None
    # What the endpoint should serve: the config an unfinished deployment asked for, else the champion's.
    expected = in_flight.requested_config if in_flight is not None and in_flight.requested_config else None
    expected = expected or champion_config
    return EndpointState(
        name=target.endpoint_name,
        status=status,
        config_name=config,
        pending_config_name=str(described.get("PendingDeploymentSummary", {}).get("EndpointConfigName", "")),
        failure_reason=str(described.get("FailureReason", "")),
        champion_deployment_id=champion.current.deployment_id if champion is not None else None,
        champion_config_name=champion_config,
        matches_champion=None if not champion_config else config == champion_config,
        expected_config_name=expected,
        # InService on another config than requested: SageMaker rolled back and still reports InService.
        silent_rollback=status == IN_SERVICE and bool(expected) and config != expected,
    )


def _row(deployment: Deployment) -> DeploymentRow:
    return DeploymentRow(
        deployment_id=deployment.deployment_id,
        model_package_arn=deployment.model_package_arn,
        package_version=package_version(deployment.model_package_arn),
        strategy=deployment.strategy,
        status=deployment.status,
        outcome=deployment.outcome,
        started_at=deployment.started_at,
        finished_at=deployment.finished_at,
        trigger=deployment.trigger,
        requested_by=deployment.requested_by,
        reason=deployment.reason,
        last_error=deployment.last_error,
    )


_STATE_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}


def _alarms(cloudwatch: Any, prefix: str) -> list[Alarm]:
    """This model's alarms (metric and composite), firing first."""
    alarms: list[Alarm] = []
    pages = cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    for page in pages:
        for kind, key in (("metric", "MetricAlarms"), ("composite", "CompositeAlarms")):
            alarms.extend(
                Alarm(
                    name=str(a["AlarmName"]),
                    state=str(a.get("StateValue", "")),
                    reason=str(a.get("StateReason", "")),
                    updated=a.get("StateUpdatedTimestamp"),
                    kind=kind,
                )
                for a in page.get(key, [])
            )
    return sorted(alarms, key=lambda a: (_STATE_ORDER.get(a.state, 3), a.name))
