"""Two synths of the same commit, by the real CDK CLI in fresh processes, are byte-identical."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Two CLI synths of the whole app: make test-added-models leaves them to make test.
pytestmark = pytest.mark.variant_synth

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_cli_synths_produce_identical_templates(tmp_path: Path) -> None:
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    if not cdk.exists() or shutil.which("node") is None:
        pytest.fail("run `make setup` first: the pinned CDK CLI is missing")
    env = {
        **os.environ,
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "PYTHONHASHSEED": "random",
    }
    outs = []
    for run in ("one", "two"):
        out = tmp_path / run
        subprocess.run(
            [str(cdk), "synth", "--quiet", "--no-notices", "-o", str(out)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        outs.append(out)
    templates = sorted(p.relative_to(outs[0]) for p in outs[0].glob("**/*.template.json"))
    assert len(templates) >= 3
    for relative in templates:
        assert filecmp.cmp(outs[0] / relative, outs[1] / relative, shallow=False), f"{relative} differs"
    assert sorted(p.relative_to(outs[1]) for p in outs[1].glob("**/*.template.json")) == templates
