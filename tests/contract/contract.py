"""The contract check: each recorded call against the synthesized role that makes it.

Who makes a call:
- a Lambda handler module (``lambdas.deployment.promote``): the role of every function whose ``Handler`` is in
  that module, in every environment that has one; a call entered through a shared module (a test of
  ``lambdas.quality.logic``) is made by the handler modules that call into it;
- a pipeline step script (``pipeline_defs.scripts.dataset``): the pipeline's ``RoleArn``;
- the on-call CLI and the bootstrap tool: the operator's own credentials. No synthesized role is theirs, so
  their calls are checked for what the templates decide: the resource they name exists in the environment,
  and no bucket or key policy denies them.

A call made in a test names the test's resources; before the check, the test's settings (what the handler
read from its environment) are replaced with the function's deployed ``Environment`` and moto's account with
the environment's. A call whose resources still name nothing deployed is reported as unmapped, not judged.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.contract import iam
from tests.contract.operations import NotModelled, Where, requests_for
from tests.contract.templates import Environment, Role

ROOT = Path(__file__).resolve().parents[2]
MOTO_ACCOUNT = "123456789012"
OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    env: str
    kind: str  # "lambda", "pipeline", "state-machine", "operator", ...
    label: str
    role: Role | None
    environment: Mapping[str, str] = field(default_factory=dict)  # the function's deployed Environment


@dataclass
class Finding:
    principal: str
    caller: str
    call: str
    request: iam.Request
    reason: str
    source: str  # the test (or definition) that made the call

    def __str__(self) -> str:
        why = f" ({self.request.why})" if self.request.why else ""
        return (
            f"{self.principal} [{self.caller}] {self.call} needs {self.request.action} on {self.request.resource}"
            f"{why}: {self.reason}  <- {self.source}"
        )


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    unevaluated: list[str] = field(default_factory=list)
    unmapped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unattributed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    not_modelled: set[str] = field(default_factory=set)
    judged: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # principal -> distinct calls
    calls: int = 0


# ---- who is who --------------------------------------------------------------------------------------------------


def caller_id(module: str) -> str:
    if module.startswith("tools.mlops_cli"):
        return "tools.mlops_cli"
    if module.startswith("monitoring_job"):
        return "monitoring_job"
    return module


def lambda_principals(env: Environment, roles: Mapping[str, Role]) -> dict[str, list[Principal]]:
    """Handler module -> the functions (as principals) whose handler lives in it."""
    found: dict[str, list[Principal]] = defaultdict(list)
    for stack, logical_id, resource in env.resources("AWS::Lambda::Function"):
        props = resource["Properties"]
        handler = str(props.get("Handler", ""))
        if not handler.startswith("lambdas."):
            continue
        module = handler.rsplit(".", 1)[0]
        role = roles[env.resolve_str(stack, props["Role"])]
        variables = env.resolve(stack, props.get("Environment", {}).get("Variables", {}))
        found[module].append(
            Principal(env.name, "lambda", f"{env.name}/{stack.id}/{logical_id}", role, dict(variables))
        )
    return found


def pipeline_principals(env: Environment, roles: Mapping[str, Role]) -> list[Principal]:
    found = []
    for stack, logical_id, resource in env.resources("AWS::SageMaker::Pipeline"):
        role = roles[env.resolve_str(stack, resource["Properties"]["RoleArn"])]
        found.append(Principal(env.name, "pipeline", f"{env.name}/{stack.id}/{logical_id}", role))
    return found


def entered_through(module: str, function: str) -> list[str]:
    """Handler modules of the same package that call ``function`` of ``module`` (a shared logic module)."""
    package = module.rsplit(".", 1)[0]
    directory = ROOT / Path(*package.split("."))
    callers = []
    for path in sorted(directory.glob("*.py")):
        candidate = f"{package}.{path.stem}"
        if candidate == module:
            continue
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
        }
        if function in names and any(
            isinstance(n, ast.ImportFrom) and n.module == module for n in ast.walk(tree)
        ):
            callers.append(candidate)
    return callers


# ---- test values -> deployed values -------------------------------------------------------------------------------


def substitute(value: Any, replacements: Sequence[tuple[str, str]]) -> Any:
    """Replace test values by deployed ones where they stand as a whole: a whole string, the bucket of an
    ``s3://`` URI, or a segment of an ARN (never inside an S3 key, where a short test name could also occur)."""
    if isinstance(value, str):
        for old, new in replacements:
            if value == old:
                return new
            if value.startswith(f"s3://{old}/") or value.startswith(old + "/") and old.startswith("s3://"):
                return new + value[len(old) :]
            if value.startswith("arn:"):
                value = re.sub(rf"(?<=[:/]){re.escape(old)}(?=$|[:/])", new, value)
        return value
    if isinstance(value, Mapping):
        return {k: substitute(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, replacements) for v in value]
    return value


