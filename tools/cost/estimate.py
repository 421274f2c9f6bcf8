"""A monthly cost estimate of one environment from its synthesized templates, its config and a price table.

Everything that can be read from the templates is read from them (instance types and counts, scaling bounds and
scheduled actions, schedules, state machine definitions, pipeline steps, alarms, lifecycle rules, VPC
endpoints); the config supplies the retraining budget and the usage the templates cannot know
(``config.cost.CostAssumptions``). Storage is priced at its steady state after a year of traffic. What each
service bills for: ``docs/aws-facts.md#billing-units``; how the estimate is built: ADR 0010.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from config import CostAssumptions, Environment
from tools.cost.assembly import PLATFORM, EnvironmentAssembly, Resource, ref_target, referenced_ids, render_text
from tools.cost.errors import CostError
from tools.cost.prices import PriceTable
from tools.cost.schedule import CapacityChange, runs_per_month, scheduled_instance_hours_per_month
from tools.cost.workflow import RunProfile, run_profile

GB = 1024**3
# The per-request scoring function: its environment names the endpoint and the feature groups it reads.
REQUEST_FUNCTION_ENV = ("ENDPOINT_NAME", "FEATURE_GROUPS")
# The idle schedule's function (ADR 0020): its sleep and wake rules bound the hours the endpoint exists.
IDLE_HANDLER = "lambdas.deployment.idle.handler"
HOURS_PER_WEEK = 7 * 24
_IDLE_CRON = re.compile(r"^cron\(0 (\d{1,2}) \? \* (MON-FRI|\*) \*\)$")
# Resource types that cost nothing by themselves, or are priced through another resource.
FREE_OR_PRICED_ELSEWHERE = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Lambda::Permission",
        "AWS::Lambda::LayerVersion",
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SNS::Subscription",
        "AWS::KMS::Alias",
        "AWS::Logs::LogGroup",
        "AWS::Glue::Database",
        "AWS::Glue::Table",
        "AWS::SageMaker::Model",
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::DataQualityJobDefinition",
        "AWS::SageMaker::ModelQualityJobDefinition",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        "AWS::Events::Rule",
        "AWS::SSM::Parameter",
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::RouteTable",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::CDK::Metadata",
    }
)
# Priced by this module.
PRICED = frozenset(
    {
        "AWS::SageMaker::Endpoint",
        "AWS::SageMaker::FeatureGroup",
        "AWS::SageMaker::Pipeline",
        "AWS::SageMaker::MonitoringSchedule",
        "AWS::StepFunctions::StateMachine",
        "AWS::Lambda::Function",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::KMS::Key",
        "AWS::S3::Bucket",
        "AWS::EC2::VPCEndpoint",
    }
)
# Billed per request and small at this platform's volumes: named in the output, not priced.
SMALL = {
    "AWS::DynamoDB::Table": "DynamoDB on-demand tables (a few requests per run, point-in-time recovery)",
    "AWS::SQS::Queue": "SQS dead-letter queues (empty unless deliveries fail)",
    "AWS::SNS::Topic": "SNS owner notifications (e-mail)",
    "AWS::Athena::WorkGroup": "Athena queries of the training-set step (per TB scanned)",
}


@dataclass(frozen=True)
class LineItem:
    """One row: what is priced, how much of it (``usage``, readable) and the quantities per price key."""

    model: str
    item: str
    usage: str
    quantities: Mapping[str, float]
    usd: float


@dataclass(frozen=True)
class Workflow:
    """A state machine with a known run rate: one run, runs a month and how that rate was found."""

    machine: Resource
    profile: RunProfile
    runs: float
    how: str
    retraining: bool


@dataclass(frozen=True)
class EnvironmentEstimate:
    environment: str
    account: str
    region: str
    prices: PriceTable
    assumptions: CostAssumptions
    lines: tuple[LineItem, ...]
    notes: tuple[str, ...]

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    def subtotal(self, model: str) -> float:
        return sum(line.usd for line in self.lines if line.model == model)

    @property
    def models(self) -> list[str]:
        seen: list[str] = []
        for line in self.lines:
            if line.model not in seen:
                seen.append(line.model)
        return seen


def apply_overrides(assumptions: CostAssumptions, overrides: Mapping[str, str]) -> CostAssumptions:
    """``assumptions`` with ``name=value`` overrides from the command line; unknown names are an error."""
    types = {f.name: f.type for f in fields(CostAssumptions)}
    changes: dict[str, Any] = {}
    for name, text in overrides.items():
        if name not in types:
            raise CostError(f"--assume {name}: unknown assumption; known: {', '.join(sorted(types))}")
        wants_int = "int" in str(types[name])
        try:
            changes[name] = None if text.lower() == "none" else (int(text) if wants_int else float(text))
        except ValueError:
            raise CostError(f"--assume {name}={text}: expected {'an integer' if wants_int else 'a number'}") from None
    return replace(assumptions, **changes)


def estimate_environment(
    assembly: EnvironmentAssembly, env: Environment, prices: PriceTable, *, assumptions: CostAssumptions | None = None
) -> EnvironmentEstimate:
    if prices.region != env.region:
        raise CostError(f"environment {env.name} is in {env.region}; the price table is for {prices.region}")
    return _Estimator(assembly, env, prices, assumptions or env.cost).run()


@dataclass
class _Estimator:
    assembly: EnvironmentAssembly
    env: Environment
    prices: PriceTable
    assume: CostAssumptions
    lines: list[LineItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    invocations: dict[tuple[str, str], float] = field(default_factory=dict)  # (stack, logical id) -> a month
    transitions: dict[str, float] = field(default_factory=dict)  # model -> a month
    retraining_runs: dict[str, float] = field(default_factory=dict)  # model -> a month

    @property
    def days_per_month(self) -> float:
        return self.prices.hours_per_month / 24

    def run(self) -> EnvironmentEstimate:
        self._endpoints()
        self._feature_store()
        workflows = self._workflow_runs()
        self._scheduled_jobs(workflows)
        self._model_monitor()
        self._pipelines(workflows)
        self._state_machines(workflows)
        self._lambdas()
        self._cloudwatch()
        self._kms_and_s3()
        self._vpc_endpoints()
        self._free_tier()
        self._unpriced()
        return EnvironmentEstimate(
            environment=self.env.name,
            account=self.env.account,
            region=self.env.region,
            prices=self.prices,
            assumptions=self.assume,
            lines=tuple(self.lines),
            notes=tuple(self.notes),
        )

    # ---- helpers ----

    def model_of(self, resource: Resource) -> str:
        own = resource.model
        if own != PLATFORM or "Tags" in resource.properties:
            return own
        tagged = [r.model for r in self.assembly.resources if r.stack == resource.stack and "Tags" in r.properties]
        models = [m for m in tagged if m != PLATFORM]
        return max(set(models), key=models.count) if models else PLATFORM

    def add(self, model: str, item: str, usage: str, quantities: Mapping[str, float]) -> None:
        usd = sum(self.prices.price(key).cost(quantity) for key, quantity in quantities.items())
        self.lines.append(LineItem(model=model, item=item, usage=usage, quantities=dict(quantities), usd=usd))

    def invoked(self, function: Resource, per_month: float) -> None:
        key = (function.stack, function.logical_id)
        self.invocations[key] = self.invocations.get(key, 0.0) + per_month

    def lambdas_mentioning(self, text: str) -> list[Resource]:
        return [f for f in self.assembly.of_type("AWS::Lambda::Function") if any(text in v for v in _env_values(f))]

    # ---- endpoints and data capture ----

    def _endpoints(self) -> None:
        for endpoint in self.assembly.of_type("AWS::SageMaker::Endpoint"):
            config = self.assembly.referenced(endpoint, endpoint.properties.get("EndpointConfigName"))
            if config is None:
                self.notes.append(f"endpoint {endpoint.logical_id}: its endpoint config is not in the templates")
                continue
            name = endpoint.properties.get("EndpointName")
            model = self.model_of(endpoint)
            variants = list(config.properties.get("ProductionVariants", []))
            shadows = list(config.properties.get("ShadowProductionVariants", []))
            weights = sum(float(v.get("InitialVariantWeight", 1.0)) for v in variants) or 1.0
            awake = self._awake_share(endpoint.stack)
            for variant in variants + shadows:
                share = 1.0 if variant in shadows else float(variant.get("InitialVariantWeight", 1.0)) / weights
                self._variant(model, str(name), variant, share, awake)
            self._data_capture(model, config)

    def _awake_share(self, stack: str) -> tuple[float, str] | None:
        """The share of the month the endpoints of ``stack`` exist, from the idle schedule's sleep and wake rules
        (ADR 0020: the endpoint is deleted outside working hours), with a note; None without a schedule."""
        functions = [
            f.logical_id
            for f in self.assembly.of_type("AWS::Lambda::Function")
            if f.stack == stack and f.properties.get("Handler") == IDLE_HANDLER
        ]
        expressions: dict[str, str] = {}
        for rule in self.assembly.of_type("AWS::Events::Rule"):
            for target in rule.properties.get("Targets", []):
                if rule.stack == stack and ref_target(target.get("Arn")) in functions:
                    action = json.loads(str(target.get("Input", "{}"))).get("action")
                    expressions[str(action)] = str(rule.properties.get("ScheduleExpression", ""))
        if not functions:
            return None
        if set(expressions) != {"sleep", "wake"}:
            raise CostError(f"stack {stack}: the idle function has no sleep and wake rules ({sorted(expressions)})")
        (wake_hour, wake_days), (sleep_hour, sleep_days) = (_cron_hour_days(expressions[a]) for a in ("wake", "sleep"))
        if wake_days != sleep_days or sleep_hour <= wake_hour:
            raise CostError(f"stack {stack}: idle rules {expressions} are not one awake window per day")
        per_week = (sleep_hour - wake_hour) * wake_days
        return per_week / HOURS_PER_WEEK, f"awake {per_week} h a week (idle schedule)"

    def _variant(
        self,
        model: str,
        endpoint_name: str,
        variant: dict[str, Any],
        share: float,
        awake: tuple[float, str] | None = None,
    ) -> None:
        variant_name = variant.get("VariantName", "?")
        if "ServerlessConfig" in variant:
            self.notes.append(f"{endpoint_name}/{variant_name}: serverless inference is not estimated")
            return
        instance_type = variant.get("InstanceType")
        count = variant.get("InitialInstanceCount", 1)
        if not isinstance(instance_type, str) or not isinstance(count, int):
            raise CostError(f"endpoint {endpoint_name}/{variant_name}: instance type and count must be literal")
        target = self._scalable_target(f"endpoint/{endpoint_name}/variant/{variant_name}")
        key = PriceTable.instance_key("hosting", instance_type)
        item = f"endpoint {endpoint_name}/{variant_name} {instance_type}"
        fraction, asleep_note = awake if awake else (1.0, "")
        suffix = f", {asleep_note}" if asleep_note else ""
        if target is None:
            hours = count * self.prices.hours_per_month * fraction
            self.add(model, item, f"{count} x {self.prices.hours_per_month * fraction:g} h{suffix}", {key: hours})
            return
        low, high = int(target.properties["MinCapacity"]), int(target.properties["MaxCapacity"])
        per_instance = self._invocations_target(target)
        per_minute = self.assume.requests_per_day * share / 1440
        wanted = math.ceil(per_minute / per_instance) if per_instance else low
        changes = [
            CapacityChange(
                schedule=str(action["Schedule"]),
                min_capacity=(action.get("ScalableTargetAction") or {}).get("MinCapacity"),
                max_capacity=(action.get("ScalableTargetAction") or {}).get("MaxCapacity"),
            )
            for action in target.properties.get("ScheduledActions", [])
        ]
        hours = scheduled_instance_hours_per_month(wanted=wanted, min_capacity=low, max_capacity=high, changes=changes)
        hours *= fraction
        steady = max(low, min(wanted, high))
        if changes:
            usage = f"{hours:,.1f} instance-h ({len(changes)} scheduled scaling actions; bounds {low}-{high}{suffix})"
        else:
            usage = f"{steady} x {self.prices.hours_per_month * fraction:,.1f} h (bounds {low}-{high}{suffix})"
        self.add(model, item, usage, {key: hours})

    def _scalable_target(self, resource_id: str) -> Resource | None:
        for target in self.assembly.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
            if target.properties.get("ResourceId") == resource_id:
                return target
        return None

    def _invocations_target(self, target: Resource) -> float:
        """Target invocations per instance per minute of the target-tracking policy on ``target`` (0: none)."""
        for policy in self.assembly.of_type("AWS::ApplicationAutoScaling::ScalingPolicy"):
            scales = ref_target(policy.properties.get("ScalingTargetId")) == target.logical_id
            if policy.stack != target.stack or not scales:
                continue
            config = policy.properties.get("TargetTrackingScalingPolicyConfiguration") or {}
            metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
            if metric == "SageMakerVariantInvocationsPerInstance":
                return float(config["TargetValue"])
        return 0.0

    def _data_capture(self, model: str, config: Resource) -> None:
        capture = config.properties.get("DataCaptureConfig") or {}
        if not capture or capture.get("EnableCapture") is False:
            return
        percent = float(capture.get("InitialSamplingPercentage", 100))
        bucket = _bucket_of(capture.get("DestinationS3Uri"))
        daily_gb = self.assume.requests_per_day * percent / 100 * self.assume.capture_bytes_per_request / GB
        standard_days, ia_days = self._lifecycle_days(bucket)
        self.add(
            model,
            "data capture storage",
            f"{percent:g}% of requests, {daily_gb * 1024:,.1f} MB/day kept {standard_days} d Standard"
            + (f" + {ia_days} d Standard-IA" if ia_days else ""),
            {
                "s3.standard_storage": daily_gb * standard_days,
                "s3.standard_ia_storage": daily_gb * ia_days,
            },
        )

    def _lifecycle_days(self, bucket: str | None) -> tuple[int, int]:
        """Days an object spends in Standard and in Standard-IA under the bucket's rules (a year if it never
        expires): the steady-state storage after a year is daily volume x these days."""
        expire, to_ia = 365, None
        for resource in self.assembly.of_type("AWS::S3::Bucket"):
            if bucket is None or resource.properties.get("BucketName") != bucket:
                continue
            for rule in (resource.properties.get("LifecycleConfiguration") or {}).get("Rules", []):
                if rule.get("Status") != "Enabled" or rule.get("Prefix") or rule.get("Filter"):
                    continue
                if "ExpirationInDays" in rule:
                    expire = min(expire, int(rule["ExpirationInDays"]))
                for transition in rule.get("Transitions", []):
                    if transition.get("StorageClass") == "STANDARD_IA":
                        to_ia = int(transition["TransitionInDays"])
        if to_ia is None or to_ia >= expire:
            return expire, 0
        return to_ia, expire - to_ia

    # ---- feature store ----

    def _feature_store(self) -> None:
        read_groups: dict[str, int] = {}
        for function in self._request_functions():
            groups = json.loads(_env(function)["FEATURE_GROUPS"])
            for group in groups.values() if isinstance(groups, dict) else groups:
                read_groups[str(group)] = read_groups.get(str(group), 0) + 1
        days = self.days_per_month
        for group in self.assembly.of_type("AWS::SageMaker::FeatureGroup"):
            name = str(group.properties.get("FeatureGroupName"))
            model = self.model_of(group)
            record_bytes = len(group.properties.get("FeatureDefinitions", [])) * self.assume.bytes_per_feature
            mode = (group.properties.get("ThroughputConfig") or {}).get("ThroughputMode", "OnDemand")
            online = (group.properties.get("OnlineStoreConfig") or {}).get("EnableOnlineStore") is True
            quantities: dict[str, float] = {}
            parts = [f"{record_bytes} B records"]
            if online and mode == "OnDemand":
                writes = self.assume.ingested_events_per_day * days * math.ceil(record_bytes / 1024)
                reads = self.assume.requests_per_day * days * read_groups.get(name, 0) * math.ceil(record_bytes / 4096)
                quantities["featurestore.write_units"] = writes
                quantities["featurestore.read_units"] = reads
                quantities["featurestore.online_storage"] = self.assume.online_entities * record_bytes / GB
                parts.append(f"{writes / 1e6:,.2f}M writes, {reads / 1e6:,.2f}M reads")
                parts.append(f"{self.assume.online_entities:,} records online")
            elif online:
                self.notes.append(f"feature group {name}: provisioned throughput is not estimated")
            if "OfflineStoreConfig" in group.properties:
                yearly_gb = self.assume.ingested_events_per_day * 365 * record_bytes / GB
                quantities["s3.standard_storage"] = yearly_gb
                parts.append(f"offline {yearly_gb:,.2f} GB after a year")
            self.add(model, f"feature group {name}", ", ".join(parts), quantities)

    def _request_functions(self) -> list[Resource]:
        return [
            f
            for f in self.assembly.of_type("AWS::Lambda::Function")
            if all(isinstance(_env(f).get(k), str) for k in REQUEST_FUNCTION_ENV)
        ]

    # ---- workflows: which state machines run how often ----

    def _workflow_runs(self) -> list[Workflow]:
        """Every state machine with a known run rate."""
        result: list[Workflow] = []
        pipelines = [str(p.properties.get("PipelineName")) for p in self.assembly.of_type("AWS::SageMaker::Pipeline")]
        starters = {(f.stack, f.logical_id) for name in pipelines for f in self.lambdas_mentioning(name)}
        for machine in self.assembly.of_type("AWS::StepFunctions::StateMachine"):
            profile = run_profile(machine, self.assembly)
            scheduled = self._scheduled_runs(machine)
            retrains = any((f.stack, f.logical_id) in starters for f in profile.lambdas)
            if retrains:
                runs, how = self._retraining_runs(scheduled)
                result.append(Workflow(machine=machine, profile=profile, runs=runs, how=how, retraining=True))
                model = self.model_of(machine)
                self.retraining_runs[model] = self.retraining_runs.get(model, 0.0) + runs
            elif scheduled:
                how = f"{scheduled:,.1f} scheduled runs"
                result.append(Workflow(machine=machine, profile=profile, runs=scheduled, how=how, retraining=False))
            else:
                self.notes.append(f"state machine {machine.logical_id}: runs only on events; not estimated")
        return result

    def _scheduled_runs(self, machine: Resource) -> float:
        name = machine.properties.get("StateMachineName")
        runs = 0.0
        for rule in self._schedule_rules():
            for target in rule.properties.get("Targets", []):
                pointed = self.assembly.referenced(rule, target.get("Arn"))
                starts_it = pointed is not None and (pointed.stack, pointed.logical_id) == (
                    machine.stack,
                    machine.logical_id,
                )
                if not starts_it and pointed is not None and pointed.type == "AWS::Lambda::Function" and name:
                    starts_it = any(v.endswith(f":stateMachine:{name}") or v == name for v in _env_values(pointed))
                if starts_it:
                    runs += runs_per_month(str(rule.properties["ScheduleExpression"]))
        return runs

    def _schedule_rules(self) -> list[Resource]:
        return [
            r
            for r in self.assembly.of_type("AWS::Events::Rule")
            if "ScheduleExpression" in r.properties and r.properties.get("State", "ENABLED") == "ENABLED"
        ]

    def _retraining_runs(self, scheduled: float) -> tuple[float, str]:
        policy = self.env.retraining
        wanted = scheduled + self.assume.unscheduled_retrains_per_month
        budget = policy.max_runs_per_period * self.days_per_month / policy.period_days
        cooldown = self.prices.hours_per_month / policy.cooldown_hours if policy.cooldown_hours else math.inf
        runs = min(wanted, budget, cooldown)
        how = f"{scheduled:,.2f} scheduled + {self.assume.unscheduled_retrains_per_month:g} unscheduled"
        if runs < wanted:
            how += f", capped at {runs:,.2f} by the retraining budget"
        return runs, how

    # ---- jobs ----

    def _scheduled_jobs(self, workflows: list[Workflow]) -> None:
        minutes = self.assume.monitoring_job_minutes
        for workflow in workflows:
            machine, profile, runs = workflow.machine, workflow.profile, workflow.runs
            if not profile.jobs or workflow.retraining:
                continue
            # A window without captures ends before its jobs (no traffic, no paid job).
            job_runs = runs if self.assume.requests_per_day > 0 else 0.0
            quantities: dict[str, float] = {}
            for job in profile.jobs:
                key = PriceTable.instance_key(job.use, job.instance_type)
                quantities[key] = quantities.get(key, 0.0) + job_runs * job.instance_count * minutes / 60
            jobs = ", ".join(f"{j.instance_count} x {j.instance_type}" for j in profile.jobs)
            self.add(
                self.model_of(machine),
                f"{self._label(machine)}: {len(profile.jobs)} {profile.jobs[0].use} jobs a run",
                f"{job_runs:,.1f} runs x ({jobs}) x {minutes:g} min",
                quantities,
            )

    def _label(self, machine: Resource) -> str:
        for rule in self._schedule_rules():
            for target in rule.properties.get("Targets", []):
                if ref_target(target.get("Arn")) == machine.logical_id and rule.stack == machine.stack:
                    return str(rule.properties.get("Description") or machine.logical_id)
        return str(machine.properties.get("StateMachineName") or machine.logical_id)

    def _model_monitor(self) -> None:
        minutes = self.assume.monitoring_job_minutes
        for schedule in self.assembly.of_type("AWS::SageMaker::MonitoringSchedule"):
            config = schedule.properties.get("MonitoringScheduleConfig") or {}
            expression = (config.get("ScheduleConfig") or {}).get("ScheduleExpression")
            job_definition = self._referenced_anywhere(schedule, config.get("MonitoringJobDefinitionName"))
            if not isinstance(expression, str) or job_definition is None:
                self.notes.append(f"monitoring schedule {schedule.logical_id}: schedule or job definition not found")
                continue
            cluster = (job_definition.properties.get("JobResources") or {}).get("ClusterConfig") or {}
            instance_type, count = cluster.get("InstanceType"), int(cluster.get("InstanceCount", 1))
            if not isinstance(instance_type, str):
                raise CostError(f"job definition {job_definition.logical_id}: the instance type must be literal")
            model_quality = job_definition.type == "AWS::SageMaker::ModelQualityJobDefinition"
            # A model-quality run merges ground truth in a job of its own before the analysis job.
            jobs = 2 if model_quality else 1
            runs = runs_per_month(expression) if self.assume.requests_per_day > 0 else 0.0
            hours = runs * jobs * count * minutes / 60
            kind = config.get("MonitoringType", "schedule")
            self.add(
                self.model_of(schedule),
                f"Model Monitor {kind}: {jobs} processing job{'s' * (jobs > 1)} a run",
                f"{runs:,.1f} runs x {jobs} x {count} x {instance_type} x {minutes:g} min",
                {PriceTable.instance_key("processing", instance_type): hours},
            )

    def _referenced_anywhere(self, owner: Resource, value: Any) -> Resource | None:
        for logical_id in sorted(referenced_ids(value)):
            found = self.assembly.get(owner.stack, logical_id)
            if found is not None:
                return found
        return None

    def _pipelines(self, workflows: list[Workflow]) -> None:
        for pipeline in self.assembly.of_type("AWS::SageMaker::Pipeline"):
            name = str(pipeline.properties.get("PipelineName"))
            starters = {(f.stack, f.logical_id) for f in self.lambdas_mentioning(name)}
            runs, how = 0.0, "no retraining workflow starts it"
            for workflow in workflows:
                if any((f.stack, f.logical_id) in starters for f in workflow.profile.lambdas):
                    runs, how = workflow.runs, workflow.how
            steps = _pipeline_steps(pipeline)
            quantities: dict[str, float] = {}
            kinds: dict[str, int] = {}
            for _step, use, instance_type, count in steps:
                minutes = (
                    self.assume.pipeline_training_step_minutes
                    if use == "training"
                    else self.assume.pipeline_processing_step_minutes
                )
                key = PriceTable.instance_key(use, instance_type)
                quantities[key] = quantities.get(key, 0.0) + runs * count * minutes / 60
                kind = f"{use} step{{s}} {count} x {instance_type} x {minutes:g} min"
                kinds[kind] = kinds.get(kind, 0) + 1
            described = " + ".join(f"{n} {k.format(s='s' if n > 1 else '')}" for k, n in kinds.items())
            self.add(
                self.model_of(pipeline),
                f"training pipeline {name}",
                f"{runs:,.2f} runs ({how}) x ({described})",
                quantities,
            )

    # ---- Step Functions and Lambda ----

    def _state_machines(self, workflows: list[Workflow]) -> None:
        for workflow in workflows:
            machine, profile, runs = workflow.machine, workflow.profile, workflow.runs
            model = self.model_of(machine)
            if machine.properties.get("StateMachineType") == "EXPRESS":
                self.notes.append(f"state machine {machine.logical_id}: Express workflows are not estimated")
                continue
            transitions = runs * profile.transitions
            self.transitions[model] = self.transitions.get(model, 0.0) + transitions
            self.add(
                model,
                f"Step Functions {self._label(machine)}",
                f"{runs:,.1f} runs x {profile.transitions} transitions",
                {"stepfunctions.standard_transitions": transitions},
            )
            for function in profile.lambdas:
                self.invoked(function, runs)

    def _lambdas(self) -> None:
        self._scheduled_invocations()
        self._event_invocations()
        days = self.days_per_month
        request_keys = {(f.stack, f.logical_id) for f in self._request_functions()}
        for key in request_keys:
            self.invocations[key] = self.invocations.get(key, 0.0) + self.assume.requests_per_day * days
        per_model: dict[str, dict[str, float]] = {}
        for function in self.assembly.of_type("AWS::Lambda::Function"):
            key = (function.stack, function.logical_id)
            count = self.invocations.get(key, 0.0)
            if not count:
                continue
            seconds = (
                self.assume.request_lambda_milliseconds / 1000
                if key in request_keys
                else self.assume.workflow_lambda_seconds
            )
            memory_gb = int(function.properties.get("MemorySize", 128)) / 1024
            arch = "arm64" if "arm64" in function.properties.get("Architectures", []) else "x86_64"
            totals = per_model.setdefault(self.model_of(function), {})
            totals["lambda.requests"] = totals.get("lambda.requests", 0.0) + count
            duration = f"lambda.{arch}_duration"
            totals[duration] = totals.get(duration, 0.0) + count * seconds * memory_gb
        for model, totals in per_model.items():
            gb_seconds = sum(v for k, v in totals.items() if k.endswith("_duration"))
            usage = f"{totals['lambda.requests']:,.0f} invocations, {gb_seconds:,.0f} GB-s"
            self.add(model, "Lambda", usage, totals)

    def _scheduled_invocations(self) -> None:
        for rule in self._schedule_rules():
            for target in rule.properties.get("Targets", []):
                pointed = self.assembly.referenced(rule, target.get("Arn"))
                if pointed is not None and pointed.type == "AWS::Lambda::Function":
                    self.invoked(pointed, runs_per_month(str(rule.properties["ScheduleExpression"])))

    def _event_invocations(self) -> None:
        """S3 object events: one invocation per landing file; pipeline, approval and alarm events: about one
        per retraining run of the rule's model."""
        for rule in self.assembly.of_type("AWS::Events::Rule"):
            pattern = rule.properties.get("EventPattern")
            if not isinstance(pattern, dict):
                continue
            for target in rule.properties.get("Targets", []):
                pointed = self.assembly.referenced(rule, target.get("Arn"))
                if pointed is None or pointed.type != "AWS::Lambda::Function":
                    continue
                if "aws.s3" in pattern.get("source", []):
                    self.invoked(pointed, self.assume.landing_files_per_day * self.days_per_month)
                else:
                    self.invoked(pointed, self.retraining_runs.get(self.model_of(rule), 0.0))

    # ---- CloudWatch ----

    def _cloudwatch(self) -> None:
        by_model: dict[str, dict[str, float]] = {}
        custom: dict[str, set[str]] = {}
        for alarm in self.assembly.of_type("AWS::CloudWatch::Alarm"):
            totals = by_model.setdefault(self.model_of(alarm), {})
            for namespace, metric, dimensions, period in _alarm_metrics(alarm):
                key = "cloudwatch.alarm_high_resolution" if period < 60 else "cloudwatch.alarm_standard"
                totals[key] = totals.get(key, 0.0) + 1
                if not namespace.startswith("AWS/"):
                    custom.setdefault(self.model_of(alarm), set()).add(f"{namespace}|{metric}|{dimensions}")
        for alarm in self.assembly.of_type("AWS::CloudWatch::CompositeAlarm"):
            totals = by_model.setdefault(self.model_of(alarm), {})
            totals["cloudwatch.alarm_composite"] = totals.get("cloudwatch.alarm_composite", 0.0) + 1
        for dashboard in self.assembly.of_type("AWS::CloudWatch::Dashboard"):
            totals = by_model.setdefault(self.model_of(dashboard), {})
            totals["cloudwatch.dashboard"] = totals.get("cloudwatch.dashboard", 0.0) + 1
        for model, totals in sorted(by_model.items()):
            alarm_part = {k: v for k, v in totals.items() if k.startswith("cloudwatch.alarm")}
            if alarm_part:
                self.add(
                    model,
                    "CloudWatch alarms",
                    f"{totals.get('cloudwatch.alarm_standard', 0):g} standard + "
                    f"{totals.get('cloudwatch.alarm_high_resolution', 0):g} high-resolution alarm metrics, "
                    f"{totals.get('cloudwatch.alarm_composite', 0):g} composite",
                    alarm_part,
                )
            if "cloudwatch.dashboard" in totals:
                self.add(
                    model,
                    "CloudWatch dashboards",
                    f"{totals['cloudwatch.dashboard']:g}",
                    {"cloudwatch.dashboard": totals["cloudwatch.dashboard"]},
                )
        for model, metrics in sorted(custom.items()):
            self.add(
                model,
                "CloudWatch custom metrics",
                f"{len(metrics)} alarmed (jobs and Lambdas may publish more)",
                {"cloudwatch.custom_metric": len(metrics)},
            )
        log_bytes = self.assume.log_bytes_per_invocation
        events: dict[str, float] = dict(self.transitions)
        for function in self.assembly.of_type("AWS::Lambda::Function"):
            count = self.invocations.get((function.stack, function.logical_id), 0.0)
            model = self.model_of(function)
            events[model] = events.get(model, 0.0) + count
        kept_months = min(self.env.storage.log_retention_days, 365) / self.days_per_month
        for model, count in sorted(events.items()):
            ingested = count * log_bytes / GB
            if not ingested:
                continue
            self.add(
                model,
                "CloudWatch Logs",
                f"{count:,.0f} invocations and transitions x {log_bytes} B, kept {kept_months:.1f} months",
                {"cloudwatch.logs_ingestion": ingested, "cloudwatch.logs_storage": ingested * kept_months},
            )

    # ---- KMS, S3 requests, VPC endpoints ----

    def _kms_and_s3(self) -> None:
        keys = self.assembly.of_type("AWS::KMS::Key")
        if keys:
            self.add(PLATFORM, "KMS customer-managed keys", f"{len(keys)} key(s)", {"kms.key": len(keys)})
        days = self.days_per_month
        self.add(
            PLATFORM,
            "KMS requests",
            f"{self.assume.kms_requests_per_day:,} a day",
            {"kms.requests": self.assume.kms_requests_per_day * days},
        )
        self.add(
            PLATFORM,
            "S3 requests",
            f"{self.assume.s3_put_requests_per_day:,} PUT and {self.assume.s3_get_requests_per_day:,} GET a day",
            {
                "s3.put_requests": self.assume.s3_put_requests_per_day * days,
                "s3.get_requests": self.assume.s3_get_requests_per_day * days,
            },
        )

    def _vpc_endpoints(self) -> None:
        interface = [
            e
            for e in self.assembly.of_type("AWS::EC2::VPCEndpoint")
            if e.properties.get("VpcEndpointType") == "Interface"
        ]
        if not interface:
            return
        az_count = 0
        for endpoint in interface:
            subnets = endpoint.properties.get("SubnetIds")
            if not isinstance(subnets, list):
                raise CostError(f"VPC endpoint {endpoint.logical_id}: its subnets must be a list to count AZs")
            az_count += len(subnets)
        hours = az_count * self.prices.hours_per_month
        self.add(
            PLATFORM,
            "VPC interface endpoints",
            f"{len(interface)} endpoints, {az_count} AZ attachments x {self.prices.hours_per_month:g} h, "
            f"{self.assume.interface_endpoint_gb_per_month:g} GB processed",
            {
                "vpc.interface_endpoint_hour": hours,
                "vpc.interface_endpoint_data": self.assume.interface_endpoint_gb_per_month,
            },
        )

    # ---- always-free allowances and what is not priced ----

    def _free_tier(self) -> None:
        credits: dict[str, float] = {}
        described: list[str] = []
        for name, allowance in self.prices.free_tier.items():
            remaining = allowance.quantity
            for key in allowance.applies_to:
                used = sum(line.quantities.get(key, 0.0) for line in self.lines)
                covered = min(used, remaining)
                if covered > 0:
                    credits[key] = credits.get(key, 0.0) - covered
                    remaining -= covered
            if remaining < allowance.quantity:
                described.append(name)
        if credits:
            self.add(PLATFORM, "always-free allowances", ", ".join(described), credits)

    def _unpriced(self) -> None:
        counts: dict[str, int] = {}
        for resource in self.assembly.resources:
            if resource.type not in PRICED and resource.type not in FREE_OR_PRICED_ELSEWHERE:
                counts[resource.type] = counts.get(resource.type, 0) + 1
        for resource_type, count in sorted(counts.items()):
            reason = SMALL.get(resource_type, "not estimated")
            self.notes.append(f"{count} x {resource_type}: {reason}")


