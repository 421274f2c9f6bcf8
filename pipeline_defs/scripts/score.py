"""Score step: the candidate's (and the champion's) probabilities on the test split, where the models were made.

It runs on the built-in XGBoost 1.7-1 image: the image whose algorithm trained the candidate (and the
champion) and whose container serves them, so each booster is read by the xgboost that wrote it
(``pipeline_defs/images.py``). That image's Python is 3.8: this module imports nothing of the bundle but
``base.py``, nothing newer than Python 3.8, and nothing outside the standard library but numpy and xgboost
(and boto3, to fetch a champion from S3).

Inputs: the candidate's ``model.tar.gz`` (``xgboost-model`` at its root, as SageMaker packs ``/opt/ml/model``);
``--champion-model`` (the champion's ``model.tar.gz``: an ``s3://`` URI, fetched with boto3, or a local path;
empty = no champion, the first model of a group); the test split from the preprocess step (CSV, label first, no
header); ``--baseline`` (optional: the preprocess step's ``baseline.csv``, model inputs under a header of
feature names). Outputs::

    scores.csv              label,candidate[,champion]: one row per test row, in the test files' order;
                            probabilities written as Python's float repr, so the evaluation reads back exactly
                            what was predicted
    baseline-scores.csv     prediction: the candidate's score of each baseline row, in order (with --baseline)

The evaluation step (``evaluate.py``) turns ``scores.csv`` into metrics; the baseline step (``baseline.py``)
makes ``baseline-scores.csv`` the baseline's prediction column, as the endpoint would return it.
"""

from __future__ import annotations

import argparse
import io
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from pipeline_defs.scripts.base import (
    BASELINE_SCORES_FILE,
    SCORES_FILE,
    StepInputError,
    files_under,
    run_main,
    single_file,
)

MODEL_FILE = "xgboost-model"


def read_channel(directory: Path, channel: str) -> tuple[Any, Any]:
    """Features and labels of a CSV channel (label first, no header); every file in the channel is read."""
    blocks = []
    for path in files_under(directory, "*.csv", f"channel '{channel}'"):
        try:
            block = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as error:
            raise StepInputError(f"channel '{channel}': '{path.name}' is not numeric CSV ({error})") from None
        if block.size:
            blocks.append(block)
    if not blocks:
        raise StepInputError(f"channel '{channel}': no rows")
    widths = {b.shape[1] for b in blocks}
    if len(widths) != 1 or widths == {1}:
        raise StepInputError(f"channel '{channel}': rows need a label and at least one feature, got widths {widths}")
    data = np.vstack(blocks)
    labels = data[:, 0]
    if not np.isin(labels, (0.0, 1.0)).all():
        raise StepInputError(f"channel '{channel}': first column must be the 0/1 label")
    return data[:, 1:], labels


def _member_name(member: tarfile.TarInfo) -> str:
    name = member.name
    return name[2:] if name.startswith("./") else name


def load_model(archive: Path, what: str) -> xgb.Booster:
    """The booster inside a SageMaker ``model.tar.gz`` (member ``xgboost-model``), read from memory."""
    if archive.is_dir():
        archive = single_file(archive, "*.tar.gz", what)
    if not archive.is_file():
        raise StepInputError(f"{what}: '{archive}' does not exist")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            found = [m for m in members if _member_name(m) == MODEL_FILE]
            if not found:
                names = [_member_name(m) for m in members]
                raise StepInputError(f"{what}: '{archive.name}' has no '{MODEL_FILE}' (members: {names})")
            handle = tar.extractfile(found[0])
            content = handle.read() if handle is not None else b""
    except (tarfile.TarError, OSError) as error:
        raise StepInputError(f"{what}: '{archive}' is not a readable model.tar.gz ({error})") from None
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(content))
    except xgb.core.XGBoostError as error:
        raise StepInputError(f"{what}: '{MODEL_FILE}' is not an XGBoost model ({error})") from None
    return booster


