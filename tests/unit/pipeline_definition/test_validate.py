"""The offline validator: the real definition passes, and broken ones are reported with the step and the cause."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pipeline_defs.validate import (
    PLACEHOLDER_S3_URI,
    Resolver,
    iter_steps,
    json_path_get,
    sagemaker_model,
    validate_definition,
)
from tests.unit.pipeline_definition.conftest import SUBSTITUTIONS, get, join, steps_by_name


def test_every_job_step_is_a_valid_api_request(fraud_dev: dict[str, Any]) -> None:
    operations = {step["Name"]: step["Type"] for step in iter_steps(fraud_dev)}

    problems = validate_definition(fraud_dev, substitutions=SUBSTITUTIONS)

    assert problems == []
    assert operations == {
        "Dataset": "Processing",
        "Preprocess": "Processing",
        "Train": "Training",
        "Score": "Processing",
        "Evaluate": "Processing",
        "Baseline": "Processing",
        "Decide": "Processing",
        "CheckCandidate": "Condition",
        "Register": "RegisterModel",
    }


Mutation = Callable[[dict[str, dict[str, Any]]], None]


def _set(step: str, path: str, value: Any) -> Mutation:
    def mutate(steps: dict[str, dict[str, Any]]) -> None:
        *parents, last = path.split(".")
        node: Any = steps[step]
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(step: str, path: str) -> Mutation:
    def mutate(steps: dict[str, dict[str, Any]]) -> None:
        *parents, last = path.split(".")
        node: Any = steps[step]
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def _append_argument(step: str, value: Any) -> Mutation:
    def mutate(steps: dict[str, dict[str, Any]]) -> None:
        steps[step]["Arguments"]["AppSpecification"]["ContainerArguments"].append(value)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "step", "message"),
    [
        (
            _set("Preprocess", "Arguments.AppSpecification.Bogus", "x"),
            "Preprocess",
            'Unknown parameter in AppSpecification: "Bogus"',
        ),
        (
            _set("Train", "Arguments.ResourceConfig.InstanceCount", "two"),
            "Train",
            "Invalid type for parameter ResourceConfig.InstanceCount, value: two",
        ),
        (_delete("Dataset", "Arguments.RoleArn"), "Dataset", 'Missing required parameter in input: "RoleArn"'),
        # a Float parameter where the API wants a string: must go through Std:Join (to_string)
        (
            _append_argument("Dataset", get("Parameters.AbsoluteThreshold")),
            "Dataset",
            "Invalid type for parameter AppSpecification.ContainerArguments[24], value: 0.3",
        ),
        (
            _set("Train", "Arguments.HyperParameters.max_depth", get("Parameters.MaxDepth")),
            "Train",
            "Invalid type for parameter HyperParameters.max_depth, value: 5",
        ),
        (_append_argument("Baseline", "x" * 257), "Baseline", "257 characters, more than the maximum 256"),
        (_set("Register", "Arguments.ModelApprovalStatus", "Maybe"), "Register", "'Maybe' is not one of"),
        (_set("Register", "Arguments.ModelPackageGroupName", "bad name!"), "Register", "does not match pattern"),
        (
            _set(
                "Preprocess",
                "Arguments.ProcessingInputs.1.S3Input.S3Uri",
                get("Steps.Dataset.ProcessingOutputConfig.Outputs['nope'].S3Output.S3Uri"),
            ),
            "Preprocess",
            "step 'Dataset' has no processing output 'nope'",
        ),
        (
            _set("Score", "Arguments.ProcessingInputs.1.S3Input.S3Uri", get("Steps.Train.ModelArtifacts.Nope")),
            "Score",
            "ModelArtifacts has no member 'Nope'",
        ),
        (
            _set("Baseline", "Arguments.ProcessingInputs.2.S3Input.S3Uri", get("Steps.Nowhere.X")),
            "Baseline",
            "reference to unknown step 'Nowhere'",
        ),
        (
            _set("Dataset", "Arguments.AppSpecification.ContainerArguments.9", get("Parameters.Missing")),
            "Dataset",
            "reference to undeclared parameter 'Missing'",
        ),
        (
            _set(
                "CheckCandidate",
                "Arguments.Conditions.0.LeftValue.Std:JsonGet.PropertyFile",
                get("Steps.Evaluate.PropertyFiles.Nope"),
            ),
            "CheckCandidate",
            "step 'Evaluate' declares no property file 'Nope'",
        ),
        (_set("CheckCandidate", "DependsOn", ["Ghost"]), "CheckCandidate", "depends on unknown step 'Ghost'"),
    ],
)
def test_a_broken_argument_is_reported_with_its_step(
    fraud_dev: dict[str, Any], mutate: Mutation, step: str, message: str
) -> None:
    mutate(steps_by_name(fraud_dev))

    problems = validate_definition(fraud_dev, substitutions=SUBSTITUTIONS)

    assert [p.step for p in problems] == [step], [str(p) for p in problems]
    assert message in problems[0].message


def test_placeholders_left_for_fn_sub_are_reported_unless_substituted(fraud_dev_text: str) -> None:
    problems = validate_definition(fraud_dev_text)

    # The offline-store and ground-truth buckets are not in the definition: Athena reads them.
    assert {p.message for p in problems if p.step == "<definition>"} == {
        f"unsubstituted placeholder {name}"
        for name in SUBSTITUTIONS
        if name not in ("${OfflineStoreBucket}", "${GroundTruthBucket}")
    }
    assert any("RoleArn" in p.message and "does not match pattern" in p.message for p in problems)


def test_expressions_resolve_to_values_of_the_type_they_have_at_run_time() -> None:
    document = {
        "Parameters": [
            {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.3},
            {"Name": "Window", "Type": "String"},
            {"Name": "Rounds", "Type": "Integer"},
        ],
        "Steps": [
            {"Name": "Train", "Type": "Training", "Arguments": {}},
            {
                "Name": "Eval",
                "Type": "Processing",
                "Arguments": {},
                "PropertyFiles": [{"PropertyFileName": "Report", "OutputName": "o", "FilePath": "r.json"}],
            },
        ],
    }
    resolver = Resolver.for_definition(document)
    model = sagemaker_model()
    errors: list[str] = []

    resolved = resolver.resolve(
        {
            "threshold": get("Parameters.Threshold"),
            "window": get("Parameters.Window"),
            "rounds": get("Parameters.Rounds"),
            "joined": join("s3://b", get("Execution.PipelineExecutionId"), get("Parameters.Threshold")),
            "model": get("Steps.Train.ModelArtifacts.S3ModelArtifacts"),
            "seconds": get("Steps.Train.StoppingCondition.MaxRuntimeInSeconds"),
        },
        None,
        errors,
    )
    json_get = {"Std:JsonGet": {"PropertyFile": get("Steps.Eval.PropertyFiles.Report"), "Path": "a.b"}}
    as_count = resolver.resolve(json_get, model.shape_for("ProcessingInstanceCount"), errors)

    assert errors == []
    assert resolved == {
        "threshold": 0.3,
        "window": "placeholder",
        "rounds": 1,
        "joined": "s3://b/execution-pipelineexecutionid/0.3",
        "model": PLACEHOLDER_S3_URI,
        "seconds": 1,
    }
    assert as_count == 1


def test_json_path_get_reads_what_std_jsonget_reads() -> None:
    document = {"decision_inputs": {"candidate_objective": 0.71}, "curves": [{"x": 1}], "odd key": {"k": True}}

    assert json_path_get(document, "decision_inputs.candidate_objective") == 0.71
    assert json_path_get(document, "curves[0].x") == 1
    assert json_path_get(document, "['odd key'].k") is True
    with pytest.raises(KeyError, match="no 'champion_bar'"):
        json_path_get(document, "decision_inputs.champion_bar")
