"""What a handler needs besides its event: settings and AWS clients, each created once.

Clients are ``LazyClient``s (``lambdas/shared/aws.py``): created on first use, so a function pays only for the
services it calls. Each function's environment is validated once per execution environment, on the first
invocation (``functools.cache``), never at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from lambdas.retraining.settings import (
    ApprovalEnv,
    GuardEnv,
    NotifyEnv,
    PipelineEnv,
    RegistrationEnv,
    StateEnv,
    WaitEnv,
)
from lambdas.retraining.state import StateStore
from lambdas.shared.aws import STEP_CONFIG, LazyClient


@dataclass(frozen=True, kw_only=True)
class Aws:
    """Low-level boto3 clients (or moto / Stubber-wrapped / fake ones in tests)."""

    dynamodb: Any
    sagemaker: Any
    ssm: Any
    s3: Any
    sns: Any
    sfn: Any


@cache
def clients() -> Aws:
    return Aws(
        dynamodb=LazyClient("dynamodb", STEP_CONFIG),
        sagemaker=LazyClient("sagemaker", STEP_CONFIG),
        ssm=LazyClient("ssm", STEP_CONFIG),
        s3=LazyClient("s3", STEP_CONFIG),
        sns=LazyClient("sns", STEP_CONFIG),
        sfn=LazyClient("stepfunctions", STEP_CONFIG),
    )


@cache
def state_env() -> StateEnv:
    return StateEnv.from_env(os.environ)


@cache
def guard_env() -> GuardEnv:
    return GuardEnv.from_env(os.environ)


@cache
def wait_env() -> WaitEnv:
    return WaitEnv.from_env(os.environ)


@cache
def pipeline_env() -> PipelineEnv:
    return PipelineEnv.from_env(os.environ)


@cache
def registration_env() -> RegistrationEnv:
    return RegistrationEnv.from_env(os.environ)


@cache
def approval_env() -> ApprovalEnv:
    return ApprovalEnv.from_env(os.environ)


@cache
def notify_env() -> NotifyEnv:
    return NotifyEnv.from_env(os.environ)


def clear_caches() -> None:
    """Forget the validated environments and clients (tests change the environment between cases)."""
    for getter in (clients, state_env, guard_env, wait_env, pipeline_env, registration_env, approval_env, notify_env):
        getter.cache_clear()


def state_store(env: StateEnv, aws: Aws) -> StateStore:
    return StateStore(
        dynamodb=aws.dynamodb, table=env.state_table, model_name=env.model_name, environment=env.environment
    )
