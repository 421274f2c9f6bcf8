"""Fine-grained assertions on the stateful platform stack of every environment."""

from __future__ import annotations

from typing import Any

import pytest

from config import ENVIRONMENTS, MODELS, PLATFORM_OWNER, ModelDeployment, ModelSpec
from tests.support.synth import Synthesized
from tests.support.templates import one_resource, resources_of_type, tags_of

ENV_NAMES = [e.name for e in ENVIRONMENTS]
KEY = "EncryptionKey3A692D6E"
DATA_BUCKETS = {
    "OfflineStore": "OfflineStoreBucket2582F52A",
    "DataCapture": "DataCaptureBucketA9343715",
    "Artifacts": "ArtifactsBucket88671897",
    "MonitoringReports": "MonitoringReportsBucket1D9B978B",
    "GroundTruth": "GroundTruthBucket1B548B1E",
    "Landing": "LandingBucket6D60388F",
}
ACCESS_LOGS = "AccessLogsBucketCD784A59"
# Renaming a construct replaces its resource; for these that means data loss. Pinned on purpose.
STATEFUL_LOGICAL_IDS = {
    KEY: "AWS::KMS::Key",
    ACCESS_LOGS: "AWS::S3::Bucket",
    **{logical_id: "AWS::S3::Bucket" for logical_id in DATA_BUCKETS.values()},
    "OfflineStoreDatabase": "AWS::Glue::Database",
    "frauddetectionFeatureStoreGrouptransaction06363C15": "AWS::SageMaker::FeatureGroup",
    "frauddetectionFeatureStoreGroupcustomerspendE21640B0": "AWS::SageMaker::FeatureGroup",
    "frauddetectionRegistryGroup1FA66889": "AWS::SageMaker::ModelPackageGroup",
    "frauddetectionOwnerTopic54EFDCF0": "AWS::SNS::Topic",
    "frauddetectionDeploymentHistoryTable7E8529AB": "AWS::DynamoDB::Table",
}


def platform(synth: Synthesized, env: str) -> dict[str, Any]:
    return synth.json(env, "platform")


@pytest.mark.parametrize("env", ENV_NAMES)
def test_stateful_logical_ids_are_pinned(synth: Synthesized, env: str) -> None:
    resources = platform(synth, env)["Resources"]
    for logical_id, type_ in STATEFUL_LOGICAL_IDS.items():
        assert logical_id in resources, f"{logical_id} was renamed: CloudFormation would replace it"
        assert resources[logical_id]["Type"] == type_


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_stateful_resources_are_retained_and_protected_outside_dev(synth: Synthesized, env: str) -> None:
    resources = platform(synth, env)["Resources"]
    for logical_id in STATEFUL_LOGICAL_IDS:
        if resources[logical_id]["Type"] == "AWS::SNS::Topic":
            continue  # stateless: a topic is recreated with its subscription
        assert resources[logical_id].get("DeletionPolicy") == "Retain", logical_id
        assert resources[logical_id].get("UpdateReplacePolicy") == "Retain", logical_id
    assert synth.termination_protection[(env, "platform")] is True


def test_dev_is_disposable_except_the_registry(synth: Synthesized) -> None:
    resources = platform(synth, "dev")["Resources"]
    assert resources[KEY]["DeletionPolicy"] == "Delete"
    assert resources[DATA_BUCKETS["DataCapture"]]["DeletionPolicy"] == "Delete"
    # The registry is the audit trail of every candidate: retained even in dev.
    assert resources["frauddetectionRegistryGroup1FA66889"]["DeletionPolicy"] == "Retain"
    assert synth.termination_protection[("dev", "platform")] is False


@pytest.mark.parametrize("env", ENV_NAMES)
def test_key_rotates_and_lets_platform_services_use_it(synth: Synthesized, env: str) -> None:
    key = platform(synth, env)["Resources"][KEY]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = {s.get("Sid"): s for s in key["KeyPolicy"]["Statement"]}
    assert statements["AllowSageMakerAndFeatureStore"]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert set(statements["AllowNotificationPublishers"]["Principal"]["Service"]) == {
        "sns.amazonaws.com",
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    }
    logs = statements["AllowCloudWatchLogs"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]
    for sid in ("AllowSageMakerAndFeatureStore", "AllowNotificationPublishers"):
        assert "aws:SourceAccount" in statements[sid]["Condition"]["StringEquals"]


