"""Synthesizing the app the way `cdk synth` does, for tests: same cdk.json context, no asset bundling."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from app import build_app
from config import ENVIRONMENTS, MODELS, PLATFORM_OWNER, Environment, ModelSpec, Owner

ROOT = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    # Skip asset bundling in tests: assets are plain directories, and nothing must need Docker.
    return {**context, "aws:cdk:bundling-stacks": []}


@dataclass(frozen=True)
class Synthesized:
    """A synthesized cloud assembly: templates by environment and stack id (e.g. ``("dev", "platform")``)."""

    outdir: Path
    templates: dict[tuple[str, str], dict[str, Any]]
    termination_protection: dict[tuple[str, str], bool]

    def template(self, env: str, stack: str) -> Template:
        return Template.from_json(self.templates[(env, stack)])

    def json(self, env: str, stack: str) -> dict[str, Any]:
        return self.templates[(env, stack)]

    def template_files(self) -> list[Path]:
        return sorted(self.outdir.glob("assembly-*/*.template.json"))


def synthesize(
    outdir: Path,
    *,
    environments: Sequence[Environment] = ENVIRONMENTS,
    models: Sequence[ModelSpec] = MODELS,
    platform_owner: Owner = PLATFORM_OWNER,
) -> Synthesized:
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    stages = build_app(app, environments=environments, models=models, platform_owner=platform_owner)
    app.synth()
    templates: dict[tuple[str, str], dict[str, Any]] = {}
    protection: dict[tuple[str, str], bool] = {}
    for env_name, stage in stages.items():
        manifest = json.loads((outdir / f"assembly-{env_name}" / "manifest.json").read_text())
        for child in stage.node.children:
            if isinstance(child, cdk.Stack):
                path = outdir / f"assembly-{env_name}" / child.template_file
                templates[(env_name, child.node.id)] = json.loads(path.read_text())
                properties = manifest["artifacts"][child.artifact_id]["properties"]
                protection[(env_name, child.node.id)] = bool(properties.get("terminationProtection", False))
    return Synthesized(outdir=outdir, templates=templates, termination_protection=protection)
