"""The IAM contract: every AWS call the project makes is allowed by the synthesized role that makes it.

Offline emulators do not enforce IAM; this tier does, with the IAM authorization reference (``iam.py``):
- the calls the producer tests recorded (Lambda handlers, the CLI, the bootstrap tool, the step scripts);
- the calls the services make for the definitions (state machine tasks, the pipeline's steps and jobs, the
  drift and Model Monitor jobs, rules, Feature Store, the serving model), ``definitions.py``, with the run-time
  values of the real producers (the drift window function's result, the bootstrap tool's package, the
  pipeline's own registered package);
- the seams: promote's and rollback's baseline copy of the bootstrap package and of the pipeline's package.
Coverage is printed and asserted: every role of every template, every handler, the CLI and the bootstrap tool
have judged calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from tests.contract.conftest import SUMMARY
from tests.contract.contract import BOOTSTRAP, CLI, Checker, Report, foreign_functions
from tests.contract.definitions import WINDOW, PipelineRun, environment_calls, pipelines, registered_package
from tests.contract.operations import OPERATIONS
from tests.contract.seams import Scenario, publish_baselines
from tests.contract.source_calls import source_calls

pytestmark = pytest.mark.contract


def _listing(lines: Iterable[Any], limit: int = 40) -> str:
    items = [str(line) for line in lines]
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return "\n  " + "\n  ".join(items[:limit]) + more


def _check_clean(report: Report, what: str) -> None:
    denied = report.distinct_findings()
    assert not denied, f"{len(denied)} {what} would be denied in AWS:{_listing(denied)}"
    assert not report.not_modelled, (
        f"operations without an entry in operations.py:{_listing(sorted(report.not_modelled))}"
    )
    assert not report.unevaluated, f"conditions the tier cannot evaluate:{_listing(sorted(report.unevaluated))}"


# ---- the recorded calls ------------------------------------------------------------------------------------------


def test_every_recorded_call_is_allowed_by_the_role_that_makes_it(recorded_report: Report) -> None:
    SUMMARY.append(f"recorded calls: {recorded_report.summary()}")
    _check_clean(recorded_report, "recorded calls")


def test_no_statement_grants_what_iam_never_matches(checker: Checker) -> None:
    problems = checker.audit()
    assert not problems, f"{len(problems)} grants IAM never matches:{_listing(problems)}"


# ---- the services' calls for the definitions ---------------------------------------------------------------------


def test_every_definition_call_is_allowed_by_the_role_the_definition_names(definitions_report: Report) -> None:
    SUMMARY.append(f"definitions: {definitions_report.summary()}")
    _check_clean(definitions_report, "calls of the services for the definitions")
    assert not definitions_report.unmapped, _listing(sorted(definitions_report.unmapped))


# ---- seams ---------------------------------------------------------------------------------------------------------


def test_the_seams_are_allowed_with_the_real_producers_output(seams_report: Report) -> None:
    """The bootstrap tool and the drift window function in each environment's names; promote's and rollback's
    copy of the baselines of the bootstrap package and of the pipeline's registered package."""
    SUMMARY.append(f"seams: {seams_report.summary()}")
    _check_clean(seams_report, "calls across seams")
    assert not seams_report.unmapped, _listing(sorted(seams_report.unmapped))


def test_promote_and_rollback_publish_the_baselines_of_both_package_layouts(seams_report: Report) -> None:
    copies = {p for p, calls in seams_report.judged.items() if any(c.startswith("s3.CopyObject") for c in calls)}
    for env in {p.split("/", 1)[0] for p in seams_report.judged}:
        for function in ("DeploymentPromote", "DeploymentRollback"):
            assert any(p.startswith(f"{env}/") and function in p for p in copies), (env, function, sorted(copies))


# ---- coverage ----------------------------------------------------------------------------------------------------


def test_every_role_handler_and_tool_has_judged_calls(
    checker: Checker, recorded_report: Report, definitions_report: Report, seams_report: Report
) -> None:
    reports = (recorded_report, definitions_report, seams_report)
    judged_roles = set().union(*(r.roles for r in reports))
    judged_principals = set().union(*(r.judged for r in reports))
    foreign = {f for env in checker.environments.values() for f in foreign_functions(env)}
    foreign_roles = checker.foreign_roles()
    roles = {role.label for roles in checker.roles.values() for role in roles.values()} - foreign_roles
    functions = {p.label for env in checker.environments for ps in checker.lambdas[env].values() for p in ps}
    operators = {p.label for p in checker.all_principals() if p.kind == "operator"}
    judged_calls = sum(r.pairs() for r in reports)
    SUMMARY.append(
        f"coverage: {judged_calls} distinct (principal, call) pairs over {len(judged_roles)}/"
        f"{len(roles)} roles, {len(functions & judged_principals)}/{len(functions)} Lambda functions, "
        f"{len(operators & judged_principals)}/{len(operators)} operator tools (CLI, bootstrap) in "
        f"{len(checker.environments)} environments; recorded {recorded_report.calls} calls, "
        f"{sum(recorded_report.unmapped.values())} naming only a test's own resources (not judged), "
        f"{sum(recorded_report.unattributed.values())} made by code no deployed principal runs; "
        f"not the project's code: {sorted(foreign)}"
    )
    assert not roles - judged_roles, f"roles without a judged call:{_listing(sorted(roles - judged_roles))}"
    assert not functions - judged_principals, (
        f"functions without a judged call:{_listing(sorted(functions - judged_principals))}"
    )
    assert not operators - judged_principals, (
        f"tools without a judged call:{_listing(sorted(operators - judged_principals))}"
    )
    for caller in (CLI, BOOTSTRAP):
        assert recorded_report.judged_by_caller.get(caller) or seams_report.judged_by_caller.get(caller), caller


