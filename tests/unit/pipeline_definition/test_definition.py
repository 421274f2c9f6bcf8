"""What the training pipeline definition contains: parameters, steps, data flow, gate, registration, layout."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from config import DEV, ENVIRONMENTS, FRAUD_DETECTION, PROD, Environment, ModelDeployment
from pipeline_defs import definition as d
from pipeline_defs.definition import PipelineContext, build_pipeline_definition
from pipeline_defs.scripts.spec import StepSpec, step_spec_from_model_spec
from pipeline_defs.validate import validate_definition
from tests.support.specs import CHURN
from tests.unit.pipeline_definition.conftest import (
    CONTEXT,
    EXECUTION_ID,
    PLACEHOLDER,
    SUBSTITUTIONS,
    built,
    context_for,
    get,
    join,
    referenced_steps,
    steps_by_name,
    walk,
)

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-py312-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
RUN_ROOT = "s3://${ArtifactsBucket}/pipelines/fraud-detection-dev-training"
PROCESSING_MODULES = {
    "Dataset": "dataset",
    "Preprocess": "preprocess",
    "Score": "score",
    "Evaluate": "evaluate",
    "Baseline": "baseline",
    "Decide": "condition",
}
CODE_BUNDLE = "s3://${AssetsBucket}/${CodeHash}.zip"


def output_uri(step: dict[str, Any], name: str) -> Any:
    outputs = step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    return next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == name)


def input_uri(step: dict[str, Any], name: str) -> Any:
    inputs = step["Arguments"]["ProcessingInputs"]
    return next(i["S3Input"]["S3Uri"] for i in inputs if i["InputName"] == name)


def output_property(step: str, output: str) -> dict[str, str]:
    return get(f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri")


# ---- the document as a whole ----


def test_two_builds_are_identical_and_keys_are_sorted(fraud_dev_text: str) -> None:
    deployment = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)

    again = build_pipeline_definition(deployment, CONTEXT)

    assert again == fraud_dev_text
    assert json.dumps(json.loads(again), sort_keys=True, separators=(",", ":")) == again


def test_only_the_context_placeholders_appear_for_fn_sub(fraud_dev_text: str) -> None:
    found = PLACEHOLDER.findall(fraud_dev_text)

    assert CONTEXT.placeholders == set(SUBSTITUTIONS)
    # Athena reads the offline store and the labels: the definition names neither bucket.
    assert set(found) == CONTEXT.placeholders - {"${OfflineStoreBucket}", "${GroundTruthBucket}"}
    assert fraud_dev_text.count("${") == len(found)  # no other "${" sequence Fn::Sub could misread


def test_parameters_with_types_and_defaults_from_the_spec(fraud_dev: dict[str, Any]) -> None:
    parameters = {p["Name"]: (p["Type"], p.get("DefaultValue", "<required>")) for p in fraud_dev["Parameters"]}
    h = FRAUD_DETECTION.hyperparameters

    assert parameters == {
        "WindowStart": ("String", "<required>"),
        "WindowEnd": ("String", "<required>"),
        "ChampionModelUri": ("String", ""),
        "AbsoluteThreshold": ("Float", FRAUD_DETECTION.absolute_threshold),
        "MinImprovement": ("Float", FRAUD_DETECTION.min_improvement),
        "ProcessingInstanceType": ("String", "ml.m5.xlarge"),
        "TrainingInstanceType": ("String", "ml.m5.xlarge"),
        "MaxDepth": ("Integer", h.max_depth),
        "Eta": ("Float", h.eta),
        "NumRound": ("Integer", h.num_round),
        "Subsample": ("Float", h.subsample),
        "MinChildWeight": ("Float", h.min_child_weight),
    }
    assert tuple(parameters) == d.PARAMETER_NAMES


def test_steps_run_in_order_and_each_reads_what_the_previous_ones_wrote(fraud_dev: dict[str, Any]) -> None:
    top_level = [(s["Name"], s["Type"]) for s in fraud_dev["Steps"]]
    steps = steps_by_name(fraud_dev)

    assert top_level == [
        ("Dataset", "Processing"),
        ("Preprocess", "Processing"),
        ("Train", "Training"),
        ("Score", "Processing"),
        ("Evaluate", "Processing"),
        ("Baseline", "Processing"),
        ("Decide", "Processing"),
        ("CheckCandidate", "Condition"),
    ]
    assert {name: referenced_steps(step) for name, step in steps.items()} == {
        "Dataset": set(),
        "Preprocess": {"Dataset"},
        "Train": {"Preprocess"},
        "Score": {"Preprocess", "Train"},
        "Evaluate": {"Score"},
        "Baseline": {"Preprocess", "Score", "Evaluate"},
        "Decide": {"Evaluate"},
        "CheckCandidate": {"Evaluate", "Decide", "Baseline"},
        "Register": {"Train", "Evaluate", "Baseline"},
    }


def test_no_step_is_cached_so_outputs_always_land_under_the_current_execution(fraud_dev: dict[str, Any]) -> None:
    assert all("CacheConfig" not in step for step in steps_by_name(fraud_dev).values())


# ---- the registration gate ----


def test_gate_compares_the_candidate_with_the_threshold_parameter_and_the_champion_bar(
    fraud_dev: dict[str, Any],
) -> None:
    check = steps_by_name(fraud_dev)["CheckCandidate"]["Arguments"]
    threshold, champion_bar = check["Conditions"]

    assert threshold == {
        "Type": "GreaterThanOrEqualTo",
        "LeftValue": {
            "Std:JsonGet": {
                "PropertyFile": get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
                "Path": "decision_inputs.candidate_objective",
            }
        },
        "RightValue": get("Parameters.AbsoluteThreshold"),
    }
    # Decide (condition.py) applies "candidate >= champion + MinImprovement" to the same evaluation.json.
    assert champion_bar == {
        "Type": "In",
        "QueryValue": {
            "Std:JsonGet": {"PropertyFile": get("Steps.Decide.PropertyFiles.RegistrationDecision"), "Path": "code"}
        },
        "Values": ["registered_no_champion", "registered_beats_champion"],
    }
    assert [s["Name"] for s in check["IfSteps"]] == ["Register"]


def test_a_candidate_that_fails_the_gate_ends_the_pipeline_without_a_fail_step(fraud_dev: dict[str, Any]) -> None:
    check = steps_by_name(fraud_dev)["CheckCandidate"]["Arguments"]

    assert check["ElseSteps"] == []
    assert all(step["Type"] != "Fail" for step in steps_by_name(fraud_dev).values())


def test_score_loads_both_models_on_the_training_image_and_evaluate_reads_its_scores(
    fraud_dev: dict[str, Any],
) -> None:
    steps = steps_by_name(fraud_dev)
    score, evaluate = steps["Score"], steps["Evaluate"]
    score_options = dict(zip(*[iter(score["Arguments"]["AppSpecification"]["ContainerArguments"])] * 2, strict=True))
    options = dict(zip(*[iter(evaluate["Arguments"]["AppSpecification"]["ContainerArguments"])] * 2, strict=True))

    # The model is read by the xgboost that wrote it: the built-in algorithm's own image.
    assert score["Arguments"]["AppSpecification"]["ImageUri"] == XGBOOST_IMAGE
    assert steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"] == XGBOOST_IMAGE
    assert score_options["--champion-model"] == get("Parameters.ChampionModelUri")  # "" = no champion
    assert score_options["--region"] == "us-east-1"
    assert input_uri(score, "model") == get("Steps.Train.ModelArtifacts.S3ModelArtifacts")
    assert input_uri(score, "test") == join(output_property("Preprocess", "preprocessed"), "test")
    assert input_uri(evaluate, "scores") == output_property("Score", "scores")
    assert options["--scores"] == "/opt/ml/processing/input/scores"
    assert options["--absolute-threshold"] == join(get("Parameters.AbsoluteThreshold"), on="")
    assert options["--min-improvement"] == join(get("Parameters.MinImprovement"), on="")
    assert options["--objective"] == "pr_auc"
    assert evaluate["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]


# ---- registration ----


def test_register_creates_a_pending_version_in_the_models_group(fraud_dev: dict[str, Any]) -> None:
    register = steps_by_name(fraud_dev)["Register"]
    arguments = register["Arguments"]
    inference = arguments["InferenceSpecification"]

    assert register["Type"] == "RegisterModel"
    assert arguments["ModelApprovalStatus"] == "PendingManualApproval"
    assert arguments["ModelPackageGroupName"] == "fraud-detection-dev"
    assert inference["Containers"] == [
        {"Environment": {}, "Image": XGBOOST_IMAGE, "ModelDataUrl": get("Steps.Train.ModelArtifacts.S3ModelArtifacts")}
    ]
    assert inference["SupportedContentTypes"] == inference["SupportedResponseMIMETypes"] == ["text/csv"]
    assert inference["SupportedRealtimeInferenceInstanceTypes"] == [DEV.endpoint.instance_type]


def test_register_attaches_metrics_and_drift_baselines(fraud_dev: dict[str, Any]) -> None:
    arguments = steps_by_name(fraud_dev)["Register"]["Arguments"]
    baselines = output_property("Baseline", "baselines")

    def source(*parts: Any) -> dict[str, Any]:
        return {"ContentType": "application/json", "S3Uri": join(*parts)}

    data_quality = {
        "Statistics": source(baselines, "data-quality", "statistics.json"),
        "Constraints": source(baselines, "data-quality", "constraints.json"),
    }
    assert arguments["ModelMetrics"]["ModelQuality"] == {
        "Statistics": source(output_property("Evaluate", "evaluation"), "evaluation.json"),
        "Constraints": source(baselines, "model-quality", "constraints.json"),
    }
    assert arguments["ModelMetrics"]["ModelDataQuality"] == data_quality
    assert arguments["DriftCheckBaselines"] == {
        "ModelQuality": {
            "Statistics": source(baselines, "model-quality", "statistics.json"),
            "Constraints": source(baselines, "model-quality", "constraints.json"),
        },
        "ModelDataQuality": data_quality,
    }


def test_register_records_lineage_metadata(fraud_dev: dict[str, Any]) -> None:
    arguments = steps_by_name(fraud_dev)["Register"]["Arguments"]

    assert arguments["CustomerMetadataProperties"] == {
        "model": "fraud-detection",
        "environment": "dev",
        "owner": "risk-ml-oncall@example.com",
        "objective": "pr_auc",
        "source_revision": "0123abcd",
        "pipeline_execution_id": EXECUTION_ID,
        "training_window": join(get("Parameters.WindowStart"), get("Parameters.WindowEnd")),
        "champion": join("model_data=", get("Parameters.ChampionModelUri"), on=""),
        "absolute_threshold": join(get("Parameters.AbsoluteThreshold"), on=""),
        "min_improvement": join(get("Parameters.MinImprovement"), on=""),
    }
    assert arguments["MetadataProperties"] == {
        "CommitId": "0123abcd",
        "GeneratedBy": join("fraud-detection-dev-training", EXECUTION_ID),
    }


# ---- data flow, code and layout ----


def test_dataset_queries_every_feature_group_table_and_the_labels_on_athena(fraud_dev: dict[str, Any]) -> None:
    dataset = steps_by_name(fraud_dev)["Dataset"]
    arguments = dataset["Arguments"]["AppSpecification"]["ContainerArguments"]
    options = dict(zip(arguments[::2], arguments[1::2], strict=True))

    # Athena reads the offline store and the labels: only the code bundle (with spec.json) is downloaded.
    assert [i["InputName"] for i in dataset["Arguments"]["ProcessingInputs"]] == ["code"]
    assert input_uri(dataset, "code") == CODE_BUNDLE
    assert arguments == [
        "--engine",
        "athena",
        "--spec",
        "/opt/ml/processing/code/spec.json",
        "--database",
        "mlops_dev_feature_store",
        "--feature-tables",
        "transaction=fraud_detection_dev_transaction",
        "--feature-tables",
        "customer-spend=fraud_detection_dev_customer_spend",
        "--labels-table",
        "fraud_detection_dev_labels",
        "--workgroup",
        "mlops-dev",
        "--region",
        "us-east-1",
        "--request-scope",
        EXECUTION_ID,
        "--output-dir",
        "/opt/ml/processing/output/dataset",
        "--window-start",
        get("Parameters.WindowStart"),
        "--window-end",
        get("Parameters.WindowEnd"),
    ]
    assert options["--window-start"] == get("Parameters.WindowStart")


def test_feature_tables_are_the_glue_tables_the_feature_store_creates() -> None:
    deployment = ModelDeployment(spec=FRAUD_DETECTION, env=PROD)

    # mlops_constructs/feature_store.py: glue_table_name(feature_group_name) replaces "-" with "_".
    assert d.feature_table_name(deployment, "customer-spend") == "fraud_detection_prod_customer_spend"
    assert d.feature_table_name(deployment, "customer-spend") == deployment.feature_group_name(
        "customer-spend"
    ).replace("-", "_")


def test_training_uses_builtin_xgboost_with_the_hyperparameter_parameters(fraud_dev: dict[str, Any]) -> None:
    train = steps_by_name(fraud_dev)["Train"]["Arguments"]
    preprocessed = output_property("Preprocess", "preprocessed")
    class_ratio = {
        "Std:JsonGet": {
            "PropertyFile": get("Steps.Preprocess.PropertyFiles.PreprocessSummary"),
            "Path": "scale_pos_weight",
        }
    }

    assert train["AlgorithmSpecification"] == {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"}
    assert train["HyperParameters"] == {
        "objective": "binary:logistic",
        "eval_metric": "aucpr",
        "max_depth": join(get("Parameters.MaxDepth"), on=""),
        "eta": join(get("Parameters.Eta"), on=""),
        "num_round": join(get("Parameters.NumRound"), on=""),
        "subsample": join(get("Parameters.Subsample"), on=""),
        "min_child_weight": join(get("Parameters.MinChildWeight"), on=""),
        "scale_pos_weight": join(class_ratio, on=""),  # this run's negatives / positives
        "early_stopping_rounds": "20",
        "seed": "0",
    }
    assert [
        (c["ChannelName"], c["ContentType"], c["DataSource"]["S3DataSource"]["S3Uri"]) for c in train["InputDataConfig"]
    ] == [
        ("train", "text/csv", join(preprocessed, "train")),
        ("validation", "text/csv", join(preprocessed, "validation")),
    ]
    assert train["ResourceConfig"]["InstanceType"] == get("Parameters.TrainingInstanceType")
    assert train["OutputDataConfig"]["S3OutputPath"] == join(RUN_ROOT, EXECUTION_ID, "train")
    assert steps_by_name(fraud_dev)["Preprocess"]["PropertyFiles"] == [
        {"PropertyFileName": "PreprocessSummary", "OutputName": "preprocessed", "FilePath": "summary.json"}
    ]


def test_processing_steps_unpack_the_bundle_and_run_its_scripts_without_installing_anything(
    fraud_dev: dict[str, Any],
) -> None:
    steps = steps_by_name(fraud_dev)

    for name, module in PROCESSING_MODULES.items():
        app = steps[name]["Arguments"]["AppSpecification"]
        assert app["ImageUri"] == (XGBOOST_IMAGE if name == "Score" else SKLEARN_IMAGE), name
        assert app["ContainerEntrypoint"] == [
            "/bin/sh",
            "-c",
            'set -e;python3 -m zipfile -e /opt/ml/processing/input/code/*.zip /opt/ml/processing/code;exec "$@"',
            "unpack",
            "python3",
            "-m",
            f"pipeline_defs.scripts.{module}",
        ], name
        code = steps[name]["Arguments"]["ProcessingInputs"][0]
        assert code["InputName"] == "code", name
        assert {k: code["S3Input"][k] for k in ("S3Uri", "LocalPath", "S3DataType", "S3DataDistributionType")} == {
            "S3Uri": CODE_BUNDLE,  # the bundle's zip, whose key is its content hash
            "LocalPath": "/opt/ml/processing/input/code",
            "S3DataType": "S3Prefix",
            "S3DataDistributionType": "FullyReplicated",
        }, name
        assert steps[name]["Arguments"]["Environment"] == {
            "PYTHONPATH": "/opt/ml/processing/code",
            "PYTHONUNBUFFERED": "1",
        }, name
        assert steps[name]["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] == get(
            "Parameters.ProcessingInstanceType"
        ), name


def test_each_step_writes_under_the_execution_prefix_in_its_own_folder(fraud_dev: dict[str, Any]) -> None:
    steps = steps_by_name(fraud_dev)
    outputs = {
        (name, o["OutputName"]): o["S3Output"]["S3Uri"]
        for name, step in steps.items()
        if step["Type"] == "Processing"
        for o in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    }

    assert outputs == {
        ("Dataset", "dataset"): join(RUN_ROOT, EXECUTION_ID, "dataset"),
        ("Preprocess", "preprocessed"): join(RUN_ROOT, EXECUTION_ID, "preprocess"),
        ("Score", "scores"): join(RUN_ROOT, EXECUTION_ID, "score"),
        ("Evaluate", "evaluation"): join(RUN_ROOT, EXECUTION_ID, "evaluate"),
        ("Baseline", "baselines"): join(RUN_ROOT, EXECUTION_ID, "baseline"),
        ("Decide", "decision"): join(RUN_ROOT, EXECUTION_ID, "decision"),
    }
    assert steps["Decide"]["PropertyFiles"] == [
        {"PropertyFileName": "RegistrationDecision", "OutputName": "decision", "FilePath": "decision.json"}
    ]
    # What an orchestrator computes from the execution ARN's last part:
    prefix = d.run_prefix(artifacts_bucket="b", pipeline_name="fraud-detection-dev-training", execution_id="x1")
    assert f"{prefix}/{d.EVALUATION_KEY}" == "s3://b/pipelines/fraud-detection-dev-training/x1/evaluate/evaluation.json"
    assert f"{prefix}/{d.DECISION_KEY}" == "s3://b/pipelines/fraud-detection-dev-training/x1/decision/decision.json"


def test_every_s3_location_is_explicit_and_every_output_and_volume_is_kms_encrypted(
    fraud_dev: dict[str, Any],
) -> None:
    buckets = ("s3://${ArtifactsBucket}/", "s3://${OfflineStoreBucket}/", "s3://${GroundTruthBucket}/", CODE_BUNDLE)
    s3_strings = [v for v in walk(fraud_dev) if isinstance(v, str) and "s3://" in v]
    steps = steps_by_name(fraud_dev)

    assert s3_strings
    assert all(v.startswith(buckets) for v in s3_strings), [v for v in s3_strings if not v.startswith(buckets)]
    for name in PROCESSING_MODULES:
        arguments = steps[name]["Arguments"]
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == "${KmsKeyArn}", name
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == "${KmsKeyArn}", name
        assert arguments["RoleArn"] == "${PipelineRoleArn}", name
    train = steps["Train"]["Arguments"]
    assert train["OutputDataConfig"]["KmsKeyId"] == train["ResourceConfig"]["VolumeKmsKeyId"] == "${KmsKeyArn}"


def test_spec_json_for_the_bundle_is_what_the_scripts_load() -> None:
    loaded = StepSpec.from_dict(json.loads(d.spec_json(FRAUD_DETECTION)))

    assert loaded == step_spec_from_model_spec(FRAUD_DETECTION)


# ---- every environment, and a second model ----


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda e: e.name)
def test_builds_and_validates_in_every_environment(env: Environment) -> None:
    deployment = ModelDeployment(spec=FRAUD_DETECTION, env=env)

    document = json.loads(built(FRAUD_DETECTION, env))

    register = steps_by_name(document)["Register"]["Arguments"]
    assert register["ModelPackageGroupName"] == deployment.model_package_group_name
    assert register["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == [env.endpoint.instance_type]
    assert register["CustomerMetadataProperties"]["environment"] == env.name
    assert f"/pipelines/{deployment.pipeline_name}" in json.dumps(document)
    assert validate_definition(document, substitutions=SUBSTITUTIONS) == []


def test_a_second_spec_gets_its_own_groups_objective_and_thresholds() -> None:
    document = json.loads(built(CHURN, DEV))
    steps = steps_by_name(document)
    defaults = {p["Name"]: p.get("DefaultValue") for p in document["Parameters"]}

    dataset_arguments = steps["Dataset"]["Arguments"]["AppSpecification"]["ContainerArguments"]

    assert [i["InputName"] for i in steps["Dataset"]["Arguments"]["ProcessingInputs"]] == ["code"]
    assert [dataset_arguments[i + 1] for i, a in enumerate(dataset_arguments) if a == "--feature-tables"] == [
        "usage=churn_dev_usage"
    ]
    assert dataset_arguments[dataset_arguments.index("--labels-table") + 1] == "churn_dev_labels"
    assert steps["Train"]["Arguments"]["HyperParameters"]["eval_metric"] == "auc"
    assert defaults["AbsoluteThreshold"] == 0.7
    assert defaults["MinImprovement"] == 0.005
    assert steps["Register"]["Arguments"]["ModelPackageGroupName"] == "churn-dev"
    assert steps["Register"]["Arguments"]["CustomerMetadataProperties"]["owner"] == "growth-ml@example.com"
    assert validate_definition(document, substitutions=SUBSTITUTIONS) == []


# ---- inputs the builder refuses ----


def test_a_context_in_another_region_than_the_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="region 'eu-west-1' is not the environment's region 'us-east-1'"):
        build_pipeline_definition(ModelDeployment(spec=FRAUD_DETECTION, env=PROD), replace(CONTEXT, region="eu-west-1"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"artifacts_bucket": ""}, "artifacts_bucket is empty"),
        ({"kms_key_arn": "${KmsKeyArn"}, r"has a '\$' outside"),
        ({"role_arn": "arn:aws:iam::1:role/$x"}, r"has a '\$' outside"),
        ({"region": "${AWS::Region}"}, "region must be concrete"),
        ({"code_bundle": "s3://bucket/code/x.zip"}, "is not an s3://<bucket>/<key>.zip URI"),
        ({"code_bundle": "s3://bucket/x.tar.gz"}, "is not an s3://<bucket>/<key>.zip URI"),
        ({"source_revision": "v1 <dirty>"}, "source_revision"),
        ({"glue_database": ""}, "glue_database '' is not a Glue database name"),
        ({"glue_database": "${GlueDatabase}"}, "glue_database .* must be concrete"),
        ({"labels_table": "fraud-detection-dev-labels"}, "labels_table .* is not a Glue table name"),
        ({"athena_workgroup": "mlops dev"}, "athena_workgroup 'mlops dev' is not an Athena workgroup name"),
    ],
)
def test_context_values_that_would_break_the_definition_are_refused(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(CONTEXT, **changes)


def test_concrete_context_values_need_no_substitution() -> None:
    concrete = PipelineContext(
        region="us-east-1",
        role_arn="arn:aws:iam::111111111111:role/pipeline",
        artifacts_bucket="artifacts-111111111111",
        offline_store_bucket="offline-111111111111",
        ground_truth_bucket="labels-111111111111",
        kms_key_arn="arn:aws:kms:us-east-1:111111111111:key/k1",
        code_bundle="s3://cdk-hnb659fds-assets-111111111111-us-east-1/1a2b.zip",
        glue_database="mlops_dev_feature_store",
        athena_workgroup="mlops-dev",
        labels_table="churn_dev_labels",
    )

    text = build_pipeline_definition(ModelDeployment(spec=CHURN, env=DEV), concrete)

    assert concrete.placeholders == frozenset()
    assert "${" not in text
    assert '"RoleArn":"arn:aws:iam::111111111111:role/pipeline"' in text
    assert validate_definition(text) == []


def test_context_lists_its_placeholders() -> None:
    assert context_for(PROD).placeholders == {
        "${PipelineRoleArn}",
        "${ArtifactsBucket}",
        "${OfflineStoreBucket}",
        "${GroundTruthBucket}",
        "${KmsKeyArn}",
        "${AssetsBucket}",
        "${CodeHash}",
    }
