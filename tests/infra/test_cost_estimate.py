"""``make cost`` on the real synthesized app: the example config's estimate against figures computed by hand from
the price table (tools/cost/prices_us_east_1.json), and config changes moving the estimate as they should.

The figures are the example config's, the fraud model alone: a run whose app has more models (make
test-two-models) synthesizes the example for them, and checks the app under test's estimate has a row set
per model."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from config import DEV, ENVIRONMENTS, FRAUD_DETECTION, MODELS, PROD
from tests.support.environments import PROD_WITH_MODEL_MONITOR
from tests.support.synth import Synthesized, synthesize
from tools.cost.cli import estimate, main
from tools.cost.estimate import EnvironmentEstimate, LineItem
from tools.cost.render import table

GB = 1024**3
H = 730  # hours a month
D = H / 24  # days a month
RUNS_HOURLY = 8760 / 12  # an hourly schedule over a 365-day year, a month
# dev's idle schedule (ADR 0020): the endpoint exists 07-19 UTC Monday to Friday, 60 of 168 hours a week; its
# function runs twice a weekday (sleep, wake).
AWAKE = 60 / 168
IDLE_RUNS = 2 * 261 / 12  # a 365-day year has 261 weekdays
# Prices (us-east-1, from the table).
M5_LARGE, M5_XLARGE = 0.115, 0.23
FS_WRITE, FS_READ, FS_ONLINE = 1.25 / 1e6, 0.25 / 1e6, 0.45
S3_STD, S3_IA, S3_PUT, S3_GET = 0.023, 0.0125, 0.005 / 1000, 0.0004 / 1000
KMS_KEY, KMS_REQ = 1.0, 0.03 / 10_000
LAMBDA_REQ, LAMBDA_ARM = 0.2 / 1e6, 0.0000133334
SFN = 0.025 / 1000
ALARM, COMPOSITE, DASHBOARD, METRIC = 0.10, 0.50, 3.00, 0.30
LOGS_IN, LOGS_KEPT = 0.50, 0.03

VARIANT = replace(
    DEV,
    name="devchanged",
    endpoint=replace(DEV.endpoint, instance_type="ml.m5.xlarge"),
    monitoring=replace(DEV.monitoring, every_hours=6),
    retraining=replace(DEV.retraining, schedule_every_days=7),
    idle=None,
)


EXAMPLE = (FRAUD_DETECTION,)


@pytest.fixture(scope="module")
def example(synth: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example config's app: the session's synth when it is that app, else one synth of the example."""
    if tuple(MODELS) == EXAMPLE:
        return synth
    return synthesize(Path(tmp_path_factory.mktemp("cdk.out.example")), models=EXAMPLE)