@pytest.mark.parametrize("env", ENV_NAMES)
@pytest.mark.parametrize("bucket", list(DATA_BUCKETS))
def test_data_buckets_are_kms_encrypted_versioned_private_and_logged(synth: Synthesized, env: str, bucket: str) -> None:
    props = platform(synth, env)["Resources"][DATA_BUCKETS[bucket]]["Properties"]
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [KEY, "Arn"]},
    }
    assert sse["BucketKeyEnabled"] is True
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": ACCESS_LOGS},
        "LogFilePrefix": f"{bucket}/",
    }


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_bucket_denies_plain_http_and_old_tls(synth: Synthesized, env: str) -> None:
    template = platform(synth, env)
    for logical_id in [*DATA_BUCKETS.values(), ACCESS_LOGS]:
        _, policy = next(
            (k, v)
            for k, v in resources_of_type(template, "AWS::S3::BucketPolicy").items()
            if v["Properties"]["Bucket"] == {"Ref": logical_id}
        )
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        conditions = [s["Condition"] for s in denies]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions, logical_id
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions, logical_id


def test_access_log_bucket_uses_s3_managed_keys_because_log_delivery_requires_it(synth: Synthesized) -> None:
    props = platform(synth, "prod")["Resources"][ACCESS_LOGS]["Properties"]
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse == {"SSEAlgorithm": "AES256"}
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365


@pytest.mark.parametrize("env", ENV_NAMES)
@pytest.mark.parametrize("bucket", ["DataCapture", "MonitoringReports"])
def test_capture_and_report_buckets_age_out_per_config(synth: Synthesized, env: str, bucket: str) -> None:
    storage = next(e for e in ENVIRONMENTS if e.name == env).storage
    prefix = "data_capture" if bucket == "DataCapture" else "reports"
    rules = platform(synth, env)["Resources"][DATA_BUCKETS[bucket]]["Properties"]["LifecycleConfiguration"]["Rules"]
    age_out = next(r for r in rules if r["Id"] == "age-out")
    assert age_out["Status"] == "Enabled"
    assert age_out["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": getattr(storage, f"{prefix}_infrequent_access_days")}
    ]
    assert age_out["ExpirationInDays"] == getattr(storage, f"{prefix}_expiration_days")
    noncurrent = next(r for r in rules if r["Id"] == "noncurrent-versions")
    assert noncurrent["NoncurrentVersionExpiration"] == {"NoncurrentDays": storage.noncurrent_version_expiration_days}


def test_artifacts_are_never_aged_out(synth: Synthesized) -> None:
    rules = platform(synth, "prod")["Resources"][DATA_BUCKETS["Artifacts"]]["Properties"]["LifecycleConfiguration"]
    assert [r["Id"] for r in rules["Rules"]] == ["noncurrent-versions"]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_glue_database_for_the_offline_store(synth: Synthesized, env: str) -> None:
    synth.template(env, "platform").has_resource_properties(
        "AWS::Glue::Database", {"DatabaseInput": {"Name": f"mlops_{env}_feature_store"}}
    )


@pytest.mark.parametrize("env", ENV_NAMES)
@pytest.mark.parametrize(
    ("spec", "group"), [(m, g.name) for m in MODELS for g in m.feature_groups], ids=lambda x: getattr(x, "name", x)
)
def test_feature_groups_follow_the_spec_with_online_and_offline_stores(
    synth: Synthesized, env: str, spec: ModelSpec, group: str
) -> None:
    deployment = ModelDeployment(spec=spec, env=next(e for e in ENVIRONMENTS if e.name == env))
    name = deployment.feature_group_name(group)
    _, fg = one_resource(platform(synth, env), "AWS::SageMaker::FeatureGroup", FeatureGroupName=name)
    props = fg["Properties"]
    assert props["RecordIdentifierFeatureName"] == spec.entity_id
    assert props["EventTimeFeatureName"] == spec.event_time
    expected = [(spec.entity_id, "String"), (spec.event_time, "String")] + [
        (f.name, f.type.value) for f in spec.features_of(group)
    ]
    assert [(d["FeatureName"], d["FeatureType"]) for d in props["FeatureDefinitions"]] == expected
    ttl_days = next(g.online_ttl_days for g in spec.feature_groups if g.name == group)
    assert props["OnlineStoreConfig"] == {
        "EnableOnlineStore": True,
        "SecurityConfig": {"KmsKeyId": {"Fn::GetAtt": [KEY, "Arn"]}},
        "TtlDuration": {"Unit": "Days", "Value": ttl_days},
    }
    offline = props["OfflineStoreConfig"]
    assert offline["S3StorageConfig"]["KmsKeyId"] == {"Fn::GetAtt": [KEY, "Arn"]}
    assert offline["S3StorageConfig"]["S3Uri"] == {
        "Fn::Join": ["", ["s3://", {"Ref": DATA_BUCKETS["OfflineStore"]}, f"/offline-store/{spec.name}"]]
    }
    assert offline["TableFormat"] == "Iceberg"
    assert offline["DataCatalogConfig"] == {
        "Catalog": "AwsDataCatalog",
        "Database": f"mlops_{env}_feature_store",
        "TableName": name.replace("-", "_"),
    }
    assert "OfflineStoreDatabase" in fg["DependsOn"]


