"""The dev stage deployed into the demo's local AWS by the real CDK CLI, then checked through the AWS API.

One module-scoped deployment (about a minute and a half on two cores): the DEV stage synthesized in-process
with the ``cdk.json`` context, the emulator started in the background on a free port
(``tools.demo.server.launcher``), ``cdk bootstrap`` and ``cdk deploy`` with the CLI pinned in package.json
(``tools.demo.server.deploy``): platform and training first, then the serving pointer set by the real
``tools.bootstrap_serving`` from a real local pipeline run, then the rest. The tests read everything back
through boto3 and compare it with the synthesized templates, and run deployed code: a Lambda's real handler,
an EventBridge rule into the trigger Lambda and the retraining state machine, raw events through the ingestion
rule and Lambda into the Feature Store runtime, a pipeline execution's real Dataset step (Athena), and the
drift state machine's processing jobs (``createProcessingJob.sync``), the last three routed by the server to
``tools.demo.emulators``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from config import FRAUD_DETECTION
from lambdas.shared.features import format_event_time, parse_event
from monitoring_job.synthetic import capture_lines, fraud_features, generate
from pipeline_defs.local_run import LocalRunConfig, run
from tests.support.synth import ROOT, Synthesized, synthesize
from tools.demo.server import deploy, launcher
from tools.demo.server.environment import DemoPaths, demo_environment

if not (ROOT / "node_modules" / ".bin" / "cdk").exists():
    pytest.skip("node_modules is missing (the pinned CDK CLI): run `make setup`", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]

MODEL = "fraud-detection"
POLL_SECONDS = 60.0


@dataclass(frozen=True)
class Deployed:
    info: launcher.ServerInfo
    paths: DemoPaths
    synth: Synthesized
    steps: list[deploy.Step]
    local_run: Path

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.info.endpoint_url,
            region_name=self.info.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def templates(self) -> dict[str, dict[str, Any]]:
        return {stack: template for (env, stack), template in self.synth.templates.items() if env == "dev"}

    def resources(self, resource_type: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (stack, resource)
            for stack, template in self.templates().items()
            for resource in template["Resources"].values()
            if resource["Type"] == resource_type
        ]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("demo")
    paths = DemoPaths(root / "state")
    paths.root.mkdir()
    # The demo deploys the example model, the one its local pipeline run trains and bootstraps (`make demo`
    # synthesizes app.py, whose MODELS it is): an added model's serving stack would need its own first model.
    synth = synthesize(paths.cdk_out, environments=[demo_environment()], models=[FRAUD_DETECTION])
    local_run = root / "pipeline-local"
    run(LocalRunConfig(out=local_run, seed=7, customers=150, days=30))
    info = deploy.start_emulator(paths)
    try:
        steps = [
            deploy.bootstrap(info, paths, quiet=True),
            deploy.deploy(info, paths, deploy.FIRST_STACKS, quiet=True),
            *deploy.bootstrap_serving(info, paths, local_run=local_run, quiet=True),
            deploy.deploy(info, paths, deploy.REST_STACKS, quiet=True),
        ]
        yield Deployed(info=info, paths=paths, synth=synth, steps=steps, local_run=local_run)
    finally:
        launcher.stop(paths)


def poll(what: str, probe: Any, *, timeout: float = POLL_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.5)


def function_by_handler(deployed: Deployed, handler: str) -> dict[str, Any]:
    functions = deployed.client("lambda").list_functions()["Functions"]
    return next(f for f in functions if f["Handler"] == handler)


# ---- what was deployed ------------------------------------------------------------------------------------------


def test_every_dev_stack_is_create_complete(deployed: Deployed) -> None:
    stacks = {s["StackName"]: s["StackStatus"] for s in deployed.client("cloudformation").describe_stacks()["Stacks"]}
    expected = {f"mlops-dev-{name}" for name in ("platform", *(f"{MODEL}-{s}" for s in ("training", "serving")))}
    expected |= {f"mlops-dev-{MODEL}-monitoring", f"mlops-dev-{MODEL}-retraining", "CDKToolkit"}
    assert stacks == dict.fromkeys(expected, "CREATE_COMPLETE")


def test_the_emulator_reports_what_it_created_outside_cloudformation(deployed: Deployed) -> None:
    emulated = " ".join(line for step in deployed.steps for line in step.emulated)
    for resource_type in (
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::SageMaker::FeatureGroup",
        "AWS::SageMaker::Pipeline",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::Glue::Database",
        "AWS::Athena::WorkGroup",
    ):
        assert f"{resource_type} " in emulated


def test_every_lambda_of_the_templates_exists_with_its_handler_and_environment(deployed: Deployed) -> None:
    functions = deployed.client("lambda").list_functions()["Functions"]
    templated = deployed.resources("AWS::Lambda::Function")
    assert Counter(f["Handler"] for f in functions) == Counter(r["Properties"]["Handler"] for _, r in templated)
    by_handler = {f["Handler"]: f for f in functions}
    for _, resource in templated:
        handler = resource["Properties"]["Handler"]
        expected = set(resource["Properties"].get("Environment", {}).get("Variables", {}))
        if handler.startswith("lambdas."):
            deployed_env = by_handler[handler].get("Environment", {}).get("Variables", {})
            assert set(deployed_env) == expected, handler
            assert all(isinstance(v, str) and "Fn::" not in v and "{{" not in v for v in deployed_env.values())


def test_state_machines_exist_with_the_rendered_definitions(deployed: Deployed) -> None:
    sfn, lambda_ = deployed.client("stepfunctions"), deployed.client("lambda")
    deployed_machines = [
        json.loads(sfn.describe_state_machine(stateMachineArn=m["stateMachineArn"])["definition"])
        for m in sfn.list_state_machines()["stateMachines"]
    ]

    def template_states(resource: dict[str, Any]) -> set[str]:
        separator, parts = resource["Properties"]["DefinitionString"]["Fn::Join"]
        text = separator.join(p if isinstance(p, str) else "x" for p in parts)
        return set(json.loads(text)["States"])

    templated = [template_states(r) for _, r in deployed.resources("AWS::StepFunctions::StateMachine")]
    assert sorted(map(sorted, templated)) == sorted(sorted(d["States"]) for d in deployed_machines)
    for definition in deployed_machines:
        for state in definition["States"].values():
            function = state.get("Parameters", {}).get("FunctionName") if isinstance(state, dict) else None
            if function:  # every Lambda task names a deployed function (Fn::GetAtt resolved by CloudFormation)
                assert lambda_.get_function(FunctionName=function)["Configuration"]["FunctionArn"] == function


def test_alarms_are_created_from_the_templates_in_insufficient_data(deployed: Deployed) -> None:
    described = deployed.client("cloudwatch").describe_alarms(MaxRecords=100)
    metric = {a["AlarmName"]: a for a in described["MetricAlarms"]}
    composite = {a["AlarmName"]: a for a in described["CompositeAlarms"]}
    assert set(metric) == {r["Properties"]["AlarmName"] for _, r in deployed.resources("AWS::CloudWatch::Alarm")}
    templated_composites = deployed.resources("AWS::CloudWatch::CompositeAlarm")
    assert set(composite) == {r["Properties"]["AlarmName"] for _, r in templated_composites}
    drift = composite[f"{MODEL}-dev-drift"]
    assert f'ALARM("arn:aws:cloudwatch:us-east-1:111111111111:alarm:{MODEL}-dev-drift-amount")' in drift["AlarmRule"]
    assert {a["StateValue"] for a in [*metric.values(), *composite.values()]} == {"INSUFFICIENT_DATA"}
    topics = {t["TopicArn"] for t in deployed.client("sns").list_topics()["Topics"]}
    drift_amount = metric[f"{MODEL}-dev-drift-amount"]
    # Fn::GetStackOutput (weak cross-stack reference) resolved to the platform stack's owner topic
    assert drift_amount["AlarmActions"]
    assert set(drift_amount["AlarmActions"]) <= topics
    assert drift_amount["Dimensions"] == [
        {"Name": "Environment", "Value": "dev"},
        {"Name": "Feature", "Value": "amount"},
        {"Name": "Model", "Value": MODEL},
    ]


def test_rules_exist_with_patterns_and_targets_that_resolve(deployed: Deployed) -> None:
    events, lambda_, sfn = deployed.client("events"), deployed.client("lambda"), deployed.client("stepfunctions")
    rules = events.list_rules()["Rules"]
    templated = deployed.resources("AWS::Events::Rule")
    assert len(rules) == len(templated)
    patterns = sorted((json.loads(r["EventPattern"]) for r in rules if r.get("EventPattern")), key=json.dumps)
    templated_patterns = [r["Properties"]["EventPattern"] for _, r in templated if "EventPattern" in r["Properties"]]
    assert patterns == sorted(templated_patterns, key=json.dumps)
    for rule in rules:
        for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
            service = target["Arn"].split(":")[2]
            if service == "lambda":
                lambda_.get_function(FunctionName=target["Arn"])
            else:
                assert service == "states"
                sfn.describe_state_machine(stateMachineArn=target["Arn"])


def test_the_endpoint_serves_the_package_the_serving_pointer_names(deployed: Deployed) -> None:
    sagemaker, ssm = deployed.client("sagemaker"), deployed.client("ssm")
    endpoint = sagemaker.describe_endpoint(EndpointName=f"{MODEL}-dev")
    assert endpoint["EndpointStatus"] == "InService"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    pointer = ssm.get_parameter(Name=f"/mlops/{MODEL}/dev/serving-model-package-arn")["Parameter"]["Value"]
    assert model["Containers"] == [{"ModelPackageName": pointer}]  # {{resolve:ssm:...}} resolved at deploy time
    package = sagemaker.describe_model_package(ModelPackageName=pointer)
    assert package["ModelPackageGroupName"] == f"{MODEL}-dev"
    assert package["ModelApprovalStatus"] == "Approved"
    capture = config["DataCaptureConfig"]
    assert capture["DestinationS3Uri"].startswith("s3://mlops-dev-111111111111-us-east-1-datacapture/")


def test_the_pipeline_and_the_feature_groups_exist_as_the_templates_define(deployed: Deployed) -> None:
    sagemaker, glue = deployed.client("sagemaker"), deployed.client("glue")
    pipeline = sagemaker.describe_pipeline(PipelineName=f"{MODEL}-dev-training")
    synthesized = json.loads(next(deployed.synth.outdir.glob("assembly-dev/*.pipeline-definition.json")).read_text())
    assert [s["Name"] for s in json.loads(pipeline["PipelineDefinition"])["Steps"]] == [
        s["Name"] for s in synthesized["Steps"]
    ]
    for _, resource in deployed.resources("AWS::SageMaker::FeatureGroup"):
        properties = resource["Properties"]
        group = sagemaker.describe_feature_group(FeatureGroupName=properties["FeatureGroupName"])
        assert group["OnlineStoreConfig"]["EnableOnlineStore"] is True
        assert group["FeatureDefinitions"] == properties["FeatureDefinitions"]
        resolved = group["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]
        assert f"/111111111111/sagemaker/us-east-1/offline-store/{properties['FeatureGroupName']}-" in resolved
        catalog = group["OfflineStoreConfig"]["DataCatalogConfig"]
        table = glue.get_table(DatabaseName=catalog["Database"], Name=catalog["TableName"])["Table"]
        assert table["StorageDescriptor"]["Location"] == resolved


# ---- deployed code runs -----------------------------------------------------------------------------------------


def test_a_deployed_lambda_runs_its_real_handler_with_lambdas_error_contract(deployed: Deployed) -> None:
    lambda_ = deployed.client("lambda")
    window = function_by_handler(deployed, "lambdas.monitoring.window.handler")
    response = lambda_.invoke(FunctionName=window["FunctionName"], Payload=json.dumps({"time": "2026-03-02T12:10:00Z"}))
    result = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert (result["window_id"], result["window_start"], result["object_count"]) == (
        "20260302T11",
        "2026-03-02T11:00:00Z",
        0,
    )
    assert result["output_prefix"].startswith(f"s3://{window['Environment']['Variables']['REPORTS_BUCKET']}/")
    failed = lambda_.invoke(FunctionName=window["FunctionName"], Payload=json.dumps({"time": 12}))
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "MalformedScheduleEvent"


def test_an_alarm_event_runs_the_trigger_lambda_and_starts_the_retraining_state_machine(deployed: Deployed) -> None:
    events, sfn = deployed.client("events"), deployed.client("stepfunctions")
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith(f"{MODEL}-retraining"))
    detail = {
        "alarmName": f"{MODEL}-dev-drift",
        "state": {"value": "ALARM", "reason": "test", "timestamp": "2026-03-02T12:00:00.000+0000"},
        "previousState": {"value": "OK"},
    }
    sent = events.put_events(
        Entries=[
            {"Source": "aws.cloudwatch", "DetailType": "CloudWatch Alarm State Change", "Detail": json.dumps(detail)}
        ]
    )
    assert sent["FailedEntryCount"] == 0
    execution = poll(
        "the trigger starting the loop",
        lambda: sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"],
    )[0]
    assert execution["name"].startswith("alarm-")  # the trigger handler's name for an alarm trigger

    def guard_succeeded() -> bool:
        history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        names = [e.get("stateEnteredEventDetails", {}).get("name") for e in history]
        if "Guard" not in names:
            return False
        after_guard = [e["type"] for e in history[names.index("Guard") :]]
        exited = after_guard.index("TaskStateExited") if "TaskStateExited" in after_guard else len(after_guard)
        return "LambdaFunctionSucceeded" in after_guard[:exited]  # the guard handler ran and returned

    poll("the Guard Lambda task succeeding inside the state machine", guard_succeeded)
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started["trigger"]["source"] == "alarm"


def test_landing_events_are_ingested_into_the_feature_store_through_the_eventbridge_rule(deployed: Deployed) -> None:
    """S3 -> EventBridge -> the ingestion Lambda -> Feature Store runtime PutRecord (routed to the emulator): the
    sample-data generator's raw events come back from GetRecord and reach the offline store's files; a malformed
    line is dead-lettered."""
    s3, featurestore = deployed.client("s3"), deployed.client("sagemaker-featurestore-runtime")
    batch = function_by_handler(deployed, "lambdas.ingestion.handler.s3_handler")
    variables = batch["Environment"]["Variables"]
    raw_lines = (deployed.local_run / "sample-data" / "raw" / "events.jsonl").read_text().splitlines()[:30]
    events = [parse_event(json.loads(line)) for line in raw_lines]
    landing = "mlops-dev-111111111111-us-east-1-landing"
    key = f"landing/{MODEL}/2026/03/02/events.jsonl"
    s3.put_object(Bucket=landing, Key=key, Body="\n".join([*raw_lines, "this is not json"]).encode() + b"\n")

    customer = events[0].customer_id
    latest = format_event_time(max(e.event_time for e in events if e.customer_id == customer))

    def ingested() -> dict[str, str] | None:
        record = featurestore.get_record(
            FeatureGroupName=f"{MODEL}-dev-transaction", RecordIdentifierValueAsString=customer
        ).get("Record")
        values = {f["FeatureName"]: f["ValueAsString"] for f in record or []}
        return values if values.get("event_time") == latest else None

    assert poll("the customer's latest transaction in the online store", ingested)["customer_id"] == customer
    group = deployed.client("sagemaker").describe_feature_group(FeatureGroupName=f"{MODEL}-dev-transaction")
    bucket, _, prefix = group["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"][5:].partition("/")
    offline = poll(
        "the records in the offline store",
        lambda: [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])],
    )
    assert all(k.endswith(".parquet") and "/year=" in k for k in offline)
    dead_letter_key = f"{variables['DEAD_LETTER_PREFIX']}/{landing}/{key}.jsonl"

    def dead_letter() -> bytes | None:
        try:
            return bytes(s3.get_object(Bucket=variables["DEAD_LETTER_BUCKET"], Key=dead_letter_key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    rejected = json.loads(poll("the malformed line in the dead-letter location", dead_letter))
    assert (rejected["line"], rejected["source"]) == (len(raw_lines) + 1, f"s3://{landing}/{key}")


def test_a_pipeline_execution_runs_the_deployed_steps(deployed: Deployed) -> None:
    """StartPipelineExecution (routed to the pipelines emulator) runs the deployed definition's Dataset step, whose
    real script queries Athena (routed to DuckDB); with no labels in the window it fails the way it would in
    AWS, and DescribePipelineExecution / ListPipelineExecutionSteps say so."""
    sagemaker = deployed.client("sagemaker")
    started = sagemaker.start_pipeline_execution(
        PipelineName=f"{MODEL}-dev-training",
        PipelineParameters=[
            {"Name": "WindowStart", "Value": "2025-01-01T00:00:00Z"},
            {"Name": "WindowEnd", "Value": "2025-01-02T00:00:00Z"},
        ],
    )
    arn = started["PipelineExecutionArn"]
    assert sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Executing"
    ended = poll(
        "the pipeline execution to end",
        lambda: (
            (d := sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn))["PipelineExecutionStatus"]
            != "Executing"
            and d
        ),
    )
    assert ended["PipelineExecutionStatus"] == "Failed"
    assert "no labelled events" in ended["FailureReason"]
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("Dataset", "Failed")]


def test_the_drift_workflow_runs_its_processing_jobs_to_a_report(deployed: Deployed) -> None:
    """The deployed drift state machine over an hour of captures: the window Lambda, then Analyze and Merge as
    ``sagemaker:createProcessingJob.sync`` tasks (routed to the jobs emulator, running the real drift job)."""
    s3, sfn = deployed.client("s3"), deployed.client("stepfunctions")
    features = fraud_features()
    lines = list(capture_lines(features, generate(features, 300, seed=3)))
    capture = f"{MODEL}/data-capture/{MODEL}-dev/primary/2026/03/02/11/00-00-000-test.jsonl"
    s3.put_object(Bucket="mlops-dev-111111111111-us-east-1-datacapture", Key=capture, Body="\n".join(lines).encode())
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if "DriftJob" in m["name"])
    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input='{"time": "2026-03-02T12:10:00Z"}')
    ended = poll(
        "the drift workflow to end",
        lambda: (d := sfn.describe_execution(executionArn=started["executionArn"]))["status"] != "RUNNING" and d,
    )
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    output = json.loads(ended["output"])
    assert output["analyze"]["ProcessingJobStatus"] == output["merge"]["ProcessingJobStatus"] == "Completed"
    report = json.loads(
        s3.get_object(
            Bucket="mlops-dev-111111111111-us-east-1-monitoringreports",
            Key="monitoring/fraud-detection/drift/2026/03/02/11/report/drift_report.json",
        )["Body"].read()
    )
    assert report
    metrics = deployed.client("cloudwatch").list_metrics(MetricName="FeatureDriftDetected")["Metrics"]
    assert {d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "Model"} == {MODEL}


def test_a_changed_stack_deploys_as_an_update(deployed: Deployed, tmp_path: Path) -> None:
    """A second deploy of a changed template updates the stack in place (the template parameters left at their
    defaults, Powertools' layer and BootstrapVersion, come back as UsePreviousValue)."""
    dev = demo_environment()
    changed = dataclasses.replace(dev, retraining=dataclasses.replace(dev.retraining, cooldown_hours=7))
    app = tmp_path / "cdk.out"
    synthesize(app, environments=[changed])
    deploy.deploy(deployed.info, deployed.paths, [f"dev/{MODEL}-retraining"], app=app, quiet=True)
    stack = deployed.client("cloudformation").describe_stacks(StackName=f"mlops-dev-{MODEL}-retraining")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    guard = function_by_handler(deployed, "lambdas.retraining.guard.handler")
    policy = json.loads(next(v for v in guard["Environment"]["Variables"].values() if "cooldown_hours" in v))
    assert policy["cooldown_hours"] == 7
