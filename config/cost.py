"""What the cost estimate (``make cost``) assumes about an environment's usage.

Nothing here changes the synthesized templates: these are the figures a template cannot know (traffic, how
long a job runs). ``python -m tools.cost`` prints every one of them next to the estimate and
``--assume name=value`` overrides any of them for one run.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from config._validate import in_range
from config.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class CostAssumptions:
    # Traffic: scored requests a day (each reads every online feature group and is captured at the sampling
    # rate), ingested events a day (each writes one record to every feature group; None = requests_per_day),
    # distinct entities kept in the online store.
    requests_per_day: int = 10_000
    events_per_day: int | None = None
    online_entities: int = 100_000
    # Bytes one feature takes in a stored record (name and value); record size = features x this.
    bytes_per_feature: int = 40
    # Bytes one captured request adds to data capture (input + output + the capture envelope).
    capture_bytes_per_request: int = 1_000
    # Billed minutes of one SageMaker Processing job of a monitoring run (start-up included).
    monitoring_job_minutes: float = 10.0
    # Billed minutes of one training-pipeline step, by step kind.
    pipeline_processing_step_minutes: float = 10.0
    pipeline_training_step_minutes: float = 30.0
    # Retraining runs a month started by alarms or by hand, on top of the schedule (capped by the budget).
    unscheduled_retrains_per_month: float = 1.0
    # Average billed duration of one invocation: a workflow Lambda, and the per-request scoring Lambda.
    workflow_lambda_seconds: float = 2.0
    request_lambda_milliseconds: float = 60.0
    # Raw-event files landing a day (one ingestion invocation each).
    landing_files_per_day: int = 24
    # Log bytes written per Lambda invocation and per Step Functions state transition.
    log_bytes_per_invocation: int = 1_000
    # Requests to the customer-managed key a day (S3 Bucket Keys keep object traffic off the key).
    kms_requests_per_day: int = 2_000
    # S3 requests a day across the buckets (capture files, job inputs and outputs, artifacts).
    s3_put_requests_per_day: int = 5_000
    s3_get_requests_per_day: int = 20_000
    # GB a month through VPC interface endpoints (isolated environments only).
    interface_endpoint_gb_per_month: float = 10.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                if f.name != "events_per_day":
                    raise ConfigError(f"cost.{f.name}", "must be set")
                continue
            in_range(f"cost.{f.name}", value, 0, 1e15)

    @property
    def ingested_events_per_day(self) -> int:
        return self.requests_per_day if self.events_per_day is None else self.events_per_day