def replacements_for(settings: Mapping[str, str], principal: Principal, env: Environment) -> list[tuple[str, str]]:
    pairs: dict[str, str] = {}
    for name, deployed in principal.environment.items():
        tested = settings.get(name)
        if tested is None or tested == deployed or len(tested) < 4 or tested.startswith(("{", "[")):
            continue
        if not isinstance(deployed, str):
            continue
        pairs[tested] = deployed
        if tested.startswith("s3://") and deployed.startswith("s3://"):
            # The bucket alone (a Bucket parameter) and the prefix (a Key or Prefix parameter under it).
            test_bucket, _, test_prefix = tested[5:].partition("/")
            deployed_bucket, _, deployed_prefix = deployed[5:].partition("/")
            pairs[test_bucket] = deployed_bucket
            if test_prefix and test_prefix != deployed_prefix:
                pairs[test_prefix.rstrip("/") + "/"] = deployed_prefix.rstrip("/") + "/"
    pairs[MOTO_ACCOUNT] = env.account
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def substitute_params(params: Mapping[str, Any], replacements: Sequence[tuple[str, str]]) -> dict[str, Any]:
    replaced = substitute(params, replacements)
    for key in ("Key", "Prefix"):
        if isinstance(replaced.get(key), str):
            for old, new in replacements:
                if old.endswith("/") and not old.startswith("s3://") and replaced[key].startswith(old):
                    replaced[key] = new + replaced[key][len(old) :]
                    break
    return dict(replaced)


# ---- the check ----------------------------------------------------------------------------------------------------


