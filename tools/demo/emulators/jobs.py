"""SageMaker Processing and Training jobs, run locally from their CreateProcessingJob / CreateTrainingJob request.

Real: the request (recorded in moto through its API, so DescribeProcessingJob/DescribeTrainingJob answer), the
job's own entrypoint and arguments (our real scripts, from the code the job downloads, not the repository's
copy), S3 through the emulator's API, the xgboost library the built-in algorithm uses.

Emulated, per instance of ``ClusterConfig.InstanceCount`` (``algo-1``, ``algo-2``, ... run one after another):

- the container: a scratch directory stands for its file system; every ``/opt/ml`` and ``/tmp`` path in the
  entrypoint, arguments and environment is rewritten to that directory; the container's ``python3`` is this
  virtualenv's Python (not the image's), and ``aws s3 cp`` (the AWS CLI of the image) copies one object;
- inputs: ``S3Prefix`` (every object under the prefix, keeping the part after it), a single object,
  ``ManifestFile`` (SageMaker's manifest: a ``{"prefix": ...}`` object, then keys relative to it) and
  ``ShardedByS3Key`` (objects dealt to the instances in key order) / ``FullyReplicated``;
- network isolation: a job with ``EnableNetworkIsolation`` gets no AWS endpoint or credentials, so a call to
  AWS from it fails as it would in SageMaker;
- outputs: uploaded at the end of a successful job (``EndOfJob``) with the output config's KMS key; an output key
  written by two instances fails the job (SageMaker would silently keep one of them);
- the built-in XGBoost algorithm (a training image named ``sagemaker-xgboost``): the ``train`` and
  ``validation`` CSV channels and the hyperparameters go to ``pipeline_defs/scripts/train_local.py``, which
  writes ``model.tar.gz`` with ``xgboost-model`` at its root, to ``<S3OutputPath>/<job>/output/model.tar.gz``;
- status: ``InProgress`` while running, then ``Completed`` or ``Failed`` with the exit code and the last lines
  of the container's stderr as ``FailureReason``;
- no package index: ``PIP_NO_INDEX`` is set, so a ``pip install`` in the container succeeds only if the
  requirement is already installed in this virtualenv (the demo never downloads).

What the emulation could hide: the image's real Python and packages (a job importing something the image
lacks passes here), resource limits (memory, disk, instance type, run time only as the request's limit), a
script opening a container path that is not in the request (``/opt/ml/config/resourceconfig.json`` does not
exist here, so every instance of the drift job calls itself ``local``), IAM and KMS permissions, and the
built-in algorithm's own early-stopping and model-saving details.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.demo.emulators.runtime import Aws, EmulatorError, moto_backend

ROOT = Path(__file__).resolve().parents[3]
CONTAINER_PREFIXES = ("/opt/ml", "/tmp")  # noqa: S108 - container paths, rewritten to a scratch directory
XGBOOST_IMAGE = "sagemaker-xgboost"
_STDERR_TAIL = 15
_FAILURE_REASON_MAX = 1024


class JobFailedError(RuntimeError):
    """The job ran and failed (its FailureReason is the message)."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        if not uri.startswith("s3://"):
            raise JobFailedError(f"ClientError: '{uri}' is not an s3:// URI")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return cls(bucket, key)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


