"""Run the training pipeline locally on generated data: the data scientist's loop before SageMaker.

    python -m pipeline_defs.local_run --out build/pipeline-local [--model NAME --entities N --days D --seed S
        --covariate-drift X --concept-drift --champion-model PATH/model.tar.gz]

``--model`` is any model of ``config.MODELS`` (default: the fraud example). The sample data comes from the
fraud example's transaction simulator (``pipeline_defs.sample_data``) for a model whose features are computed
from raw events, and from the spec alone (``pipeline_defs.spec_sample_data``) for any other model; ``--entities``
(or ``--customers``) is how many customers or entities it simulates. ``--data FILE --labels FILE`` take the
user's own data instead (CSV or Parquet, schema in ``docs/user-data.md``; ``pipeline_defs.user_data``): bad
rows are counted and written to ``OUT/sample-data/rejects/``, never silently dropped.

Steps, in the pipeline's order, each through its script's command line (the same arguments SageMaker
would pass, with local directories instead of ``/opt/ml/...``)::

    OUT/spec.json                     the model spec the scripts read
    OUT/sample-data/                  offline-store parquet per feature group, labels (and raw events)
    OUT/dataset/                      dataset.parquet (point-in-time join), query.sql, summary.json
    OUT/preprocess/                   train/ validation/ test/ baseline/ CSV files, summary.json
    OUT/model/                        model.tar.gz (xgboost-model), training_report.json
    OUT/scores/                       scores.csv (the candidate's and the champion's probabilities on the test
                                      split), baseline-scores.csv (the candidate's on the baseline rows)
    OUT/evaluation/                   evaluation.json, predictions.csv
    OUT/baselines/                    data-quality/ and model-quality/ statistics.json, constraints.json
    OUT/decision/                     decision.json (register or not, and why)

Without ``--champion-model`` this is the first model of the group: the threshold alone decides.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import FRAUD_DETECTION, ModelSpec
from pipeline_defs import sample_data, spec_sample_data, user_data
from pipeline_defs.offline_store import choose_model
from pipeline_defs.scripts import baseline, condition, dataset, evaluate, preprocess, score, train_local
from pipeline_defs.scripts.spec import step_spec_from_model_spec


class StepFailedError(RuntimeError):
    """A pipeline step exited non-zero (its own message is on stderr)."""


@dataclass(frozen=True, kw_only=True)
class LocalRunConfig:
    out: Path
    customers: int = 150
    days: int = 30
    seed: int = 7
    covariate_drift: float = 0.0
    concept_drift: bool = False
    champion_model: Path | None = None
    spec: ModelSpec = FRAUD_DETECTION
    # The user's own files instead of generated data (both or neither).
    data_file: Path | None = None
    labels_file: Path | None = None
    max_rejected_fraction: float = user_data.DEFAULT_MAX_REJECTED_FRACTION

    def __post_init__(self) -> None:
        if (self.data_file is None) != (self.labels_file is None):
            raise ValueError("--data and --labels go together: give both files or neither")


def _step(name: str, main: Callable[[Sequence[str] | None], int], argv: list[str], timings: dict[str, float]) -> None:
    started = time.perf_counter()
    status = main(argv)
    timings[name] = round(time.perf_counter() - started, 3)
    if status != 0:
        raise StepFailedError(f"step '{name}' failed with exit status {status}")


def _generate_sample_data(config: LocalRunConfig, data: Path, timings: dict[str, float]) -> None:
    """The user's files if given; else the fraud example's transaction simulator for a model fed by raw events,
    the spec's generator otherwise."""
    if config.data_file is not None and config.labels_file is not None:
        _step(
            "user_data",
            lambda argv: user_data.main(argv, models=[config.spec]),
            [
                *("--model", config.spec.name, "--data", str(config.data_file), "--labels", str(config.labels_file)),
                *("--out", str(data), "--max-rejected-fraction", str(config.max_rejected_fraction)),
            ],
            timings,
        )
        return
    knobs = [
        "--out",
        str(data),
        "--days",
        str(config.days),
        "--seed",
        str(config.seed),
        "--covariate-drift",
        str(config.covariate_drift),
        *(["--concept-drift"] if config.concept_drift else []),
    ]
    if config.spec.raw_event_ingestion:
        _step("sample_data", sample_data.main, [*knobs, "--customers", str(config.customers)], timings)
        return
    _step(
        "sample_data",
        lambda argv: spec_sample_data.main(argv, models=[config.spec]),
        [*knobs, "--model", config.spec.name, "--entities", str(config.customers)],
        timings,
    )


