"""Deployment history in DynamoDB: one item per deployment, the champion pointer, and an id lookup.

Table keys: ``pk`` (partition) and ``sk`` (sort), both strings. Items, all under ``pk = "<model>#<environment>"``:

========================================  ==============================================================
``sk = "DEPLOYMENT#<started_at>#<id>"``   one per deployment (``Deployment``); ``started_at`` is fixed-width
                                          UTC, so ``Query(pk, begins_with(sk, "DEPLOYMENT#"),
                                          ScanIndexForward=False)`` lists a model's deployments in an
                                          environment newest first
``sk = "ID#<deployment id>"``             lookup: ``deployment_sk`` names the deployment's item, so any step
                                          can find it from the id alone (written in the same transaction)
``sk = "CHAMPION"``                       what serves now and what served before (``Champion``): ``current_*``
                                          and ``previous_*`` (deployment id, package ARN, endpoint config,
                                          model). ``rollback`` needs no human lookup: the previous version is
                                          pinned here and in the deployment item's ``previous_*``
========================================  ==============================================================

A deployment id of ``""`` in a version means "deployed before the automation" (the endpoint CloudFormation
created from the serving pointer).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lambdas.deployment.errors import DeploymentConflict, DeploymentNotFound
from lambdas.shared.table import NEW_ITEM, PartitionStore, decode, encode, text

DEPLOYMENT_PREFIX = "DEPLOYMENT#"
LOOKUP_PREFIX = "ID#"
CHAMPION_SK = "CHAMPION"
IDLE_SK = "IDLE"  # the idle schedule's record of the config a sleeping endpoint wakes on (ADR 0020)

# Deployment statuses.
PREPARED = "prepared"  # candidate model and configs exist; the endpoint is untouched
DEPLOYING = "deploying"  # UpdateEndpoint (or the A/B weights) requested towards ``deploy_config``
COLLAPSING = "collapsing"  # shadow/ab promotion: UpdateEndpoint requested towards ``final_config``
PROMOTED = "promoted"  # pointer, tags and champion written
ROLLING_BACK = "rolling_back"  # UpdateEndpoint requested back to the previous config
ROLLED_BACK = "rolled_back"
FINISHED = (PROMOTED, ROLLED_BACK)


@dataclass(frozen=True, kw_only=True)
class Version:
    """A served version: which deployment made it, which package, on which endpoint config and model."""

    deployment_id: str
    model_package_arn: str
    endpoint_config_name: str
    model_name: str


@dataclass(frozen=True, kw_only=True)
class Deployment:
    deployment_id: str
    model_package_arn: str
    strategy: str
    status: str
    started_at: str
    model_name: str
    deploy_config: str
    final_config: str
    candidate_variant: str = ""
    trigger: str = ""
    requested_by: str = ""
    previous_deployment_id: str = ""
    previous_model_package_arn: str = ""
    previous_endpoint_config_name: str = ""
    previous_model_name: str = ""
    requested_config: str = ""  # target of the last UpdateEndpoint this deployment asked for
    update_requested_at: str = ""
    ab_step_index: int = -1  # last A/B weight step applied
    comparison: str = ""  # JSON of the last comparison: {passed, reasons, step_index, window_end, metrics}
    rollback_config: str = ""  # config a rollback restores (re-created when the pinned one is gone)
    # JSON of the scaling a step deregistered around an instance-type change, until it is registered again
    # (scaling.py); saved before the deregistration, so a retry finds it
    suspended_scaling: str = ""
    outcome: str = ""  # "promoted" | "rolled_back"
    reason: str = ""
    last_error: str = ""
    promoted_at: str = ""
    finished_at: str = ""

    @property
    def sort_key(self) -> str:
        return f"{DEPLOYMENT_PREFIX}{self.started_at}#{self.deployment_id}"

    @property
    def candidate(self) -> Version:
        return Version(
            deployment_id=self.deployment_id,
            model_package_arn=self.model_package_arn,
            endpoint_config_name=self.final_config,
            model_name=self.model_name,
        )

    @property
    def previous(self) -> Version:
        return Version(
            deployment_id=self.previous_deployment_id,
            model_package_arn=self.previous_model_package_arn,
            endpoint_config_name=self.previous_endpoint_config_name,
            model_name=self.previous_model_name,
        )

    def last_comparison(self) -> dict[str, Any] | None:
        return json.loads(self.comparison) if self.comparison else None

    def summary(self, endpoint_name: str, variant_name: str) -> dict[str, Any]:
        """What ``prepare`` returns and the later steps accept (they only need ``deployment_id``)."""
        return {
            "deployment_id": self.deployment_id,
            "model_package_arn": self.model_package_arn,
            "previous_model_package_arn": self.previous_model_package_arn or None,
            "strategy": self.strategy,
            "status": self.status,
            "started_at": self.started_at,
            "endpoint_name": endpoint_name,
            "variant_name": variant_name,
            "candidate_variant_name": self.candidate_variant or None,
            "model_name": self.model_name,
            "endpoint_config_name": self.deploy_config,
            "final_endpoint_config_name": self.final_config,
            "previous_endpoint_config_name": self.previous_endpoint_config_name,
        }


@dataclass(frozen=True, kw_only=True)
class Champion:
    current: Version
    previous: Version | None = None
    updated_at: str = ""
    updated_by: str = ""  # deployment id whose promotion or rollback wrote this


class HistoryStore(PartitionStore):
    """The history table for one model in one environment (``lambdas/shared/table.py`` stores the records)."""

    # ---- deployments ----

    def find(self, deployment_id: str) -> Deployment | None:
        lookup = self.read(f"{LOOKUP_PREFIX}{deployment_id}")
        if lookup is None:
            return None
        item = self.read(text(lookup, "deployment_sk"))
        return decode(Deployment, item) if item is not None else None

    def get(self, deployment_id: str) -> Deployment:
        found = self.find(deployment_id)
        if found is None:
            raise DeploymentNotFound(
                f"no deployment '{deployment_id}' for {self.model_name} in {self.environment}: run prepare first"
            )
        return found

    def create(self, deployment: Deployment) -> Deployment:
        """Write a new deployment and its lookup atomically; if the id exists already, return the stored one."""
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": self.record_item(deployment.sort_key, deployment),
                            **NEW_ITEM,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                **self.key(f"{LOOKUP_PREFIX}{deployment.deployment_id}"),
                                "deployment_sk": {"S": deployment.sort_key},
                            },
                            **NEW_ITEM,
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            return self.get(deployment.deployment_id)
        return deployment

    def update(self, deployment: Deployment, **changes: str | int) -> Deployment:
        self.dynamodb.update_item(**self.update_request(deployment, changes))
        return dataclasses.replace(deployment, **changes)  # type: ignore[arg-type]

    def list_deployments(self, limit: int = 20) -> list[Deployment]:
        """This model's deployments in this environment, newest first."""
        page = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": self.pk}, ":prefix": {"S": DEPLOYMENT_PREFIX}},
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [decode(Deployment, item) for item in page.get("Items", [])]

    # ---- champion ----

    def champion(self) -> Champion | None:
        item = self.read(CHAMPION_SK)
        if item is None:
            return None
        return Champion(
            current=_version(item, "current_"),
            previous=_version(item, "previous_") if any(k.startswith("previous_") for k in item) else None,
            updated_at=text(item, "updated_at"),
            updated_by=text(item, "updated_by"),
        )

    def finish(
        self,
        deployment: Deployment,
        changes: dict[str, str | int],
        *,
        champion: Champion | None,
        expected_current: str | None,
    ) -> Deployment:
        """Update the deployment and (when ``champion`` is given) replace the champion item, atomically.

        ``expected_current`` is the deployment id the champion item must still name as current (``""``: the
        pre-automation version, or no champion item yet); otherwise someone changed what serves since this
        deployment read it, and nothing is written (``DeploymentConflict``).
        """
        items: list[dict[str, Any]] = [{"Update": self.update_request(deployment, changes)}]
        if champion is not None:
            put: dict[str, Any] = {"TableName": self.table, "Item": self._champion_item(champion)}
            if expected_current:
                put["ConditionExpression"] = "attribute_not_exists(pk) OR current_deployment_id = :expected"
                put["ExpressionAttributeValues"] = {":expected": {"S": expected_current}}
            else:
                put["ConditionExpression"] = "attribute_not_exists(pk) OR attribute_not_exists(current_deployment_id)"
            items.append({"Put": put})
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            current = self.champion()
            raise DeploymentConflict(
                f"the champion changed while deployment '{deployment.deployment_id}' ran: it now names deployment "
                f"'{current.current.deployment_id if current else ''}', expected '{expected_current or ''}'"
            ) from None
        return dataclasses.replace(deployment, **changes)  # type: ignore[arg-type]

    # ---- items ----

    # ---- the idle schedule (ADR 0020) ----

    def sleeping_config(self) -> str:
        """The endpoint config the last sleep recorded ("" if the endpoint never slept)."""
        item = self.read(IDLE_SK)
        return text(item, "endpoint_config_name") if item else ""

    def record_sleep(self, config_name: str, at: str) -> None:
        self.dynamodb.put_item(
            TableName=self.table,
            Item={**self.key(IDLE_SK), "endpoint_config_name": {"S": config_name}, "slept_at": {"S": at}},
        )

    def _champion_item(self, champion: Champion) -> dict[str, Any]:
        item = self.key(CHAMPION_SK)
        versions = [("current_", champion.current)]
        if champion.previous is not None:
            versions.append(("previous_", champion.previous))
        for prefix, version in versions:
            for name, value in dataclasses.asdict(version).items():
                encoded = encode(value)
                if encoded is not None:
                    item[f"{prefix}{name}"] = encoded
        for name in ("updated_at", "updated_by"):
            encoded = encode(getattr(champion, name))
            if encoded is not None:
                item[name] = encoded
        return item


def _version(item: dict[str, Any], prefix: str) -> Version:
    return Version(
        deployment_id=text(item, f"{prefix}deployment_id"),
        model_package_arn=text(item, f"{prefix}model_package_arn"),
        endpoint_config_name=text(item, f"{prefix}endpoint_config_name"),
        model_name=text(item, f"{prefix}model_name"),
    )