# ---- the container -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """One instance's file system (``root``) and the commands it finds on its PATH."""

    root: Path
    host: str

    def path(self, container_path: str) -> Path:
        return Path(self.remap(container_path))

    def remap(self, text: str) -> str:
        for prefix in CONTAINER_PREFIXES:
            text = text.replace(prefix + "/", f"{self.root}{prefix}/")
            if text == prefix:
                text = f"{self.root}{prefix}"
        return text

    def prepare(self, *, hosts: Sequence[str]) -> Path:
        """Create the file system, ``resourceconfig.json`` and the ``bin`` directory; return ``bin``."""
        for prefix in CONTAINER_PREFIXES:
            (self.root / prefix.lstrip("/")).mkdir(parents=True, exist_ok=True)
        config = self.root / "opt/ml/config/resourceconfig.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps({"current_host": self.host, "hosts": list(hosts)}), encoding="utf-8")
        bin_dir = self.root / "bin"
        bin_dir.mkdir(exist_ok=True)
        python = f'#!/bin/sh\nexec "{sys.executable}" "$@"\n'
        aws = f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m tools.demo.emulators.jobs aws "$@"\n'
        for name, script in (("python3", python), ("python", python), ("aws", aws)):
            target = bin_dir / name
            target.write_text(script, encoding="utf-8")
            target.chmod(0o755)
        return bin_dir

    def run(self, command: Sequence[str], *, environment: Mapping[str, str], timeout_seconds: float, log: Path) -> None:
        bin_dir = self.root / "bin"
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(self.root / "tmp"), "LANG": "C.UTF-8"}
        env |= {name: self.remap(value) for name, value in environment.items()}
        env["PIP_NO_INDEX"] = "1"  # offline: a pip install in the container may only find what is installed
        argv = [self.remap(part) for part in command]
        if not argv:
            raise JobFailedError("ClientError: the job has no ContainerEntrypoint")
        try:
            with log.open("w", encoding="utf-8") as handle:
                result = subprocess.run(  # noqa: S603 - the job's own command, as SageMaker would run it
                    argv,
                    cwd=self.root,
                    env=env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    timeout=timeout_seconds,
                    check=False,
                )
        except subprocess.TimeoutExpired:
            raise JobFailedError(f"MaxRuntimeExceeded: {self.host} ran longer than {timeout_seconds:.0f} s") from None
        except OSError as error:
            raise JobFailedError(f"ClientError: cannot start '{argv[0]}' ({error.strerror or error})") from None
        if result.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-_STDERR_TAIL:]
            raise JobFailedError(
                f"AlgorithmError: {self.host} exited with code {result.returncode}: " + " | ".join(tail)
            )


# ---- S3 in and out -------------------------------------------------------------------------------------------


def _objects(s3: Any, location: S3Location) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.key):
        keys += [str(item["Key"]) for item in page.get("Contents", []) if not str(item["Key"]).endswith("/")]
    return sorted(keys)


def _input_objects(s3: Any, s3_input: Mapping[str, Any]) -> list[tuple[S3Location, str]]:
    """(object, path relative to the input's LocalPath) of one S3 input, before sharding."""
    uri = str(s3_input["S3Uri"])
    data_type = s3_input.get("S3DataType", "S3Prefix")
    location = S3Location.parse(uri)
    if data_type == "ManifestFile":
        body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
        try:
            manifest = json.loads(body)
            prefix = S3Location.parse(str(manifest[0]["prefix"]))
            listed = [str(item) for item in manifest[1:]]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise JobFailedError(f"ClientError: manifest {uri} is not a SageMaker manifest file ({error})") from None
        base = prefix.key if prefix.key.endswith("/") or not prefix.key else prefix.key + "/"
        return [(S3Location(prefix.bucket, base + item), item) for item in listed]
    if data_type != "S3Prefix":
        raise JobFailedError(f"ClientError: S3DataType '{data_type}' is not emulated")
    keys = _objects(s3, location)
    if not keys:
        raise JobFailedError(f"ClientError: no objects under input {uri}")
    if keys == [location.key]:
        return [(location, location.key.rsplit("/", 1)[-1])]
    found = []
    for key in keys:
        relative = key[len(location.key) :].lstrip("/") or key.rsplit("/", 1)[-1]
        found.append((S3Location(location.bucket, key), relative))
    return found


def _shard(objects: list[tuple[S3Location, str]], distribution: str, index: int, count: int) -> list[Any]:
    if distribution == "ShardedByS3Key":
        return [
            item for position, item in enumerate(sorted(objects, key=lambda o: o[0].uri)) if position % count == index
        ]
    return objects


