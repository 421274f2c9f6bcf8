"""On-call command-line tool: one command per action on one model in one environment (docs/architecture.md#what-it-is).

    python -m tools.mlops_cli status   --env prod --model fraud-detection [--last 5] [--json]
    python -m tools.mlops_cli retrain  --env prod --model fraud-detection [--reason TEXT]
    python -m tools.mlops_cli approve  --env prod --model fraud-detection --package ARN|latest [--note TEXT]
    python -m tools.mlops_cli reject   --env prod --model fraud-detection --package ARN|latest --note TEXT
    python -m tools.mlops_cli rollback --env prod --model fraud-detection [--reason TEXT] [--force]
                                       [--poll-interval 30] [--timeout 1800]
    python -m tools.mlops_cli pause    --env prod --model fraud-detection --reason TEXT
    python -m tools.mlops_cli resume   --env prod --model fraud-detection

Every command takes ``--json`` (machine-readable result on stdout), ``--profile``, ``--account`` and
``--region``. Exit codes: 0 done; 1 the command failed, with one line on stderr naming what is wrong (no
credentials included); 2 usage error. The environment's account and region come from ``config/`` with the
app's overrides (CDK context in ``cdk.json``, ``MLOPS_<ENV>_ACCOUNT`` / ``MLOPS_<ENV>_REGION``) under the flags
(``tools.aws_access``), and the credentials must be for that account.

Modules: ``target`` (names), ``aws`` (clients, caller, Lambda invoker), one logic module per command group
(``status``, ``retraining``, ``registry``, ``rollback``; each function takes its clients), ``render`` (text and
JSON), ``cli`` (argparse, exit codes).

IAM the operator needs (all commands: ``sts:GetCallerIdentity``):

- status: ``ssm:GetParameter`` (pointer); ``sagemaker:DescribeModelPackage``, ``sagemaker:DescribeEndpoint``;
  ``dynamodb:GetItem``, ``dynamodb:Query`` on the history table and ``dynamodb:GetItem`` on the state table
  (+ ``kms:Decrypt`` on their key); ``states:ListStateMachines``, ``states:ListExecutions``;
  ``cloudwatch:DescribeAlarms``.
- retrain: ``dynamodb:GetItem`` (state table), ``states:ListStateMachines``, ``states:ListExecutions``,
  ``states:StartExecution``.
- approve / reject: ``sagemaker:ListModelPackages`` (``latest``), ``sagemaker:DescribeModelPackage``,
  ``sagemaker:UpdateModelPackage``; reject also ``ssm:GetParameter``.
- rollback: ``dynamodb:GetItem`` on the history table (+ ``kms:Decrypt``), ``lambda:InvokeFunction`` on
  ``<model>-<env>-rollback``, ``ssm:GetParameter``.
- pause / resume: ``dynamodb:PutItem`` / ``dynamodb:DeleteItem`` on the state table (+ ``kms:Encrypt``,
  ``kms:GenerateDataKey``, ``kms:Decrypt``).
"""
