"""Rendering a synthesized state machine's definition (intrinsics replaced by plausible values) and
validating it with the npm ``asl-validator`` (statelint rejects the integer BackoffRate CDK emits)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "111111111111",
    "AWS::URLSuffix": "amazonaws.com",
}


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if "Ref" in value:
        ref = value["Ref"]
        return PSEUDO.get(ref, f"arn:aws:states:us-east-1:111111111111:ref:{ref}")
    if "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return f"arn:aws:lambda:us-east-1:111111111111:function:{resource}-{attribute}"
    if "Fn::GetStackOutput" in value:
        return f"arn:aws:sns:us-east-1:111111111111:{value['Fn::GetStackOutput']['OutputName']}"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_render(p) for p in parts)
    raise ValueError(f"cannot render intrinsic {value}")


def rendered_definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state machine's definition in ``template``, parsed, by logical ID."""
    result: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            result[logical_id] = json.loads(_render(resource["Properties"]["DefinitionString"]))
    return result


def asl_validator_errors(definition: dict[str, Any], workdir: Path) -> str | None:
    """None when asl-validator accepts the definition, else its report."""
    validator = ROOT / "node_modules" / ".bin" / "asl-validator"
    if not validator.exists() or shutil.which("node") is None:
        raise RuntimeError("asl-validator is missing: run `make setup`")
    path = workdir / "definition.json"
    path.write_text(json.dumps(definition))
    result = subprocess.run([str(validator), "--json-path", str(path)], capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else result.stdout + result.stderr
