"""Delivery settings: bad values are refused with the field named, and the pipeline refuses what its own synth
could not reproduce (an account or region overridden outside the repository)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from config import DELIVERY, ENVIRONMENTS, ConfigError, DeliverySettings, check_delivery, resolve_environments

VALID: dict[str, Any] = {
    "account": "444444444444",
    "region": "us-east-1",
    "connection_arn": "arn:aws:codestar-connections:us-east-1:444444444444:connection/"
    "7d2469ff-514a-4e4f-9003-5ca4a43cdc41",
    "repository": "my-org/my-app",
}


def test_delivery_is_off_in_the_committed_config() -> None:
    assert DELIVERY is None


def test_valid_settings_default_to_main_and_an_approval_before_prod() -> None:
    settings = DeliverySettings(**VALID)
    assert settings.branch == "main"
    assert settings.manual_approval_before == ("prod",)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account", "4444"),
        ("region", "Europe"),
        ("connection_arn", "arn:aws:codecommit:eu-west-1:444444444444:my-app"),
        ("connection_arn", "arn:aws:codeconnections:eu-west-1:444444444444:connection/not-a-uuid"),
        ("repository", "my-app"),
        ("repository", "my org/my app"),
        ("branch", ""),
        ("branch", "feature..x"),
        ("branch", "-rm"),
        ("manual_approval_before", ("prod", "prod")),
        ("log_retention_days", 10),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as error:
        DeliverySettings(**{**VALID, field: value})
    assert error.value.field == f"delivery.{field}"


def test_the_current_codeconnections_arn_and_a_gitlab_subgroup_are_accepted() -> None:
    settings = DeliverySettings(
        **{
            **VALID,
            "connection_arn": "arn:aws:codeconnections:eu-west-1:444444444444:connection/"
            "0123abcd-4567-89ab-cdef-0123456789ab",
            "repository": "group/subgroup/my-app",
            "branch": "release/2026.12",
        }
    )
    assert settings.repository == "group/subgroup/my-app"


def test_an_approval_before_an_unknown_environment_is_refused() -> None:
    settings = DeliverySettings(**{**VALID, "manual_approval_before": ("production",)})
    with pytest.raises(ConfigError, match="'production' is not an environment"):
        check_delivery(settings, configured=ENVIRONMENTS, resolved=ENVIRONMENTS)


def test_an_account_overridden_outside_the_repository_is_refused() -> None:
    resolved = resolve_environments(
        ENVIRONMENTS, context=lambda _key: None, environ={"MLOPS_STAGING_ACCOUNT": "555555555555"}
    )
    with pytest.raises(ConfigError) as error:
        check_delivery(DeliverySettings(**VALID), configured=ENVIRONMENTS, resolved=resolved)
    assert error.value.field == "environments[staging].account"
    assert "MLOPS_STAGING_ACCOUNT" in error.value.problem


def test_the_committed_environments_pass_unchanged() -> None:
    check_delivery(DeliverySettings(**VALID), configured=ENVIRONMENTS, resolved=ENVIRONMENTS)
    # An environment moved in config (not by an override) is what the pipeline's own synth sees too.
    moved = dataclasses.replace(ENVIRONMENTS[0], account="555555555555")
    check_delivery(DeliverySettings(**VALID, manual_approval_before=()), configured=(moved,), resolved=(moved,))


def test_an_environment_outside_the_pipelines_region_is_refused() -> None:
    elsewhere = (*ENVIRONMENTS[:2], dataclasses.replace(ENVIRONMENTS[2], region="eu-west-1"))
    with pytest.raises(ConfigError) as error:
        check_delivery(DeliverySettings(**VALID), configured=elsewhere, resolved=elsewhere)
    assert error.value.field == "environments[prod].region"
    assert "pipeline's region" in error.value.problem
