"""Athena for point-in-time training sets: one workgroup per environment and a Glue table per model's labels.

The workgroup enforces its configuration, so every query's results land encrypted with the platform key under
``athena-results/`` in the artifacts bucket whatever the client asks, and a per-query scan limit caps the cost
of a runaway query. The labels table describes the Parquet labels the training window reads
(``s3://<ground truth>/labels/<model>/``); feature-group tables are created by Feature Store itself.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config import ModelDeployment

BYTES_SCANNED_CUTOFF = 100 * 1024**3  # 100 GiB per query


def glue_database_name(environment: str) -> str:
    """The environment's Glue database: offline-store tables (created by Feature Store) and labels tables."""
    return f"mlops_{environment}_feature_store"


def workgroup_name(environment: str) -> str:
    return f"mlops-{environment}"


def labels_table_name(deployment: ModelDeployment) -> str:
    return f"{deployment.spec.name.replace('-', '_')}_{deployment.env.name}_labels"


class AthenaWorkgroup(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, environment: str, results_bucket: s3.IBucket, key: kms.IKey
    ) -> None:
        super().__init__(scope, id_)
        self.name = workgroup_name(environment)
        self.results_prefix = "athena-results/"
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=self.name,
            description=f"Point-in-time training sets of the {environment} environment",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_CUTOFF,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=results_bucket.s3_url_for_object(self.results_prefix),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
            ),
        )


class LabelsTable(Construct):
    """The model's labels as a Glue table over Parquet: label id (if any), entity id, event time, label."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        database_name: str,
        ground_truth_bucket: s3.IBucket,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, id_)
        spec = deployment.spec
        self.name = labels_table_name(deployment)
        self.location = ground_truth_bucket.s3_url_for_object(f"labels/{spec.name}/")
        columns = [
            *([glue.CfnTable.ColumnProperty(name=spec.label_id, type="string")] if spec.label_id else []),
            glue.CfnTable.ColumnProperty(name=spec.entity_id, type="string", comment="entity id"),
            glue.CfnTable.ColumnProperty(
                name=spec.event_time, type="string", comment="ISO-8601 event time of the labelled event"
            ),
            glue.CfnTable.ColumnProperty(name=spec.label, type="bigint", comment="1 = positive class"),
        ]
        table = glue.CfnTable(
            self,
            "Table",
            catalog_id=cdk.Stack.of(self).account,
            database_name=database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=self.name,
                description=f"Labels of {deployment.prefix} for point-in-time training sets",
                table_type="EXTERNAL_TABLE",
                parameters={"classification": "parquet", "EXTERNAL": "TRUE"},
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=columns,
                    location=self.location,
                    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    ),
                ),
            ),
        )
        table.apply_removal_policy(removal_policy)
        self.table = table
