"""Deployment Lambdas of the retraining loop (docs/architecture.md#retraining-loop) and the online scoring function.

One module per step, each a thin ``handler(event, context)`` over a logic function that takes its clients:
``prepare`` -> ``deploy`` (+ action ``ab_step``) -> ``verify`` -> ``compare`` -> ``promote``, or ``rollback``;
``score`` serves a prediction. Shared pieces: ``settings`` (environment), ``events`` (event parsing),
``history`` (DynamoDB items), ``endpoint`` (SageMaker), ``registry`` (package, pointer, tags), ``errors``.
"""
