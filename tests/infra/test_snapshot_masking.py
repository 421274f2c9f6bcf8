"""The snapshot masking hides code edits but not infrastructure edits (on a toy stack and on the real app)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from config import DEV, MODELS
from mlops_constructs import code_bundle
from mlops_constructs.drift_job import BUNDLE_INCLUDES as DRIFT_BUNDLE
from mlops_constructs.training_pipeline import BUNDLE_INCLUDES as TRAINING_BUNDLE
from tests.support.snapshot import masked
from tests.support.synth import ROOT, Synthesized, cdk_json_context, synthesize


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


@pytest.mark.variant_synth
def test_a_pipeline_script_edit_leaves_the_real_apps_masked_templates_unchanged_but_a_setting_change_does_not(
    synth: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real app's code bundles (the training pipeline's and the drift job's) taken from a copy of the
    repository whose Decide script has one more comment line: the asset keys change, the masked templates do not."""
    root = tmp_path / "repository"
    for entry in {*TRAINING_BUNDLE, *DRIFT_BUNDLE}:
        source, target = ROOT / entry, root / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    script = root / "pipeline_defs" / "scripts" / "condition.py"
    script.write_text(script.read_text() + "# a comment: the script does the same\n")
    monkeypatch.setattr(code_bundle, "ROOT", root)

    edited = synthesize(tmp_path / "edited", environments=[DEV])
    setting_changed = synthesize(
        tmp_path / "setting", environments=[replace(DEV, endpoint=replace(DEV.endpoint, max_instances=3))]
    )

    dev = [key for key in synth.templates if key[0] == "dev"]
    assert [key for key in dev if synth.templates[key] != edited.templates[key]] == [
        ("dev", f"{model.name}-training") for model in MODELS
    ], "every training stack must change with its script (new asset key, new definition)"
    assert all(masked(edited.templates[key]) == masked(synth.templates[key]) for key in dev)
    assert [key for key in dev if masked(setting_changed.templates[key]) != masked(synth.templates[key])] != []
