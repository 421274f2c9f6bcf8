"""Routing: a pipeline execution runs its deployed definition's steps (``tools.demo.emulators.pipelines``).

Gap: moto's StartPipelineExecution (moto/sagemaker/models.py ``SageMakerModelBackend.start_pipeline_execution``)
records an execution that is ``Succeeded`` at once and runs nothing; ``describe_pipeline_execution`` always
answers an empty ``FailureReason``; ListPipelineExecutionSteps is not implemented
(moto/sagemaker/responses.py has no ``list_pipeline_execution_steps``).

Patch: StartPipelineExecution records the execution as moto does, marks it ``Executing`` before answering, and
runs it on a background thread with ``pipelines.run_execution`` (the real step scripts; the status events on
EventBridge, which complete the retraining loop's wait); DescribePipelineExecution carries the emulator's
failure reason; ListPipelineExecutionSteps answers the emulator's step records. An error of the emulator itself
(not a failed step) fails the execution with that error as its reason, and is logged.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.pipelines")


def _epoch(value: Any) -> float:
    """Timestamps as the JSON protocol carries them (epoch seconds)."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _run(context: ServerContext, arn: str) -> None:
    from tools.demo.emulators import pipelines  # noqa: PLC0415
    from tools.demo.server.patches import emulator_aws  # noqa: PLC0415

    aws = emulator_aws(context)
    try:
        described = pipelines.run_execution(aws, arn, workdir=context.paths.root / "emulators" / "pipelines")
        log.info("pipeline execution %s ended %s", arn, described["PipelineExecutionStatus"])
    except Exception as error:
        from moto.sagemaker.models import sagemaker_backends  # noqa: PLC0415
        from moto.sagemaker.utils import get_pipeline_execution_from_arn  # noqa: PLC0415

        log.exception("pipeline execution %s: the emulator failed", arn)
        backend = sagemaker_backends[context.account][context.region]
        record: Any = get_pipeline_execution_from_arn(backend.pipelines, arn)
        record.pipeline_execution_status = "Failed"
        record.pipeline_execution_failure_reason = f"demo emulator error: {error}"[:1300]


def apply(context: ServerContext) -> None:
    from moto.sagemaker.models import SageMakerModelBackend  # noqa: PLC0415
    from moto.sagemaker.responses import SageMakerResponse  # noqa: PLC0415
    from moto.sagemaker.utils import get_pipeline_execution_from_arn  # noqa: PLC0415

    original_start = SageMakerModelBackend.start_pipeline_execution
    original_describe = SageMakerModelBackend.describe_pipeline_execution

    @functools.wraps(original_start)
    def start_pipeline_execution(self: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
        started = original_start(self, *args, **kwargs)
        arn = started["PipelineExecutionArn"]
        get_pipeline_execution_from_arn(self.pipelines, arn).pipeline_execution_status = "Executing"
        threading.Thread(target=_run, args=(context, arn), name=f"pipeline-{arn[-12:]}", daemon=True).start()
        log.info("pipeline execution %s started; the emulator runs its steps", arn)
        return started

    @functools.wraps(original_describe)
    def describe_pipeline_execution(self: Any, pipeline_execution_arn: str) -> dict[str, Any]:
        described = original_describe(self, pipeline_execution_arn)
        record = get_pipeline_execution_from_arn(self.pipelines, pipeline_execution_arn)
        described["FailureReason"] = record.pipeline_execution_failure_reason or ""
        return described

    def list_pipeline_execution_steps(self: Any) -> str:
        from tools.demo.emulators import pipelines  # noqa: PLC0415
        from tools.demo.server.patches import emulator_aws  # noqa: PLC0415

        arn = self._get_param("PipelineExecutionArn")
        steps = pipelines.execution_steps(emulator_aws(context), arn)
        return json.dumps({"PipelineExecutionSteps": steps}, default=_epoch)

    setattr(SageMakerModelBackend, "start_pipeline_execution", start_pipeline_execution)  # noqa: B010
    setattr(SageMakerModelBackend, "describe_pipeline_execution", describe_pipeline_execution)  # noqa: B010
    setattr(SageMakerResponse, "list_pipeline_execution_steps", list_pipeline_execution_steps)  # noqa: B010
