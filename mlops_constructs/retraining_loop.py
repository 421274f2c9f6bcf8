"""The retraining loop of one model in one environment (docs/architecture.md#retraining-loop), as a Standard state
machine.

guard (single flight, cooldown, budget, pause) -> start the pipeline with the champion -> wait for it (task
token completed by the pipeline's status event; no polling, so a run's state transitions do not grow with
the pipeline's duration) -> registered? -> approval (auto: the automation approves; manual: a task token
completed by the registry's event) -> deploy with the environment's strategy -> verify -> bake / compare ->
promote, or roll back -> notify the owner -> release the lock. Every path ends with the lock released and the
owner notified; a failure or a rollback fails the execution visibly.

Triggers: the monitoring alarms (drift, quality, KPIs) and an optional schedule go through a small Lambda that
names the execution after the trigger, so duplicates start one run; the CLI starts manual runs.

IAM: DynamoDB and KMS access through the table's and key's ``grant`` methods; S3 access by hand-written
statements, because ``bucket.grant_*`` would be wider (docs/aws-facts.md#cdk-grant-methods).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from config import DeploymentStrategy, ModelDeployment
from mlops_constructs.dead_letters import target_dead_letter_queue
from mlops_constructs.nag import logical_id, object_finding
from mlops_constructs.network import NetworkAccess
from mlops_constructs.permissions import allow_unscoped
from mlops_constructs.python_function import PythonFunction, retention

SKIP_ERRORS = ["RetrainingPaused", "RetrainingInProgress", "CooldownActive", "BudgetExhausted"]
TRAINING_WINDOW_DAYS = 90


def state_machine_name(deployment: ModelDeployment) -> str:
    return f"mlops-{deployment.env.name}-{deployment.spec.name}-retraining"


class RetrainingLoop(Construct):
    def __init__(  # noqa: PLR0915 - one function per step, each with its grants: a flat list reads best
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        key: kms.IKey,
        state_table: dynamodb.ITable,
        artifacts_bucket: s3.IBucket,
        owner_topic: sns.ITopic,
        pipeline_name: str,
        trigger_alarm_names: Sequence[str],
    ) -> None:
        super().__init__(scope, id_)
        network = NetworkAccess.of(self, deployment.env)
        self._deployment = deployment
        self._key = key
        stack = cdk.Stack.of(self)
        env, spec, policy = deployment.env, deployment.spec, deployment.env.retraining
        pipeline_arn = stack.format_arn(service="sagemaker", resource="pipeline", resource_name=pipeline_name)
        policy_json = json.dumps(
            {
                "cooldown_hours": policy.cooldown_hours,
                "max_runs_per_period": policy.max_runs_per_period,
                "period_days": policy.period_days,
                "pipeline_timeout_hours": policy.pipeline_timeout_hours,
                "approval_timeout_hours": policy.approval_timeout_hours,
            },
            sort_keys=True,
        )
        state_env = {"MODEL_NAME": spec.name, "ENVIRONMENT": env.name, "STATE_TABLE": state_table.table_name}
        self.functions: dict[str, PythonFunction] = {}

        def fn(name: str, environment: dict[str, str], *, timeout_s: int = 60) -> PythonFunction:
            created = PythonFunction(
                self,
                f"Fn-{name}",
                handler=f"lambdas.retraining.{name}.handler",
                description=f"{deployment.prefix} retraining: {name}",
                key=key,
                network=network,
                log_retention_days=env.storage.log_retention_days,
                service_name=f"{deployment.prefix}-retraining",
                environment=environment,
                timeout=cdk.Duration.seconds(timeout_s),
            )
            if "STATE_TABLE" in environment:
                state_table.grant(
                    created.role,
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:ConditionCheckItem",
                )
                key.grant(created.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
            self.functions[name] = created
            return created

        guard = fn(
            "guard", {**state_env, "RETRAINING_POLICY": policy_json, "TRAINING_WINDOW_DAYS": str(TRAINING_WINDOW_DAYS)}
        )
        start = fn(
            "start_pipeline",
            {
                **state_env,
                "PIPELINE_NAME": pipeline_name,
                "SERVING_POINTER_PARAMETER": deployment.serving_pointer_parameter,
                "ABSOLUTE_THRESHOLD": str(spec.absolute_threshold),
                "MIN_IMPROVEMENT": str(spec.min_improvement),
            },
        )
        executions = f"{pipeline_arn}/execution/*"
        start.role.add_to_policy(
            iam.PolicyStatement(actions=["sagemaker:StartPipelineExecution"], resources=[pipeline_arn])
        )
        start.role.add_to_policy(
            iam.PolicyStatement(actions=["sagemaker:DescribePipelineExecution"], resources=[executions])
        )
        start.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter"],
                resources=[
                    stack.format_arn(
                        service="ssm",
                        resource="parameter",
                        resource_name=deployment.serving_pointer_parameter.lstrip("/"),
                    )
                ],
            )
        )
        packages = stack.format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{deployment.model_package_group_name}/*"
        )
        start.role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[packages]))
        wait = fn("register_wait", {**state_env, "RETRAINING_POLICY": policy_json})
        callback = fn("pipeline_callback", state_env)
        for f in (wait, callback):
            f.role.add_to_policy(
                iam.PolicyStatement(actions=["sagemaker:DescribePipelineExecution"], resources=[executions])
            )
        check = fn(
            "check_registration",
            {
                "MODEL_NAME": spec.name,
                "ENVIRONMENT": env.name,
                "ARTIFACTS_BUCKET": artifacts_bucket.bucket_name,
                "MODEL_PACKAGE_GROUP": deployment.model_package_group_name,
            },
        )
        check.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[artifacts_bucket.arn_for_objects(f"pipelines/{pipeline_name}/*")]
            )
        )
        allow_unscoped(
            check.role,
            actions=["sagemaker:ListModelPackages"],
            reason="the check lists the model's package group for the package its pipeline execution registered.",
        )
        check.role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[packages]))
        check.role.add_to_policy(
            iam.PolicyStatement(actions=["sagemaker:DescribePipelineExecution"], resources=[executions])
        )
        check.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[artifacts_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"pipelines/{pipeline_name}/*"]}},
            )
        )  # so a missing decision.json reads as missing, not as access denied
        key.grant_decrypt(check.role)
        approval = fn(
            "approval",
            {
                **state_env,
                "RETRAINING_POLICY": policy_json,
                "APPROVAL_MODE": env.approval.value,
                "MODEL_PACKAGE_GROUP": deployment.model_package_group_name,
            },
        )
        # The callback reads the same settings as approval (ApprovalEnv): without them every registry decision
        # would fail and a manual run would wait until its approval timeout (found by the offline run).
        approval_callback = fn(
            "approval_callback",
            {
                **state_env,
                "RETRAINING_POLICY": policy_json,
                "APPROVAL_MODE": env.approval.value,
                "MODEL_PACKAGE_GROUP": deployment.model_package_group_name,
            },
        )
        for f in (approval, approval_callback):
            f.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"], resources=[packages]
                )
            )
        notify = fn(
            "notify", {"MODEL_NAME": spec.name, "ENVIRONMENT": env.name, "OWNER_TOPIC_ARN": owner_topic.topic_arn}
        )
        notify.role.add_to_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[owner_topic.topic_arn]))
        key.grant(notify.role, "kms:GenerateDataKey", "kms:Decrypt")
        release = fn("release", state_env)

        self.state_machine = self._state_machine(
            guard=guard,
            start=start,
            wait=wait,
            check=check,
            approval=approval,
            notify=notify,
            release=release,
        )
        # By name, not by the state machine's token: the state machine invokes these functions, so a token
        # reference from their policies back to it would be a circular dependency.
        machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=state_machine_name(deployment),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        for f in (wait, callback, approval, approval_callback):
            # The task token, not an ARN, names the waiting task: these actions have no resource types.
            allow_unscoped(
                f.role,
                actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                reason="the function completes the retraining state machine's task-token waits.",
            )

        # ---- triggers ----
        trigger = fn("trigger", {"STATE_MACHINE_ARN": machine_arn})
        trigger.role.add_to_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine_arn]))
        trigger.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution"],
                resources=[
                    stack.format_arn(
                        service="states",
                        resource="execution",
                        resource_name=f"{state_machine_name(deployment)}:*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        dlq = target_dead_letter_queue(self, "TriggerDeadLetters", key=key, used_by="the retraining trigger rules")

        def target(function: PythonFunction) -> targets.LambdaFunction:
            return targets.LambdaFunction(
                function.function, dead_letter_queue=dlq, retry_attempts=4, max_event_age=cdk.Duration.hours(2)
            )

        if policy.retrain_on_alarms and trigger_alarm_names:
            events.Rule(
                self,
                "OnAlarms",
                description=f"Retrain {deployment.prefix} when its drift, quality or KPI alarms fire",
                event_pattern=events.EventPattern(
                    source=["aws.cloudwatch"],
                    detail_type=["CloudWatch Alarm State Change"],
                    detail={"alarmName": list(trigger_alarm_names), "state": {"value": ["ALARM"]}},
                ),
                targets=[target(trigger)],
            )
        if policy.schedule_every_days is not None:
            events.Rule(
                self,
                "OnSchedule",
                description=f"Scheduled retraining of {deployment.prefix}",
                schedule=events.Schedule.rate(cdk.Duration.days(policy.schedule_every_days)),
                targets=[target(trigger)],
            )
        events.Rule(
            self,
            "OnPipelineStatus",
            description=f"Completes the pipeline wait of {deployment.prefix} runs",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Building Pipeline Execution Status Change"],
                detail={
                    "pipelineArn": [pipeline_arn],
                    "currentPipelineExecutionStatus": ["Succeeded", "Failed", "Stopped"],
                },
            ),
            targets=[target(callback)],
        )
        events.Rule(
            self,
            "OnApprovalDecision",
            description=f"Completes the manual approval wait of {deployment.prefix}",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={
                    "ModelPackageGroupName": [deployment.model_package_group_name],
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            ),
            targets=[target(approval_callback)],
        )
        self._acknowledge(artifacts_bucket=artifacts_bucket, pipeline_name=pipeline_name)

    # ------------------------------------------------------------------------------------------------------------

    def _state_machine(  # noqa: PLR0915 - the whole ASL graph in one place, in execution order
        self,
        *,
        guard: PythonFunction,
        start: PythonFunction,
        wait: PythonFunction,
        check: PythonFunction,
        approval: PythonFunction,
        notify: PythonFunction,
        release: PythonFunction,
    ) -> sfn.StateMachine:
        deployment, env = self._deployment, self._deployment.env
        stack = cdk.Stack.of(self)

        def invoke(
            id_: str, function: lambda_.IFunction, payload: Mapping[str, object], result_path: str | None
        ) -> tasks.LambdaInvoke:
            return tasks.LambdaInvoke(
                self,
                id_,
                lambda_function=function,
                payload=sfn.TaskInput.from_object(dict(payload)),
                payload_response_only=True,
                result_path=result_path if result_path else sfn.JsonPath.DISCARD,
                retry_on_service_exceptions=True,
            )

        imported: dict[str, lambda_.IFunction] = {}

        def deployment_function(step: str) -> lambda_.IFunction:
            if step in imported:
                return imported[step]
            imported[step] = lambda_.Function.from_function_attributes(
                self,
                f"Deploy-{step}",
                same_environment=True,
                function_arn=stack.format_arn(
                    service="lambda",
                    resource="function",
                    resource_name=f"{deployment.prefix}-{step}",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                ),
            )
            return imported[step]

        execution = {"execution_name.$": "$.execution_name"}

        def ending(outcome: str, *, succeed: bool, with_error: bool) -> sfn.IChainable:
            """Set the outcome, notify the owner, release the lock, then end."""
            mark = sfn.Pass(self, f"Outcome-{outcome}", result=sfn.Result.from_string(outcome), result_path="$.outcome")
            # No payload: a response-only invoke then passes the whole state (TaskInput.from_json_path_at("$")
            # would render "Parameters": "$", which ASL rejects: aws/aws-cdk#34260).
            tell = tasks.LambdaInvoke(
                self,
                f"Notify-{outcome}",
                lambda_function=notify.function,
                payload_response_only=True,
                result_path=sfn.JsonPath.DISCARD,
                retry_on_service_exceptions=True,
            )
            free = invoke(
                f"Release-{outcome}",
                release.function,
                {**execution, "outcome": outcome, **({"error.$": "$.error"} if with_error else {})},
                None,
            )
            # Notifying must never keep the lock: a failed notification still releases.
            tell.add_catch(free, errors=["States.ALL"], result_path="$.notify_error")
            end: sfn.IChainable = (
                sfn.Succeed(self, f"End-{outcome}")
                if succeed
                else sfn.Fail(
                    self,
                    f"End-{outcome}",
                    error=f"Retraining{outcome.title().replace('_', '')}",
                    cause=f"The retraining run ended {outcome}; the owner was notified",
                )
            )
            return mark.next(tell).next(free).next(end)

        failed = ending("failed", succeed=False, with_error=True)
        skipped = ending("skipped", succeed=True, with_error=True)
        not_better = ending("not_better", succeed=True, with_error=False)
        rejected = ending("rejected", succeed=True, with_error=True)
        promoted = ending("promoted", succeed=True, with_error=False)
        rolled_back = ending("rolled_back", succeed=False, with_error=True)

        init = sfn.Pass(
            self,
            "Init",
            parameters={"execution_name.$": "$$.Execution.Name", "trigger.$": "$.trigger", "settings.$": "$.settings"},
        )
        init_defaults = sfn.Pass(
            self,
            "InitWithDefaults",
            parameters={
                "execution_name.$": "$$.Execution.Name",
                "trigger.$": "$.trigger",
                # Waits read their length from the state so an operator (or a test) can shorten them per run.
                "settings": {
                    "bake_seconds": env.deployment.bake_minutes * 60,
                    "shadow_seconds": env.deployment.shadow.window_minutes * 60,
                    "ab_step_seconds": env.deployment.ab.step_minutes * 60,
                },
            },
        )

        guard_task = invoke(
            "Guard", guard.function, {**execution, "trigger.$": "$.trigger", "now.$": "$$.State.EnteredTime"}, "$.guard"
        )
        guard_task.add_catch(skipped, errors=SKIP_ERRORS, result_path="$.error")
        start_task = invoke("StartPipeline", start.function, execution, "$.pipeline")
        wait_task = tasks.LambdaInvoke(
            self,
            "WaitForPipeline",
            lambda_function=wait.function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "task_token": sfn.JsonPath.task_token,
                    **execution,
                    "pipeline_execution_arn.$": "$.pipeline.pipeline_execution_arn",
                }
            ),
            result_path="$.pipeline_result",
            task_timeout=sfn.Timeout.duration(cdk.Duration.hours(env.retraining.pipeline_timeout_hours)),
        )
        check_task = invoke(
            "CheckRegistration",
            check.function,
            {"pipeline_execution_arn.$": "$.pipeline.pipeline_execution_arn"},
            "$.registration",
        )
        check_task.add_retry(
            errors=["CandidateNotFound", "PipelineNotFinished"],
            interval=cdk.Duration.seconds(30),
            max_attempts=5,
            backoff_rate=2,
        )
        approval_task = tasks.LambdaInvoke(
            self,
            "Approval",
            lambda_function=approval.function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "task_token": sfn.JsonPath.task_token,
                    **execution,
                    "model_package_arn.$": "$.registration.model_package_arn",
                }
            ),
            result_path="$.approval",
            task_timeout=sfn.Timeout.duration(cdk.Duration.hours(env.retraining.approval_timeout_hours)),
        )
        approval_task.add_catch(rejected, errors=["CandidateRejected"], result_path="$.error")

        # ---- deployment with the environment's strategy ----
        deployment_id = {"deployment_id.$": "$.execution_name"}
        prepare = invoke(
            "Prepare",
            deployment_function("prepare"),
            {
                **deployment_id,
                "model_package_arn.$": "$.registration.model_package_arn",
                "trigger.$": "$.trigger.source",
                "requested_by": "retraining",
            },
            "$.deployment",
        )
        deploy = invoke("Deploy", deployment_function("deploy"), deployment_id, "$.deploy")
        verify = invoke("Verify", deployment_function("verify"), deployment_id, "$.verify")
        promote = invoke(
            "Promote",
            deployment_function("promote"),
            {**deployment_id, "trigger.$": "$.trigger.source", "requested_by": "retraining"},
            "$.promotion",
        )
        rollback = invoke(
            "Rollback",
            deployment_function("rollback"),
            {**deployment_id, "reason": "the candidate failed verification, bake or comparison", "error.$": "$.error"},
            "$.rollback",
        )
        # prepare: an endpoint asleep outside working hours is woken and prepare retried until it serves (ADR 0020).
        for task in (prepare, verify, promote, rollback):
            task.add_retry(
                errors=["EndpointNotReady"],
                interval=cdk.Duration.seconds(60),
                backoff_rate=1.5,
                max_attempts=40,
                max_delay=cdk.Duration.minutes(10),
            )
        rollback.add_catch(failed, errors=["States.ALL"], result_path="$.rollback_error")
        rollback.next(rolled_back)
        regressed = sfn.Pass(
            self,
            "Regressed",
            parameters={"Error": "CandidateRegressed", "Cause.$": "States.JsonToString($.compare.reasons)"},
            result_path="$.error",
        ).next(rollback)

        strategy = env.deployment.strategy
        compare = invoke("Compare", deployment_function("compare"), deployment_id, "$.compare")
        judged = sfn.Choice(self, "CandidateHealthy?")
        if strategy is DeploymentStrategy.AB:
            ab_start = sfn.Pass(self, "FirstWeightStep", result=sfn.Result.from_number(0), result_path="$.step_index")
            ab_step = invoke(
                "WeightStep",
                deployment_function("deploy"),
                {**deployment_id, "action": "ab_step", "step_index.$": "$.step_index"},
                "$.ab",
            )
            ab_verify = invoke("VerifyStep", deployment_function("verify"), deployment_id, "$.verify")
            ab_verify.add_retry(
                errors=["EndpointNotReady"],
                interval=cdk.Duration.seconds(60),
                backoff_rate=1.5,
                max_attempts=40,
                max_delay=cdk.Duration.minutes(10),
            )
            observe = sfn.Wait(self, "ObserveStep", time=sfn.WaitTime.seconds_path("$.settings.ab_step_seconds"))
            next_step = sfn.Pass(
                self, "NextWeightStep", parameters={"value.$": "$.ab.next_step_index"}, result_path="$.next"
            )
            advance = sfn.Pass(self, "Advance", input_path="$.next.value", result_path="$.step_index")
            judged.when(sfn.Condition.boolean_equals("$.compare.passed", False), regressed)
            judged.when(sfn.Condition.boolean_equals("$.ab.final_step", True), promote)
            judged.otherwise(next_step.next(advance).next(ab_step))
            after_deploy: sfn.IChainable = (
                ab_start.next(ab_step).next(ab_verify).next(observe).next(compare).next(judged)
            )
            phase = [prepare, deploy, verify, ab_step, ab_verify, compare, promote]
        else:
            seconds = (
                "$.settings.shadow_seconds" if strategy is DeploymentStrategy.SHADOW else "$.settings.bake_seconds"
            )
            bake = sfn.Wait(self, "Bake", time=sfn.WaitTime.seconds_path(seconds))
            judged.when(sfn.Condition.boolean_equals("$.compare.passed", False), regressed)
            judged.otherwise(promote)
            after_deploy = bake.next(compare).next(judged)
            phase = [prepare, deploy, verify, compare, promote]
        for task in phase:
            task.add_catch(rollback, errors=["States.ALL"], result_path="$.error")
        promote.next(promoted)

        for task in (start_task, wait_task, check_task, approval_task):
            task.add_catch(failed, errors=["States.ALL"], result_path="$.error")
        guard_task.add_catch(failed, errors=["States.ALL"], result_path="$.error")

        registered = (
            sfn.Choice(self, "Registered?")
            .when(sfn.Condition.boolean_equals("$.registration.registered", False), not_better)
            .otherwise(approval_task.next(prepare).next(deploy).next(verify).next(after_deploy))
        )
        body = guard_task.next(start_task).next(wait_task).next(check_task).next(registered)
        definition = (
            sfn.Choice(self, "SettingsGiven?")
            .when(sfn.Condition.is_present("$.settings"), init.next(body))
            .otherwise(init_defaults.next(body))
        )

        log_group = logs.LogGroup(
            self,
            "Logs",
            retention=retention(env.storage.log_retention_days),
            encryption_key=self._key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name(deployment),
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            timeout=cdk.Duration.hours(
                env.retraining.pipeline_timeout_hours + env.retraining.approval_timeout_hours + 24
            ),
        )
        return machine

    def _acknowledge(self, *, artifacts_bucket: s3.IBucket, pipeline_name: str) -> None:
        stack = cdk.Stack.of(self)
        deployment = self._deployment
        partition = cdk.region_info.RegionInfo.get(stack.region).partition or "aws"
        sm = f"arn:{partition}:sagemaker:{stack.region}:{stack.account}"
        reasons = {
            f"Resource::{sm}:pipeline/{pipeline_name}/execution/*": "Pipeline executions are named by SageMaker.",
            f"Resource::{sm}:model-package/{deployment.model_package_group_name}/*": "Package versions are numbered "
            "by SageMaker within this model's group.",
            f"Resource::arn:{partition}:states:{stack.region}:{stack.account}:execution:"
            f"{state_machine_name(deployment)}:*": "Executions are named per trigger.",
        }
        cdk.Validations.of(self.state_machine.role).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="The X-Ray writes and CloudWatch Logs delivery actions that Step Functions adds for tracing "
                "and logging have no resource-level permissions.",
            )
        )
        targets_ = [f.role for f in self.functions.values()] + [self.state_machine.role]
        for role in targets_:
            for finding, reason in reasons.items():
                cdk.Validations.of(role).acknowledge(
                    cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
                )
            cdk.Validations.of(role).acknowledge(
                cdk.Acknowledgment(
                    id=object_finding(self, artifacts_bucket.bucket_name, f"pipelines/{pipeline_name}/*"),
                    reason="Each pipeline execution writes its decision under its own prefix.",
                )
            )
            for step in ("prepare", "deploy", "verify", "compare", "promote", "rollback"):
                cdk.Validations.of(role).acknowledge(
                    cdk.Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::arn:{partition}:lambda:{stack.region}:{stack.account}:function:"
                        f"{deployment.prefix}-{step}:*]",
                        reason="Step Functions may invoke the deployment function's versions.",
                    )
                )
            for function in self.functions.values():
                cdk.Validations.of(role).acknowledge(
                    cdk.Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::<{logical_id(function.function)}.Arn>:*]",
                        reason="Step Functions may invoke the function's versions.",
                    )
                )
