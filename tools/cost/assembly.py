"""Reading a synthesized cloud assembly (``cdk.out``): every resource of every stack, per environment."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.cost.errors import CostError

MODEL_TAG = "mlops:model"
PLATFORM = "platform"


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    properties: dict[str, Any]

    @property
    def model(self) -> str:
        """The ``mlops:model`` tag (``platform`` for shared resources and untagged ones)."""
        tags = self.properties.get("Tags")
        if isinstance(tags, list):
            for tag in tags:
                if isinstance(tag, dict) and tag.get("Key") == MODEL_TAG and isinstance(tag.get("Value"), str):
                    return str(tag["Value"])
        return PLATFORM


@dataclass(frozen=True)
class EnvironmentAssembly:
    """The stacks of one stage (environment)."""

    name: str
    resources: tuple[Resource, ...]

    def of_type(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources if r.type == resource_type]

    def get(self, stack: str, logical_id: str) -> Resource | None:
        for r in self.resources:
            if r.stack == stack and r.logical_id == logical_id:
                return r
        return None

    def referenced(self, owner: Resource, value: Any) -> Resource | None:
        """The resource of ``owner``'s stack that ``value`` (``Ref`` or ``Fn::GetAtt``) points at."""
        logical_id = ref_target(value)
        return None if logical_id is None else self.get(owner.stack, logical_id)

    def lambda_named(self, owner: Resource, reference: Any) -> Resource | None:
        """A Lambda function by ``Ref``/``GetAtt`` in ``owner``'s stack, or by a literal name or ARN anywhere."""
        found = self.referenced(owner, reference)
        if found is not None:
            return found
        if isinstance(reference, str):
            name = reference.rsplit(":function:", 1)[-1]
            for function in self.of_type("AWS::Lambda::Function"):
                if function.properties.get("FunctionName") == name:
                    return function
        return None


def ref_target(value: Any) -> str | None:
    """The logical ID a ``{"Ref": id}`` or ``{"Fn::GetAtt": [id, attr]}`` points at, else None."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att and isinstance(get_att[0], str):
            return get_att[0]
        if isinstance(get_att, str):
            return get_att.split(".", 1)[0]
    return None


def referenced_ids(value: Any) -> set[str]:
    """Every logical ID referenced anywhere inside ``value``."""
    found: set[str] = set()
    if isinstance(value, dict):
        target = ref_target(value)
        if target is not None:
            found.add(target)
        for item in value.values():
            found |= referenced_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    return found


def load_assembly(outdir: Path) -> dict[str, EnvironmentAssembly]:
    """Every stage of the cloud assembly in ``outdir``, by environment name."""
    manifest_path = outdir / "manifest.json"
    if not manifest_path.exists():
        raise CostError(f"{outdir} holds no synthesized app (no manifest.json): run `make synth`")
    manifest = json.loads(manifest_path.read_text())
    environments: dict[str, EnvironmentAssembly] = {}
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") != "cdk:cloud-assembly":
            continue
        nested_dir = outdir / artifact["properties"]["directoryName"]
        name = artifact["properties"].get("displayName") or nested_dir.name.removeprefix("assembly-")
        nested = json.loads((nested_dir / "manifest.json").read_text())
        resources: list[Resource] = []
        for stack_id, stack in sorted(nested.get("artifacts", {}).items()):
            if stack.get("type") != "aws:cloudformation:stack":
                continue
            template = json.loads((nested_dir / stack["properties"]["templateFile"]).read_text())
            for logical_id, resource in template.get("Resources", {}).items():
                resources.append(
                    Resource(
                        stack=stack_id,
                        logical_id=logical_id,
                        type=resource["Type"],
                        properties=resource.get("Properties") or {},
                    )
                )
        environments[name] = EnvironmentAssembly(name=name, resources=tuple(resources))
    if not environments:
        raise CostError(f"{outdir} holds no stage: expected one assembly per environment")
    return environments


_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


def render_text(value: Any, *, placeholders: dict[str, Any]) -> str:
    """A string property with its intrinsics (``Fn::Join``, ``Fn::Sub``, references) replaced by placeholder
    words that stay valid inside JSON strings; ``placeholders`` maps each word back to its intrinsic."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render_text(p, placeholders=placeholders) for p in parts)
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            intrinsic = variables.get(name, {"Ref": name})
            return render_text(intrinsic, placeholders=placeholders)

        return _SUB_VARIABLE.sub(replace, str(text))
    word = f"__cfn{len(placeholders)}__"
    placeholders[word] = value
    return word