@pytest.mark.parametrize("spec", MODELS, ids=lambda m: m.name)
def test_offline_store_role_is_least_privilege(synth: Synthesized, spec: ModelSpec) -> None:
    template = platform(synth, "prod")
    # Each model's feature store has its own role, in the construct named after the model.
    prefix = f"{spec.name.replace('-', '')}FeatureStore"
    [(role_id, role)] = [
        (k, v) for k, v in resources_of_type(template, "AWS::IAM::Role").items() if k.startswith(prefix)
    ]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"
    }
    [policy] = [
        v
        for v in resources_of_type(template, "AWS::IAM::Policy").values()
        if v["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in a for a in actions), actions
        assert statement["Resource"] != "*"
    object_access = next(s for s in statements if "s3:PutObject" in s["Action"])
    assert object_access["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [DATA_BUCKETS["OfflineStore"], "Arn"]}, f"/offline-store/{spec.name}/*"]]
    }


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_taggable_resource_carries_model_owner_and_environment_tags(synth: Synthesized, env: str) -> None:
    resources = platform(synth, env)["Resources"]
    taggable = {k: v for k, v in resources.items() if "Tags" in v.get("Properties", {})}
    assert len(taggable) >= 12
    # A model's resources live under a construct named after it, so their logical ids start with its name.
    owners = {spec.name.replace("-", ""): spec for spec in MODELS}
    for logical_id, resource in taggable.items():
        tags = tags_of(resource)
        assert tags["mlops:environment"] == env, logical_id
        spec = next((s for prefix, s in owners.items() if logical_id.startswith(prefix)), None)
        if spec is not None:
            assert tags["mlops:model"] == spec.name, logical_id
            assert tags["mlops:owner"] == spec.owner.email, logical_id
        else:
            assert tags["mlops:model"] == "platform", logical_id
            assert tags["mlops:owner"] == PLATFORM_OWNER.email, logical_id


@pytest.mark.parametrize(("env", "retained"), [("dev", False), ("prod", True)])
def test_deployment_history_is_durable_and_queryable_per_model(synth: Synthesized, env: str, retained: bool) -> None:
    _, table = one_resource(
        platform(synth, env), "AWS::DynamoDB::Table", TableName=f"mlops-{env}-fraud-detection-deployments"
    )
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert props["DeletionProtectionEnabled"] is retained
    assert table["DeletionPolicy"] == ("Retain" if retained else "Delete")


@pytest.mark.parametrize("env", ENV_NAMES)
def test_athena_workgroup_enforces_encrypted_results_and_a_scan_limit(synth: Synthesized, env: str) -> None:
    _, workgroup = one_resource(platform(synth, env), "AWS::Athena::WorkGroup", Name=f"mlops-{env}")
    config = workgroup["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == 100 * 1024**3
    results = config["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_KMS", "KmsKey": {"Fn::GetAtt": [KEY, "Arn"]}}
    assert results["OutputLocation"] == {
        "Fn::Join": ["", ["s3://", {"Ref": DATA_BUCKETS["Artifacts"]}, "/athena-results/"]]
    }


@pytest.mark.parametrize("spec", MODELS, ids=lambda m: m.name)
def test_labels_table_describes_the_specs_label_columns(synth: Synthesized, spec: ModelSpec) -> None:
    name = f"{spec.name.replace('-', '_')}_prod_labels"
    [table] = [
        t
        for t in resources_of_type(platform(synth, "prod"), "AWS::Glue::Table").values()
        if t["Properties"]["TableInput"]["Name"] == name
    ]
    table_input = table["Properties"]["TableInput"]
    columns = [(c["Name"], c["Type"]) for c in table_input["StorageDescriptor"]["Columns"]]
    assert columns == [
        *([(spec.label_id, "string")] if spec.label_id else []),
        (spec.entity_id, "string"),
        (spec.event_time, "string"),
        (spec.label, "bigint"),
    ]
    assert table_input["StorageDescriptor"]["Location"] == {
        "Fn::Join": ["", ["s3://", {"Ref": DATA_BUCKETS["GroundTruth"]}, f"/labels/{spec.name}/"]]
    }
    assert table["Properties"]["DatabaseName"] == "mlops_prod_feature_store"