class Checker:
    def __init__(self, environments: Mapping[str, Environment]) -> None:
        self.environments = environments
        self.roles = {name: env.roles() for name, env in environments.items()}
        self.lambdas = {name: lambda_principals(env, self.roles[name]) for name, env in environments.items()}
        self.pipelines = {name: pipeline_principals(env, self.roles[name]) for name, env in environments.items()}
        self.bucket_policies = {name: env.bucket_policies() for name, env in environments.items()}
        self.key_policies = {name: env.key_policies() for name, env in environments.items()}
        self.names = {name: env.deployed_names() for name, env in environments.items()}
        self.where = {name: self._where(env) for name, env in environments.items()}
        self._entered: dict[tuple[str, str], list[str]] = {}

    def _where(self, env: Environment) -> Where:
        bucket_keys, topic_keys = {}, {}
        for stack, logical_id, resource in env.resources("AWS::S3::Bucket"):
            rules = resource["Properties"].get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            for rule in rules:
                key = rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
                if key is not None:
                    bucket_keys[env.physical_name(stack, logical_id)] = env.resolve_str(stack, key)
        for stack, logical_id, resource in env.resources("AWS::SNS::Topic"):
            key = resource["Properties"].get("KmsMasterKeyId")
            if key is not None:
                topic_keys[env.arn_of(stack, logical_id)] = env.resolve_str(stack, key)
        return Where(account=env.account, region=env.region, bucket_keys=bucket_keys, topic_keys=topic_keys)

    # -- principals of a recorded call --

    def principals_of(self, caller: str, function: str) -> list[Principal]:
        found: list[Principal] = []
        for env_name in self.environments:
            if caller in self.lambdas[env_name]:
                found += self.lambdas[env_name][caller]
            elif caller.startswith("pipeline_defs.scripts."):
                found += self.pipelines[env_name]
            elif caller in ("tools.mlops_cli", "tools.bootstrap_serving"):
                found.append(Principal(env_name, OPERATOR, f"{env_name}/operator ({caller})", None))
        if found or not caller.startswith("lambdas."):
            return found
        key = (caller, function)
        if key not in self._entered:
            self._entered[key] = entered_through(caller, function)
        for handler_module in self._entered[key]:
            found += self.principals_of(handler_module, "handler")
        return found

    # -- one call, one principal --

    def mapped(self, env: str, resource: str) -> bool:
        """Whether ``resource`` is one the environment deploys (or a child of one): a bucket by its name, any
        other ARN by a deployed name standing as a whole segment."""
        if resource == "*":
            return True
        if resource.startswith("arn:aws:s3:::"):
            return resource.removeprefix("arn:aws:s3:::").split("/", 1)[0] in self.names[env]
        segments = set(re.split(r"[:/]", resource))
        return bool(segments & self.names[env]) or any(
            f":{name}" in resource or f"/{name}" in resource for name in self.names[env] if "/" in name
        )

    def judge(
        self,
        report: Report,
        principal: Principal,
        *,
        caller: str,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        source: str,
    ) -> None:
        env = self.environments[principal.env]
        call = f"{service}.{operation}"
        try:
            requests = requests_for(service, operation, params, self.where[principal.env])
        except NotModelled as error:
            report.not_modelled.add(str(error))
            return
        except KeyError as error:
            report.not_modelled.add(f"{call}: parameter {error} missing")
            return
        if not all(self.mapped(principal.env, r.resource) for r in requests):
            report.unmapped[f"{caller} {call}"] += 1
            return
        report.judged[principal.label].add(f"{call} {sorted({r.resource for r in requests})}")
        for request in requests:
            decision = self.decide(principal, env, request)
            report.unevaluated.extend(f"{principal.label} {call} {u}" for u in decision.unevaluated)
            if not decision.allowed:
                report.findings.append(Finding(principal.label, caller, call, request, decision.reason, source))

    def decide(self, principal: Principal, env: Environment, request: iam.Request) -> iam.Decision:
        resource_policy: list[iam.Statement] = []
        key_policy = False
        if request.action.startswith("s3:"):
            bucket = request.resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
            resource_policy = self.bucket_policies[principal.env].get(bucket, [])
        if request.action.startswith("kms:") and request.resource in self.key_policies[principal.env]:
            resource_policy = self.key_policies[principal.env][request.resource]
            key_policy = True
        if principal.role is None:  # the operator: only what the templates decide
            allow_all = [iam.Statement("Allow", ("*",), ("*",), source="the operator's credentials")]
            return iam.decide(
                request,
                allow_all,
                resource_policy=resource_policy,
                principal_arn=f"arn:aws:iam::{env.account}:role/operator",
                account=env.account,
                delegates_to_iam_required=key_policy,
            )
        return iam.decide(
            request,
            principal.role.statements,
            resource_policy=resource_policy,
            principal_arn=principal.role.arn,
            account=env.account,
            delegates_to_iam_required=key_policy,
        )

    # -- everything recorded --

    def check_recorded(self, recording: Mapping[str, Any], report: Report) -> None:
        settings = recording["settings"]
        workgroups: dict[str, str] = {}
        for call in recording["calls"]:
            report.calls += 1
            caller = caller_id(call["caller"])
            params = dict(call["params"])
            if call["service"] == "athena":
                if "WorkGroup" in params:
                    workgroups[call["test"]] = params["WorkGroup"]
                params.setdefault("WorkGroup", workgroups.get(call["test"], "primary"))
            principals = self.principals_of(caller, call["function"])
            if not principals:
                report.unattributed[f"{caller}.{call['function']}"] += 1
                continue
            for principal in principals:
                replaced = substitute_params(
                    params, replacements_for(settings[call["settings"]], principal, self.environments[principal.env])
                )
                self.judge(
                    report,
                    principal,
                    caller=caller,
                    service=call["service"],
                    operation=call["operation"],
                    params=replaced,
                    source=call["test"],
                )

    def audit(self) -> list[str]:
        problems: list[str] = []
        for roles in self.roles.values():
            for role in roles.values():
                for statement in role.statements:
                    problems.extend(iam.audit_statement(statement))
        return sorted(set(problems))


def summarize(report: Report, principals: Iterable[str]) -> str:
    judged = {p: len(c) for p, c in report.judged.items()}
    lines = [
        f"IAM contract: {report.calls} recorded calls, {sum(judged.values())} distinct (principal, call) pairs "
        f"judged across {len(judged)} principals; {len(report.findings)} denied; "
        f"{sum(report.unmapped.values())} unmapped; {sum(report.unattributed.values())} unattributed",
    ]
    missing = sorted(set(principals) - set(judged))
    if missing:
        lines.append(f"principals without a judged call: {missing}")
    return "\n".join(lines)


def distinct(findings: Iterable[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        seen.setdefault((finding.principal, finding.request.action, _generic(finding.request.resource)), finding)
    return list(seen.values())


def _generic(resource: str) -> str:
    return re.sub(r"[0-9a-f]{8,}|\d{4}-\d{2}-\d{2}\S*", "#", resource)
