"""The deployment and retraining functions share one set of plumbing (lambdas/shared/): event readers, failures,
environment readers, lazily created clients and the table storage. Each test drives both packages' real code
through the shared module."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.deployment import errors as deployment_errors
from lambdas.deployment import events as deployment_events
from lambdas.deployment import prepare
from lambdas.deployment import runtime as deployment_runtime
from lambdas.deployment.history import PREPARED, Deployment, HistoryStore
from lambdas.deployment.settings import DeploymentEnv
from lambdas.retraining import errors as retraining_errors
from lambdas.retraining import events as retraining_events
from lambdas.retraining import registry as retraining_registry
from lambdas.retraining import runtime as retraining_runtime
from lambdas.retraining.settings import GuardEnv
from lambdas.retraining.state import Lock, Run, StateStore
from lambdas.shared import aws, errors, events, pointer
from lambdas.shared.table import PartitionStore
from tests.support.tables import create_partition_table

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DEPLOYMENT = Deployment(
    deployment_id="exec-1",
    model_package_arn="arn:aws:sagemaker:us-east-1:111111111111:model-package/fraud-detection/3",
    strategy="blue_green",
    status=PREPARED,
    started_at=events.format_time(NOW),
    model_name="m-3",
    deploy_config="c-3",
    final_config="c-3",
)
RUN = Run(execution_name="exec-1", run_id="r1", started_at=events.format_time(NOW), trigger_source="manual")
# The deployed tables' names in the unit tiers (tests/unit/deployment, tests/unit/retraining), so the IAM contract
# tier maps these calls to the deployed tables and judges them against the functions' roles.
HISTORY_TABLE, STATE_TABLE = "mlops-deployment-history", "mlops-dev-fraud-detection-retraining"
WHERE = {"model_name": "fraud-detection", "environment": "dev"}


def test_both_packages_read_events_with_the_shared_readers() -> None:
    for package in (deployment_events, retraining_events):
        for name in ("as_mapping", "optional_text", "optional_time", "package_arn", "format_time", "parse_time"):
            assert getattr(package, name) is getattr(events, name), f"{package.__name__}.{name} is not the shared one"


def test_an_id_is_checked_the_same_way_whichever_package_reads_it() -> None:
    bad = {"deployment_id": "-starts-with-a-dash", "execution_name": "-starts-with-a-dash"}
    with pytest.raises(errors.MalformedRequest, match="deployment_id: '-starts-with-a-dash' must be 1-128"):
        deployment_events.deployment_id(bad)
    with pytest.raises(errors.MalformedRequest, match="execution_name: '-starts-with-a-dash' must be 1-128"):
        retraining_events.execution_name(bad)
    good = {"deployment_id": "exec-1", "execution_name": "exec-1"}
    assert deployment_events.deployment_id(good) == retraining_events.execution_name(good) == "exec-1"


def test_the_state_machines_catch_one_class_per_shared_failure_name() -> None:
    # Step Functions catches by the error's class name: each name is one class, whichever package raises it.
    assert deployment_errors.MalformedRequest is retraining_errors.MalformedRequest is errors.MalformedRequest
    assert deployment_errors.ConfigurationError is retraining_errors.ConfigurationError is errors.ConfigurationError


def test_both_packages_name_every_missing_variable_with_the_shared_reader() -> None:
    with pytest.raises(errors.ConfigurationError, match="missing environment variables: MODEL_NAME, ENVIRONMENT"):
        DeploymentEnv.from_env({})
    with pytest.raises(errors.ConfigurationError, match="missing environment variables: MODEL_NAME, ENVIRONMENT"):
        GuardEnv.from_env({})


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for table in (HISTORY_TABLE, STATE_TABLE):
            create_partition_table(client, table)
        yield client


def test_the_history_and_the_state_share_one_partition_layout(dynamodb: Any) -> None:
    # Given the deployment history and the retraining state of one model in one environment
    history = HistoryStore(dynamodb=dynamodb, table=HISTORY_TABLE, **WHERE)
    state = StateStore(dynamodb=dynamodb, table=STATE_TABLE, **WHERE)
    assert isinstance(history, PartitionStore)
    assert isinstance(state, PartitionStore)

    # When each writes its records through the shared storage
    history.create(DEPLOYMENT)
    history.update(DEPLOYMENT, ab_step_index=2, trigger="")
    state.start_run(RUN, seen=Lock(owner="", generation=0), now=NOW, stale_after=NOW + timedelta(hours=1))
    state.update_record(RUN, window_start="2026-02-01T00:00:00.000Z")

    # Then both use the one partition key and sort-key layout, and each reads its own back
    items = [item for table in (HISTORY_TABLE, STATE_TABLE) for item in dynamodb.scan(TableName=table)["Items"]]
    assert {item["pk"]["S"] for item in items} == {"fraud-detection#dev"}
    assert sorted(item["sk"]["S"].split("#")[0] for item in items) == ["DEPLOYMENT", "EXECUTION", "ID", "LOCK", "RUN"]
    stored = history.get("exec-1")
    assert stored.ab_step_index == 2  # an integer field round-trips as a number
    assert stored.trigger == ""  # an empty string is left out and reads back as ""
    assert state.run_of("exec-1") == dataclasses.replace(RUN, window_start="2026-02-01T00:00:00.000Z")


def test_a_misspelt_field_is_refused_by_both_stores(dynamodb: Any) -> None:
    with pytest.raises(ValueError, match=r"not fields of Deployment: \['stauts'\]"):
        HistoryStore(dynamodb=dynamodb, table=HISTORY_TABLE, **WHERE).update(DEPLOYMENT, stauts="promoted")
    with pytest.raises(ValueError, match=r"not fields of Run: \['outcom'\]"):
        StateStore(dynamodb=dynamodb, table=STATE_TABLE, **WHERE).update_record(RUN, outcom="promoted")


class _AnyClient:
    def __getattr__(self, name: str) -> str:
        return name


def test_both_runtimes_create_a_client_only_when_a_function_first_calls_its_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created: list[tuple[str, Any]] = []
    monkeypatch.setattr(aws.boto3, "client", lambda service, config: created.append((service, config)) or _AnyClient())
    deployment_runtime.deployment_clients.cache_clear()
    retraining_runtime.clear_caches()
    try:
        deployment, retraining = deployment_runtime.deployment_clients(), retraining_runtime.clients()
        assert created == []
        _ = deployment.sagemaker.describe_endpoint, retraining.sfn.send_task_success
        _ = deployment.sagemaker.update_endpoint
        assert created == [("sagemaker", aws.STEP_CONFIG), ("stepfunctions", aws.STEP_CONFIG)]
    finally:
        deployment_runtime.deployment_clients.cache_clear()
        retraining_runtime.clear_caches()


def test_both_packages_read_the_serving_pointer_with_the_shared_reader() -> None:
    assert prepare.read_pointer is retraining_registry.read_pointer is pointer.read_pointer
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        assert pointer.read_pointer(ssm, "/mlops/fraud-detection/dev/serving-model-package-arn") is None  # missing
        ssm.put_parameter(Name="/p", Value="none", Type="String")
        assert pointer.read_pointer(ssm, "/p") is None  # a placeholder, not an ARN
        arn = "arn:aws:sagemaker:us-east-1:111111111111:model-package/fraud-detection/3"
        ssm.put_parameter(Name="/p", Value=f" {arn}\n", Type="String", Overwrite=True)
        assert pointer.read_pointer(ssm, "/p") == arn
