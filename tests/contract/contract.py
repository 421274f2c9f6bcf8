"""The contract check: each recorded call against the synthesized role that makes it.

Who makes a call:
- a Lambda handler module (``lambdas.deployment.promote``): the role of every function whose ``Handler`` is in
  that module, in every environment that has one. Code of a shared module (``lambdas.quality.logic.run``, a
  test's entry) runs under the roles of the handler modules that reach it (found in the source: the modules
  that import it and use the function, followed up to a handler);
- a pipeline step script (``pipeline_defs.scripts.dataset``): the pipeline's ``RoleArn``;
- the drift job (``monitoring_job``): the processing job role its state machine passes;
- the on-call CLI and the bootstrap tool: the operator's credentials (see ``Checker.operator``).

A call made in a test names the test's resources: ``translate.py`` rewrites them into each environment's names
first. A call whose resources still name nothing the environment deploys is counted as unmapped, not judged.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.contract import iam
from tests.contract.operations import (
    CONFIG_KEYS,
    SCALABLE_TARGET_ID,
    NotModelledError,
    Where,
    config_keys,
    requests_for,
)
from tests.contract.recorder import jsonable, settings_class_of
from tests.contract.templates import Environment, Role, Stack
from tests.contract.translate import MOTO_ACCOUNT, Translation, correspondence, pair_settings

ROOT = Path(__file__).resolve().parents[2]
CLI = "tools.mlops_cli"
BOOTSTRAP = "tools.bootstrap_serving"
DRIFT_JOB = "monitoring_job"
OPERATOR = "operator"
# Where code that runs in AWS (or with an operator's credentials) lives, for the call-graph attribution.
PRODUCT_PACKAGES = ("lambdas", "tools/mlops_cli")
# Resources a service creates in the account for the project's definitions: the EventBridge rules of Step
# Functions' .sync SageMaker integrations (Step Functions Developer Guide, "Run a Job (.sync)").
# SageMaker Pipelines names a step's job "pipelines-<execution id>-<step>-<suffix>"; Application Auto Scaling
# gives a scalable target an ID of its own.
SERVICE_CREATED = (
    "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "pipelines",
    SCALABLE_TARGET_ID,
)


@dataclass(frozen=True)
class Principal:
    env: str
    kind: str  # "lambda", "pipeline", "job", "state-machine", "rule", "operator", ...
    label: str
    role: Role | None
    environment: Mapping[str, Any] = field(default_factory=dict)  # a function's deployed Environment
    path: str = ""  # stack id / logical id, the same in every environment
    module: str = ""  # the code it runs: a handler module, the CLI, the bootstrap tool
    handler: str = ""  # a Lambda function's handler function in ``module``


@dataclass(frozen=True)
class Call:
    """One AWS operation as made (recorded in a test, or read from a definition)."""

    caller: str  # the code (handler module, CLI, step script) or the definition that makes it
    service: str  # botocore's service name
    operation: str
    params: Mapping[str, Any]
    source: str  # the test (or definition) that made it


@dataclass
class Finding:
    principal: str
    caller: str
    call: str
    request: iam.Request
    reason: str
    source: str
    role: str = ""

    def __str__(self) -> str:
        why = f" ({self.request.why})" if self.request.why else ""
        role = f" role {self.role}" if self.role and self.role != self.principal else ""
        return (
            f"{self.principal}{role} [{self.caller}] {self.call} needs {self.request.action} on "
            f"{self.request.resource}{why}: {self.reason}  <- {self.source}"
        )


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    unevaluated: set[str] = field(default_factory=set)
    unmapped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unattributed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    not_modelled: set[str] = field(default_factory=set)
    judged: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # principal -> distinct calls
    judged_by_caller: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # caller -> operations
    seen_by_caller: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    roles: set[str] = field(default_factory=set)  # roles with a judged call
    calls: int = 0

    def distinct_findings(self) -> list[Finding]:
        seen: dict[tuple[str, str, str], Finding] = {}
        for finding in self.findings:
            key = (finding.principal, finding.request.action, _generic(finding.request.resource))
            seen.setdefault(key, finding)
        return sorted(seen.values(), key=str)

    def pairs(self) -> int:
        return sum(len(calls) for calls in self.judged.values())

    def summary(self) -> str:
        return (
            f"{self.calls} calls ({sum(len(v) for v in self.seen_by_caller.values())} distinct operations of "
            f"{len(self.seen_by_caller)} callers); {self.pairs()} distinct (principal, call) pairs judged across "
            f"{len(self.judged)} principals; {len(self.distinct_findings())} denied; "
            f"{sum(self.unmapped.values())} unmapped; {sum(self.unattributed.values())} not credited to deployed code"
        )


def _generic(resource: str) -> str:
    return re.sub(r"[0-9a-f]{8,}|\d{4}/\d{2}/\d{2}\S*|\d{4}-\d{2}-\d{2}\S*", "#", resource)


# ---- who is who --------------------------------------------------------------------------------------------------


def caller_id(module: str) -> str:
    if module.startswith(CLI):
        return CLI
    if module.startswith(DRIFT_JOB):
        return DRIFT_JOB
    return module


def lambda_principals(env: Environment, roles: Mapping[str, Role]) -> dict[str, list[Principal]]:
    """Handler module -> the functions (as principals) whose handler lives in it."""
    found: dict[str, list[Principal]] = defaultdict(list)
    for stack, logical_id, resource in env.resources("AWS::Lambda::Function"):
        props = resource["Properties"]
        handler = str(props.get("Handler", ""))
        if not handler.startswith("lambdas."):
            continue
        role = roles[env.resolve_str(stack, props["Role"])]
        variables = env.resolve(stack, props.get("Environment", {}).get("Variables", {}))
        found[handler.rsplit(".", 1)[0]].append(
            Principal(
                env.name,
                "lambda",
                f"{env.name}/{stack.id}/{logical_id}",
                role,
                dict(variables),
                path=f"{stack.id}/{logical_id}",
                module=handler.rsplit(".", 1)[0],
                handler=handler.rsplit(".", 1)[1],
            )
        )
    return found


def foreign_functions(env: Environment) -> list[str]:
    """Lambda functions whose code is not the project's (CDK's own providers): not checked, listed."""
    return [
        f"{env.name}/{stack.id}/{logical_id} ({resource['Properties'].get('Handler')})"
        for stack, logical_id, resource in env.resources("AWS::Lambda::Function")
        if not str(resource["Properties"].get("Handler", "")).startswith("lambdas.")
    ]


@functools.cache
def _module_tree(module: str) -> ast.Module | None:
    path = ROOT / Path(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return ast.parse(candidate.read_text())
    return None


@functools.cache
def _product_modules() -> tuple[str, ...]:
    modules = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return tuple(modules)


@functools.cache
def _module_index(module: str) -> tuple[frozenset[tuple[str, str]], dict[str, frozenset[str]]]:
    """(what the module imports as (module, name) pairs, each function's referenced names)."""
    tree = _module_tree(module)
    if tree is None:
        return frozenset(), {}
    imports: set[tuple[str, str]] = set()
    functions: dict[str, set[str]] = defaultdict(set)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imports.update((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            imports.update((alias.name, "") for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name):
                    functions[node.name].add(inner.id)
                elif isinstance(inner, ast.Attribute):
                    functions[node.name].add(inner.attr)
    return frozenset(imports), {name: frozenset(names) for name, names in functions.items()}


def _imports(module: str, target: str) -> bool:
    """Whether ``module`` imports ``target`` (the module itself, or a name from it)."""
    package, _, stem = target.rpartition(".")
    imports, _ = _module_index(module)
    return any(m == target or (m == package and name == stem) for m, name in imports)


@functools.cache
def callers_in_source(module: str, function: str) -> tuple[tuple[str, str], ...]:
    """(module, function) pairs of the product code that use ``function`` of ``module`` directly."""
    found = set()
    for candidate in _product_modules():
        if candidate != module and not _imports(candidate, module):
            continue
        for name, references in _module_index(candidate)[1].items():
            if name != function and function in references:
                found.add((candidate, name))
    return tuple(sorted(found))


def entry_modules(module: str, function: str, is_entry: Any) -> list[str]:
    """The entry modules (``is_entry``) from which the product code reaches ``function`` of ``module``."""
    entries: set[str] = set()
    seen: set[tuple[str, str]] = set()
    queue = [(module, function)]
    while queue:
        node = queue.pop()
        if node in seen:
            continue
        seen.add(node)
        for parent_module, parent_function in callers_in_source(*node):
            if is_entry(caller_id(parent_module)):
                entries.add(caller_id(parent_module))
            else:
                queue.append((parent_module, parent_function))
    return sorted(entries)


# ---- the check ----------------------------------------------------------------------------------------------------


class Checker:
    """Every environment's principals and policies, and the judgement of calls against them."""

    def __init__(
        self,
        environments: Mapping[str, Environment],
        *,
        stand_ins: Mapping[str, Translation] | None = None,
        known_config_keys: Mapping[str, list[str]] | None = None,
        reference: str = "dev",
    ) -> None:
        self.environments = environments
        self.roles = {name: env.roles() for name, env in environments.items()}
        self.lambdas = {name: lambda_principals(env, self.roles[name]) for name, env in environments.items()}
        self.extra: dict[str, dict[str, list[Principal]]] = {name: defaultdict(list) for name in environments}
        self.bucket_policies = {name: env.bucket_policies() for name, env in environments.items()}
        self.key_policies = {name: env.key_policies() for name, env in environments.items()}
        self.names = {name: env.deployed_names() for name, env in environments.items()}
        for name in environments:
            self.names[name] |= set(SERVICE_CREATED)
            for principals in self.lambdas[name].values():
                for principal in principals:
                    self.names[name] |= _name_values(principal.environment)
        self.buckets = {name: set(env.bucket_names()) for name, env in environments.items()}
        self.where = {name: _where(env) for name, env in environments.items()}
        self.stand_ins = dict(stand_ins or {})
        self.known_config_keys = dict(known_config_keys or {})  # endpoint configs a test world creates itself
        self.reference = reference
        self.from_reference = {name: self._correspondence(name) for name in environments}
        self._translations: dict[tuple[str, int], Translation] = {}
        self._deployed: dict[tuple[str, str], Any] = {}
        self._name_patterns: dict[str, re.Pattern[str]] = {}
        self._judged: set[str] = set()

    # -- principals --

    def add_principal(self, caller: str, principal: Principal) -> None:
        """A principal that is not a Lambda handler (pipeline, drift job, operator...) for ``caller``."""
        self.extra[principal.env][caller].append(principal)

    def principals_of_caller(self, caller: str) -> list[Principal]:
        found: list[Principal] = []
        for env_name in self.environments:
            found += self.lambdas[env_name].get(caller, [])
            found += self.extra[env_name].get(caller, [])
            if caller.startswith("pipeline_defs.scripts."):
                found += self.extra[env_name].get("pipeline_defs.scripts", [])
        return found

    def is_entry(self, caller: str) -> bool:
        return bool(self.principals_of_caller(caller))

    def principals_of(self, caller: str, function: str) -> list[Principal]:
        found = self.principals_of_caller(caller)
        # A module with several handlers (ingestion's s3_handler and event_handler): a call entered through one
        # is that function's only.
        if any(p.handler == function for p in found):
            return [p for p in found if p.handler == function]
        if found or not caller.startswith("lambdas."):
            return found
        for entry in entry_modules(caller, function, self.is_entry):
            found += self.principals_of_caller(entry)
        return found

    def principal_of_role(self, env: str, role_arn: str, kind: str) -> Principal:
        role = self.roles[env][role_arn]
        return Principal(env, kind, role.label, role)

    def foreign_roles(self) -> set[str]:
        """Roles only functions that are not the project's code assume (CDK's own providers)."""
        found = set()
        for env_name, env in self.environments.items():
            used = {
                self.roles[env_name][env.resolve_str(stack, resource["Properties"]["Role"])].label: str(
                    resource["Properties"].get("Handler", "")
                ).startswith("lambdas.")
                for stack, _, resource in env.resources("AWS::Lambda::Function")
            }
            found |= {label for label, ours in used.items() if not ours}
        return found

    def all_principals(self) -> list[Principal]:
        found = []
        for env_name in self.environments:
            for principals in [*self.lambdas[env_name].values(), *self.extra[env_name].values()]:
                found += principals
        return list({p.label: p for p in found}.values())

    # -- translation --

    def _correspondence(self, env_name: str) -> Translation:
        reference = self.environments[self.reference]
        target = self.environments[env_name]
        accounts = [(MOTO_ACCOUNT, target.account), (reference.account, target.account)]
        if env_name == self.reference:
            return correspondence({}, accounts)
        return correspondence(_same_path_values(reference, target, self, self.reference, env_name), accounts)

    def translation(self, principal: Principal, settings: Sequence[Mapping[str, Any]], settings_id: int) -> Translation:
        """Test names -> ``principal``'s environment: the settings objects the code used, paired with what their
        classes read from the function's deployed ``Environment``; the stand-ins; dev's names -> the env's."""
        key = (principal.label, settings_id)
        if key not in self._translations:
            translation = Translation()
            for tested in settings:
                deployed = self._deployed_settings(tested["class"], principal)
                if deployed is not None:
                    pair_settings(tested["fields"], deployed, translation)
            if principal.env in self.stand_ins:
                translation = translation.merged(self.stand_ins[principal.env])
            translation.then = self.from_reference[principal.env]
            self._translations[key] = translation
        return self._translations[key]

    def _deployed_settings(self, class_path: str, principal: Principal) -> Any:
        key = (class_path, principal.label)
        if key not in self._deployed:
            try:
                value = settings_class_of(class_path).from_env(dict(principal.environment))
            except (ValueError, KeyError, TypeError):
                value = None  # that class is not this function's settings
            self._deployed[key] = None if value is None else jsonable(value)
        return self._deployed[key]

    def forget(self) -> None:
        """Judge every call again (a role's statements changed)."""
        self._judged.clear()

    # -- one call, one principal --

    def mapped(self, env: str, resource: str) -> bool:
        """Whether ``resource`` is one the environment deploys (or derived from one)."""
        if resource == "*":
            return True
        if resource.startswith("arn:aws:s3:::"):
            return resource.removeprefix("arn:aws:s3:::").split("/", 1)[0] in self.buckets[env]
        parts = resource.split(":", 5)
        if len(parts) == 6 and parts[4] not in ("", "aws", self.environments[env].account):
            return False
        if len(parts) == 6 and parts[2] == "glue" and parts[5] == "catalog":  # the account's Data Catalog
            return True
        if env not in self._name_patterns:
            names = sorted(self.names[env], key=lambda n: (-len(n), n))
            self._name_patterns[env] = re.compile(
                r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z0-9])"
            )
        return self._name_patterns[env].search(resource) is not None

    def judge(self, report: Report, principal: Principal, call: Call) -> None:
        name = f"{call.service}.{call.operation}"
        key = json.dumps([id(report), principal.label, call.caller, name, call.params], sort_keys=True, default=str)
        if key in self._judged:  # the same call again: nothing new to learn
            return
        self._judged.add(key)
        try:
            requests = requests_for(call.service, call.operation, call.params, self.where[principal.env])
        except NotModelledError as error:
            report.not_modelled.add(str(error))
            return
        except KeyError as error:
            report.not_modelled.add(f"{name}: parameter {error} missing")
            return
        if not all(self.mapped(principal.env, r.resource) for r in requests):
            report.unmapped[f"{call.caller} {name}"] += 1
            return
        report.judged[principal.label].add(f"{name} {sorted({r.resource for r in requests})}")
        if principal.role is not None:
            report.roles.add(principal.role.label)
        report.judged_by_caller[call.caller].add(name)
        if principal.module:
            report.judged_by_caller[principal.module].add(name)
        for request in requests:
            decision = self.decide(principal, request)
            report.unevaluated.update(f"{principal.label} {name}: {u}" for u in decision.unevaluated)
            if not decision.allowed:
                role = principal.role.label if principal.role else ""
                report.findings.append(
                    Finding(principal.label, call.caller, name, request, decision.reason, call.source, role)
                )

    def decide(self, principal: Principal, request: iam.Request) -> iam.Decision:
        env = self.environments[principal.env]
        resource_policy: list[iam.Statement] = []
        key_policy = False
        if request.action.startswith("s3:"):
            bucket = request.resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
            resource_policy = self.bucket_policies[principal.env].get(bucket, [])
        if request.action.startswith("kms:") and request.resource in self.key_policies[principal.env]:
            resource_policy = self.key_policies[principal.env][request.resource]
            key_policy = True
        if principal.role is not None:
            statements = principal.role.statements
        elif principal.kind == OPERATOR:
            # Credentials the templates do not define: only the resource policies decide.
            statements = [iam.Statement("Allow", ("*",), ("*",), source="the operator's own credentials")]
        else:
            statements = []
        return iam.decide(
            request,
            statements,
            resource_policy=resource_policy,
            principal_arn=principal.role.arn if principal.role else "",
            account=env.account,
            delegates_to_iam_required=key_policy,
        )

    # -- everything recorded --

    def check_recorded(
        self,
        recording: Mapping[str, Any],
        report: Report,
        *,
        only_env: str | None = None,
        only: tuple[str, str] | None = None,
    ) -> None:
        """Every recorded call against every principal that makes it (in ``only_env`` only: a seam scenario
        run in that environment's names; ``only`` (caller, operation): that call only)."""
        settings = recording["settings"]
        workgroups: dict[str, str] = {}
        config_keys_seen: dict[tuple[str, str], list[str]] = {}
        for raw in recording["calls"]:
            report.calls += 1
            caller = caller_id(raw["caller"])
            params = dict(raw["params"])
            if (raw["service"], raw["operation"]) == ("sagemaker", "CreateEndpointConfig"):
                config_keys_seen[(raw["test"], params["EndpointConfigName"])] = config_keys(params)
            if (raw["service"], raw["operation"]) in (("sagemaker", "UpdateEndpoint"), ("sagemaker", "CreateEndpoint")):
                # The keys of the config the endpoint moves to: created in the same test, or the test world's.
                name = params["EndpointConfigName"]
                params[CONFIG_KEYS] = config_keys_seen.get((raw["test"], name), self.known_config_keys.get(name, []))
            if raw["service"] == "athena":
                # The query's workgroup is a parameter of the start only: later calls use the run's.
                if "WorkGroup" in params:
                    workgroups[raw["test"]] = params["WorkGroup"]
                params.setdefault("WorkGroup", workgroups.get(raw["test"], "primary"))
            if only is not None and only != (caller, raw["operation"]):
                continue
            report.seen_by_caller[caller].add(f"{raw['service']}.{raw['operation']}")
            principals = self.principals_of(caller, raw["function"])
            if not principals:
                report.unattributed[f"{caller}.{raw['function']}"] += 1
                continue
            for principal in principals:
                if only_env is not None and principal.env != only_env:
                    continue
                translation = self.translation(principal, settings[raw["settings"]], raw["settings"])
                call = Call(caller, raw["service"], raw["operation"], translation.params(params), raw["test"])
                self.judge(report, principal, call)

    def check(self, principal: Principal, calls: Iterable[Call], report: Report) -> None:
        """Calls already in ``principal``'s environment's names (from a definition, or a seam scenario)."""
        for call in calls:
            report.calls += 1
            report.seen_by_caller[call.caller].add(f"{call.service}.{call.operation}")
            self.judge(report, principal, call)

    def audit(self) -> list[str]:
        problems: list[str] = []
        for roles in self.roles.values():
            for role in roles.values():
                for statement in role.statements:
                    problems.extend(iam.audit_statement(statement))
        return sorted(set(problems))


def register_operators(checker: Checker) -> None:
    """The on-call CLI and the bootstrap tool run with an operator's credentials in every environment."""
    for env_name in checker.environments:
        for caller, what in ((CLI, "on-call CLI"), (BOOTSTRAP, "bootstrap tool")):
            checker.add_principal(
                caller, Principal(env_name, OPERATOR, f"{env_name}/operator ({what})", None, module=caller)
            )


def _where(env: Environment) -> Where:
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
    return Where(
        account=env.account,
        region=env.region,
        bucket_keys=bucket_keys,
        topic_keys=topic_keys,
        tables=_table_locations(env),
        workgroups=_workgroups(env),
    )


def _table_locations(env: Environment) -> dict[str, str]:
    """Glue tables (``database.table``) -> where their data lives: the templates' tables, and the tables Feature
    Store creates for offline stores, under ``<S3Uri>/<account>/sagemaker/<region>/offline-store/`` (SageMaker
    Developer Guide, "Feature Store offline store: S3 folder structure")."""
    found = {}
    for stack, _, resource in env.resources("AWS::Glue::Table"):
        props = env.resolve(stack, resource["Properties"])
        location = props["TableInput"].get("StorageDescriptor", {}).get("Location")
        if location:
            found[f"{props['DatabaseName']}.{props['TableInput']['Name']}"] = str(location)
    for stack, _, resource in env.resources("AWS::SageMaker::FeatureGroup"):
        props = env.resolve(stack, resource["Properties"])
        offline = props.get("OfflineStoreConfig") or {}
        catalog = offline.get("DataCatalogConfig")
        if catalog:
            root = str(offline["S3StorageConfig"]["S3Uri"]).rstrip("/")
            name = props["FeatureGroupName"]
            found[f"{catalog['Database']}.{catalog['TableName']}"] = (
                f"{root}/{env.account}/sagemaker/{env.region}/offline-store/{name}-1767225600/data"
            )
    return found


def _workgroups(env: Environment) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
    for stack, _, resource in env.resources("AWS::Athena::WorkGroup"):
        props = env.resolve(stack, resource["Properties"])
        result = props.get("WorkGroupConfiguration", {}).get("ResultConfiguration", {})
        if "OutputLocation" in result:
            key = result.get("EncryptionConfiguration", {}).get("KmsKey")
            found[str(props["Name"])] = (str(result["OutputLocation"]), key)
    return found


def _name_values(values: Mapping[str, Any]) -> set[str]:
    """Names among a function's environment values: whole strings and S3 buckets (not JSON, not numbers)."""
    names = set()
    for value in values.values():
        if not isinstance(value, str) or value[:1] in ("{", "[") or not _is_name(value) or value[0].isdigit():
            continue
        names.add(value.removeprefix("s3://").split("/", 1)[0] if value.startswith("s3://") else value)
    return names | {leaf for value in values.values() for leaf in _json_leaves(value) if _is_name(leaf)}


def _json_leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        if value[:1] not in ("{", "["):
            return []
        try:
            value = json.loads(value)
        except ValueError:
            return []
        return _json_leaves_of(value)
    return []


def _json_leaves_of(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _json_leaves_of(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _json_leaves_of(item)]
    return [value] if isinstance(value, str) else []


def _is_name(text: str) -> bool:
    return len(text) >= 6 and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_./:-]*", text) is not None


def _same_path_values(
    reference: Environment, target: Environment, checker: Checker, reference_name: str, target_name: str
) -> dict[str, tuple[str, str]]:
    """Values at the same construct path in two environments: physical names and ARNs of resources, and the
    environment variables of functions."""
    found: dict[str, tuple[str, str]] = {}
    for stack_id, stack in reference.stacks.items():
        other = target.stacks.get(stack_id)
        if other is None:
            continue
        for logical_id, resource in stack.template["Resources"].items():
            twin = other.template["Resources"].get(logical_id)
            if twin is None or twin["Type"] != resource["Type"]:
                continue
            for kind, get in (("name", reference.physical_name), ("arn", reference.arn_of)):
                try:
                    old = get(stack, logical_id)
                    new = (target.physical_name if kind == "name" else target.arn_of)(other, logical_id)
                except (KeyError, ValueError):
                    continue
                found[f"{stack_id}/{logical_id}/{kind}"] = (old, new)
            if resource["Type"] == "AWS::SageMaker::FeatureGroup":
                found.update(_catalog_pairs(reference, target, stack, other, logical_id))
    twins = {p.path: p for ps in checker.lambdas[target_name].values() for p in ps}
    for principals in checker.lambdas[reference_name].values():
        for principal in principals:
            twin_principal = twins.get(principal.path)
            if twin_principal is None:
                continue
            for name, value in principal.environment.items():
                if name in twin_principal.environment:
                    found[f"{principal.path}/${name}"] = (value, twin_principal.environment[name])
    return found


def _catalog_pairs(
    reference: Environment, target: Environment, stack: Stack, other: Stack, logical_id: str
) -> dict[str, tuple[str, str]]:
    """A feature group's offline-store Glue database and table in two environments."""
    old = reference.resolve(stack, stack.template["Resources"][logical_id]["Properties"].get("OfflineStoreConfig", {}))
    new = target.resolve(other, other.template["Resources"][logical_id]["Properties"].get("OfflineStoreConfig", {}))
    found = {}
    for key in ("Database", "TableName"):
        old_value = old.get("DataCatalogConfig", {}).get(key)
        new_value = new.get("DataCatalogConfig", {}).get(key)
        if old_value and new_value:
            found[f"{stack.id}/{logical_id}/{key}"] = (str(old_value), str(new_value))
    return found


def summarize_missing(report: Report, principals: Sequence[str]) -> list[str]:
    return sorted(set(principals) - set(report.judged))


# ---- reintroducing a defect --------------------------------------------------------------------------------------


def without(statements: Sequence[iam.Statement], action: str, *, covering: str | None = None) -> list[iam.Statement]:
    """``statements`` with ``action`` no longer allowed (on ``covering`` only, when given): a wildcard that
    grants it is expanded to the other actions it grants; the other resources keep the action."""
    kept: list[iam.Statement] = []
    for statement in statements:
        if statement.effect != "Allow" or statement.not_actions or not statement.grants_action(action):
            kept.append(statement)
            continue
        if covering is not None and not statement.covers(covering):
            kept.append(statement)
            continue
        others = [
            member
            for pattern in statement.actions
            for member in (iam.expand_actions(pattern) if iam.action_matches(pattern, action) else [pattern])
            if not iam.action_matches(member, action)
        ]
        if others:
            kept.append(dataclasses.replace(statement, actions=tuple(others)))
        if covering is not None:
            rest = tuple(r for r in statement.resources if not iam.resource_matches(r, covering))
            if rest:
                kept.append(dataclasses.replace(statement, actions=(action,), resources=rest))
    return kept


@contextmanager
def reintroduced(checker: Checker, role: Role, statements: list[iam.Statement]) -> Iterator[None]:
    """``role`` with ``statements`` while the block runs (the templates' own statements afterwards)."""
    original = role.statements
    role.statements = statements
    checker.forget()
    try:
        yield
    finally:
        role.statements = original
        checker.forget()