def test_every_operation_a_caller_makes_is_judged_somewhere(recorded_report: Report, seams_report: Report) -> None:
    """A recorded operation that was never judged (only ever unmapped) would be a silent pass."""
    missing = {
        f"{caller} {operation}"
        for caller, operations in recorded_report.seen_by_caller.items()
        for operation in operations
        if caller in recorded_report.judged_by_caller or caller in seams_report.judged_by_caller
        if operation not in recorded_report.judged_by_caller.get(caller, set())
        and operation not in seams_report.judged_by_caller.get(caller, set())
    }
    assert not missing, f"operations never judged (their resources never mapped):{_listing(sorted(missing))}"


def test_every_operation_in_the_source_is_in_the_table_and_recorded(recording: dict[str, Any]) -> None:
    """Every boto3 operation the project's code calls (read from its source, not from what the tests run) has an
    entry in the operation table and is made by some producer test, so the tier judged it."""
    calls = source_calls()
    recorded = {(call["service"], call["operation"]) for call in recording["calls"]}
    not_modelled = sorted(str(c) for c in calls if not set(c.candidates) & set(OPERATIONS))
    not_recorded = sorted(str(c) for c in calls if not set(c.candidates) & recorded)
    SUMMARY.append(
        f"source: {len(calls)} distinct operations called in the code; {len(not_modelled)} not in the operation "
        f"table, {len(not_recorded)} made by no producer test"
    )
    assert not not_modelled, f"operations without an entry in operations.py:{_listing(not_modelled)}"
    assert not not_recorded, (
        "operations no producer test makes, so never judged (a test double that answers them itself must be "
        f"declared with contract_double):{_listing(not_recorded)}"
    )


def test_the_source_scan_finds_the_calls_the_tests_record(recording: dict[str, Any]) -> None:
    """The scan is not blind: every operation the producer tests recorded from the project's code is found."""
    found = {candidate for call in source_calls() for candidate in call.candidates}
    recorded = {(call["service"], call["operation"]) for call in recording["calls"]}
    assert recorded <= found, sorted(recorded - found)


def test_the_pipeline_definition_registers_where_the_pipeline_role_writes(checker: Checker) -> None:
    """The register step's package names the train step's model artifact (the seam the serving model and the
    next run's champion read)."""
    for env in checker.environments.values():
        for pipeline in pipelines(env):
            run = PipelineRun(pipeline, WINDOW)
            package = registered_package(run)
            [train] = [name for name, step in run.steps.items() if step["Type"] == "Training"]
            url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
            assert url.startswith(run.request(train)["OutputDataConfig"]["S3OutputPath"]), url


def _scenario_checks(checker: Checker, scenarios: Iterable[Scenario], report: Report) -> None:
    for scenario in scenarios:
        checker.check_recorded(scenario.recording(), report, only_env=scenario.env)


@pytest.fixture(scope="module")
def seams_report(
    checker: Checker,
    bootstraps: dict[str, Scenario],
    drift_windows: dict[str, Scenario],
    environments: dict[str, Any],
) -> Report:
    report = Report()
    _scenario_checks(checker, [*bootstraps.values(), *drift_windows.values()], report)
    for env_name, env in environments.items():
        current = {
            p.environment["CURRENT_BASELINE_S3_URI"]
            for p in checker.lambdas[env_name].get("lambdas.deployment.promote", [])
        }
        packages = [bootstraps[env_name].outputs["package"]]
        packages += [registered_package(PipelineRun(pipeline, WINDOW)) for pipeline in pipelines(env)]
        for uri in sorted(current):
            _scenario_checks(checker, [publish_baselines(env_name, package, uri) for package in packages], report)
    return report


@pytest.fixture(scope="module")
def definitions_report(
    checker: Checker, environments: dict[str, Any], bootstraps: dict[str, Scenario], drift_windows: dict[str, Scenario]
) -> Report:
    report = Report()
    for env_name, env in environments.items():
        window = drift_windows.get(env_name)
        packages = {"bootstrap": bootstraps[env_name].outputs["package"]}
        for role_arn, call in environment_calls(env, window=window, packages=packages):
            checker.check(checker.principal_of_role(env_name, role_arn, "definition"), [call], report)
    return report
