"""The demo's story: the dev stage deployed into the local emulator, then its closed loop run end to end.

Each stage acts the way the outside world would (raw files land, ground truth arrives, clients call the
scoring function, the hourly schedule fires, an operator runs the CLI) and then checks, through the AWS API,
that the platform did its part; a stage that does not see the expected outcome stops the story with a
``StoryError`` naming what was missing. The app itself is never told it runs in an emulator.

Stages, in order:

1. ``deploy``: the emulator, ``cdk bootstrap`` and ``cdk deploy`` of the platform and training stacks;
2. ``ingest``: raw card transactions land in the landing bucket; the ingestion rule runs the ingestion Lambda,
   which writes the feature records to the (emulated) online and offline stores; the labels arrive;
3. ``first model``: the deployed pipeline runs on those features; its package becomes the serving pointer
   (``tools.bootstrap_serving --package``); the serving, monitoring and retraining stacks are deployed and the
   endpoint serves that package's model;
4. ``traffic``: requests go through the real ``score`` Lambda to the endpoint (the real model; data capture);
5. ``drift``: drifted history lands (amounts up, fraud changed its pattern), and today's transactions arrive
   one by one (the single-event ingestion Lambda, then the score Lambda); the hourly drift schedule fires for
   the captures' hour; the drift workflow (window Lambda, drift job, merge) publishes its metrics; the alarms
   are evaluated as CloudWatch would; the drift alarm's state-change event goes through the deployed rule to
   the trigger Lambda, which starts the retraining state machine;
6. with ``retraining_runs`` >= 1 (``--runs``, default 3), ``retrain 1``: that run is
   followed to its end (guard, pipeline on the drifted data, the wait completed by the pipeline's status event
   through the callback rule, registration, approval, blue/green deployment with verify and bake, promote); a
   retrigger right after it is skipped by the cooldown;
7. ``retrain 2``: past the cooldown, with the labels shuffled (a labelling bug), the candidate is not better;
8. ``retrain 3``: days later, with more data, the candidate's containers regress during the bake (the
   endpoint emulator's fault knob) and the deployment rolls back;
9. ``status``: the on-call CLI's ``status`` (also right after ``drift`` when no run is followed).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import pyarrow.parquet as pq

from config import FRAUD_DETECTION, ModelDeployment
from lambdas.deployment.registry import CHAMPION_TAG
from lambdas.deployment.settings import StrategySettings
from lambdas.retraining.state import Run, Skip, StateStore
from lambdas.shared.features import format_event_time, parse_event
from pipeline_defs import sample_data
from tools.demo.emulators.runtime import Aws
from tools.demo.server import deploy, launcher
from tools.demo.server.environment import ROOT, DemoPaths, demo_environment
from tools.mlops_cli.target import Target

T = TypeVar("T")
MODEL = FRAUD_DETECTION.name
DRIFT: dict[str, Any] = {"drift": 1.0, "concept": True}  # amounts up, and fraud changed its pattern
SCORING_THREADS = 4
SCORE_HANDLER = "lambdas.deployment.score.handler"
EVENT_INGESTION_HANDLER = "lambdas.ingestion.handler.event_handler"
CANDIDATE_FAULT = {"latency_ms": 150.0, "error_rate": 0.3}
COMPARE_HANDLER = "lambdas.deployment.compare.handler"
BAKE_TRAFFIC_MARGIN = 2.0  # requests sent per bake: this many times the comparison's minimum
TRAFFIC_THREADS = 3


class StoryError(RuntimeError):
    """A stage did not see the outcome it expects; the message names the stage and what was missing."""


@dataclass(frozen=True, kw_only=True)
class StoryConfig:
    """How much world the story simulates (``quick`` is the test's smaller run of the same stages)."""

    customers: int = 50
    base_days: int = 10  # clean history the first model trains on
    drift_days: int = 10  # drifted history (amounts up, fraud changed its pattern) before today's traffic
    later_days: int = 5  # the drifted days that arrive before the third run
    # fraud incidents per customer and day: far more than a bank sees, so a small world still trains a model
    fraud_rate: float = 0.05
    seed: int = 11
    timeout_seconds: float = 600.0  # any single wait of the story (a whole retraining run is one)
    # retraining runs followed: 1 the drift alarm's (promoted; a retrigger skipped), 2 the "not better" one,
    # 3 the rolled-back one (0: the story ends once the drift alarm started the loop, which runs on in the emulator)
    retraining_runs: int = 3

    @classmethod
    def quick(cls) -> StoryConfig:
        """``make test``'s run: a smaller world, up to the alarm starting the loop (CI runs the whole story with
        ``make demo``; ``python -m tools.demo --quick`` follows the runs in the smaller world)."""
        return cls(customers=30, base_days=8, drift_days=8, later_days=4, retraining_runs=0)


@dataclass
class Timeline:
    """One printed line per event, and the list of them for the summary at the end."""

    started: float = field(default_factory=time.monotonic)
    events: list[tuple[float, str, str]] = field(default_factory=list)
    stage_started: dict[str, float] = field(default_factory=dict)
    echo: Callable[[str], None] = print

    def say(self, stage: str, text: str) -> None:
        seconds = time.monotonic() - self.started
        self.stage_started.setdefault(stage, seconds)
        self.events.append((seconds, stage, text))
        self.echo(f"{seconds:6.1f} s  {stage:<12} {text}")

    def summary(self) -> list[str]:
        lines = ["timeline (seconds since the start, per stage):"]
        stages = list(self.stage_started)
        total = time.monotonic() - self.started
        for index, stage in enumerate(stages):
            start = self.stage_started[stage]
            end = self.stage_started[stages[index + 1]] if index + 1 < len(stages) else total
            count = sum(1 for _, s, _ in self.events if s == stage)
            lines.append(f"  {start:6.1f} - {end:6.1f} s  {stage:<12} {count} event(s)")
        lines.append(f"  total {total:.1f} s")
        return lines


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float, interval: float = 0.5) -> T:
    """``probe()`` until it answers something truthy; ``StoryError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise StoryError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(interval)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Story:
    """The story against one running emulator (``info``), with its state under ``paths``."""

    def __init__(
        self,
        *,
        info: launcher.ServerInfo,
        paths: DemoPaths,
        config: StoryConfig,
        timeline: Timeline,
        now: datetime | None = None,
    ) -> None:
        self.info, self.paths, self.config, self.timeline = info, paths, config, timeline
        self.env = demo_environment()
        self.deployment = ModelDeployment(spec=FRAUD_DETECTION, env=self.env)
        self.aws = Aws(region=info.region, endpoint_url=info.endpoint_url)
        self.work = paths.root / "story"
        self.work.mkdir(parents=True, exist_ok=True)
        self.started_at = (now or datetime.now(UTC)).replace(microsecond=0)
        # clean history, then drifted history ending with the last day (today's live traffic): all in the past;
        # the later days are in the future, reached by moving the clock ahead (``advance``). Days start at midnight
        # UTC, so the world (hours of day included) and the models trained on it are the same on every run.
        self.today = (self.started_at - timedelta(days=1)).replace(hour=0, minute=0, second=0)
        self.drift_start = self.today - timedelta(days=config.drift_days - 1)
        self.data_start = self.drift_start - timedelta(days=config.base_days)

    # ---- helpers --------------------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def say(self, stage: str, text: str) -> None:
        self.timeline.say(stage, text)

    def bucket(self, purpose: str) -> str:
        """A platform bucket, by the purpose its name ends with (as deployed)."""
        names = [str(b["Name"]) for b in self.client("s3").list_buckets()["Buckets"]]
        found = [n for n in names if n.startswith(f"mlops-{self.env.name}-") and n.endswith(f"-{purpose.lower()}")]
        if len(found) != 1:
            raise StoryError(f"no single {purpose} bucket among {names}")
        return found[0]

    def function(self, handler: str) -> dict[str, Any]:
        for page in self.client("lambda").get_paginator("list_functions").paginate():
            for function in page["Functions"]:
                if function["Handler"] == handler:
                    return dict(function)
        raise StoryError(f"no deployed function runs {handler}")

    def cli(self, module: str, *args: str) -> str:
        """One of the project's own command-line tools, run as a user would, pointed at the emulator."""
        command = [sys.executable, "-m", module, *args, "--env", self.env.name, "--model", MODEL]
        completed = subprocess.run(  # noqa: S603 - our interpreter and our tools
            command,
            env={**self.info.environment(self.paths), "PATH": deploy.path_with_pinned_tools()},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=self.config.timeout_seconds,
            check=False,
        )
        if completed.returncode != 0:
            raise StoryError(f"{module} {' '.join(args)} failed: {completed.stderr.strip()[-2000:]}")
        return completed.stdout

    def invoke(self, handler: str, event: dict[str, Any]) -> dict[str, Any]:
        function = self.function(handler)
        response = self.client("lambda").invoke(FunctionName=function["FunctionName"], Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        if "FunctionError" in response:
            raise StoryError(f"{handler} failed: {payload.get('errorType')}: {payload.get('errorMessage')}")
        return dict(payload or {})

    # ---- stage 1: deploy ------------------------------------------------------------------------------------

    def deploy_first_stacks(self, *, synth: bool = True) -> None:
        stage = "deploy"
        self.say(stage, f"local AWS runs at {self.info.endpoint_url} (account {self.info.account})")
        with ThreadPoolExecutor(max_workers=1) as background:
            synthesized = background.submit(deploy.synthesize, self.info, self.paths, quiet=True) if synth else None
            step = deploy.bootstrap(self.info, self.paths, quiet=True)
            self.say(stage, f"cdk bootstrap of aws://{self.info.account}/{self.info.region} in {step.seconds:.0f} s")
            if synthesized is not None:
                step = synthesized.result()
                self.say(stage, f"cdk synth of the app in {step.seconds:.0f} s (while bootstrapping)")
        step = deploy.deploy(self.info, self.paths, deploy.FIRST_STACKS, quiet=True)
        self.say(stage, f"cdk deploy {' '.join(deploy.FIRST_STACKS)} in {step.seconds:.0f} s")
        self.emulated(stage, step.emulated)

    def emulated(self, stage: str, lines: Sequence[str]) -> None:
        """One line for what the emulator created outside moto's CloudFormation, by resource type."""
        kinds: dict[str, int] = {}
        for line in lines:
            found = re.search(r"(AWS::\S+|Custom::\S+)", line)
            if found:
                kinds[found.group(1)] = kinds.get(found.group(1), 0) + 1
        if kinds:
            listed = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            self.say(stage, f"  created by the emulator from the template (moto's CloudFormation cannot): {listed}")

    # ---- stage 2: ingestion ---------------------------------------------------------------------------------

    def sample(self, *, days: int, start: datetime, seed: int, drift: float = 0.0, concept: bool = False) -> Any:
        return sample_data.generate(
            sample_data.SampleConfig(
                customers=self.config.customers,
                days=days,
                seed=seed,
                start=start,
                covariate_drift=drift,
                concept_drift=concept,
                fraud_incidents_per_customer_day=self.config.fraud_rate,
                # Each sample continues the world the earlier ones landed: no simulated history before it.
                history_days=0,
            )
        )

    def land(self, stage: str, data: Any, *, name: str) -> None:
        """Raw events into the landing bucket (one JSONL file); wait until the ingestion Lambda put them all."""
        landing = self.bucket("Landing")
        key = f"landing/{MODEL}/{name}.jsonl"
        body = "".join(json.dumps(event, sort_keys=True) + "\n" for event in data.events).encode()
        self.client("s3").put_object(Bucket=landing, Key=key, Body=body)
        self.say(stage, f"{len(data.events)} raw card transactions landed in s3://{landing}/{key}")
        latest: dict[str, str] = {}
        for event in data.events:
            parsed = parse_event(event)
            customer = parsed.customer_id
            stamp = format_event_time(parsed.event_time)
            latest[customer] = max(latest.get(customer, ""), stamp)
        runtime = self.client("sagemaker-featurestore-runtime")
        group = self.deployment.feature_group_name("transaction")

        def all_in_online_store() -> bool:
            for customer, stamp in latest.items():
                record = runtime.get_record(FeatureGroupName=group, RecordIdentifierValueAsString=customer).get(
                    "Record"
                )
                values = {f["FeatureName"]: f["ValueAsString"] for f in record or []}
                if values.get("event_time", "") < stamp:
                    return False
            return True

        wait_for(f"the ingestion of {key}", all_in_online_store, timeout=self.config.timeout_seconds, interval=1.0)
        self.say(
            stage,
            f"the ingestion rule ran the ingestion Lambda: the online store holds the latest transaction of all "
            f"{len(latest)} customers",
        )

    def land_labels(self, stage: str, labels: Sequence[dict[str, Any]], *, name: str) -> None:
        """Ground truth arrives: the labels as Parquet under the labels table's location."""
        database, table_name = self.labels_table()
        table = self.client("glue").get_table(DatabaseName=database, Name=table_name)["Table"]
        bucket, _, prefix = table["StorageDescriptor"]["Location"].removeprefix("s3://").partition("/")
        path = self.work / f"{name}.parquet"
        pq.write_table(sample_data.labels_table(labels), path)
        self.client("s3").put_object(Bucket=bucket, Key=f"{prefix}{name}.parquet", Body=path.read_bytes())
        frauds = sum(int(row[sample_data.LABEL]) for row in labels)
        self.say(stage, f"{len(labels)} labels ({frauds} fraud) arrived under s3://{bucket}/{prefix}")

    def labels_table(self) -> tuple[str, str]:
        """(database, table) of the model's labels, as deployed."""
        glue = self.client("glue")
        wanted = f"{self.deployment.prefix}_labels".replace("-", "_")
        for database in glue.get_databases()["DatabaseList"]:
            for table in glue.get_tables(DatabaseName=database["Name"])["TableList"]:
                if table["Name"] == wanted:
                    return str(database["Name"]), wanted
        raise StoryError(f"no Glue table {wanted} is deployed")

    def flush_offline_store(self, stage: str) -> None:
        """Feature Store fills the offline store by itself within minutes; the story does not wait for it."""
        files = self.demo_api("featurestore/flush", {})["files"]
        self.say(stage, f"the offline store received {len(files)} Parquet file(s) (Feature Store's layout)")

    # ---- stage 3: the first model ---------------------------------------------------------------------------

    def run_pipeline(self, stage: str, *, window_start: str, window_end: str) -> dict[str, Any]:
        sagemaker = self.client("sagemaker")
        started = sagemaker.start_pipeline_execution(
            PipelineName=self.deployment.pipeline_name,
            PipelineExecutionDisplayName="first-model",
            PipelineParameters=[
                {"Name": "WindowStart", "Value": window_start},
                {"Name": "WindowEnd", "Value": window_end},
            ],
        )
        arn = started["PipelineExecutionArn"]
        self.say(stage, f"pipeline {self.deployment.pipeline_name} started on {window_start} .. {window_end}")

        def ended() -> dict[str, Any] | None:
            described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
            return None if described["PipelineExecutionStatus"] == "Executing" else dict(described)

        described = wait_for("the pipeline execution", ended, timeout=self.config.timeout_seconds)
        steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
        self.say(stage, "steps: " + ", ".join(f"{s['StepName']} {s['StepStatus']}" for s in reversed(steps)))
        if described["PipelineExecutionStatus"] != "Succeeded":
            raise StoryError(
                f"the pipeline ended {described['PipelineExecutionStatus']}: {described.get('FailureReason')}"
            )
        return described

    def registered_by(self, execution_arn: str) -> str | None:
        sagemaker = self.client("sagemaker")
        execution_id = execution_arn.rsplit("/", 1)[-1]
        summaries = sagemaker.list_model_packages(
            ModelPackageGroupName=self.deployment.model_package_group_name,
            SortBy="CreationTime",
            SortOrder="Descending",
        )["ModelPackageSummaryList"]
        for summary in summaries:
            package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
            if str(package.get("MetadataProperties", {}).get("GeneratedBy", "")).endswith(f"/{execution_id}"):
                return str(summary["ModelPackageArn"])
        return None

    def first_model(self, *, window_start: str, window_end: str) -> str:
        stage = "first model"
        described = self.run_pipeline(stage, window_start=window_start, window_end=window_end)
        package = self.registered_by(described["PipelineExecutionArn"])
        if package is None:
            raise StoryError("the first pipeline execution registered no model package")
        evaluation = self.evaluation(described["PipelineExecutionArn"])
        self.say(stage, f"registered {package} (test {evaluation})")
        self.cli("tools.bootstrap_serving", "--package", package)
        pointer = self.pointer()
        if pointer != package:
            raise StoryError(f"the serving pointer names {pointer}, not the first model {package}")
        pointer_name = self.deployment.serving_pointer_parameter
        self.say(stage, f"tools.bootstrap_serving --package approved it and set {pointer_name}")
        return package

    def evaluation(self, execution_arn: str) -> str:
        execution_id = execution_arn.rsplit("/", 1)[-1]
        key = f"pipelines/{self.deployment.pipeline_name}/{execution_id}/decision/decision.json"
        try:
            body = self.client("s3").get_object(Bucket=self.bucket("Artifacts"), Key=key)["Body"].read()
        except Exception:
            return "no decision file"
        decision = json.loads(body)
        return f"{decision.get('reason', '?')}; register: {decision.get('register')}"

    def deploy_rest(self, package: str) -> None:
        stage = "first model"
        step = deploy.deploy(self.info, self.paths, deploy.REST_STACKS, quiet=True)
        self.say(stage, f"cdk deploy {' '.join(deploy.REST_STACKS)} in {step.seconds:.0f} s")
        self.emulated(stage, step.emulated)
        sagemaker = self.client("sagemaker")
        endpoint = sagemaker.describe_endpoint(EndpointName=self.deployment.endpoint_name)
        served = self.served_package(endpoint)
        if endpoint["EndpointStatus"] != "InService" or served != package:
            raise StoryError(f"the endpoint is {endpoint['EndpointStatus']} serving {served}, not {package}")
        self.say(stage, f"endpoint {self.deployment.endpoint_name} is InService serving that package")

    def served_package(self, endpoint: dict[str, Any]) -> str:
        sagemaker = self.client("sagemaker")
        config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        containers = model.get("Containers") or [model.get("PrimaryContainer", {})]
        return str(containers[0].get("ModelPackageName", ""))

    # ---- stage 4: traffic ------------------------------------------------------------------------------------

    def demo_api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The emulator's own control routes (``/moto-api/demo/...``): flush, alarms, schedules, clock."""
        request = urllib.request.Request(  # noqa: S310 - the loopback emulator
            f"{self.info.endpoint_url}/moto-api/demo/{path}",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    def score_one(self, customer: str, inference_id: str) -> dict[str, Any]:
        return self.invoke(SCORE_HANDLER, {"entity_id": customer, "inference_id": inference_id})

    def flush(self, stage: str) -> list[str]:
        files: list[str] = self.demo_api("endpoints/flush", {})["capture_files"]
        if files:
            self.say(stage, f"{len(files)} data-capture file(s) written, e.g. {files[0]}")
        return files

    def score(self, stage: str, customers: Sequence[str], *, label: str) -> list[float]:
        """One request per customer through the real score Lambda (its latest features)."""
        with ThreadPoolExecutor(max_workers=SCORING_THREADS) as pool:
            answers = list(pool.map(lambda c: self.score_one(c[1], f"{label}-{c[0]:05d}"), enumerate(customers)))
        scores = [float(a["score"]) for a in answers]
        variants = sorted({str(a.get("variant")) for a in answers})
        self.say(
            stage,
            f"{len(scores)} requests through the score Lambda to {self.deployment.endpoint_name} (variant "
            f"{', '.join(variants)}): mean fraud score {sum(scores) / len(scores):.3f}",
        )
        self.flush(stage)
        return scores

    def live(self, stage: str, data: Any, *, label: str) -> list[float]:
        """A day of transactions as they happen: each one through the single-event ingestion Lambda, then
        scored through the score Lambda (customers in parallel, each customer's transactions in order)."""
        by_customer: dict[str, list[dict[str, Any]]] = {}
        for event in sorted(data.events, key=lambda e: str(e["event_time"])):
            by_customer.setdefault(str(event["customer_id"]), []).append(event)

        def one_customer(item: tuple[int, tuple[str, list[dict[str, Any]]]]) -> list[float]:
            index, (customer, events) = item
            scores = []
            for number, event in enumerate(events):
                self.invoke(EVENT_INGESTION_HANDLER, event)
                scores.append(float(self.score_one(customer, f"{label}-{index:04d}-{number:03d}")["score"]))
            return scores

        with ThreadPoolExecutor(max_workers=SCORING_THREADS) as pool:
            scores = [x for batch in pool.map(one_customer, enumerate(sorted(by_customer.items()))) for x in batch]
        frauds = sum(int(row[sample_data.LABEL]) for row in data.labels)
        self.say(
            stage,
            f"{len(scores)} transactions ({frauds} fraud) ingested one by one and scored through the score Lambda: "
            f"mean fraud score {sum(scores) / max(1, len(scores)):.3f}",
        )
        self.flush(stage)
        return scores

    def latest_customers(self, data: Any) -> list[str]:
        return sorted({str(event["customer_id"]) for event in data.events})

    # ---- stage 5: drift -------------------------------------------------------------------------------------

    def drift_rule(self) -> str:
        for page in self.client("events").get_paginator("list_rules").paginate():
            for rule in page["Rules"]:
                if rule.get("ScheduleExpression") and "Drift" in rule["Name"]:
                    return str(rule["Name"])
        raise StoryError("no drift schedule rule is deployed")

    def state_machine(self, fragment: str) -> str:
        for page in self.client("stepfunctions").get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if fragment in machine["name"]:
                    return str(machine["stateMachineArn"])
        raise StoryError(f"no state machine named like {fragment!r} is deployed")

    def executions(self, machine: str) -> list[dict[str, Any]]:
        listed = self.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
        return sorted(listed, key=lambda e: e["startDate"])

    def finished(
        self,
        execution_arn: str,
        *,
        stage: str,
        timeout: float | None = None,
        on_state: Callable[[str, list[dict[str, Any]]], None] | None = None,
    ) -> dict[str, Any]:
        """Follow an execution, one line per state entered, until it ends; returns DescribeExecution."""
        sfn = self.client("stepfunctions")
        seen = 0
        deadline = time.monotonic() + (timeout or self.config.timeout_seconds)
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            history = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
            entered = [e for e in history if e["type"].endswith("StateEntered")]
            for event in entered[seen:]:
                name = event["stateEnteredEventDetails"]["name"]
                self.say(stage, f"  state {name}")
                if on_state is not None:
                    on_state(name, history)
            seen = len(entered)
            if described["status"] != "RUNNING":
                return dict(described)
            if time.monotonic() > deadline:
                raise StoryError(f"execution {execution_arn} still RUNNING after {timeout} s")
            time.sleep(0.5)

    def drift(self, stage: str, capture_hour: datetime) -> str:
        """Fire the hourly drift schedule for the hour the captures are in; judge the alarms; returns the
        retraining execution the drift alarm started."""
        scheduled = capture_hour + timedelta(hours=1, minutes=10)
        rule = self.drift_rule()
        machine = self.state_machine("DriftJob")
        before = {e["executionArn"] for e in self.executions(machine)}
        self.demo_api("events/schedule", {"rule": rule, "time": iso(scheduled)})
        self.say(
            stage, f"the drift schedule fired for {iso(scheduled)} (window {capture_hour:%H}:00-{scheduled:%H}:00)"
        )
        execution = wait_for(
            "the drift workflow to start",
            lambda: [e for e in self.executions(machine) if e["executionArn"] not in before],
            timeout=60,
        )[0]
        described = self.finished(execution["executionArn"], stage=stage)
        if described["status"] != "SUCCEEDED":
            raise StoryError(f"the drift workflow ended {described['status']}: {described.get('cause')}")
        output = json.loads(described["output"])
        report_uri = f"{output['window']['output_prefix']}/report"
        bucket, _, prefix = report_uri.removeprefix("s3://").partition("/")
        s3 = self.client("s3")
        report = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}/drift_report.json")["Body"].read())
        drifted = list(report.get("drifted_features", []))
        records = report.get("read", {}).get("records")
        self.say(
            stage,
            f"the drift job compared {records} captured requests with the model's baseline: drifted: "
            f"{', '.join(drifted) or 'nothing'}",
        )
        html = self.work / "drift_report.html"
        s3.download_file(bucket, f"{prefix}/report.html", str(html))
        self.say(stage, f"drift report: {html}")
        self.report_html = html
        changes = self.demo_api("alarms/evaluate", {"now": iso(scheduled + timedelta(minutes=5))})["changes"]
        alarming = [c for c in changes if c["state"] == "ALARM"]
        self.say(
            stage,
            f"CloudWatch evaluated {len(changes)} alarm(s) that changed state; in ALARM: "
            + ", ".join(c["alarm"] for c in alarming),
        )
        drift_alarm = f"{self.deployment.prefix}-drift"
        if not any(c["alarm"] == drift_alarm and c["state"] == "ALARM" for c in changes):
            raise StoryError(f"{drift_alarm} did not go to ALARM")
        retraining = self.state_machine("retraining")
        started = wait_for(
            "the retraining loop to start from the alarm",
            lambda: [e for e in self.executions(retraining) if e["name"].startswith("alarm-")],
            timeout=60,
        )[-1]
        self.say(stage, f"the alarm's event ran the trigger Lambda: retraining execution {started['name']} started")
        return str(started["executionArn"])

    # ---- stage 6: the retraining loop -----------------------------------------------------------------------

    def pointer(self) -> str:
        return str(
            self.client("ssm").get_parameter(Name=self.deployment.serving_pointer_parameter)["Parameter"]["Value"]
        )

    def loop(
        self,
        stage: str,
        execution_arn: str,
        *,
        expect: str,
        on_state: Callable[[str, list[dict[str, Any]]], None] | None = None,
    ) -> dict[str, Any]:
        before = self.pointer()
        described = self.finished(execution_arn, stage=stage, on_state=on_state)
        state = json.loads(described.get("output") or "{}")
        outcome = self.outcome(execution_arn)
        self.say(stage, f"execution {described['status']}: outcome {outcome}")
        pipeline = (state.get("pipeline") or {}).get("pipeline_execution_arn")
        if pipeline:
            self.say(stage, f"  pipeline: {self.evaluation(pipeline)}")
        if outcome != expect:
            record = self.run_record(execution_arn)
            why = record.outcome_reason if record is not None else described.get("cause")
            raise StoryError(f"the retraining run ended {outcome}, expected {expect}: {why}")
        record = self.run_record(execution_arn)
        if record is None or record.outcome != expect:
            raise StoryError(f"the retraining state table recorded {record} for this run, not outcome {expect}")
        reason = f": {record.outcome_reason}" if record.outcome_reason else ""
        self.say(stage, f"the run's record in the retraining state table says {record.outcome}{reason}")
        endpoint = self.client("sagemaker").describe_endpoint(EndpointName=self.deployment.endpoint_name)
        served, pointer = self.served_package(endpoint), self.pointer()
        if served != pointer:
            raise StoryError(f"the endpoint serves {served} but the pointer names {pointer}")
        if expect == "promoted" and pointer == before:
            raise StoryError("promoted, but the serving pointer did not move")
        if expect != "promoted" and pointer != before:
            raise StoryError(f"{expect}, but the serving pointer moved from {before} to {pointer}")
        self.say(stage, f"the endpoint serves {served} = the serving pointer")
        tags = self.client("sagemaker").list_tags(ResourceArn=pointer)["Tags"]
        if {"Key": CHAMPION_TAG, "Value": "true"} not in tags:
            raise StoryError(f"the serving package {pointer} is not tagged {CHAMPION_TAG}")
        return dict(state)

    def run_record(self, execution_arn: str) -> Run | Skip | None:
        """What the loop recorded of the run in its state table (the CLI's and the next guard's view)."""
        target = Target.of(self.deployment)
        store = StateStore(
            dynamodb=self.client("dynamodb"),
            table=target.state_table,
            model_name=target.model,
            environment=target.environment,
        )
        return store.record_of(execution_arn.rsplit(":", 1)[-1])

    def outcome(self, execution_arn: str) -> str:
        """The run's ending: the state machine's ``Outcome-<outcome>`` state the execution went through."""
        history = self.client("stepfunctions").get_execution_history(
            executionArn=execution_arn, maxResults=1000, reverseOrder=True
        )["events"]
        for event in history:
            name = (event.get("stateEnteredEventDetails") or {}).get("name", "")
            if name.startswith("Outcome-"):
                return str(name.removeprefix("Outcome-"))
        return "no outcome"

    def retrain(self, stage: str, reason: str) -> str:
        """The on-call CLI's ``retrain``; returns the execution it started."""
        started = json.loads(self.cli("tools.mlops_cli", "retrain", "--reason", reason, "--json"))
        self.say(stage, f"on-call CLI: retrain --reason {reason!r}: execution {started['execution_name']}")
        return str(started["execution_arn"])

    def clock(self) -> dict[str, Any]:
        """The emulator's clock: ``now`` (a datetime), ``offset_seconds`` from real time, ``speedup``."""
        answer = self.demo_api("clock", {})
        return {**answer, "now": datetime.fromisoformat(str(answer["now"]))}

    def traffic_pace(self) -> float:
        """Seconds between the background requests of each traffic thread, so that a bake (``bake_minutes``
        compressed ``speedup`` times on the emulator's clock) holds ``BAKE_TRAFFIC_MARGIN`` times the
        ``min_invocations`` the deployed comparison needs."""
        variables = self.function(COMPARE_HANDLER)["Environment"]["Variables"]
        settings = StrategySettings.from_json(variables["DEPLOYMENT_SETTINGS"])
        bake_seconds = settings.bake_minutes * 60 / float(self.clock()["speedup"])
        per_second = BAKE_TRAFFIC_MARGIN * settings.min_invocations / bake_seconds
        self.say(
            "traffic",
            f"background traffic: {per_second:.0f} requests/s, so that a {settings.bake_minutes} min bake "
            f"({bake_seconds:.0f} s here) holds {BAKE_TRAFFIC_MARGIN:g}x the {settings.min_invocations} "
            "invocations the comparison needs",
        )
        return TRAFFIC_THREADS / per_second

    def advance(self, stage: str, seconds: float, why: str) -> None:
        moved = self.demo_api("clock", {"advance_seconds": seconds})
        self.say(stage, f"the state machines' clock moves {timedelta(seconds=seconds)} ahead ({why}): {moved['now']}")

    def relabel(self, stage: str, labels: Sequence[dict[str, Any]], *, shuffled: bool) -> None:
        """Rewrite the labels under the labels table (shuffled: a labelling bug; else: corrected)."""
        rows = [dict(row) for row in labels]
        if shuffled:
            values = [row[sample_data.LABEL] for row in rows]
            np.random.default_rng(self.config.seed).shuffle(values)
            for row, value in zip(rows, values, strict=True):
                row[sample_data.LABEL] = value
        database, name = self.labels_table()
        table = self.client("glue").get_table(DatabaseName=database, Name=name)["Table"]
        bucket, _, prefix = table["StorageDescriptor"]["Location"].removeprefix("s3://").partition("/")
        s3 = self.client("s3")
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        self.land_labels(stage, rows, name="labels-shuffled" if shuffled else "labels")

    def fault_on_candidate(self, stage: str) -> Callable[[str, list[dict[str, Any]]], None]:
        """A hook for ``loop``: when the bake starts, the candidate's containers get slow and failing."""
        done: list[str] = []

        def hook(state_name: str, history: list[dict[str, Any]]) -> None:
            if done or state_name != "Bake":
                return
            outputs = [
                json.loads(e["stateExitedEventDetails"]["output"])
                for e in history
                if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "CheckRegistration"
            ]
            package = outputs[-1]["registration"]["model_package_arn"] if outputs else None
            if not package:
                return
            described = self.client("sagemaker").describe_model_package(ModelPackageName=package)
            url = described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
            self.demo_api("endpoints/faults", {"model_data_url": url, **CANDIDATE_FAULT})
            done.append(url)
            self.say(
                stage,
                f"fault injected into the candidate's containers: +{CANDIDATE_FAULT['latency_ms']:.0f} ms, "
                f"{CANDIDATE_FAULT['error_rate']:.0%} of requests fail (a model that regresses in production)",
            )

        return hook

    def status(self) -> str:
        return self.cli("tools.mlops_cli", "status")


class Traffic:
    """Requests that keep coming while the loop runs (a deployment is baked and compared on real traffic):
    ``TRAFFIC_THREADS`` clients, each sending one request every ``every_seconds`` (less the request's time)."""

    def __init__(self, story: Story, customers: Sequence[str], *, every_seconds: float = 0.2) -> None:
        self.story, self.customers, self.every = story, list(customers), every_seconds
        self.sent = self.failed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(index,), name=f"traffic-{index}", daemon=True)
            for index in range(TRAFFIC_THREADS)
        ]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self, index: int) -> None:
        rng = np.random.default_rng(index)
        pause = 0.0
        while not self._stop.wait(pause):
            started = time.monotonic()
            customer = self.customers[int(rng.integers(len(self.customers)))]
            with self._lock:
                number = self.sent
                self.sent += 1
            try:
                self.story.score_one(customer, f"bg-{number:06d}")
            except StoryError:
                with self._lock:
                    self.failed += 1
            pause = max(0.0, self.every - (time.monotonic() - started))


