"""The Powertools layer's public SSM parameter exists, as it does in every AWS region.

Gap: every function template takes the Powertools layer ARN from the public parameter
``/aws/service/powertools/python/arm64/python3.14/<version>`` (mlops_constructs/python_function.py); moto's SSM
(moto/ssm/models.py ``ParameterDict._check_loading_status``) serves only its bundled ``/aws/service/...`` trees,
and nobody can create a parameter under ``/aws``, so every stack with a Lambda fails to resolve its parameters.

Patch: the first lookup under ``/aws/service/powertools/`` loads the parameters Powertools publishes for the
installed version (the pin in lambdas/requirements.txt; python3.14, arm64 and x86_64), valued with a layer
version ARN of Powertools' publishing account. The layer version number is a stand-in (moto does not mount
layers, and the demo runs handlers with the venv's Powertools, the same pinned version): only the parameter's
existence and shape are emulated.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections import defaultdict
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

PREFIX = "/aws/service/powertools/"
# The installed Powertools is lambdas/requirements.txt's pin, the version the function templates ask for.
POWERTOOLS_VERSION = importlib.metadata.version("aws-lambda-powertools")
PUBLISHER = "017000801446"  # Powertools for AWS Lambda (Python)'s layer account (its documentation's layer ARNs)
LAYER_VERSION = "1"  # stand-in, see the module docstring


def published_parameters(region: str) -> dict[str, str]:
    return {
        f"{PREFIX}python/{arch}/python3.14/{POWERTOOLS_VERSION}": (
            f"arn:aws:lambda:{region}:{PUBLISHER}:layer:AWSLambdaPowertoolsPythonV3-python314-{arch}:{LAYER_VERSION}"
        )
        for arch in ("arm64", "x86_64")
    }


def apply(context: ServerContext) -> None:
    from moto.core.utils import utcnow  # noqa: PLC0415
    from moto.ssm.models import Parameter, ParameterDict  # noqa: PLC0415

    original = ParameterDict._check_loading_status

    @functools.wraps(original)
    def check_loading_status(self: Any, key: str) -> None:
        original(self, key)
        if str(key or "").startswith(PREFIX) and not getattr(self, "powertools_loaded", False):
            self.powertools_loaded = True
            for name, value in published_parameters(self.region_name).items():
                defaultdict.__getitem__(self, name).append(
                    cast(Any, Parameter)(
                        account_id=self.account_id,
                        name=name,
                        value=value,
                        parameter_type="String",
                        description=None,
                        allowed_pattern=None,
                        keyid=None,
                        last_modified_date=utcnow(),
                        version=1,
                        data_type="text",
                    )
                )

    setattr(ParameterDict, "_check_loading_status", check_loading_status)  # noqa: B010
