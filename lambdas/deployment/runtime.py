"""What a handler needs besides its event: settings, AWS clients and the time, each created once.

Clients are created on first use, not at import: a SageMaker client alone costs about as much as importing
boto3, and the cold-start budget (import + init <= 1.3x ``import boto3`` + one Powertools Logger) leaves no
room for it. The environment is validated once per execution environment, on the first invocation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from lambdas.deployment.events import optional_time
from lambdas.deployment.history import HistoryStore
from lambdas.deployment.settings import DeploymentEnv, ScoreEnv

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@dataclass(frozen=True, kw_only=True)
class Aws:
    """Low-level boto3 clients (or moto / Stubber-wrapped ones in tests)."""

    sagemaker: Any
    ssm: Any
    dynamodb: Any
    cloudwatch: Any
    s3: Any
    autoscaling: Any  # Application Auto Scaling


@dataclass(frozen=True, kw_only=True)
class ScoringAws:
    featurestore: Any
    runtime: Any


@cache
def deployment_env() -> DeploymentEnv:
    return DeploymentEnv.from_env(os.environ)


@cache
def score_env() -> ScoreEnv:
    return ScoreEnv.from_env(os.environ)


@cache
def deployment_clients() -> Aws:
    return Aws(
        sagemaker=boto3.client("sagemaker", config=_CONFIG),
        ssm=boto3.client("ssm", config=_CONFIG),
        dynamodb=boto3.client("dynamodb", config=_CONFIG),
        cloudwatch=boto3.client("cloudwatch", config=_CONFIG),
        s3=boto3.client("s3", config=_CONFIG),
        autoscaling=boto3.client("application-autoscaling", config=_CONFIG),
    )


@cache
def scoring_clients() -> ScoringAws:
    # Scoring is on the request path: few retries, short timeouts.
    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=10)
    return ScoringAws(
        featurestore=boto3.client("sagemaker-featurestore-runtime", config=config),
        runtime=boto3.client("sagemaker-runtime", config=config),
    )


def request_time(event: Mapping[str, Any]) -> datetime:
    """``now`` from the event (e.g. Step Functions' ``$$.State.EnteredTime``), else the clock."""
    return optional_time(event, "now") or datetime.now(UTC)


def history_store(env: DeploymentEnv, aws: Aws) -> HistoryStore:
    return HistoryStore(
        dynamodb=aws.dynamodb, table=env.history_table, model_name=env.model_name, environment=env.environment
    )