def _env(function: Resource) -> dict[str, Any]:
    variables: dict[str, Any] = (function.properties.get("Environment") or {}).get("Variables") or {}
    return variables


def _env_values(function: Resource) -> list[str]:
    return [v for v in _env(function).values() if isinstance(v, str)]


def _bucket_of(uri: Any) -> str | None:
    if isinstance(uri, str) and uri.startswith("s3://"):
        return uri.removeprefix("s3://").split("/", 1)[0]
    return None


def _alarm_metrics(alarm: Resource) -> Iterable[tuple[str, str, str, int]]:
    """(namespace, metric, dimensions, period) of every metric an alarm evaluates (each is billed)."""
    properties = alarm.properties
    if "Metrics" in properties:
        for query in properties["Metrics"]:
            stat = query.get("MetricStat")
            if stat:
                metric = stat.get("Metric") or {}
                yield (
                    str(metric.get("Namespace", "")),
                    str(metric.get("MetricName", "")),
                    json.dumps(metric.get("Dimensions", []), sort_keys=True),
                    int(stat.get("Period", 60)),
                )
        return
    yield (
        str(properties.get("Namespace", "")),
        str(properties.get("MetricName", "")),
        json.dumps(properties.get("Dimensions", []), sort_keys=True),
        int(properties.get("Period", 60)),
    )