@pytest.fixture(scope="module")
def example_model_monitor(model_monitor_synth: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    if tuple(MODELS) == EXAMPLE:
        return model_monitor_synth
    outdir = Path(tmp_path_factory.mktemp("cdk.out.example-mm"))
    return synthesize(outdir, environments=[PROD_WITH_MODEL_MONITOR], models=EXAMPLE)


@pytest.fixture(scope="module")
def estimates(example: Synthesized) -> dict[str, EnvironmentEstimate]:
    return {e.environment: e for e in estimate(example.outdir, ENVIRONMENTS)}


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentEstimate:
    """DEV with a larger endpoint instance, monitoring every 6 hours, weekly retraining and no idle schedule (one
    small synth)."""
    outdir = Path(tmp_path_factory.mktemp("cdk.out.cost"))
    [result] = estimate(synthesize(outdir, environments=[VARIANT], models=EXAMPLE).outdir, [VARIANT])
    return result


@pytest.fixture(scope="module")
def model_monitor_prod(example_model_monitor: Synthesized) -> EnvironmentEstimate:
    """prod with the model_monitor backend (the opt-in for accounts that already have Model Monitor)."""
    [result] = estimate(example_model_monitor.outdir, [PROD_WITH_MODEL_MONITOR])
    return result


def line(result: EnvironmentEstimate, prefix: str) -> LineItem:
    [found] = [x for x in result.lines if x.item.startswith(prefix)]
    return found


@pytest.mark.variant_synth  # the example app's own synth when models were added
def test_dev_estimate_equals_the_hand_computed_figure(estimates: dict[str, EnvironmentEstimate]) -> None:
    dev = estimates["dev"]
    requests = 2_000  # DEV.cost: 2,000 requests and events a day, 10,000 customers online
    assert (DEV.cost.requests_per_day, DEV.cost.online_entities) == (requests, 10_000)

    # 1 x ml.m5.large in the awake hours: traffic needs 1 (300 invocations a minute each); asleep it is deleted.
    endpoint = 1 * M5_LARGE * H * AWAKE
    capture_gb_day = requests * 1.00 * 1_000 / GB  # 100 % sampled, 1,000 B each
    capture = capture_gb_day * 30 * S3_STD + capture_gb_day * 335 * S3_IA  # IA at 30 d, expired at 365 d
    # Feature groups: transaction 7 definitions x 40 B = 280 B, customer-spend 9 x 40 B = 360 B: 1 unit each.
    # Every event writes both; every scored request reads both (the score function's FEATURE_GROUPS).
    groups = sum(
        requests * D * FS_WRITE
        + requests * D * FS_READ
        + 10_000 * size / GB * FS_ONLINE
        + requests * 365 * size / GB * S3_STD  # offline store after a year
        for size in (280, 360)
    )
    # Drift workflow hourly: analyze + merge, each 1 x ml.m5.xlarge for 10 minutes.
    drift_jobs = RUNS_HOURLY * 2 * M5_XLARGE * 10 / 60
    # One unscheduled retraining a month (no schedule in dev): 6 processing steps x 10 min + training 30 min.
    pipeline = 1 * (6 * 10 / 60 + 30 / 60) * M5_XLARGE
    # Transitions: drift ListCaptures, Flatten, AnyCaptures?, Analyze, Merge, Done; retraining 19 (promoting run).
    transitions = RUNS_HOURLY * 6 + 1 * 19
    # Lambda (arm64): score per request 512 MB x 60 ms; hourly quality evaluation 1024 MB x 2 s; hourly drift
    # window 512 MB x 2 s; ingestion per landing file (24 a day) 1024 MB x 2 s; the retraining run's 12 task
    # functions and 3 event callbacks (alarm trigger, pipeline status, approval) 512 MB x 2 s; the idle schedule's
    # sleep and wake 512 MB x 2 s.
    invocations = requests * D + RUNS_HOURLY + RUNS_HOURLY + 24 * D + 12 + 3 + IDLE_RUNS
    gb_seconds = (
        requests * D * 0.5 * 0.06
        + RUNS_HOURLY * 1 * 2
        + RUNS_HOURLY * 0.5 * 2
        + 24 * D * 1 * 2
        + 15 * 0.5 * 2
        + IDLE_RUNS * 0.5 * 2
    )
    lambdas = invocations * LAMBDA_REQ + gb_seconds * LAMBDA_ARM
    # CloudWatch: 19 monitoring + 4 serving alarms, 1 composite, 1 dashboard, 17 alarmed custom metrics
    # (12 drift features, PR AUC, 2 business KPIs, missing captures, missing labels).
    alarms = 23 * ALARM + 1 * COMPOSITE
    log_gb = (transitions + invocations) * 1_000 / GB
    logs = log_gb * LOGS_IN + log_gb * 12 * LOGS_KEPT  # 365-day retention: a year kept
    platform = KMS_KEY + 2_000 * D * KMS_REQ + 5_000 * D * S3_PUT + 20_000 * D * S3_GET
    free = (
        invocations * LAMBDA_REQ  # under 1M requests
        + gb_seconds * LAMBDA_ARM  # under 400,000 GB-s
        + 4_000 * SFN
        + 20_000 * KMS_REQ
        + 10 * ALARM
        + 10 * METRIC
        + 1 * DASHBOARD
        + log_gb * LOGS_IN  # under 5 GB
    )
    expected = (
        endpoint
        + capture
        + groups
        + drift_jobs
        + pipeline
        + transitions * SFN
        + lambdas
        + alarms
        + DASHBOARD
        + 17 * METRIC
        + logs
        + platform
        - free
    )

    assert line(dev, "endpoint fraud-detection-dev/primary ml.m5.large").usd == pytest.approx(endpoint)
    assert line(dev, "Drift monitoring of fraud-detection-dev").usd == pytest.approx(drift_jobs)
    assert line(dev, "training pipeline").usd == pytest.approx(pipeline)
    assert line(dev, "Lambda").usd == pytest.approx(lambdas)
    assert dev.total == pytest.approx(expected, rel=1e-9)
    assert round(dev.total, 2) == 92.56


@pytest.mark.variant_synth  # the example app's own synth when models were added
def test_prod_prices_its_endpoint_fleet_and_both_model_monitor_schedules(
    estimates: dict[str, EnvironmentEstimate], model_monitor_prod: EnvironmentEstimate
) -> None:
    prod = model_monitor_prod

    # 500,000 requests a day = 347 a minute: 2 instances' worth, but the scaling minimum is 4.
    assert line(prod, "endpoint fraud-detection-prod/primary ml.m5.xlarge").usd == pytest.approx(4 * M5_XLARGE * H)
    assert line(prod, "Model Monitor DataQuality").usd == pytest.approx(RUNS_HOURLY * 1 * M5_XLARGE * 10 / 60)
    # A model-quality run is a ground-truth merge job and an analysis job.
    assert line(prod, "Model Monitor ModelQuality").usd == pytest.approx(RUNS_HOURLY * 2 * M5_XLARGE * 10 / 60)
    # Weekly schedule (365 / 7 / 12 a month) + 1 unscheduled, under the budget of 2 a week.
    runs = 365 / 7 / 12 + 1
    assert line(prod, "training pipeline").usd == pytest.approx(runs * (6 * 10 / 60 + 30 / 60) * M5_XLARGE)
    assert PROD.retraining.max_runs_per_period * D / PROD.retraining.period_days > runs
    # the default backend prices the processing drift job instead
    assert line(estimates["prod"], "Drift monitoring of fraud-detection-prod").usd > 0
    assert not [x for x in estimates["prod"].lines if x.item.startswith("Model Monitor")]


@pytest.mark.variant_synth  # the example app's own synth when models were added
def test_isolated_environments_pay_for_their_interface_endpoints_per_zone_and_dev_for_none(
    estimates: dict[str, EnvironmentEstimate],
) -> None:
    # 16 interface endpoints (mlops_constructs/network.py) in each zone of the VPC: staging 2 zones, prod 3.
    for name, zones in (("staging", 2), ("prod", 3)):
        endpoints = line(estimates[name], "VPC interface endpoints")
        assert endpoints.quantities["vpc.interface_endpoint_hour"] == pytest.approx(16 * zones * H)
        assert endpoints.usd == pytest.approx(16 * zones * H * 0.01 + 10 * 0.01)
    assert not [x for x in estimates["dev"].lines if x.item.startswith("VPC")]


@pytest.mark.variant_synth  # the example app's own synth when models were added
def test_every_environment_total_is_the_sum_of_its_rows_and_is_stated_with_its_prices(
    estimates: dict[str, EnvironmentEstimate],
) -> None:
    for result in estimates.values():
        assert result.total == pytest.approx(sum(x.usd for x in result.lines))
        assert result.prices.taken == "2026-12-02"
        assert result.prices.region == result.region == "us-east-1"
        assert {x.model for x in result.lines} == {"fraud-detection", "platform"}
    assert estimates["dev"].total < estimates["staging"].total < estimates["prod"].total


def test_the_app_under_test_is_estimated_per_model(synth: Synthesized) -> None:
    for result in estimate(synth.outdir, ENVIRONMENTS):
        assert {x.model for x in result.lines} == {*(m.name for m in MODELS), "platform"}
        for model in MODELS:
            rows = [x.item for x in result.lines if x.model == model.name]
            assert f"training pipeline {model.name}-{result.environment}-training" in " ".join(rows), rows
            assert any(item.startswith(f"endpoint {model.name}-{result.environment}/") for item in rows), rows


@pytest.mark.variant_synth  # the example app's own synth when models were added
def test_without_traffic_neither_monitoring_backend_runs_a_paid_job(
    example: Synthesized, example_model_monitor: Synthesized
) -> None:
    [dev] = estimate(example.outdir, [DEV], overrides={"requests_per_day": "0"})
    [prod] = estimate(example_model_monitor.outdir, [PROD_WITH_MODEL_MONITOR], overrides={"requests_per_day": "0"})

    assert line(dev, "Drift monitoring").usd == 0  # processing backend: an empty window ends without a job
    assert line(prod, "Model Monitor DataQuality").usd == 0
    assert line(prod, "Model Monitor ModelQuality").usd == 0
    assert line(dev, "endpoint").usd == pytest.approx(M5_LARGE * H * AWAKE)  # the endpoint costs all the same


@pytest.mark.variant_synth  # the example app's own synth when models were added
def test_config_changes_move_the_estimate(
    estimates: dict[str, EnvironmentEstimate], changed: EnvironmentEstimate
) -> None:
    dev = estimates["dev"]

    # ml.m5.large -> ml.m5.xlarge, and no idle schedule: twice the price, all 730 hours instead of 60 a week.
    assert line(dev, "endpoint").usd == pytest.approx(M5_LARGE * H * AWAKE)
    assert "awake 60 h a week (idle schedule)" in line(dev, "endpoint").usage
    assert line(changed, "endpoint fraud-detection-devchanged/primary ml.m5.xlarge").usd == pytest.approx(M5_XLARGE * H)
    # Hourly -> every 6 hours: 4 runs a day instead of 24, each still two 10-minute jobs.
    drift = line(changed, "Drift monitoring of fraud-detection-devchanged every 6 h")
    assert drift.usd == pytest.approx(365 * 4 / 12 * 2 * M5_XLARGE * 10 / 60)
    assert drift.usd == pytest.approx(line(dev, "Drift monitoring").usd / 6)
    # No schedule -> weekly retraining: 365 / 7 / 12 scheduled runs a month on top of the 1 unscheduled.
    runs = 365 / 7 / 12 + 1
    assert line(changed, "training pipeline").usd == pytest.approx(runs * (6 * 10 / 60 + 30 / 60) * M5_XLARGE)
    assert line(changed, "Step Functions mlops-devchanged-fraud-detection-retraining").quantities[
        "stepfunctions.standard_transitions"
    ] == pytest.approx(runs * 19)


@pytest.mark.variant_synth  # the example app's own synth when models were added
def test_the_command_prints_tables_or_json_and_fails_clearly(
    example: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--no-synth", "--cdk-out", str(example.outdir), "--env", "dev"]) == 0
    text = capsys.readouterr().out
    assert "dev (account 111111111111, us-east-1): monthly estimate in USD" in text
    assert "total dev" in text
    assert "92.56" in text
    assert "taken 2026-12-02" in text
    assert "requests_per_day = 2,000" in text

    assert main(["--no-synth", "--cdk-out", str(example.outdir), "--env", "prod", "--json"]) == 0
    [document] = json.loads(capsys.readouterr().out)
    assert document["environment"] == "prod"
    assert document["total_usd"] == pytest.approx(sum(x["usd"] for x in document["lines"]), abs=0.01)

    assert main(["--no-synth", "--cdk-out", str(example.outdir), "--env", "qa"]) == 1
    assert "unknown environment(s) ['qa']" in capsys.readouterr().err
    assert main(["--no-synth", "--cdk-out", str(example.outdir), "--assume", "requests"]) == 1
    assert "expected name=value" in capsys.readouterr().err


@pytest.mark.variant_synth  # the example app's own synth when models were added
def test_the_readme_shows_what_the_tool_prints_for_the_example(estimates: dict[str, EnvironmentEstimate]) -> None:
    """The README's dev example and its one-line totals are the estimate of today's example app, not an old run's."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index('Example (generated by `make cost ARGS="--env dev"`')
    body_start = readme.index("```text\n", start) + len("```text\n")
    shown = readme[body_start : readme.index("\n```", body_start)]
    assert shown == table(estimates["dev"]).rstrip("\n"), "README's cost example is stale: regenerate it with make cost"
    expected = tuple(f"{estimates[name].total:,.2f}" for name in ("dev", "staging", "prod"))
    # Every place that quotes the totals (the Cost section, the deploy guide's "What it costs") quotes today's.
    quoted = re.findall(r"`make cost` gives dev ([\d,.]+), staging ([\d,.]+) and prod ([\d,.]+) USD a month", readme)
    assert len(quoted) >= 2, quoted
    assert set(quoted) == {expected}, f"README quotes {quoted}, make cost gives {expected}"
