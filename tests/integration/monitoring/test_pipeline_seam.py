"""The seam between the training pipeline and the monitors, crossed with the real producers on both sides.

The pipeline's own steps run locally (sample data -> dataset -> preprocess -> train -> evaluate -> baseline);
the window is the same model's test split as the endpoint receives it (the serving encoder's CSV rows) with the
model's scores as the endpoint returns them, in SageMaker's capture format; the drift job runs with the config
the CDK writes for the environment. A baseline and a job config that disagree on a column's type, encoding or
presence fail here: the test split comes from the training population, so anything but a clean report is a
seam defect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from config import DEV, FRAUD_DETECTION, ModelDeployment
from mlops_constructs.monitoring_common import drift_job_config
from monitor_stats.preprocessor import render_preprocessor
from monitoring_job.config import parse_job_config
from pipeline_defs.local_run import LocalRunConfig
from pipeline_defs.local_run import run as run_pipeline
from tools import drift_local
from tools.drift_local import Shift, model_inputs_with_scores

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MONITORED = [*FRAUD_DETECTION.feature_names, "prediction"]


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seam") / "pipeline-local"
    run_pipeline(LocalRunConfig(out=out))
    return out


def analyze(pipeline_run: Path, out: Path, shifts: list[Shift]) -> dict[str, Any]:
    status = drift_local.run(
        run_dir=pipeline_run, out=out, spec=FRAUD_DETECTION, environment="dev", capture=None, shifts=shifts
    )
    assert status == 0
    reports = {
        name: json.loads((out / "report" / name).read_text())
        for name in ("drift_report.json", "constraint_violations.json", "statistics.json")
    }
    return {**reports, "job_config.json": json.loads((out / "job_config.json").read_text())}


@pytest.fixture(scope="module")
def clean(pipeline_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return analyze(pipeline_run, tmp_path_factory.mktemp("clean"), [])


@pytest.fixture(scope="module")
def drifted(pipeline_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    shifts = [Shift("amount", "2"), Shift("merchant_category", "online")]
    return analyze(pipeline_run, tmp_path_factory.mktemp("drifted"), shifts)


def test_the_job_ran_with_the_config_the_cdk_writes(clean: dict[str, Any]) -> None:
    expected = drift_job_config(ModelDeployment(spec=FRAUD_DETECTION, env=DEV), endpoint_name="fraud-detection-dev")

    assert clean["job_config.json"] == expected


def test_every_feature_and_the_prediction_is_compared_without_violation_or_drift(
    clean: dict[str, Any], pipeline_run: Path
) -> None:
    report = clean["drift_report.json"]
    test_rows = len((pipeline_run / "preprocess" / "test" / "test.csv").read_text().splitlines())

    assert report["read"]["records"] == test_rows > 500
    assert [(f["name"], f["compared"], f["note"]) for f in report["features"]] == [(n, True, "") for n in MONITORED]
    assert clean["constraint_violations.json"] == {"violations": []}
    assert report["drifted_features"] == []


def test_the_captured_category_codes_are_counted_as_the_baselines_labels(clean: dict[str, Any]) -> None:
    category = next(f for f in clean["statistics.json"]["features"] if f["name"] == "merchant_category")
    window = {b["value"] for b in category["string_statistics"]["distribution"]["categorical"]["buckets"]}
    drift = next(f for f in clean["drift_report.json"]["features"] if f["name"] == "merchant_category")

    assert category["inferred_type"] == "String"
    assert window <= set(FRAUD_DETECTION.category_vocabularies["merchant_category"])
    assert (drift["new_values"], drift["outside_domain_fraction"]) == ([], 0.0)


def test_a_drifted_window_flags_exactly_the_moved_features(drifted: dict[str, Any]) -> None:
    report = drifted["drift_report.json"]
    violations = drifted["constraint_violations.json"]["violations"]

    assert {"amount", "merchant_category"} <= set(report["drifted_features"])
    untouched = set(FRAUD_DETECTION.feature_names) - {"amount", "merchant_category"}
    assert not untouched & set(report["drifted_features"])
    assert {v["constraint_check_type"] for v in violations} == {"baseline_drift_check"}


def test_model_monitors_preprocessor_turns_the_same_captures_into_the_baselines_columns(pipeline_run: Path) -> None:
    """The Model Monitor backend's side of the seam, as far as it runs offline: the generated record preprocessor
    applied to the captured lines gives one value per baseline column, in the baseline's order, of its type."""
    config = parse_job_config(drift_job_config(ModelDeployment(spec=FRAUD_DETECTION, env=DEV), endpoint_name="e"))
    namespace: dict[str, Any] = {}
    exec(render_preprocessor(FRAUD_DETECTION.name, config.monitored), namespace)
    statistics = json.loads((pipeline_run / "baselines" / "data-quality" / "statistics.json").read_text())
    types = [f["inferred_type"] for f in statistics["features"]]
    domain = {
        f["name"]: {b["value"] for b in f["string_statistics"]["distribution"]["categorical"]["buckets"]}
        for f in statistics["features"]
        if f["inferred_type"] == "String"
    }

    for line in model_inputs_with_scores(pipeline_run, [], FRAUD_DETECTION)[:200]:
        record = namespace["preprocess_handler"](_InferenceRecord(json.loads(line)))
        values = [record[key] for key in sorted(record)]
        assert [f["name"] for f in statistics["features"]] == MONITORED
        assert [isinstance(v, str) for v in values] == [t == "String" for t in types]
        assert values[MONITORED.index("merchant_category")] in domain["merchant_category"]


class _Payload:
    def __init__(self, raw: dict[str, str]) -> None:
        self.data, self.encoding = raw["data"], raw["encoding"]


class _InferenceRecord:
    """The attributes of Model Monitor's ``inference_record`` the preprocessor reads."""

    def __init__(self, line: dict[str, Any]) -> None:
        self.endpoint_input = _Payload(line["captureData"]["endpointInput"])
        self.endpoint_output = _Payload(line["captureData"]["endpointOutput"])
