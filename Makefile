# The single entry point. CI runs `make test`, exactly what a developer runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The pinned Node 22 from node_modules comes first, so jsii runs on a supported Node and prints no banner.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# Offline by construction: no version check, no telemetry, no IMDS probing, no SageMaker SDK telemetry.
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export AWS_EC2_METADATA_DISABLED := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup synth cost test test-two-models test-added-models lint typecheck unit infra integration contract snapshot-update pipeline-local drift-local demo demo-up demo-down benchmarks clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt lambdas/requirements.txt
	$(PYTHON) -m venv $(VENV)
	# The filter drops this machine's pip-config noise only; with pipefail a failed install still fails.
	$(PY) -m pip install --quiet --upgrade pip==25.3 2>&1 | { grep -v "is ignored: it is neither" || true; }
	$(PY) -m pip install --quiet -r requirements-dev.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
	# xgboost 1.7.6's wheel metadata carries tags pip check misreads; any other finding fails the setup.
	@out="$$($(PY) -m pip check 2>&1 | grep -v '^xgboost 1.7.6 is not supported on this platform' || true)"; \
	if [ -n "$$out" ] && [ "$$out" != "No broken requirements found." ]; then echo "$$out"; exit 1; fi
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed  ## create the venv and node_modules (idempotent)

synth: setup  ## synthesize every environment offline into cdk.out; one line per stack
	rm -rf cdk.out
	cdk synth --quiet --no-notices > /dev/null
	$(PY) tools/synth_summary.py cdk.out

cost: setup  ## monthly cost estimate per environment and model (ARGS="--env prod --json"); synthesizes if stale
	$(PY) -m tools.cost $(ARGS)

lint: setup  ## ruff
	ruff check .
	ruff format --check config stacks mlops_constructs lambdas pipeline_defs monitoring_job monitor_stats app.py tools

typecheck: setup  ## mypy, strict on infra and Lambda code
	mypy

unit: setup
	$(PY) -m pytest tests/unit -q

infra: setup
	$(PY) -m pytest tests/infra -q

integration: setup
	$(PY) -m pytest tests/integration -q

contract: setup  ## IAM contract tier alone: records the producer tests' AWS calls, checks them against the roles
	$(PY) -m pytest tests/contract -q -s

test: setup lint typecheck  ## everything CI runs: lint, types, unit, infra (synth, cdk-nag, cfn-lint, snapshots), integration, IAM contract
	$(PY) -m pytest -q --durations=10

# The infra and integration tiers against an app with a second, different model (tests/support/specs.py's churn
# spec joins config.MODELS for the run): proves adding a model is one spec. The platform's and the added model's
# stacks have no snapshot in this run, hence --snapshot-warn-unused.
test-two-models: setup  ## infra and integration tiers with a second model spec added to MODELS
	MLOPS_TEST_EXTRA_SPECS=churn $(PY) -m pytest tests/infra tests/integration -q --snapshot-warn-unused --durations=10

# CI's proof that adding a model is one spec, in CI's time: the infra tier (cdk-nag, cfn-lint, IAM resource types,
# per-model assertions, the example's snapshots unchanged) on ONE synth of an app with two more, different specs
# (churn; plan-upgrade, whose feature group is categorical only), skipping the tests that synthesize a variant of
# the app of their own (marker variant_synth: determinism, cost figures of the example, fraud-only settings); then
# the integration tier (the loop, the monitoring workflow, the demo's deploy, local pipeline runs) with churn added.
# Those specs' local pipeline runs and their seam with the drift job run in `make test` already
# (tests/integration/pipeline_local/test_local_run_any_spec.py).
test-added-models: setup  ## infra tier with the churn and plan-upgrade specs added to MODELS, integration tier with churn (CI)
	MLOPS_TEST_EXTRA_SPECS=churn,plan-upgrade $(PY) -m pytest tests/infra -q -m "not variant_synth" --snapshot-warn-unused --durations=5
	MLOPS_TEST_EXTRA_SPECS=churn $(PY) -m pytest tests/integration -q --durations=5

snapshot-update: setup  ## refresh the masked template snapshots after an intended change
	env -u MLOPS_TEST_EXTRA_SPECS $(PY) -m pytest tests/infra/test_snapshots.py -q --snapshot-update

pipeline-local: setup  ## run the training pipeline's steps locally on generated data into build/pipeline-local
	$(PY) -m pipeline_defs.local_run --out build/pipeline-local

drift-local: setup  ## run the drift job on the local pipeline's baseline and captures of its test split (ARGS="--drift amount=2")
	@test -f build/pipeline-local/baselines/data-quality/statistics.json || $(PY) -m pipeline_defs.local_run --out build/pipeline-local
	$(PY) -m tools.drift_local --run build/pipeline-local --out build/drift-local $(ARGS)

demo: setup  ## deploy the dev stage into a local AWS emulator with the real CDK CLI and run its loop end to end
	$(PY) -m tools.demo $(ARGS)

demo-up: setup  ## start a local AWS emulator (moto) and deploy the dev stage into it with the pinned CDK CLI
	$(PY) -m tools.demo.server.deploy up

demo-down:  ## stop the local AWS emulator started by demo-up
	$(PY) -m tools.demo.server.launcher stop

benchmarks: setup  ## run every benchmark and rewrite its record (slow; the drift one needs EVIDENTLY_PYTHON)
	@test -n "$${EVIDENTLY_PYTHON:-}" || { echo "set EVIDENTLY_PYTHON: see benchmarks/README.md"; exit 1; }
	$(PY) benchmarks/synth/run.py --runs 3
	$(PY) benchmarks/lambda_init/run.py --runs 7
	$(PY) benchmarks/transitions/run.py
	$(PY) benchmarks/demo/run.py --runs 2
	$(PY) benchmarks/drift/run.py --records 1000000 --evidently-python "$$EVIDENTLY_PYTHON"

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache build