def predict(booster: xgb.Booster, features: Any, what: str, rows: str = "the test set") -> Any:
    expected = booster.num_features()
    if expected != features.shape[1]:
        raise StepInputError(f"{what} expects {expected} features but {rows} has {features.shape[1]}")
    return np.asarray(booster.predict(xgb.DMatrix(features)), dtype=np.float64)


def read_baseline(directory: Path) -> Any:
    """The baseline rows' model inputs (``baseline.csv``: a header of feature names, then numbers)."""
    path = single_file(directory, "*.csv", "baseline data")
    try:
        return np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise StepInputError(f"baseline data: '{path.name}' is not numeric CSV ({error})") from None


def fetch(uri: str, directory: Path, *, region: str) -> Path:
    """A local copy of ``uri`` (``s3://bucket/key`` through boto3, or a local path as it is)."""
    if not uri.startswith("s3://"):
        return Path(uri)
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise StepInputError(f"champion model: '{uri}' is not an s3://bucket/key URI")
    import boto3  # noqa: PLC0415 - only a run with a champion talks to S3
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    target = directory / "champion.tar.gz"
    try:
        boto3.client("s3", region_name=region or None).download_file(bucket, key, str(target))
    except (ClientError, BotoCoreError) as error:
        raise StepInputError(f"champion model: cannot read {uri} ({error})") from None
    return target


def score(
    *,
    candidate_model: Path,
    champion_model: Path | None,
    test_dir: Path,
    output_dir: Path,
    baseline_dir: Path | None = None,
) -> dict[str, int]:
    """Write ``scores.csv`` for the test split (and ``baseline-scores.csv`` for the baseline rows); return the
    row and positive counts."""
    features, labels = read_channel(test_dir, "test")
    candidate = load_model(candidate_model, "candidate model")
    if baseline_dir is not None:
        baseline_scores = predict(candidate, read_baseline(baseline_dir), "candidate model", "the baseline data")
        output_dir.mkdir(parents=True, exist_ok=True)
        lines = ["prediction"] + [repr(float(value)) for value in baseline_scores]
        (output_dir / BASELINE_SCORES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    columns = [labels, predict(candidate, features, "candidate model")]
    if champion_model is not None:
        columns.append(predict(load_model(champion_model, "champion model"), features, "champion model"))
    header = ["label", "candidate", "champion"][: len(columns)]
    text = io.StringIO()
    text.write(",".join(header) + "\n")
    for row in zip(*columns):  # noqa: B905 - Python 3.8 has no zip(strict=); the columns share one length
        text.write(",".join([str(int(row[0]))] + [repr(float(value)) for value in row[1:]]) + "\n")
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / SCORES_FILE).write_text(text.getvalue(), encoding="utf-8")
    return {"rows": int(labels.size), "positives": int(labels.sum())}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="score", description="Candidate and champion scores on one test set.")
    parser.add_argument(
        "--model", type=Path, default=Path("/opt/ml/processing/input/model"), help="candidate model.tar.gz or dir"
    )
    parser.add_argument("--champion-model", default="", help="champion model.tar.gz (s3:// or local); empty = none")
    parser.add_argument("--test", type=Path, default=Path("/opt/ml/processing/input/test"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output/scores"))
    parser.add_argument("--baseline", default="", help="baseline.csv or its directory: also score its rows")
    parser.add_argument("--region", default="", help="region of the champion's bucket (default: the SDK's)")
    return parser


def _run(args: argparse.Namespace) -> None:
    champion = args.champion_model.strip()
    with tempfile.TemporaryDirectory() as scratch:
        counts = score(
            candidate_model=args.model,
            champion_model=fetch(champion, Path(scratch), region=args.region) if champion else None,
            test_dir=args.test,
            output_dir=args.output_dir,
            baseline_dir=Path(args.baseline) if args.baseline else None,
        )
    print(f"score: {counts['rows']} test rows ({counts['positives']} positive), champion: {champion or 'none'}")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, _parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