def _download(s3: Any, objects: Sequence[tuple[S3Location, str]], destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for location, relative in objects:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(location.bucket, location.key, str(target))


def _files(directory: Path) -> Iterator[tuple[Path, str]]:
    if directory.is_dir():
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                yield path, path.relative_to(directory).as_posix()


def _put(s3: Any, source: Path, location: S3Location, kms_key: str | None) -> None:
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
    with source.open("rb") as body:
        s3.put_object(Bucket=location.bucket, Key=location.key, Body=body, **extra)


def _join(uri: str, relative: str) -> S3Location:
    location = S3Location.parse(uri)
    base = location.key.rstrip("/")
    return S3Location(location.bucket, f"{base}/{relative}" if base else relative)


# ---- processing ----------------------------------------------------------------------------------------------


def run_processing_job(aws: Aws, request: Mapping[str, Any], *, workdir: Path) -> dict[str, Any]:
    """CreateProcessingJob through moto, then run it here; return its DescribeProcessingJob (Completed/Failed)."""
    sagemaker = aws.client("sagemaker")
    sagemaker.create_processing_job(**request)
    name = str(request["ProcessingJobName"])
    job = moto_backend("sagemaker", aws.account, aws.region).processing_jobs[name]
    job.processing_job_status = "InProgress"
    job.processing_start_time = datetime.now(UTC)
    try:
        _run_processing(aws, request, workdir / name)
    except JobFailedError as error:
        job.processing_job_status = "Failed"
        job.failure_reason = str(error)[:_FAILURE_REASON_MAX]
        job.exit_message = job.failure_reason
    else:
        job.processing_job_status = "Completed"
    job.processing_end_time = job.last_modified_time = datetime.now(UTC)
    return dict(sagemaker.describe_processing_job(ProcessingJobName=name))


def _run_processing(aws: Aws, request: Mapping[str, Any], scratch: Path) -> None:
    s3 = aws.client("s3")
    cluster = request.get("ProcessingResources", {}).get("ClusterConfig", {})
    count = int(cluster.get("InstanceCount", 1))
    hosts = [f"algo-{i + 1}" for i in range(count)]
    app = request["AppSpecification"]
    command = [*app.get("ContainerEntrypoint", []), *app.get("ContainerArguments", [])]
    isolated = bool(request.get("NetworkConfig", {}).get("EnableNetworkIsolation", False))
    environment = dict(request.get("Environment", {}))
    if not isolated:
        environment |= aws.container_environment()
    timeout = float(request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 86400))
    inputs = [(item["S3Input"], _input_objects(s3, item["S3Input"])) for item in request.get("ProcessingInputs", [])]
    output_config = request.get("ProcessingOutputConfig", {})
    kms_key = output_config.get("KmsKeyId")
    written: dict[str, str] = {}
    uploads: list[tuple[Path, S3Location]] = []
    if scratch.exists():
        shutil.rmtree(scratch)
    for index, host in enumerate(hosts):
        container = Container(scratch / host, host)
        container.prepare(hosts=hosts)
        for s3_input, objects in inputs:
            share = _shard(objects, s3_input.get("S3DataDistributionType", "FullyReplicated"), index, count)
            _download(s3, share, container.path(str(s3_input["LocalPath"])))
        for output in output_config.get("Outputs", []):
            container.path(str(output["S3Output"]["LocalPath"])).mkdir(parents=True, exist_ok=True)
        container.run(command, environment=environment, timeout_seconds=timeout, log=scratch / f"{host}.log")
        for output in output_config.get("Outputs", []):
            s3_output = output["S3Output"]
            for path, relative in _files(container.path(str(s3_output["LocalPath"]))):
                location = _join(str(s3_output["S3Uri"]), relative)
                if location.uri in written:
                    raise JobFailedError(
                        f"ClientError: {written[location.uri]} and {host} both wrote {location.uri} "
                        "(each instance must write its own keys)"
                    )
                written[location.uri] = host
                uploads.append((path, location))
    for path, location in uploads:
        _put(s3, path, location, kms_key)


# ---- training: the built-in XGBoost algorithm ---------------------------------------------------------------

_INTEGER_HYPERPARAMETERS = ("max_depth", "num_round", "early_stopping_rounds", "seed")
_FLOAT_HYPERPARAMETERS = ("eta", "subsample", "min_child_weight", "scale_pos_weight")
_SUPPORTED = {*_INTEGER_HYPERPARAMETERS, *_FLOAT_HYPERPARAMETERS, "objective", "eval_metric"}


