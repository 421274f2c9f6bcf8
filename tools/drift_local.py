"""Run the drift job locally, end to end: the pipeline's baseline and capture files in, the HTML report out.

    make pipeline-local                       # the pipeline's steps on generated data -> build/pipeline-local
    make drift-local                          # -> build/drift-local/report/report.html
    .venv/bin/python -m tools.drift_local --drift amount=2 --drift merchant_category=online
    .venv/bin/python -m tools.drift_local --capture DIR   # your own capture files (downloaded from S3)

What it runs is what the scheduled job runs in AWS (``python -m monitoring_job analyze``), with the same inputs:

- the baseline the pipeline's Baseline step wrote (``RUN/baselines/data-quality``), as promotion publishes it;
- the job config the CDK writes for the environment (``mlops_constructs.monitoring_common.drift_job_config``);
- capture files: ``--capture DIR`` (SageMaker's layout, ``*.jsonl`` anywhere below DIR), or by default an example
  made from the run itself: the model's own test split as the endpoint receives it (``RUN/preprocess/test``, the
  serving encoding) and the model's scores of it as the endpoint returns them, in SageMaker's capture format.
  That window comes from the same population as the training rows, so it should show no drift. ``--drift``
  moves one column first: ``NAME=FACTOR`` multiplies a numeric feature, ``NAME=LABEL`` turns 40 % of a
  categorical feature's rows into that category; the scores are recomputed on the moved inputs.

Outputs under ``--out``: ``job_config.json``, ``capture/`` (the example window) and ``report/`` (``report.html``,
``statistics.json``, ``constraint_violations.json``, ``drift_report.json``, ``metrics.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from config import ENVIRONMENTS, MODELS, ModelDeployment, ModelSpec
from lambdas.shared.features import format_csv_row
from mlops_constructs.monitoring_common import drift_job_config
from monitoring_job.cli import main as monitoring_job_main
from monitoring_job.synthetic import capture_line, write_capture
from pipeline_defs.scripts.common import StepInputError
from pipeline_defs.scripts.score import load_model, predict, read_channel

DEFAULT_RUN = Path("build/pipeline-local")
DEFAULT_OUT = Path("build/drift-local")
CATEGORY_SHARE = 0.4  # share of a categorical feature's rows --drift NAME=LABEL moves to LABEL
CAPTURE_FILES = 4


class DriftLocalError(Exception):
    """The inputs are not usable; the message names the file or option."""


@dataclass(frozen=True)
class Shift:
    """One ``--drift`` request: a numeric feature multiplied, or a categorical feature moved to a label."""

    feature: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Shift:
        name, sep, value = text.partition("=")
        if not sep or not name or not value:
            raise DriftLocalError(f"--drift '{text}': expected NAME=FACTOR or NAME=LABEL")
        return cls(name, value)


def model_inputs_with_scores(run: Path, shifts: Sequence[Shift], spec: ModelSpec, *, seed: int = 0) -> list[str]:
    """Capture lines of the run's test split (moved by ``shifts``) and the run's model's scores of it."""
    try:
        inputs, _ = read_channel(run / "preprocess" / "test", "test")
        booster = load_model(run / "model", "model")
    except StepInputError as error:
        raise DriftLocalError(f"{error} (run `make pipeline-local` first, or pass --run)") from None
    names = list(spec.feature_names)
    if inputs.shape[1] != len(names):
        raise DriftLocalError(f"the run's test split has {inputs.shape[1]} columns, {spec.name} has {len(names)}")
    inputs = shift_inputs(inputs, shifts, spec, np.random.default_rng(seed))
    scores = predict(booster, inputs, "model")
    return [
        capture_line(data=format_csv_row(row), output=repr(float(score)), index=i, seed=seed)
        for i, (row, score) in enumerate(zip(inputs.tolist(), scores.tolist(), strict=True))
    ]


