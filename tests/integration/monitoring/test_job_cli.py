"""The job end to end through its command line: exit codes, output formats, report, metrics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config.models.fraud_detection import FRAUD_DETECTION
from monitor_stats.schema import validate_statistics, validate_violations
from monitoring_job.cli import EXIT_FAILED, EXIT_OK, EXIT_VIOLATIONS, main
from monitoring_job.config import job_config_from_spec
from monitoring_job.job import Publishing, analyze
from monitoring_job.synthetic import Scenario, build_scenario, fraud_features

from .conftest import run

FEATURES = fraud_features()
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def clean(tmp_path: Path) -> Scenario:
    return build_scenario(tmp_path / "clean", FEATURES, rows=5_000, seed=21)


@pytest.fixture
def drifted(tmp_path: Path) -> Scenario:
    return build_scenario(tmp_path / "drift", FEATURES, rows=5_000, seed=22, drifted=frozenset({"amount"}))


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_no_drift_exits_0_and_writes_every_output(clean: Scenario, tmp_path: Path) -> None:
    output = tmp_path / "out"

    status, report = run(clean, output)

    assert status == EXIT_OK
    assert report["violation_count"] == 0
    assert sorted(p.name for p in output.iterdir()) == [
        "constraint_violations.json",
        "drift_report.json",
        "metrics.jsonl",
        "report.html",
        "shard_stats.json",
        "statistics.json",
    ]
    assert _json(output / "constraint_violations.json") == {"violations": []}


def test_drift_exits_2_and_the_outputs_follow_the_model_monitor_formats(drifted: Scenario, tmp_path: Path) -> None:
    output = tmp_path / "out"

    status, _ = run(drifted, output)

    statistics, violations = _json(output / "statistics.json"), _json(output / "constraint_violations.json")
    assert status == EXIT_VIOLATIONS
    assert validate_statistics(statistics) == []
    assert validate_violations(violations) == []
    assert statistics["dataset"]["item_count"] == 5_000
    assert [f["name"] for f in statistics["features"]] == [f.name for f in FEATURES] + ["prediction"]
    amount = statistics["features"][0]["numerical_statistics"]
    assert sum(b["count"] for b in amount["distribution"]["kll"]["buckets"]) == amount["common"]["num_present"]
    assert {"feature_name": "amount", "constraint_check_type": "baseline_drift_check"}.items() <= violations[
        "violations"
    ][0].items()


def test_violations_exit_code_can_be_overridden_for_scheduled_runs(drifted: Scenario, tmp_path: Path) -> None:
    assert main(drifted.cli_args(tmp_path / "out", "--violations-exit-code", "0")) == EXIT_OK


def test_the_html_report_plots_every_feature_inline(drifted: Scenario, tmp_path: Path) -> None:
    run(drifted, tmp_path / "out")

    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")

    assert html.count("<section>") == len(FEATURES) + 1
    assert html.count("<svg") >= 2 * (len(FEATURES) - 1)  # numeric: bars + CDF; categorical: bars
    assert "DRIFT" in html
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_metrics_carry_the_configured_namespace_and_dimensions(drifted: Scenario, tmp_path: Path) -> None:
    run(drifted, tmp_path / "out")

    documents = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]

    dataset, *features = documents
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in documents} == {"MLOps/DataQuality"}
    assert dataset["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Model", "Environment"]]
    assert (dataset["Model"], dataset["Environment"], dataset["RecordCount"]) == ("fraud-detection", "dev", 5000)
    assert [d["Feature"] for d in features] == [f.name for f in FEATURES] + ["prediction"]
    amount = features[0]
    assert amount["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Model", "Environment", "Feature"]]
    assert amount["FeatureDriftDetected"] == 1
    assert amount["FeatureDrift"] > 0.1


def test_emf_lines_can_also_go_to_stdout(clean: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(clean.cli_args(tmp_path / "out", "--emf-stdout"))

    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert printed == [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]


class _FakeCloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def test_metrics_are_published_through_the_injected_client_only_when_enabled(drifted: Scenario, tmp_path: Path) -> None:
    config = _json(drifted.config)
    config["metrics"]["publish"] = True
    drifted.config.write_text(json.dumps(config), encoding="utf-8")
    client = _FakeCloudWatch()
    kwargs: dict[str, Any] = {
        "input_dir": drifted.capture,
        "baseline_dir": drifted.baseline,
        "config_path": drifted.config,
    }

    off = analyze(
        **kwargs, output_dir=tmp_path / "off", publishing=Publishing(enabled=False, client_factory=lambda: client)
    )
    on = analyze(
        **kwargs, output_dir=tmp_path / "on", publishing=Publishing(enabled=True, client_factory=lambda: client)
    )

    assert off.metrics_published == 0
    assert on.metrics_published == sum(len(c["MetricData"]) for c in client.calls) > 0
    names = {(d["MetricName"], tuple(x["Name"] for x in d["Dimensions"])) for d in client.calls[0]["MetricData"]}
    assert ("FeatureDrift", ("Model", "Environment", "Feature")) in names
    assert {c["Namespace"] for c in client.calls} == {"MLOps/DataQuality"}


def test_an_empty_window_is_a_violation_not_a_crash(clean: Scenario, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    scenario = Scenario(empty, clean.baseline, clean.config)

    status, report = run(scenario, tmp_path / "out")

    violations = _json(tmp_path / "out" / "constraint_violations.json")["violations"]
    assert status == EXIT_VIOLATIONS
    assert report["read"]["records"] == 0
    assert violations[0]["feature_name"] == "_dataset"
    assert violations[0]["constraint_check_type"] == "completeness_check"
    assert "No usable records" in violations[0]["description"]


def test_quarantined_lines_are_violations(clean: Scenario, tmp_path: Path) -> None:
    capture_file = next(clean.capture.rglob("*.jsonl"))
    with capture_file.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")

    status, report = run(clean, tmp_path / "out")

    violations = _json(tmp_path / "out" / "constraint_violations.json")["violations"]
    assert status == EXIT_VIOLATIONS
    assert report["read"]["bad_lines"] == {"invalid_json": 1}
    assert violations == [
        {
            "feature_name": "_record",
            "constraint_check_type": "data_type_check",
            "description": "1 of 5001 lines (0.02%) quarantined in quarantine/invalid_json.jsonl: not valid JSON",
        }
    ]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("baseline_missing", "statistics.json: cannot be read"),
        ("baseline_garbage", "statistics.json: is not valid JSON"),
        ("config_garbage", "job_config.json: is not valid JSON"),
        ("config_bad_type", "features[0].type: 'Decimal' is not one of"),
        ("input_missing", "input directory"),
    ],
)
def test_a_job_that_cannot_run_exits_1_naming_the_problem(
    clean: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str], breakage: str, message: str
) -> None:
    capture = clean.capture
    if breakage == "baseline_missing":
        (clean.baseline / "statistics.json").unlink()
    elif breakage == "baseline_garbage":
        (clean.baseline / "statistics.json").write_text("{", encoding="utf-8")
    elif breakage == "config_garbage":
        clean.config.write_text("features: []", encoding="utf-8")
    elif breakage == "config_bad_type":
        config = _json(clean.config)
        config["features"][0]["type"] = "Decimal"
        clean.config.write_text(json.dumps(config), encoding="utf-8")
    else:
        capture = tmp_path / "nowhere"

    status = main(Scenario(capture, clean.baseline, clean.config).cli_args(tmp_path / "out"))

    assert status == EXIT_FAILED
    assert message in capsys.readouterr().err


def test_a_usage_error_exits_1_not_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["analyze", "--bogus"])

    assert raised.value.code == EXIT_FAILED
    assert "unrecognized arguments" in capsys.readouterr().err


def test_the_module_runs_as_python_dash_m_with_a_config_written_from_the_spec(clean: Scenario, tmp_path: Path) -> None:
    raw = job_config_from_spec(
        FRAUD_DETECTION,
        endpoint_name="fraud-detection-dev",
        environment="dev",
        publish=False,
    )
    clean.config.write_text(json.dumps(raw), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "monitoring_job", *clean.cli_args(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == EXIT_OK, result.stderr
    assert "0 violations" in result.stderr