def _pipeline_steps(pipeline: Resource) -> list[tuple[str, str, str, int]]:
    """(step, use, instance type, count) of every Processing and Training step, parameters at their defaults."""
    body = (pipeline.properties.get("PipelineDefinition") or {}).get("PipelineDefinitionBody")
    if body is None:
        return []
    placeholders: dict[str, Any] = {}
    definition = json.loads(render_text(body, placeholders=placeholders))
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("Get"), str) and value["Get"].startswith("Parameters."):
            return defaults.get(value["Get"].removeprefix("Parameters."))
        return value

    steps: list[tuple[str, str, str, int]] = []

    def collect(step_list: list[dict[str, Any]]) -> None:
        for step in step_list:
            arguments = step.get("Arguments") or {}
            if step.get("Type") == "Processing":
                cluster = (arguments.get("ProcessingResources") or {}).get("ClusterConfig") or {}
                use = "processing"
            elif step.get("Type") == "Training":
                cluster = arguments.get("ResourceConfig") or {}
                use = "training"
            else:
                collect(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))
                continue
            instance_type, count = resolve(cluster.get("InstanceType")), resolve(cluster.get("InstanceCount", 1))
            if not isinstance(instance_type, str) or not isinstance(count, int):
                raise CostError(f"pipeline step {step.get('Name')}: instance type and count have no default to price")
            steps.append((str(step.get("Name")), use, instance_type, count))

    collect(definition.get("Steps", []))
    return steps


def _cron_hour_days(expression: str) -> tuple[int, int]:
    """(hour, days a week) of an idle rule's ``cron(0 <hour> ? * MON-FRI|* *)``."""
    match = _IDLE_CRON.match(expression)
    if match is None:
        raise CostError(f"idle rule schedule '{expression}' is not cron(0 <hour> ? * MON-FRI|* *)")
    return int(match[1]), 5 if match[2] == "MON-FRI" else 7
