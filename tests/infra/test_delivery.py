"""The app's own delivery pipeline (ADR 0023), on one synth of the app with a delivery config (session-scoped).

The stage templates it deploys are the ones the app synthesizes without a delivery config, byte for byte, and
without one there is no delivery stack: delivery is off unless configured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from app import build_app, pinned_cdk_cli_version
from config import DELIVERY, ENVIRONMENTS, DeliverySettings
from mlops_constructs.delivery_pipeline import SYNTH_COMMANDS
from stacks.stage import MlopsStage
from tests.support.synth import Synthesized, cdk_json_context

# Its own synth of the whole app: make test-added-models leaves it to make test.
pytestmark = pytest.mark.variant_synth

TOOLING = DeliverySettings(
    account="444444444444",
    region="us-east-1",
    connection_arn="arn:aws:codeconnections:us-east-1:444444444444:connection/0123abcd-4567-89ab-cdef-0123456789ab",
    repository="example-org/sagemaker-mlops-platform",
    branch="release",
)
ENV_STAGE_NAMES = [env.name for env in ENVIRONMENTS]


@dataclass(frozen=True)
class DeliverySynth:
    outdir: Path
    template: dict[str, Any]
    stages: dict[str, MlopsStage]

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == type_}

    def pipeline(self) -> dict[str, Any]:
        (pipeline,) = self.resources("AWS::CodePipeline::Pipeline").values()
        return pipeline["Properties"]

    def stage(self, name: str) -> dict[str, Any]:
        return next(s for s in self.pipeline()["Stages"] if s["Name"] == name)

    def project(self, description_part: str) -> dict[str, Any]:
        """The CodeBuild project whose description names ``description_part`` (its pipeline stage and action)."""
        (project,) = [
            r["Properties"]
            for r in self.resources("AWS::CodeBuild::Project").values()
            if description_part in r["Properties"]["Description"]
        ]
        return project

    def buildspec(self, description_part: str) -> dict[str, Any]:
        spec: dict[str, Any] = json.loads(self.project(description_part)["Source"]["BuildSpec"])
        return spec

    def role_statements(self, role_arn: dict[str, Any]) -> list[dict[str, Any]]:
        """Every statement of the policies attached to the role ``role_arn`` (a ``Fn::GetAtt``) names."""
        role = role_arn["Fn::GetAtt"][0]
        return [
            statement
            for policy in self.resources("AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]


@pytest.fixture(scope="session")
def delivery_synth(tmp_path_factory: pytest.TempPathFactory) -> DeliverySynth:
    outdir = Path(tmp_path_factory.mktemp("delivery"))
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    stages = build_app(app, delivery=TOOLING)
    app.synth()
    stack = app.node.find_child("delivery")
    assert isinstance(stack, cdk.Stack)
    template = json.loads((outdir / stack.template_file).read_text())
    return DeliverySynth(outdir=outdir, template=template, stages=stages)


def role_arn_parts(value: Any) -> str:
    """A role ARN as CDK renders it (``Fn::Join`` around the partition), flattened to one string."""
    if isinstance(value, str):
        return value
    return "".join(p if isinstance(p, str) else "<partition>" for p in value["Fn::Join"][1])


def test_the_source_is_the_configured_connection_repository_and_branch(delivery_synth: DeliverySynth) -> None:
    (action,) = delivery_synth.stage("Source")["Actions"]
    assert action["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert action["Configuration"]["ConnectionArn"] == TOOLING.connection_arn
    assert action["Configuration"]["FullRepositoryId"] == TOOLING.repository
    assert action["Configuration"]["BranchName"] == TOOLING.branch
    # A git clone, not a zip: the suite the synth step runs lists the repository's files with git.
    assert action["Configuration"]["OutputArtifactFormat"] == "CODEBUILD_CLONE_REF"
    synth_role = delivery_synth.project("/Build/Synth")["ServiceRole"]
    assert {
        "Action": "codestar-connections:UseConnection",
        "Effect": "Allow",
        "Resource": TOOLING.connection_arn,
    } in delivery_synth.role_statements(synth_role)


def test_the_synth_step_runs_the_test_suite_before_it_synthesizes(delivery_synth: DeliverySynth) -> None:
    spec = delivery_synth.buildspec("/Build/Synth")
    assert spec["phases"]["build"]["commands"] == ["make test", "make synth"] == list(SYNTH_COMMANDS)
    assert spec["phases"]["install"]["runtime-versions"] == {"python": "3.11"}
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    # make synth is the Makefile's cdk synth into cdk.out, and make test is what CI (.ci/run) runs.
    root = Path(__file__).resolve().parents[2]
    makefile = (root / "Makefile").read_text()
    assert "\tcdk synth --quiet" in makefile.split("\nsynth:", 1)[1].split("\n\n", 1)[0]
    assert "\nmake test\n" in (root / ".ci" / "run").read_text()


def test_the_pipeline_updates_itself_with_the_pinned_cli(delivery_synth: DeliverySynth) -> None:
    spec = delivery_synth.buildspec("/UpdatePipeline/SelfMutate")
    assert spec["phases"]["install"]["commands"] == [f"npm install -g aws-cdk@{pinned_cdk_cli_version()}"]
    assert spec["phases"]["build"]["commands"] == ["cdk -a . deploy delivery --require-approval=never --verbose"]


def test_environments_deploy_in_order_after_the_build_and_self_update(delivery_synth: DeliverySynth) -> None:
    names = [s["Name"] for s in delivery_synth.pipeline()["Stages"]]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", *ENV_STAGE_NAMES]
    assert ENV_STAGE_NAMES == ["dev", "staging", "prod"]


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda e: e.name)
def test_each_stage_deploys_its_environments_stacks_into_its_account_and_region(
    delivery_synth: DeliverySynth, env: Any
) -> None:
    stage = delivery_synth.stages[env.name]
    expected = {child.stack_name for child in stage.node.children if isinstance(child, cdk.Stack)}
    deploys = [a for a in delivery_synth.stage(env.name)["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
    assert {a["Configuration"]["StackName"] for a in deploys} == expected
    pipeline_region = TOOLING.region
    for action in deploys:
        # The bootstrap roles of the environment's account and region (cdk bootstrap --trust <tooling>).
        assumed = role_arn_parts(action["RoleArn"])
        assert (
            assumed == f"arn:<partition>:iam::{env.account}:role/cdk-hnb659fds-deploy-role-{env.account}-{env.region}"
        )
        assert action.get("Region", pipeline_region) == env.region
        if "RoleArn" in action["Configuration"]:  # the change-set action names the CloudFormation execution role
            execution = role_arn_parts(action["Configuration"]["RoleArn"])
            assert execution.endswith(f":{env.account}:role/cdk-hnb659fds-cfn-exec-role-{env.account}-{env.region}")


def test_a_manual_approval_precedes_prod_and_nothing_else(delivery_synth: DeliverySynth) -> None:
    approvals = [
        (stage["Name"], action)
        for stage in delivery_synth.pipeline()["Stages"]
        for action in stage["Actions"]
        if action["ActionTypeId"]["Category"] == "Approval"
    ]
    assert [name for name, _ in approvals] == ["prod"]
    ((_, approval),) = approvals
    others = [a for a in delivery_synth.stage("prod")["Actions"] if a is not approval]
    assert others
    assert all(a["RunOrder"] > approval["RunOrder"] for a in others)


def test_artifacts_are_encrypted_with_a_rotating_key_the_target_accounts_may_use(
    delivery_synth: DeliverySynth,
) -> None:
    (bucket,) = [
        r for r in delivery_synth.resources("AWS::S3::Bucket").values() if "LoggingConfiguration" in r["Properties"]
    ]
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key_id = encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    key = delivery_synth.template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = json.dumps(key["KeyPolicy"])
    for env in ENVIRONMENTS:  # cross-account keys: each account's deploy role may decrypt the artifacts
        assert f":{env.account}:role/cdk-hnb659fds-deploy-role-{env.account}-{env.region}" in principals


def test_the_artifact_bucket_logs_access_and_the_builds_log_with_retention(delivery_synth: DeliverySynth) -> None:
    buckets = delivery_synth.resources("AWS::S3::Bucket")
    (artifacts,) = [r for r in buckets.values() if "LoggingConfiguration" in r["Properties"]]
    target = artifacts["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert target in buckets
    (log_group,) = delivery_synth.resources("AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == TOOLING.log_retention_days
    assert "KmsKeyId" in log_group["Properties"]
    for project in delivery_synth.resources("AWS::CodeBuild::Project").values():
        cloudwatch = project["Properties"]["LogsConfig"]["CloudWatchLogs"]
        assert cloudwatch["Status"] == "ENABLED"


def test_cdk_nag_passes_on_the_delivery_stack(delivery_synth: DeliverySynth) -> None:
    report = json.loads((delivery_synth.outdir / "validation-report.json").read_text())
    violations = [v for p in report["pluginReports"] for v in p.get("violations", [])]
    assert violations == []


def test_the_deployed_stage_templates_are_the_app_without_delivery_byte_for_byte(
    delivery_synth: DeliverySynth, synth: Synthesized
) -> None:
    compared = 0
    for path in synth.template_files():
        relative = path.relative_to(synth.outdir)
        assert (delivery_synth.outdir / relative).read_bytes() == path.read_bytes(), f"{relative} differs"
        compared += 1
    assert compared == len(synth.templates)


def test_without_a_delivery_config_there_is_no_delivery_stack(synth: Synthesized) -> None:
    assert DELIVERY is None  # the committed config: the session's synth is the app without delivery
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    top_level_stacks = [a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    assert top_level_stacks == []
    assert {
        a["properties"]["directoryName"] for a in manifest["artifacts"].values() if a["type"] == "cdk:cloud-assembly"
    } == {f"assembly-{name}" for name in ENV_STAGE_NAMES}