def shift_inputs(
    inputs: npt.NDArray[np.float64], shifts: Sequence[Shift], spec: ModelSpec, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """The model inputs with each shift applied, in the serving encoding (a category as its index in the spec's
    categories)."""
    moved = inputs.copy()
    names = list(spec.feature_names)
    for shift in shifts:
        if shift.feature not in names:
            raise DriftLocalError(f"--drift: '{shift.feature}' is not a feature of {spec.name} ({', '.join(names)})")
        column = names.index(shift.feature)
        vocabulary = spec.category_vocabularies.get(shift.feature)
        if vocabulary is not None:
            if shift.value not in vocabulary:
                raise DriftLocalError(f"--drift: '{shift.value}' is not a {shift.feature} ({', '.join(vocabulary)})")
            chosen = rng.random(moved.shape[0]) < CATEGORY_SHARE
            moved[chosen, column] = float(vocabulary.index(shift.value))
        else:
            try:
                factor = float(shift.value)
            except ValueError:
                raise DriftLocalError(f"--drift {shift.feature}: '{shift.value}' is not a number") from None
            moved[:, column] *= factor
    return moved


def run(
    *,
    run_dir: Path,
    out: Path,
    spec: ModelSpec,
    environment: str,
    capture: Path | None,
    shifts: Sequence[Shift],
) -> int:
    """Write the job config and (without ``capture``) the example window, run the job; its exit status."""
    baseline = run_dir / "baselines" / "data-quality"
    if not (baseline / "statistics.json").is_file():
        raise DriftLocalError(f"no baseline at {baseline}: run `make pipeline-local` first, or pass --run")
    env = next((e for e in ENVIRONMENTS if e.name == environment), None)
    if env is None:
        raise DriftLocalError(f"--env '{environment}' is not one of {', '.join(e.name for e in ENVIRONMENTS)}")
    deployment = ModelDeployment(spec=spec, env=env)
    out.mkdir(parents=True, exist_ok=True)
    config = out / "job_config.json"
    config.write_text(
        json.dumps(drift_job_config(deployment, endpoint_name=deployment.endpoint_name), indent=2) + "\n",
        encoding="utf-8",
    )
    if capture is None:
        capture = out / "capture"
        lines = model_inputs_with_scores(run_dir, shifts, spec)
        write_capture(capture, lines, files=CAPTURE_FILES, endpoint=deployment.endpoint_name)
    elif shifts:
        raise DriftLocalError("--drift moves the example window; it cannot be combined with --capture")
    report = out / "report"
    arguments = ["analyze", "--input", str(capture), "--baseline", str(baseline), "--config", str(config)]
    return monitoring_job_main([*arguments, "--output", str(report), "--no-publish", "--violations-exit-code", "0"])


@dataclass(frozen=True)
class Verdicts:
    records: int
    compared: list[str]
    drifted: list[str]
    violations: int


def verdicts(out: Path) -> Verdicts:
    """What the last run under ``out`` found (its drift_report.json)."""
    drift = json.loads((out / "report" / "drift_report.json").read_text(encoding="utf-8"))
    return Verdicts(
        records=int(drift["read"]["records"]),
        compared=[str(f["name"]) for f in drift["features"] if f["compared"]],
        drifted=[str(name) for name in drift["drifted_features"]],
        violations=int(drift["violation_count"]),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drift_local", description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=DEFAULT_RUN, help="a local pipeline run (make pipeline-local)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--model", default=MODELS[0].name, choices=[m.name for m in MODELS])
    parser.add_argument("--env", default="dev", help="environment whose job config and alarms to use")
    parser.add_argument("--capture", type=Path, default=None, help="capture files instead of the example window")
    parser.add_argument("--drift", action="append", default=[], metavar="NAME=VALUE", help="move a column first")
    args = parser.parse_args(argv)
    spec = next(m for m in MODELS if m.name == args.model)
    try:
        status = run(
            run_dir=args.run,
            out=args.out,
            spec=spec,
            environment=args.env,
            capture=args.capture,
            shifts=[Shift.parse(text) for text in args.drift],
        )
    except DriftLocalError as error:
        print(f"drift_local: error: {error}", file=sys.stderr)
        return 1
    if status != 0:
        return status
    found = verdicts(args.out)
    drifted = ", ".join(found.drifted) or "none"
    print(f"drift_local: {found.records} records, {found.violations} violations; drifted: {drifted}")
    print(f"drift_local: report {args.out / 'report' / 'report.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
