"""The demo's local AWS: moto 5.2.5 served in-process on loopback, patched where it falls short, and deployed to.

- ``launcher``: starts ``ThreadedMotoServer`` on 127.0.0.1 with the configured dev account, the Step Functions
  interpreter and Docker-free Lambda turned on and every patch applied; foreground or background (pid and port
  in ``.local/demo/server.json``); ``stop`` ends it. ``client_environment`` is the environment every client
  (the CDK CLI, the AWS CLI, our tools) gets: fake credentials and project-local config, never the user's.
- ``patches``: one module per moto gap, each naming the moto file and function it changes; the ``route_*``
  modules send what moto does not really serve (pipeline executions, the Feature Store runtime, Athena queries,
  Step Functions' SageMaker ``.sync`` jobs) to ``tools.demo.emulators``.
- ``cfn_resources``: the resource types moto's CloudFormation skips, created from the same template properties
  through moto's own service APIs, so ``Ref``/``Fn::GetAtt`` resolve as in AWS.
- ``deploy``: synthesize once, ``cdk bootstrap`` and ``cdk deploy --method=direct`` with the pinned CLI.
"""
