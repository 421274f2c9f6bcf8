"""The tier catches defects 1-4 of the "works in a fresh AWS account" issue when they come back.

Each test takes the synthesized roles, puts the defect back into one environment's role (the grant removed or
mis-scoped, ``contract.without``), checks the calls that depend on it (recorded, or from the real producer)
and expects a finding that names the role, the call and the missing permission. The roles are restored after.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from tests.contract import iam
from tests.contract.contract import Checker, Finding, Report, reintroduced, without
from tests.contract.definitions import environment_calls, pipelines
from tests.contract.seams import Scenario, publish_baselines
from tests.contract.templates import Role

pytestmark = pytest.mark.contract
ENV = "dev"
MODEL = "fraud-detection"


def _role(checker: Checker, fragment: str) -> Role:
    [role] = [r for r in checker.roles[ENV].values() if fragment in r.logical_id]
    return role


def _check(checker: Checker, recording: dict[str, Any], caller: str, operation: str, report: Report) -> None:
    """Judge the recorded ``operation`` calls of ``caller`` in dev."""
    assert any(c["caller"] == caller and c["operation"] == operation for c in recording["calls"]), (
        f"no recorded {operation} by {caller}: the tier has nothing to judge"
    )
    checker.check_recorded(recording, report, only_env=ENV, only=(caller, operation))


def _found(findings: Iterable[Finding], *, role: Role, call: str, action: str, resource: str = "") -> list[str]:
    return [
        str(f)
        for f in findings
        if f.role == role.label and f.call == call and f.request.action == action and resource in f.request.resource
    ]


def test_defect_1_list_model_packages_scoped_to_the_group_is_reported(
    checker: Checker, recording: dict[str, Any]
) -> None:
    role = _role(checker, "LoopFncheckregistrationRole")
    env = checker.environments[ENV]
    group = f"arn:aws:sagemaker:{env.region}:{env.account}:model-package-group/{MODEL}-{ENV}"
    scoped = iam.Statement("Allow", ("sagemaker:ListModelPackages",), (group,), source=f"{role.label} (defect 1)")
    report = Report()
    with reintroduced(checker, role, [*without(role.statements, "sagemaker:ListModelPackages"), scoped]):
        _check(checker, recording, "lambdas.retraining.check_registration", "ListModelPackages", report)
        audit = checker.audit()

    found = _found(
        report.findings,
        role=role,
        call="sagemaker.ListModelPackages",
        action="sagemaker:ListModelPackages",
        resource="*",
    )
    assert found, report.distinct_findings()
    assert "no identity-policy statement allows it" in found[0]
    assert any(
        role.label in problem and "sagemaker:ListModelPackages" in problem and "never matches" in problem
        for problem in audit
    ), audit


def test_defect_2_the_pipeline_role_without_read_on_the_bootstrap_champion_is_reported(
    checker: Checker, bootstraps: dict[str, Scenario]
) -> None:
    env = checker.environments[ENV]
    package = bootstraps[ENV].outputs["package"]
    champion = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    key_arn = "arn:aws:s3:::" + champion.removeprefix("s3://")
    [pipeline] = pipelines(env)
    role = checker.roles[ENV][pipeline.role_arn]
    report = Report()
    with reintroduced(checker, role, without(role.statements, "s3:GetObject", covering=key_arn)):
        for role_arn, call in environment_calls(env, packages={"bootstrap": package}):
            if role_arn == role.arn:
                checker.check(checker.principal_of_role(ENV, role_arn, "pipeline"), [call], report)

    found = _found(report.findings, role=role, call="s3.GetObject", action="s3:GetObject", resource=key_arn)
    assert found, report.distinct_findings()
    assert "step Score" in found[0]
    assert "bootstrap" in found[0]


@pytest.mark.parametrize("function", ["DeploymentPromote", "DeploymentRollback"])
def test_defect_3_promote_and_rollback_without_read_on_the_bootstrap_baselines_are_reported(
    checker: Checker, bootstraps: dict[str, Scenario], function: str
) -> None:
    package = bootstraps[ENV].outputs["package"]
    sources = [entry["S3Uri"] for section in package["DriftCheckBaselines"].values() for entry in section.values()]
    role = _role(checker, f"{function}Role")
    [current] = {p.environment["CURRENT_BASELINE_S3_URI"] for p in checker.lambdas[ENV]["lambdas.deployment.promote"]}
    statements = role.statements
    for uri in sources:
        statements = without(statements, "s3:GetObject", covering="arn:aws:s3:::" + uri.removeprefix("s3://"))
    report = Report()
    with reintroduced(checker, role, statements):
        checker.check_recorded(publish_baselines(ENV, package, current).recording(), report, only_env=ENV)

    for uri in sources:
        found = _found(
            report.findings, role=role, call="s3.CopyObject", action="s3:GetObject", resource=uri.removeprefix("s3://")
        )
        assert found, (uri, report.distinct_findings())
        assert "CopyObject source" in found[0]


@pytest.mark.parametrize(
    ("function", "caller", "operation"),
    [
        ("DeploymentPrepare", "lambdas.deployment.prepare", "CreateEndpointConfig"),
        ("DeploymentDeploy", "lambdas.deployment.deploy", "UpdateEndpoint"),
        ("DeploymentPromote", "lambdas.deployment.promote", "UpdateEndpoint"),
        ("DeploymentRollback", "lambdas.deployment.rollback", "UpdateEndpoint"),
    ],
)
def test_defect_4_endpoint_config_callers_without_kms_create_grant_are_reported(
    checker: Checker, recording: dict[str, Any], function: str, caller: str, operation: str
) -> None:
    role = _role(checker, f"{function}Role")
    report = Report()
    with reintroduced(checker, role, without(role.statements, "kms:CreateGrant")):
        _check(checker, recording, caller, operation, report)

    found = _found(report.findings, role=role, call=f"sagemaker.{operation}", action="kms:CreateGrant")
    assert found, report.distinct_findings()
    assert "key/" in found[0]
    assert "encrypted with this key" in found[0]
