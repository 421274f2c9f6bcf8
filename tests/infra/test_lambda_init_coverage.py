"""The cold-init benchmark measures every handler module a synthesized Lambda function names, so a function added
later cannot escape the 1.3x budget unmeasured."""

from __future__ import annotations

import importlib.util

from benchmarks.lambda_init.run import handler_modules
from tests.support.synth import Synthesized


def test_the_lambda_init_benchmark_covers_every_deployed_handler_module(synth: Synthesized) -> None:
    handlers = [
        resource["Properties"].get("Handler", "")
        for template in synth.templates.values()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    deployed = {handler.rsplit(".", 1)[0] for handler in handlers if handler.startswith("lambdas.")}
    assert len(deployed) >= 20
    assert all(importlib.util.find_spec(module) for module in deployed)
    assert deployed <= set(handler_modules()), f"not benchmarked: {sorted(deployed - set(handler_modules()))}"