def run_training_job(aws: Aws, request: Mapping[str, Any], *, workdir: Path) -> dict[str, Any]:
    """CreateTrainingJob through moto, then train here; return its DescribeTrainingJob (Completed/Failed)."""
    sagemaker = aws.client("sagemaker")
    sagemaker.create_training_job(**request)
    name = str(request["TrainingJobName"])
    job = moto_backend("sagemaker", aws.account, aws.region).training_jobs[name]
    job.training_job_status = job.secondary_status = "InProgress"
    try:
        _run_training(aws, request, workdir / name)
    except JobFailedError as error:
        job.training_job_status = job.secondary_status = "Failed"
        job.failure_reason = str(error)[:_FAILURE_REASON_MAX]
    else:
        job.training_job_status = job.secondary_status = "Completed"
    job.training_end_time = job.last_modified_time = datetime.now(UTC)
    return dict(sagemaker.describe_training_job(TrainingJobName=name))


def _hyperparameters(raw: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(raw) - _SUPPORTED)
    if unknown:
        raise JobFailedError(f"ClientError: hyperparameters {unknown} are not emulated for the built-in XGBoost")
    if raw.get("objective", "binary:logistic") != "binary:logistic":
        raise JobFailedError(f"ClientError: objective '{raw['objective']}' is not emulated (binary:logistic only)")
    values: dict[str, Any] = {}
    try:
        for name in _INTEGER_HYPERPARAMETERS:
            if name in raw:
                values[name] = int(float(raw[name]))
        for name in _FLOAT_HYPERPARAMETERS:
            if name in raw:
                values[name] = float(raw[name])
    except ValueError as error:
        raise JobFailedError(f"ClientError: a hyperparameter is not a number ({error})") from None
    if "eval_metric" in raw:
        values["eval_metric"] = raw["eval_metric"]
    return values


def _run_training(aws: Aws, request: Mapping[str, Any], scratch: Path) -> None:
    from pipeline_defs.scripts import train_local  # noqa: PLC0415 - xgboost is loaded only to train
    from pipeline_defs.scripts.common import StepInputError  # noqa: PLC0415

    image = str(request["AlgorithmSpecification"].get("TrainingImage", ""))
    if XGBOOST_IMAGE not in image:
        raise JobFailedError(f"ClientError: training image '{image}' is not emulated (built-in XGBoost only)")
    s3 = aws.client("s3")
    if scratch.exists():
        shutil.rmtree(scratch)
    container = Container(scratch / "algo-1", "algo-1")
    container.prepare(hosts=["algo-1"])
    channels: dict[str, Path] = {}
    for channel in request.get("InputDataConfig", []):
        source = channel["DataSource"]["S3DataSource"]
        local = container.path(f"/opt/ml/input/data/{channel['ChannelName']}")
        _download(s3, _input_objects(s3, source), local)
        channels[str(channel["ChannelName"])] = local
    missing = sorted({"train", "validation"} - set(channels))
    if missing:
        raise JobFailedError(f"ClientError: channels {missing} are required by this emulation")
    params = train_local.Hyperparameters(**_hyperparameters(request.get("HyperParameters", {})))
    model_dir = container.path("/opt/ml/model")
    try:
        booster, _ = train_local.train(channels["train"], channels["validation"], params)
    except StepInputError as error:
        raise JobFailedError(f"AlgorithmError: {error}") from None
    archive = train_local.save_model_archive(booster, model_dir)
    output = request["OutputDataConfig"]
    location = _join(str(output["S3OutputPath"]), f"{request['TrainingJobName']}/output/model.tar.gz")
    _put(s3, archive, location, output.get("KmsKeyId"))


# ---- the image's AWS CLI: `aws s3 cp` of one object -----------------------------------------------------------


def _aws_cli(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="aws")
    parser.add_argument("service", choices=["s3"])
    parser.add_argument("command", choices=["cp"])
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--only-show-errors", action="store_true")
    args = parser.parse_args(argv)
    import os  # noqa: PLC0415

    aws = Aws(region=os.environ.get("AWS_REGION", "us-east-1"), endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    s3 = aws.client("s3")
    try:
        if args.source.startswith("s3://"):
            source = S3Location.parse(args.source)
            Path(args.destination).parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(source.bucket, source.key, args.destination)
        else:
            _put(s3, Path(args.source), S3Location.parse(args.destination), None)
    except (JobFailedError, EmulatorError, OSError) as error:
        print(f"aws s3 cp: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        print(f"fatal error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["aws"]:
        raise SystemExit(_aws_cli(sys.argv[2:]))
    raise SystemExit("usage: python -m tools.demo.emulators.jobs aws s3 cp SOURCE DESTINATION")
