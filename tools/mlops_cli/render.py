"""Human-readable output of each command, and the JSON form (``--json``) of any result."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from tools.mlops_cli.registry import ApprovalResult, Package
from tools.mlops_cli.retraining import PauseResult, RetrainResult
from tools.mlops_cli.rollback import RollbackResult
from tools.mlops_cli.status import Status


def to_json(result: object) -> str:
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return value

    return json.dumps(plain(result), indent=2, sort_keys=True)


def when(value: datetime | str | None) -> str:
    """``2026-03-01 12:04:05 UTC`` from a datetime or a history timestamp; ``-`` when unknown."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        moment = value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def package_text(package: Package) -> str:
    version = f"v{package.version}" if package.version is not None else package.arn
    return f"{package.group} {version} ({package.approval}, created {when(package.created)})"


def status_text(result: Status) -> str:
    lines = [f"{result.model} in {result.environment} ({result.region})", ""]
    lines += _serving_lines(result)
    lines += _endpoint_lines(result)
    lines += ["", *_deployment_lines(result), "", *_retraining_lines(result), "", *_alarm_lines(result)]
    if result.warnings:
        lines.append("")
        lines.extend(f"WARNING: {w}" for w in result.warnings)
    return "\n".join(lines)


def _serving_lines(result: Status) -> list[str]:
    serving = result.serving
    if serving.pointer is None:
        return [f"Serving      no pointer: {serving.pointer_parameter} does not exist"]
    described = package_text(serving.package) if serving.package else "package not found"
    return [f"Serving      {described}", f"             {serving.pointer_parameter} = {serving.pointer}"]


def _endpoint_lines(result: Status) -> list[str]:
    endpoint = result.endpoint
    if endpoint.status is None and endpoint.asleep_on_config:
        return [
            f"Endpoint     {endpoint.name}: asleep (idle schedule), wakes on config {endpoint.asleep_on_config}"
            " (a deployment wakes it too)"
        ]
    if endpoint.status is None:
        return [f"Endpoint     {endpoint.name}: does not exist"]
    lines = [f"Endpoint     {endpoint.name} {endpoint.status} on config {endpoint.config_name}"]
    if endpoint.pending_config_name:
        lines.append(f"             updating towards {endpoint.pending_config_name}")
    if endpoint.failure_reason:
        lines.append(f"             failure: {endpoint.failure_reason}")
    if endpoint.champion_config_name is None:
        lines.append("             champion: none recorded (serving version predates the automation)")
    else:
        verdict = "matches" if endpoint.matches_champion else "DOES NOT MATCH"
        lines.append(
            f"             champion deployment {endpoint.champion_deployment_id} on "
            f"{endpoint.champion_config_name}: {verdict}"
        )
    if endpoint.silent_rollback:
        lines.append(
            f"             SILENT ROLLBACK: InService on {endpoint.config_name}, "
            f"expected {endpoint.expected_config_name}"
        )
    return lines


def _deployment_lines(result: Status) -> list[str]:
    if not result.history_found:
        return [f"Deployments  history table {result.history_table} does not exist"]
    if not result.deployments:
        return ["Deployments  none recorded"]
    lines = [f"Deployments  last {len(result.deployments)}, newest first"]
    for d in result.deployments:
        version = f"v{d.package_version}" if d.package_version is not None else d.model_package_arn
        lines.append(
            f"  {when(d.started_at)}  {version:<5} {d.strategy:<10} {d.outcome or d.status:<12} {d.deployment_id}  "
            f"by {d.requested_by or '-'}, trigger {d.trigger or '-'}"
        )
        if d.reason:
            lines.append(f"      reason: {d.reason}")
    return lines


def _retraining_lines(result: Status) -> list[str]:
    retraining = result.retraining
    pause = retraining.pause
    if pause.paused is None:
        paused = f"pause state unknown (table {retraining.state_table} does not exist)"
    elif pause.paused:
        paused = f"PAUSED by {pause.paused_by or '?'} since {when(pause.paused_at)}: {pause.reason or '-'}"
    else:
        paused = "not paused"
    lines = [f"Retraining   {paused}"]
    if retraining.state_machine_arn is None:
        lines.append(f"             state machine {retraining.state_machine_name} does not exist")
    elif not retraining.running:
        lines.append("             no execution running")
    else:
        lines.extend(f"             running: {e.name} since {when(e.started_at)}" for e in retraining.running)
    return lines


def _alarm_lines(result: Status) -> list[str]:
    if not result.alarms:
        return [f"Alarms       none named {result.alarm_prefix}*"]
    firing = sum(1 for a in result.alarms if a.state == "ALARM")
    lines = [f"Alarms       {firing} of {len(result.alarms)} in ALARM"]
    for alarm in result.alarms:
        lines.append(f"  {alarm.state:<17} {alarm.name}  since {when(alarm.updated)}")
        if alarm.state != "OK" and alarm.reason:
            lines.append(f"      {alarm.reason}")
    return lines


def retrain_text(result: RetrainResult) -> str:
    lines = [f"started {result.execution_name}", f"  {result.execution_arn}"]
    if result.already_running:
        names = ", ".join(e.name for e in result.already_running)
        lines.append(f"note: already running: {names} (the state machine's single-flight gate decides)")
    return "\n".join(lines)


def approval_text(result: ApprovalResult) -> str:
    package = f"{result.package.group} v{result.package.version} ({result.package.arn})"
    if not result.changed:
        return f"{package} is already {result.approval}; nothing changed"
    return f"{package}: {result.previous_approval} -> {result.approval}\n  note: {result.description}"


def rollback_text(result: RollbackResult) -> str:
    restored = result.restored_model_package_arn or "(no package recorded)"
    lines = [
        f"rolled back deployment {result.deployment_id}",
        f"  restored package  {restored}",
        f"  endpoint config   {result.restored_endpoint_config_name}",
        f"  replaced package  {result.rolled_back_model_package_arn}",
        f"  pointer           {result.pointer_parameter} = {result.pointer or '(missing)'}",
    ]
    if result.restored_model_package_arn and result.pointer != result.restored_model_package_arn:
        lines.append("WARNING: the pointer does not name the restored package")
    return "\n".join(lines)


def pause_text(result: PauseResult) -> str:
    if result.paused:
        again = " (it was already paused)" if result.was.paused else ""
        return f"retraining paused{again} by {result.by}: {result.reason}"
    if not result.was.paused:
        return "retraining was not paused; nothing changed"
    return f"retraining resumed (it was paused by {result.was.paused_by or '?'}: {result.was.reason or '-'})"
