"""The definition and the step scripts agree: arguments, file names and the JSON paths the gate reads."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config import FRAUD_DETECTION
from pipeline_defs import definition as d
from pipeline_defs.scripts import baseline, condition, dataset, evaluate, preprocess, score, train_local
from pipeline_defs.scripts.spec import step_spec_from_model_spec
from pipeline_defs.validate import Resolver, json_path_get
from tests.support.baselines import baseline_step_outputs
from tests.unit.pipeline_definition.conftest import steps_by_name

PARSERS: dict[str, argparse.ArgumentParser] = {
    "Dataset": dataset._parser(),
    "Preprocess": preprocess._parser(),
    "Score": score._parser(),
    "Evaluate": evaluate._parser(),
    "Baseline": baseline._parser(),
    "Decide": condition._parser(),
}


def container_arguments(document: dict[str, Any], step: str) -> list[str]:
    """The step's container arguments as the script receives them (expressions resolved to examples)."""
    resolver = Resolver.for_definition(document)
    errors: list[str] = []
    arguments = steps_by_name(document)[step]["Arguments"]["AppSpecification"]["ContainerArguments"]
    resolved = [str(value) for value in resolver.resolve(arguments, None, errors)]
    assert errors == []
    return resolved


@pytest.mark.parametrize("step", sorted(PARSERS))
def test_every_argument_the_definition_passes_is_one_the_script_accepts(fraud_dev: dict[str, Any], step: str) -> None:
    parsed = PARSERS[step].parse_args(container_arguments(fraud_dev, step))

    paths = {name: str(value) for name, value in vars(parsed).items() if isinstance(value, Path)}
    local_inputs = {i["S3Input"]["LocalPath"] for i in steps_by_name(fraud_dev)[step]["Arguments"]["ProcessingInputs"]}
    local_inputs.add(d.CODE_DIR)  # the entrypoint unpacks the code input (with spec.json) here
    outputs = {
        o["S3Output"]["LocalPath"]
        for o in steps_by_name(fraud_dev)[step]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    }
    # every path the script reads lies in (or holds) an input, and it writes into an output directory
    roots = local_inputs | outputs
    assert all(
        any(path.startswith(root) or root.startswith(f"{path}/") for root in roots) for path in paths.values()
    ), paths
    assert str(parsed.output_dir) in outputs


def test_the_dataset_step_gives_the_athena_engine_a_table_for_every_feature_group(fraud_dev: dict[str, Any]) -> None:
    parsed = PARSERS["Dataset"].parse_args(container_arguments(fraud_dev, "Dataset"))
    spec = step_spec_from_model_spec(FRAUD_DETECTION)

    target = dataset._athena_target(parsed)
    sql = dataset.athena_sql(spec, target)

    assert parsed.engine == "athena"
    assert set(target.feature_tables) == set(spec.feature_groups)
    assert parsed.region == "us-east-1"
    assert parsed.request_scope  # the execution id: a retried job reuses its query, a new execution does not
    assert '"mlops_dev_feature_store"."fraud_detection_dev_customer_spend"' in sql
    assert '"mlops_dev_feature_store"."fraud_detection_dev_labels"' in sql


def _channel(directory: Path, seed: int, rows: int) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = (x[:, 0] + rng.normal(scale=0.5, size=rows) > 0.8).astype(int)
    directory.mkdir(parents=True)
    lines = [",".join([str(label), *(f"{v:.4f}" for v in row)]) for label, row in zip(y, x, strict=True)]
    (directory / "data.csv").write_text("\n".join(lines) + "\n")
    return directory


@pytest.fixture(scope="module")
def evaluation_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """evaluate.py's real output (from score.py's) for a small model with no champion."""
    root = tmp_path_factory.mktemp("evaluation")
    params = train_local.Hyperparameters(num_round=10, early_stopping_rounds=3, max_depth=2)
    booster, _ = train_local.train(_channel(root / "train", 1, 300), _channel(root / "validation", 2, 100), params)
    train_local.save_model_archive(booster, root / "model")
    (root / "spec.json").write_text(d.spec_json(FRAUD_DETECTION))
    test = _channel(root / "test", 3, 150)
    assert score.main(["--model", str(root / "model"), "--test", str(test), "--output-dir", str(root / "scores")]) == 0
    status = evaluate.main(
        [
            "--spec",
            str(root / "spec.json"),
            "--scores",
            str(root / "scores"),
            "--output-dir",
            str(root / "out"),
            "--absolute-threshold",
            "0.0",
            "--min-improvement",
            "0.01",
        ]
    )
    assert status == 0
    return root / "out"


def test_the_gate_reads_paths_that_evaluate_and_condition_write(
    fraud_dev: dict[str, Any], evaluation_dir: Path, tmp_path: Path
) -> None:
    steps = steps_by_name(fraud_dev)
    threshold, champion_bar = steps["CheckCandidate"]["Arguments"]["Conditions"]
    evaluation_file = steps["Evaluate"]["PropertyFiles"][0]["FilePath"]
    decision_file = steps["Decide"]["PropertyFiles"][0]["FilePath"]

    assert condition.main(["--evaluation", str(evaluation_dir), "--output-dir", str(tmp_path)]) == 0

    evaluation = json.loads((evaluation_dir / evaluation_file).read_text())
    decision = json.loads((tmp_path / decision_file).read_text())
    candidate = json_path_get(evaluation, threshold["LeftValue"]["Std:JsonGet"]["Path"])
    code = json_path_get(decision, champion_bar["QueryValue"]["Std:JsonGet"]["Path"])
    assert isinstance(candidate, float)
    assert candidate == evaluation["binary_classification_metrics"]["pr_auc"]["value"]
    assert code == "registered_no_champion"
    assert decision["register"] is (code in champion_bar["Values"])
    assert {c.value for c in condition.DecisionCode if c.value in champion_bar["Values"]} == set(d.REGISTER_CODES)


def test_the_class_weight_is_read_from_the_summary_preprocess_writes(fraud_dev: dict[str, Any], tmp_path: Path) -> None:
    steps = steps_by_name(fraud_dev)
    summary_file = steps["Preprocess"]["PropertyFiles"][0]["FilePath"]
    weight = steps["Train"]["Arguments"]["HyperParameters"]["scale_pos_weight"]["Std:Join"]["Values"][0]
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [(1, [1.0] * 12), (0, [0.0] * 12), (0, [0.5] * 12), (0, [0.2] * 12)]
    splits = [preprocess.Split(name=name, rows=rows, first=moment, last=moment) for name in preprocess.SPLITS]

    preprocess.write_outputs(splits, step_spec_from_model_spec(FRAUD_DETECTION), tmp_path)

    summary = json.loads((tmp_path / summary_file).read_text())
    assert json_path_get(summary, weight["Std:JsonGet"]["Path"]) == 3.0  # three negatives per positive


def test_the_registered_metrics_and_baselines_are_files_baseline_writes(
    fraud_dev: dict[str, Any], tmp_path: Path
) -> None:
    register = steps_by_name(fraud_dev)["Register"]["Arguments"]
    referenced = [
        tuple(source["S3Uri"]["Std:Join"]["Values"][1:])
        for section in (register["ModelMetrics"], register["DriftCheckBaselines"])
        for quality in section.values()
        for source in quality.values()
        if "Baseline" in json.dumps(source)
    ]

    out = baseline_step_outputs(tmp_path)  # the real Baseline step

    assert len(referenced) == 7
    assert all(out.joinpath(*parts).is_file() for parts in referenced), referenced
