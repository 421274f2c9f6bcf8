"""cdk-nag (AwsSolutions, v3 plugin) and cfn-lint over every synthesized template."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk import aws_s3 as s3

from tests.support.synth import Synthesized, cdk_json_context

# cfn-lint checks that do not apply to CDK output; keep this list minimal and say why.
CFN_LINT_IGNORED = {
    "W3005": "CDK emits DependsOn that a GetAtt already implies; harmless and not under our control.",
}


def test_synth_has_no_unacknowledged_cdk_nag_findings(synth: Synthesized) -> None:
    # cdk-nag v3 raises ValidationFailed at synth on any finding; the session synth succeeded, and its report
    # (written on every synth) lists no violation.
    assert synth.templates
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    violations = [v for p in report["pluginReports"] for v in p.get("violations", [])]
    assert violations == []


def test_cdk_nag_is_active_and_fails_synth_on_a_finding(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "Bad")
    s3.Bucket(stack, "NoLogsNoTls")
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


def test_every_acknowledgement_carries_a_specific_reason() -> None:
    root = Path(__file__).resolve().parents[2]
    sources = [
        p for d in ("stacks", "mlops_constructs", "app.py") for p in sorted((root / d).rglob("*.py")) if p.is_file()
    ] + ([root / "app.py"])
    pattern = re.compile(r"Acknowledgment\(\s*id=(?P<id>[^,]+),\s*reason=(?P<reason>(?:\"[^\"]*\"\s*)+)", re.S)
    found = 0
    for path in sources:
        for match in pattern.finditer(path.read_text()):
            found += 1
            reason = " ".join(re.findall(r"\"([^\"]*)\"", match["reason"]))
            assert len(reason) >= 40, f"{path.name}: acknowledgement {match['id']} needs a specific reason"
    assert found >= 1


def test_cfn_lint_reports_no_errors_or_warnings(synth: Synthesized) -> None:
    files = [str(p) for p in synth.template_files()]
    assert len(files) == len(synth.templates)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            "--ignore-checks",
            *CFN_LINT_IGNORED,
            "--",
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