def run(config: LocalRunConfig) -> dict[str, Any]:
    """Run every step into ``config.out`` (replacing what a previous run left there); return the summary."""
    out = config.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    spec_file = out / "spec.json"
    spec_file.write_text(step_spec_from_model_spec(config.spec).to_json(), encoding="utf-8")
    spec_arg = ["--spec", str(spec_file)]
    timings: dict[str, float] = {}
    data = out / "sample-data"
    _generate_sample_data(config, data, timings)
    _step(
        "dataset",
        dataset.main,
        [
            *spec_arg,
            "--feature-groups-dir",
            str(data / "feature_groups"),
            "--labels-dir",
            str(data / "labels"),
            "--output-dir",
            str(out / "dataset"),
            "--id-columns",
            config.spec.label_id or "",
            # Labels from the window's start; the days before it are the features' history (a user's own data:
            # every label).
            "--window-start",
            json.loads((data / "summary.json").read_text(encoding="utf-8")).get("window_start", ""),
        ],
        timings,
    )
    _step(
        "preprocess",
        preprocess.main,
        [
            *spec_arg,
            "--dataset",
            str(out / "dataset"),
            "--output-dir",
            str(out / "preprocess"),
        ],
        timings,
    )
    hp = config.spec.hyperparameters
    _step(
        "train",
        train_local.main,
        [
            "--train",
            str(out / "preprocess" / "train"),
            "--validation",
            str(out / "preprocess" / "validation"),
            "--model-dir",
            str(out / "model"),
            "--max-depth",
            str(hp.max_depth),
            "--eta",
            str(hp.eta),
            "--num-round",
            str(hp.num_round),
            "--subsample",
            str(hp.subsample),
            "--min-child-weight",
            str(hp.min_child_weight),
            "--early-stopping-rounds",
            str(hp.early_stopping_rounds),
            "--seed",
            str(config.seed),
        ],
        timings,
    )
    _step(
        "score",
        score.main,
        [
            "--model",
            str(out / "model"),
            "--test",
            str(out / "preprocess" / "test"),
            "--champion-model",
            str(config.champion_model or ""),
            "--baseline",
            str(out / "preprocess" / "baseline"),
            "--output-dir",
            str(out / "scores"),
        ],
        timings,
    )
    _step(
        "evaluate",
        evaluate.main,
        [*spec_arg, "--scores", str(out / "scores"), "--output-dir", str(out / "evaluation")],
        timings,
    )
    _step(
        "baseline",
        baseline.main,
        [
            *spec_arg,
            "--baseline-data",
            str(out / "preprocess" / "baseline"),
            "--scores",
            str(out / "scores"),
            "--evaluation",
            str(out / "evaluation"),
            "--output-dir",
            str(out / "baselines"),
        ],
        timings,
    )
    _step(
        "condition",
        condition.main,
        [
            "--evaluation",
            str(out / "evaluation"),
            "--output-dir",
            str(out / "decision"),
        ],
        timings,
    )
    decision = json.loads((out / "decision" / "decision.json").read_text(encoding="utf-8"))
    summary = {"out": str(out), "decision": decision, "seconds": timings}
    (out / "run_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="local_run", description="Run the training pipeline locally.")
    parser.add_argument("--out", type=Path, default=Path("build/pipeline-local"))
    parser.add_argument("--model", default=FRAUD_DETECTION.name, help="a model name from config.MODELS")
    parser.add_argument(
        "--entities",
        "--customers",
        dest="customers",
        type=int,
        default=LocalRunConfig.customers,
        help="how many entities (customers) the sample data simulates",
    )
    parser.add_argument("--days", type=int, default=LocalRunConfig.days)
    parser.add_argument("--seed", type=int, default=LocalRunConfig.seed)
    parser.add_argument("--covariate-drift", type=float, default=0.0)
    parser.add_argument("--concept-drift", action="store_true")
    parser.add_argument("--champion-model", type=Path, default=None, help="the serving model's model.tar.gz")
    parser.add_argument(
        "--data", type=Path, default=None, help="your own raw fields, CSV or Parquet (docs/user-data.md)"
    )
    parser.add_argument("--labels", type=Path, default=None, help="your own labels, CSV or Parquet (with --data)")
    parser.add_argument(
        "--max-rejected-fraction",
        type=float,
        default=user_data.DEFAULT_MAX_REJECTED_FRACTION,
        help="with --data: stop if more of a file's rows than this are rejected",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    spec = choose_model(parser, args.model, None)
    if (args.data is None) != (args.labels is None):
        parser.error("--data and --labels go together: give both files or neither")
    run_config = LocalRunConfig(
        spec=spec,
        out=args.out,
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        covariate_drift=args.covariate_drift,
        concept_drift=args.concept_drift,
        champion_model=args.champion_model,
        data_file=args.data,
        labels_file=args.labels,
        max_rejected_fraction=args.max_rejected_fraction,
    )
    try:
        summary = run(run_config)
    except StepFailedError as error:
        print(f"local_run: {error}")
        return 1
    decision = summary["decision"]
    print(f"local_run: {'REGISTER' if decision['register'] else 'REJECT'} ({decision['code']}): {decision['reason']}")
    print(f"local_run: outputs in {summary['out']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
