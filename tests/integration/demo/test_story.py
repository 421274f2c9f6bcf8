"""``make demo``'s story, run by its own driver in a smaller world (``StoryConfig.quick``), so it cannot rot.

The driver checks every outcome itself and raises ``StoryError`` on a miss (the pipeline registers the first
model, the endpoint serves it, the drift job flags the drifted features, the drift alarm goes to ALARM and its
event starts the retraining loop). This test runs it against a fresh emulator deployed with the real CDK CLI
from the DEV synthesis the other emulator tests share, then reads the end state back through the AWS API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.integration.demo.conftest import LOOPBACK_ONLY
from tests.support.synth import ROOT, Synthesized
from tools.demo import story
from tools.demo.server import launcher
from tools.demo.server.environment import DemoPaths

if not (ROOT / "node_modules" / ".bin" / "cdk").exists():
    pytest.skip("node_modules is missing (the pinned CDK CLI): run `make setup`", allow_module_level=True)

pytestmark = LOOPBACK_ONLY


@dataclass(frozen=True)
class Told:
    timeline: story.Timeline
    lines: list[str]
    paths: DemoPaths
    info: launcher.ServerInfo

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.info.endpoint_url,
            region_name=self.info.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="module")
def told(dev_synth: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Told]:
    paths = DemoPaths(tmp_path_factory.mktemp("story") / "state")
    paths.root.mkdir(parents=True)
    paths.cdk_out.symlink_to(dev_synth.outdir, target_is_directory=True)
    lines: list[str] = []
    try:
        timeline = story.run(paths, config=story.StoryConfig.quick(), reuse_synth=True, echo=lines.append)
        info = launcher.read_info(paths)
        assert info is not None, "the story leaves the emulator running"
        yield Told(timeline=timeline, lines=lines, paths=paths, info=info)
    finally:
        launcher.stop(paths)


def said(told: Told, stage: str) -> list[str]:
    return [text for _, s, text in told.timeline.events if s == stage]


def test_every_stage_of_the_story_happened_in_order(told: Told) -> None:
    assert list(told.timeline.stage_started) == ["deploy", "ingest", "first model", "traffic", "drift", "status"]
    first = " ".join(said(told, "first model"))
    assert "steps: Dataset Succeeded" in first
    assert "Register Succeeded" in first
    assert "is InService serving that package" in first


def test_the_drift_alarm_started_the_retraining_loop_through_the_trigger(told: Told) -> None:
    drift = said(told, "drift")
    flagged = next(line for line in drift if "drifted: " in line).split("drifted: ", 1)[1]
    assert flagged != "nothing"  # the drift job flagged features of the drifted traffic
    alarms = next(line for line in drift if "in ALARM:" in line)
    assert "fraud-detection-dev-drift," in alarms or alarms.endswith("fraud-detection-dev-drift")
    sfn = told.client("stepfunctions")
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("retraining"))
    (execution,) = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    assert execution["name"].startswith("alarm-")  # the trigger Lambda's name for an alarm trigger
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started["trigger"]["detail"]["alarm_name"] == "fraud-detection-dev-drift"


def test_the_endpoint_serves_the_first_model_the_pipeline_registered(told: Told) -> None:
    sagemaker = told.client("sagemaker")
    pointer = told.client("ssm").get_parameter(Name="/mlops/fraud-detection/dev/serving-model-package-arn")
    package = sagemaker.describe_model_package(ModelPackageName=pointer["Parameter"]["Value"])
    assert package["ModelApprovalStatus"] == "Approved"
    assert str(package["MetadataProperties"]["GeneratedBy"]).startswith("fraud-detection-dev-training/")
    captured = told.client("s3").list_objects_v2(
        Bucket="mlops-dev-111111111111-us-east-1-datacapture", Prefix="fraud-detection/data-capture/"
    )
    assert captured.get("KeyCount", 0) > 0


def test_the_drift_report_was_downloaded_and_the_status_printed(told: Told) -> None:
    report = told.paths.root / "story" / "drift_report.html"
    assert report.is_file()
    assert "<html" in report.read_text().lower()
    assert "fraud-detection" in "\n".join(said(told, "status"))