def run(
    paths: DemoPaths,
    *,
    config: StoryConfig,
    port: int = 0,
    reuse_synth: bool = False,
    echo: Callable[[str], None] = print,
) -> Timeline:
    """The whole story on a fresh emulator; leaves the emulator running. Raises ``StoryError`` on a miss."""
    timeline = Timeline(echo=echo)
    info = deploy.start_emulator(paths, port=port)
    story = Story(info=info, paths=paths, config=config, timeline=timeline)
    story.deploy_first_stacks(synth=not (reuse_synth and (paths.cdk_out / "manifest.json").is_file()))
    base = story.sample(days=config.base_days, start=story.data_start, seed=config.seed)
    story.land("ingest", base, name="base")
    story.land_labels("ingest", base.labels, name="base")
    story.flush_offline_store("ingest")

    package = story.first_model(window_start=iso(story.data_start), window_end=iso(story.drift_start))
    story.deploy_rest(package)
    customers = story.latest_customers(base)
    story.score("traffic", customers[: config.customers // 2], label="clean")

    history = story.sample(days=config.drift_days - 1, start=story.drift_start, seed=config.seed + 1, **DRIFT)
    story.land("drift", history, name="drifted-history")
    today = story.sample(days=1, start=story.today, seed=config.seed + 2, **DRIFT)
    capture_hour = story.clock()["now"].replace(minute=0, second=0, microsecond=0)
    story.live("drift", today, label="today")
    labels = [*base.labels, *history.labels, *today.labels]
    story.land_labels("drift", [*history.labels, *today.labels], name="drifted")
    story.flush_offline_store("drift")
    execution = story.drift("drift", capture_hour)

    if config.retraining_runs < 1:
        story.say("status", "the retraining loop runs on in the emulator; follow it with the on-call CLI")
        story.say("status", f"drift report: {story.report_html}")
        for line in story.status().splitlines():
            story.say("status", line)
        return timeline
    # The bakes are compressed on the emulator's clock, which also stamps the endpoint's metrics: the traffic is
    # sized so that a compressed bake holds enough requests for the deployed comparison (``Story.traffic_pace``).
    with Traffic(story, customers, every_seconds=story.traffic_pace()) as traffic:
        story.loop("retrain 1", execution, expect="promoted")
        skipped = story.retrain("retrain 1", "right after the promotion")
        story.loop("retrain 1", skipped, expect="skipped")

        if config.retraining_runs >= 2:
            cooldown = story.env.retraining.cooldown_hours * 3600
            story.advance("retrain 2", cooldown + 60, f"past the {story.env.retraining.cooldown_hours} h cooldown")
            story.relabel("retrain 2", labels, shuffled=True)
            story.loop("retrain 2", story.retrain("retrain 2", "labels shuffled"), expect="not_better")

        if config.retraining_runs >= 3:
            later = story.sample(
                days=config.later_days, start=story.today + timedelta(days=1), seed=config.seed + 3, **DRIFT
            )
            story.advance("retrain 3", config.later_days * 86400, f"{config.later_days} days later")
            story.land("retrain 3", later, name="later")
            story.flush_offline_store("retrain 3")
            story.relabel("retrain 3", [*labels, *later.labels], shuffled=False)
            execution = story.retrain("retrain 3", "more data; the candidate regresses in the bake")
            story.loop("retrain 3", execution, expect="rolled_back", on_state=story.fault_on_candidate("retrain 3"))
    story.say("status", f"background traffic during the runs: {traffic.sent} requests, {traffic.failed} failed")
    story.say("status", f"drift report: {story.report_html}")
    for line in story.status().splitlines():
        story.say("status", line)
    return timeline
