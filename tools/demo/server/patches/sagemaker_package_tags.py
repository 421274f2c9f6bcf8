"""SageMaker AddTags, ListTags and DeleteTags on a model package's ARN, versioned or not.

Gap (moto/sagemaker/models.py ``SageMakerModelBackend._get_resource_from_arn``): the resource is found by
splitting the ARN's resource part on "/" into exactly (type, name), and ``model-package`` is not among the types
it knows. A versioned package's ARN (``arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>``,
what the registry hands out and the serving pointer holds) splits into three: ``ValueError``, an HTTP 500. The
promote step's champion tag (``lambdas/deployment/registry.py`` ``move_champion_tag``) fails on it. moto's
``add_tags`` also appends a tag whose key is already there, where AWS overwrites its value; and a package
created without tags has ``tags = None``, which ``extend`` fails on.

Patch: a ``model-package`` ARN (versioned or not) is looked up in the backend's model packages by ARN, as
DescribeModelPackage does, and a missing one is the ``ValidationError`` AWS answers; AddTags overwrites a key's
value instead of adding a second tag with the same key (for every resource type, as AWS does). Every other
resource type is found by moto as before.

What it could hide: nothing of the app's (AWS tags versioned model packages, and a tag key appears once per
resource); IAM on tags (``sagemaker:AddTags`` on the package's ARN) is not checked by moto at all.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

PACKAGE_RESOURCE = "model-package/"


def is_package_arn(arn: str) -> bool:
    return arn.split(":", 5)[-1].startswith(PACKAGE_RESOURCE)


def merged(tags: list[dict[str, str]] | None, new: list[dict[str, str]]) -> list[dict[str, str]]:
    """``tags`` with ``new`` added, a key already there taking the new value (AddTags' semantics)."""
    by_key = {tag["Key"]: tag for tag in tags or []}
    for tag in new:
        by_key[tag["Key"]] = {"Key": tag["Key"], "Value": tag.get("Value", "")}
    return list(by_key.values())


def replacements() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, value) for each replaced function (the unit test applies them with monkeypatch)."""
    from moto.sagemaker import models  # noqa: PLC0415
    from moto.sagemaker.exceptions import ValidationError  # noqa: PLC0415

    backend_class = models.SageMakerModelBackend
    original_find = backend_class._get_resource_from_arn
    original_add = backend_class.add_tags

    @functools.wraps(original_find)
    def find(backend: Any, arn: str) -> Any:
        if not is_package_arn(arn):
            return original_find(backend, arn)
        package = backend.model_packages.get(backend.model_package_name_mapping.get(arn, arn))
        if package is None:
            raise ValidationError(message=f"Could not find model-package with ARN {arn}")
        if package.tags is None:
            package.tags = []
        return package

    @functools.wraps(original_add)
    def add_tags(backend: Any, arn: str, tags: list[dict[str, str]]) -> list[dict[str, str]]:
        resource = backend._get_resource_from_arn(arn)
        resource.tags = merged(resource.tags, tags)
        result: list[dict[str, str]] = resource.tags
        return result

    return [(backend_class, "_get_resource_from_arn", find), (backend_class, "add_tags", add_tags)]


def apply(context: ServerContext) -> None:
    for owner, name, value in replacements():
        setattr(owner, name, value)
