"""What a handler needs besides its event: settings and AWS clients, each created once.

Clients are ``LazyClient``s (``lambdas/shared/aws.py``): created on first use, not at import (a SageMaker client
alone costs about as much as importing boto3), so a function pays only for the services it calls. The
environment is validated once per execution environment, on the first invocation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.config import Config

from lambdas.deployment.history import HistoryStore
from lambdas.deployment.settings import DeploymentEnv, ScoreEnv
from lambdas.shared.aws import STEP_CONFIG, LazyClient


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
        sagemaker=LazyClient("sagemaker", STEP_CONFIG),
        ssm=LazyClient("ssm", STEP_CONFIG),
        dynamodb=LazyClient("dynamodb", STEP_CONFIG),
        cloudwatch=LazyClient("cloudwatch", STEP_CONFIG),
        s3=LazyClient("s3", STEP_CONFIG),
        autoscaling=LazyClient("application-autoscaling", STEP_CONFIG),
    )


@cache
def scoring_clients() -> ScoringAws:
    # Scoring is on the request path: few retries, short timeouts.
    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=10)
    return ScoringAws(
        featurestore=LazyClient("sagemaker-featurestore-runtime", config),
        runtime=LazyClient("sagemaker-runtime", config),
    )


def history_store(env: DeploymentEnv, aws: Aws) -> HistoryStore:
    return HistoryStore(
        dynamodb=aws.dynamodb, table=env.history_table, model_name=env.model_name, environment=env.environment
    )
