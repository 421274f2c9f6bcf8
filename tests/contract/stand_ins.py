"""What the producer tests' own resources stand for in a deployed environment.

The settings a test hands the code are paired with the deployed ones automatically (``translate.py``). A test
world also creates resources the code finds rather than is told about: the endpoint's live config and model
(CloudFormation creates them from the serving stack), the platform key they are encrypted with, the data
capture location in the live config. Each is listed here once, next to the template value it stands for, so a
call on it is judged on the deployed resource.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from config import MODELS, ModelDeployment
from config.naming import bucket_name
from tests.contract.templates import Environment, UnresolvedIntrinsicError
from tests.contract.translate import Translation
from tests.support import sfn_offline as loop_world
from tests.unit.deployment import conftest as deployment_world
from tests.unit.pipeline_scripts import test_dataset_athena as athena_world


def platform_key(env: Environment) -> str:
    [(stack, logical_id, _)] = list(env.resources("AWS::KMS::Key"))
    return env.arn_of(stack, logical_id)


def _serving(env: Environment, resource_type: str) -> tuple[str, str, dict[str, object]]:
    found = [
        (stack.id, logical_id, resource)
        for stack, logical_id, resource in env.resources(resource_type)
        if stack.id.endswith("-serving")
    ]
    if len(found) != 1:
        raise UnresolvedIntrinsicError(
            f"{env.name}: expected one {resource_type} in a serving stack, found {len(found)}"
        )
    return found[0]


def live_endpoint_config(env: Environment) -> str:
    stack_id, logical_id, _ = _serving(env, "AWS::SageMaker::EndpointConfig")
    return env.physical_name(env.stacks[stack_id], logical_id)


def live_model(env: Environment) -> str:
    stack_id, logical_id, _ = _serving(env, "AWS::SageMaker::Model")
    return env.physical_name(env.stacks[stack_id], logical_id)


def capture_uri(env: Environment) -> str:
    stack_id, _, resource = _serving(env, "AWS::SageMaker::EndpointConfig")
    capture = resource["Properties"]["DataCaptureConfig"]  # type: ignore[index]
    return env.resolve_str(env.stacks[stack_id], capture["DestinationS3Uri"])


def history_table(env: Environment) -> str:
    """The deployment history table (what the deployment functions get as ``HISTORY_TABLE``)."""
    return _function_variable(env, "-serving", "HISTORY_TABLE")


def _only(env: Environment, resource_type: str) -> str:
    found = [env.physical_name(stack, logical_id) for stack, logical_id, _ in env.resources(resource_type)]
    if len(found) != 1:
        raise UnresolvedIntrinsicError(f"{env.name}: expected one {resource_type}, found {found}")
    return found[0]


def pipeline_name(env: Environment) -> str:
    return _only(env, "AWS::SageMaker::Pipeline")


def model_package_group(env: Environment) -> str:
    return _only(env, "AWS::SageMaker::ModelPackageGroup")


# The retraining loop's A/B world (tests/support/sfn_offline.py) is a stage of its own ("ab"): the names its
# execution ARNs and packages carry, which no setting hands the code, are that stage's.
AB_WORLD = ModelDeployment(spec=MODELS[0], env=loop_world.ab_environment())


def athena_results(env: Environment) -> str:
    """The Athena workgroup's result location."""
    [(stack, _, resource)] = list(env.resources("AWS::Athena::WorkGroup"))
    configuration = resource["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]
    return env.resolve_str(stack, configuration["OutputLocation"]).rstrip("/")


def _function_variable(env: Environment, stack_suffix: str, name: str) -> str:
    values = {
        env.resolve_str(stack, resource["Properties"]["Environment"]["Variables"][name])
        for stack, _, resource in env.resources("AWS::Lambda::Function")
        if stack.id.endswith(stack_suffix)
        and name in resource["Properties"].get("Environment", {}).get("Variables", {})
    }
    if len(values) != 1:
        raise UnresolvedIntrinsicError(f"{env.name}: expected one {name} in the {stack_suffix} functions, got {values}")
    return values.pop()


STAND_INS: list[tuple[str, Callable[[Environment], str]]] = [
    # tests/unit/deployment/conftest.py: the endpoint as the serving stack creates it, and the history table
    # (tests of the history store's own functions hand it the table directly).
    (deployment_world.KMS_KEY, platform_key),
    (loop_world.KEY_ARN, platform_key),  # tests/support/sfn_offline.py: the retraining loop worlds' platform key
    (deployment_world.CAPTURE_URI, capture_uri),
    (deployment_world.INITIAL_CONFIG, live_endpoint_config),
    (deployment_world.INITIAL_MODEL, live_model),
    (deployment_world.TABLE, history_table),
    # tests/unit/pipeline_scripts/test_dataset_athena.py: where the workgroup writes query results.
    (f"s3://{athena_world.RESULTS_BUCKET}/athena-results", athena_results),
    # tests/integration/retraining/test_strategies.py: the A/B stage's pipeline and model package group.
    (AB_WORLD.pipeline_name, pipeline_name),
    (AB_WORLD.model_package_group_name, model_package_group),
]


def stand_ins(environments: Mapping[str, Environment]) -> dict[str, Translation]:
    """Per environment, the translation of every stand-in to its deployed value."""
    found = {}
    for name, env in environments.items():
        translation = Translation()
        for tested, deployed in STAND_INS:
            translation.add(tested, deployed(env))
        for deployed_bucket in env.bucket_names():
            # The A/B stage's platform buckets, named by the platform stack's rule, for this environment's.
            purpose = deployed_bucket.removeprefix(f"mlops-{env.name}-{env.account}-{env.region}-")
            if purpose != deployed_bucket:
                for account in (AB_WORLD.env.account, loop_world.ACCOUNT):  # as configured; as the world names it
                    ab_env = dataclasses.replace(AB_WORLD.env, account=account)
                    translation.add_bucket(bucket_name(ab_env, purpose), deployed_bucket)
        found[name] = translation
    return found


# The KMS keys of the endpoint configs a test world creates itself (not through a recorded call): the deployment
# world's live config is encrypted (volume and capture) with its key, as the serving stack's is.
CONFIG_KEYS = {deployment_world.INITIAL_CONFIG: [deployment_world.KMS_KEY]}
