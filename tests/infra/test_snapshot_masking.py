"""The snapshot masking hides code edits but not infrastructure edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from tests.support.snapshot import masked
from tests.support.synth import cdk_json_context


def synth_function_stack(code_dir: Path, outdir: Path, *, memory_mb: int) -> dict[str, Any]:
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    stack = cdk.Stack(app, "Fn")
    lambda_.Function(
        stack,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_asset(str(code_dir)),
        memory_size=memory_mb,
    )
    template: dict[str, Any] = app.synth().get_stack_by_name("Fn").template
    return template


def test_editing_lambda_code_does_not_change_the_masked_template_but_a_property_change_does(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.py").write_text("def handler(event, context):\n    return 1\n")
    before = synth_function_stack(code, tmp_path / "a", memory_mb=256)

    (code / "index.py").write_text("def handler(event, context):\n    return 2\n")
    code_edited = synth_function_stack(code, tmp_path / "b", memory_mb=256)
    property_edited = synth_function_stack(code, tmp_path / "c", memory_mb=512)

    assert before != code_edited, "the raw template must change with the code (new asset hash)"
    assert masked(before) == masked(code_edited)
    assert masked(code_edited) != masked(property_edited)
