"""Identity-policy statements of synthesized templates, with their resources rendered to ARN patterns.

Bucket names are literal (ADR 0005); attributes of resources render to the ARN pattern of their type
(``arn:aws:kms:*:*:key/*`` for a key's ``Arn``), pseudo parameters other than the partition to ``*``, and outputs
of other stacks (``Fn::GetStackOutput``) to what the exporting template says. Anything else is an error, so a
new kind of reference extends the maps here instead of passing unchecked.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.synth import Synthesized


class UnresolvedIntrinsicError(ValueError):
    """A grant's resource uses an intrinsic that cannot be rendered to an ARN pattern (extend the maps)."""


# ARN patterns of the attributes that grants reference, by resource type and attribute.
_GETATT_ARN = {
    ("AWS::IAM::Role", "Arn"): "arn:aws:iam::*:role/*",
    ("AWS::DynamoDB::Table", "Arn"): "arn:aws:dynamodb:*:*:table/*",
    ("AWS::KMS::Key", "Arn"): "arn:aws:kms:*:*:key/*",
    ("AWS::Lambda::Function", "Arn"): "arn:aws:lambda:*:*:function:*",
    ("AWS::SQS::Queue", "Arn"): "arn:aws:sqs:*:*:*",
    ("AWS::Logs::LogGroup", "Arn"): "arn:aws:logs:*:*:log-group:*",
    ("AWS::S3::Bucket", "Arn"): "arn:aws:s3:::*",
    ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupArn"): "arn:aws:sagemaker:*:*:model-package-group/*",
    ("AWS::SageMaker::FeatureGroup", "FeatureGroupArn"): "arn:aws:sagemaker:*:*:feature-group/*",
}
_REF_ARN = {
    "AWS::SNS::Topic": "arn:aws:sns:*:*:*",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:*:*:stateMachine:*",
}


@dataclass(frozen=True)
class Grant:
    where: str  # "<env>/<stack>/<logical id of the policy or role>"
    actions: tuple[str, ...]
    resources: tuple[str, ...]  # rendered ARN patterns, "*" for every resource
    roles: tuple[str, ...] = ()  # logical ids of the roles it applies to
    conditioned: bool = False

    def allows(self, action: str, arn: str) -> bool:
        """Whether this statement allows ``action`` on the concrete ``arn`` (a conditioned one counts as no)."""
        if self.conditioned:
            return False
        named = any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in self.actions)
        return named and any(fnmatch.fnmatchcase(arn, r) for r in self.resources)


def _render(value: Any, template: Mapping[str, Any], outputs: Mapping[str, Any]) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise UnresolvedIntrinsicError(json.dumps(value))
    ((function, argument),) = value.items()
    resources = template["Resources"]
    if function == "Fn::Join":
        return str(argument[0]).join(_render(part, template, outputs) for part in argument[1])
    if function == "Ref":
        if argument == "AWS::Partition":
            return "aws"
        if argument.startswith("AWS::"):
            return "*"
        found = _REF_ARN.get(resources.get(argument, {}).get("Type"))
    elif function == "Fn::GetAtt":
        found = _GETATT_ARN.get((resources.get(argument[0], {}).get("Type"), argument[1]))
    elif function == "Fn::GetStackOutput":
        exporting = outputs.get(argument["OutputName"])
        found = _render(exporting[0], exporting[1], outputs) if exporting else None
    else:
        found = None
    if found is None:
        raise UnresolvedIntrinsicError(json.dumps(value))
    return found


def grants(synthesized: Synthesized) -> Iterator[Grant]:
    """Every Allow statement of every identity policy (inline, attached, managed) in the synthesized templates."""
    outputs: dict[str, tuple[Any, dict[str, Any]]] = {}
    for template in synthesized.templates.values():
        for name, output in template.get("Outputs", {}).items():
            outputs[name] = (output["Value"], template)
    for (env, stack), template in sorted(synthesized.templates.items()):
        for logical_id, resource in sorted(template["Resources"].items()):
            documents = []
            roles: tuple[str, ...] = ()
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                documents.append(resource["Properties"]["PolicyDocument"])
                roles = tuple(r["Ref"] for r in resource["Properties"].get("Roles", []) if "Ref" in r)
            elif resource["Type"] == "AWS::IAM::Role":
                documents += [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
                roles = (logical_id,)
            for document in documents:
                for statement in document["Statement"]:
                    if statement.get("Effect") != "Allow":
                        continue
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    raw = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                    yield Grant(
                        where=f"{env}/{stack}/{logical_id}",
                        actions=tuple(actions),
                        resources=tuple(_render(r, template, outputs) for r in raw),
                        roles=roles,
                        conditioned="Condition" in statement,
                    )


def role_id(template: Mapping[str, Any], description: str) -> str:
    """The logical id of the one role of ``template`` whose description is ``description``."""
    found = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and resource["Properties"].get("Description") == description
    ]
    assert len(found) == 1, f"expected one role described {description!r}, found {found}"
    return found[0]
