"""Routing: Step Functions' SageMaker job integrations run the job (``tools.demo.emulators.jobs``) and wait for it.

Gap: moto's Step Functions interpreter has no optimized SageMaker integration (moto/stepfunctions/parser/asl/
component/state/exec/state_task/service/state_task_service_factory.py lists ``sagemaker`` among
``_UNSUPPORTED_SERVICE_NAMES``): a ``arn:aws:states:::sagemaker:createProcessingJob.sync`` task, the drift job's
Analyze and Merge states, fails with ``Unsupported .sync callback procedure``.

Patch: ``state_task_service_for`` (as imported by ``state_task_factory``) gives ``sagemaker`` tasks a service
that, for ``createProcessingJob.sync`` and ``createTrainingJob.sync``, runs the job with
``jobs.run_processing_job`` / ``run_training_job`` from the state's evaluated parameters (the CreateProcessingJob
request as Step Functions sends it) and waits for its end, as ``.sync`` does: the state's result is the job's
Describe* response; a job that ends ``Failed`` fails the state with ``States.TaskFailed`` and the response as
the cause. Any other SageMaker task fails with an error naming its resource (moto would forward it as a plain
API call, without the ``.sync`` wait; the app has none).

What differs from AWS (and could hide a defect): Step Functions polls the job and its state's output carries
the service's own timestamp format; the job runs inside the state here, so ``TimeoutSeconds`` and
``HeartbeatSeconds`` are not enforced while it runs.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.jobs")
_context: list[ServerContext] = []  # the server this module was applied to (one per process)
_STATUS = {"createProcessingJob": "ProcessingJobStatus", "createTrainingJob": "TrainingJobStatus"}


def _json_safe(value: Any) -> Any:
    """The Describe* response as state data: timestamps as ISO 8601 text."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)))


class SageMakerJobService(StateTaskService):
    """``arn:aws:states:::sagemaker:create{Processing,Training}Job.sync`` run by the demo's job emulator."""

    def _get_supported_parameters(self) -> set[str] | None:
        return set()  # every parameter is passed on (the request is validated by the SageMaker API call)

    def _eval_service_task(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> None:
        from tools.demo.emulators import jobs  # noqa: PLC0415
        from tools.demo.server.patches import emulator_aws  # noqa: PLC0415

        action = self.resource.api_action
        if action not in _STATUS or self.resource.condition != ResourceCondition.Sync:
            raise ValueError(
                f"{self.resource.resource_arn}: only createProcessingJob.sync and createTrainingJob.sync are emulated"
            )
        context = _context[0]
        run = jobs.run_processing_job if action == "createProcessingJob" else jobs.run_training_job
        described = _json_safe(
            {
                k: v
                for k, v in run(
                    emulator_aws(context), normalised_parameters, workdir=context.paths.root / "emulators" / "jobs"
                ).items()
                if k != "ResponseMetadata"
            }
        )
        status = described[_STATUS[action]]
        log.info("step functions %s.sync: job ended %s", action, status)
        if status != "Completed":
            cause = json.dumps(described)
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=CustomErrorName("States.TaskFailed"),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(  # type: ignore[typeddict-item]
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error="States.TaskFailed",
                            cause=cause,
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                        )
                    ),
                )
            )
        env.stack.append(described)

    def _get_sfn_resource(self) -> str:
        resource = super()._get_sfn_resource()
        return f"{resource}.{self.resource.condition}" if self.resource.condition else resource


def apply(context: ServerContext) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory  # noqa: PLC0415

    _context.append(context)
    original = state_task_factory.state_task_service_for  # type: ignore[attr-defined]

    @functools.wraps(original)
    def state_task_service_for(service_name: str) -> Any:
        return SageMakerJobService() if service_name == "sagemaker" else original(service_name)  # type: ignore[no-untyped-call]

    state_task_factory.state_task_service_for = state_task_service_for  # type: ignore[attr-defined]
