"""Offline check of a SageMaker Pipeline definition against the SageMaker API model that botocore ships.

Each job step's ``Arguments`` is the request the pipeline service sends when the step runs
(``CreateProcessingJob``, ``CreateTrainingJob``, ``CreateModelPackage``, ...), with pipeline expressions in
place of some values. ``validate_definition`` resolves those expressions to values of the type they will
have at run time, fills in the fields the service sets itself (job names), and validates the request with
``botocore.validate.ParamValidator`` plus the limits ParamValidator skips (maximum lengths, enums, patterns
Python can compile). Resolution rules:

- ``{"Get": "Parameters.X"}``: X's default value, or a placeholder of X's declared type (so a Float
  parameter used where the API wants a string is reported);
- ``{"Get": "Execution.X"}``: a string;
- ``{"Get": "Steps.S.<path>"}``: a placeholder of the type ``<path>`` has in S's Describe response
  (``DescribeProcessingJob``, ``DescribeTrainingJob``, ...); an unknown step or path is reported;
- ``{"Std:Join": {"On": sep, "Values": [...]}}``: the joined string;
- ``{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.S.PropertyFiles.P"}, "Path": ...}}``: a placeholder of
  the type the API expects where it is used; an undeclared property file is reported.

References are checked too: ``DependsOn`` names, ``Outputs['name']`` of processing steps, property files, and
the expressions in condition steps. API patterns are Java regexes: those Python's ``re`` cannot compile (``\\p{L}``
classes) are skipped. ``${Name}`` placeholders (for CloudFormation ``Fn::Sub``) are replaced with
``substitutions`` first; any left over is reported. Nothing here talks to AWS.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

# Step type -> (API operation the step's Arguments are a request of, Describe response its properties come from,
# request fields the pipeline service fills in).
OPERATIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "Processing": ("CreateProcessingJob", "DescribeProcessingJobResponse", ("ProcessingJobName",)),
    "Training": ("CreateTrainingJob", "DescribeTrainingJobResponse", ("TrainingJobName",)),
    "Transform": ("CreateTransformJob", "DescribeTransformJobResponse", ("TransformJobName",)),
    "Model": ("CreateModel", "DescribeModelOutput", ("ModelName",)),
    "RegisterModel": ("CreateModelPackage", "DescribeModelPackageOutput", ()),
}
PARAMETER_PLACEHOLDERS: dict[str, Any] = {"String": "placeholder", "Integer": 1, "Float": 1.0, "Boolean": True}
PLACEHOLDER_S3_URI = "s3://placeholder-bucket/placeholder/key"
PLACEHOLDER_STRING = "placeholder"

_EXPRESSIONS = ("Get", "Std:Join", "Std:JsonGet")
_CFN_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_INDEX = re.compile(r"\[['\"]?([^'\"\]]+)['\"]?\]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a step: where (step, operation) and what."""

    step: str
    operation: str
    message: str

    def __str__(self) -> str:
        return f"{self.step} ({self.operation}): {self.message}"


@functools.cache
def sagemaker_model() -> ServiceModel:
    """botocore's SageMaker service model (loaded from botocore's bundled data, cached)."""
    return botocore.session.get_session().get_service_model("sagemaker")


def validate_definition(
    definition: str | Mapping[str, Any], *, substitutions: Mapping[str, str] | None = None
) -> list[Problem]:
    """Every problem found in the definition's job steps (an empty list means valid).

    ``substitutions`` maps CloudFormation placeholders (``"${ArtifactsBucket}"``) to example values.
    """
    text = definition if isinstance(definition, str) else json.dumps(definition)
    for placeholder, value in (substitutions or {}).items():
        text = text.replace(placeholder, value)
    document = json.loads(text)
    resolver = Resolver.for_definition(document)
    problems = [
        Problem("<definition>", "-", f"unsubstituted placeholder {p}")
        for p in sorted(set(_CFN_PLACEHOLDER.findall(text)))
    ]
    for step in iter_steps(document):
        problems += validate_step(step, resolver)
    return problems


def iter_steps(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """All steps of a definition, condition branches included, in definition order."""
    found: list[dict[str, Any]] = []

    def visit(steps: Sequence[Any]) -> None:
        for step in steps:
            found.append(step)
            arguments = step.get("Arguments", {})
            if step.get("Type") == "Condition":
                visit(arguments.get("IfSteps", []))
                visit(arguments.get("ElseSteps", []))

    visit(document.get("Steps", []))
    return found


def validate_step(step: Mapping[str, Any], resolver: Resolver) -> list[Problem]:
    """Problems of one step's Arguments as a request of its API operation (none for other step types)."""
    name, kind = str(step.get("Name")), str(step.get("Type"))
    problems = [
        Problem(name, "DependsOn", f"depends on unknown step '{other}'")
        for other in step.get("DependsOn", [])
        if other not in resolver.steps
    ]
    if kind == "Condition":
        errors: list[str] = []
        resolver.resolve(step.get("Arguments", {}).get("Conditions", []), None, errors)
        return problems + [Problem(name, "Conditions", message) for message in errors]
    if kind not in OPERATIONS:
        return problems
    operation_name, _, service_filled = OPERATIONS[kind]
    operation = sagemaker_model().operation_model(operation_name)
    shape = operation.input_shape
    assert shape is not None
    messages: list[str] = []
    request = resolver.resolve(step.get("Arguments", {}), shape, messages)
    if isinstance(request, dict):
        for field_name in service_filled:
            request.setdefault(field_name, f"{name}-placeholder")
    messages += validate_request(request, operation)
    return problems + [Problem(name, operation_name, message) for message in messages]


def validate_request(request: Any, operation: OperationModel) -> list[str]:
    """botocore's checks (required members, unknown members, types, minimums) plus maximum lengths, enums
    and patterns."""
    shape = operation.input_shape
    assert shape is not None
    report = ParamValidator().validate(request, shape)
    messages = [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    return messages + _limits(request, shape, shape.name)


def _limits(value: Any, shape: Shape, where: str) -> list[str]:
    problems: list[str] = []
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, member in shape.members.items():
            if key in value:
                problems += _limits(value[key], member, f"{where}.{key}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        problems += _max(len(value), shape, where, "items")
        for index, item in enumerate(value):
            problems += _limits(item, shape.member, f"{where}[{index}]")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        problems += _max(len(value), shape, where, "entries")
        for key, item in value.items():
            problems += _limits(key, shape.key, f"{where} key {key!r}")
            problems += _limits(item, shape.value, f"{where}[{key!r}]")
    elif shape.type_name == "string" and isinstance(value, str):
        problems += _max(len(value), shape, where, "characters")
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            problems.append(f"{where}: {value!r} is not one of the {len(enum)} allowed values")
        pattern = _pattern(shape.metadata.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(f"{where}: {value!r} does not match pattern {pattern.pattern!r}")
    elif shape.type_name in ("integer", "long", "double", "float") and isinstance(value, int | float):
        maximum = shape.metadata.get("max")
        if maximum is not None and value > maximum:
            problems.append(f"{where}: {value} is greater than the maximum {maximum}")
    return problems


def _max(length: int, shape: Shape, where: str, unit: str) -> list[str]:
    maximum = shape.metadata.get("max")
    if maximum is not None and length > maximum:
        return [f"{where}: {length} {unit}, more than the maximum {maximum}"]
    return []


@functools.cache
def _pattern(pattern: str | None) -> re.Pattern[str] | None:
    """The API pattern as a Python regex, or None when Python's ``re`` cannot express it (e.g. ``\\p{L}``)."""
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


# ---- expression resolution ----


@dataclass
class Resolver:
    """Resolves pipeline expressions inside step arguments (see the module docstring for the rules)."""

    parameters: dict[str, dict[str, Any]]
    steps: dict[str, dict[str, Any]]
    property_files: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def for_definition(cls, document: Mapping[str, Any]) -> Resolver:
        steps = {str(step["Name"]): step for step in iter_steps(document)}
        return cls(
            parameters={str(p["Name"]): p for p in document.get("Parameters", [])},
            steps=steps,
            property_files={
                name: {str(f["PropertyFileName"]) for f in step.get("PropertyFiles", [])}
                for name, step in steps.items()
            },
        )

    def resolve(self, node: Any, shape: Shape | None, errors: list[str]) -> Any:
        """``node`` with every expression replaced by a value; problems are appended to ``errors``."""
        if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in _EXPRESSIONS:
            return self.evaluate(node, shape, errors)
        if isinstance(node, dict):
            if isinstance(shape, StructureShape):
                return {k: self.resolve(v, shape.members.get(k), errors) for k, v in node.items()}
            value_shape = shape.value if isinstance(shape, MapShape) else None
            return {k: self.resolve(v, value_shape, errors) for k, v in node.items()}
        if isinstance(node, list):
            item_shape = shape.member if isinstance(shape, ListShape) else None
            return [self.resolve(item, item_shape, errors) for item in node]
        return node

    def evaluate(self, expression: Mapping[str, Any], shape: Shape | None, errors: list[str]) -> Any:
        ((kind, body),) = expression.items()
        if kind == "Std:Join":
            if not isinstance(body, dict) or not isinstance(body.get("Values"), list):
                errors.append(f"malformed Std:Join {body!r}")
                return PLACEHOLDER_STRING
            values = [self.resolve(v, None, errors) for v in body["Values"]]
            return str(body.get("On", "")).join(_as_text(v) for v in values)
        if kind == "Std:JsonGet":
            if not isinstance(body, dict) or "Path" not in body:
                errors.append(f"malformed Std:JsonGet {body!r}")
                return PLACEHOLDER_STRING
            self._property_file(body.get("PropertyFile"), errors)
            return placeholder_for(shape)
        return self.get(str(body), shape, errors)

    def get(self, reference: str, shape: Shape | None, errors: list[str]) -> Any:
        """The value of ``{"Get": reference}``; an unresolvable reference is reported and stands in as a valid
        placeholder for ``shape`` (the API shape where it is used), so it is reported once."""
        root, _, rest = reference.partition(".")
        if root == "Parameters":
            parameter = self.parameters.get(rest)
            if parameter is None:
                errors.append(f"reference to undeclared parameter '{rest}'")
                return placeholder_for(shape)
            if "DefaultValue" in parameter:
                return parameter["DefaultValue"]
            return PARAMETER_PLACEHOLDERS.get(str(parameter.get("Type")), PLACEHOLDER_STRING)
        if root == "Execution":
            return f"execution-{rest.lower()}"
        if root == "Steps":
            found = self._step_property(rest, errors)
            return placeholder_for(found if found is not None else shape)
        errors.append(f"unknown reference '{reference}'")
        return placeholder_for(shape)

    def _step_property(self, reference: str, errors: list[str]) -> Shape | None:
        """The shape of ``Steps.<reference>`` in the step's Describe response (None, reported, if unknown)."""
        step_name, _, path = reference.partition(".")
        step = self.steps.get(step_name)
        if step is None:
            errors.append(f"reference to unknown step '{step_name}'")
            return None
        kind = str(step.get("Type"))
        if kind not in OPERATIONS:
            errors.append(f"cannot type properties of step '{step_name}' of type {kind}")
            return None
        shape: Shape = sagemaker_model().shape_for(OPERATIONS[kind][1])
        for segment in _segments(path):
            if segment.startswith("["):
                if isinstance(shape, ListShape):
                    self._check_output_name(step, path, segment, errors)
                    shape = shape.member
                    continue
                errors.append(f"'Steps.{reference}': cannot index {shape.name}")
                return None
            if not isinstance(shape, StructureShape) or segment not in shape.members:
                errors.append(f"'Steps.{reference}': {shape.name} has no member '{segment}'")
                return None
            shape = shape.members[segment]
        return shape

    @staticmethod
    def _check_output_name(step: Mapping[str, Any], path: str, segment: str, errors: list[str]) -> None:
        """``ProcessingOutputConfig.Outputs['name']`` must name one of the step's outputs."""
        if not path.startswith("ProcessingOutputConfig.Outputs["):
            return
        name = segment.strip("[]'\"")
        outputs = step.get("Arguments", {}).get("ProcessingOutputConfig", {}).get("Outputs", [])
        names = {o.get("OutputName") for o in outputs}
        if name not in names:
            errors.append(f"step '{step.get('Name')}' has no processing output '{name}' (outputs: {sorted(names)})")

    def _property_file(self, reference: Any, errors: list[str]) -> None:
        target = reference.get("Get") if isinstance(reference, dict) else reference
        match = re.fullmatch(r"Steps\.([^.]+)\.PropertyFiles\.(.+)", str(target))
        if match is None:
            errors.append(f"Std:JsonGet property file reference {reference!r} is not Steps.<step>.PropertyFiles.<name>")
            return
        step, name = match.groups()
        if name not in self.property_files.get(step, set()):
            errors.append(f"step '{step}' declares no property file '{name}'")


def json_path_get(document: Any, path: str) -> Any:
    """The value ``Std:JsonGet`` reads at ``path`` (``a.b[0].c`` / ``a['b']``) from a property file's JSON;
    ``KeyError`` if it is absent, so tests can check a definition's paths against real script output."""
    value = document
    for segment in _segments(path):
        key: Any = segment.strip("[]'\"")
        if isinstance(value, list):
            key = int(key)
        elif not isinstance(value, dict) or key not in value:
            raise KeyError(f"'{path}': no '{key}'")
        value = value[key]
    return value


def _segments(path: str) -> list[str]:
    """``A.B['x'].C`` -> ``["A", "B", "['x']", "C"]``."""
    segments: list[str] = []
    for part in path.split("."):
        head = _INDEX.split(part)[0]
        if head:
            segments.append(head)
        segments += [f"[{m}]" for m in _INDEX.findall(part)]
    return segments


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def placeholder_for(shape: Shape | None) -> Any:
    """A valid-looking value of ``shape``'s type (a string when the type is unknown)."""
    kind = shape.type_name if shape is not None else "string"
    if shape is not None and kind == "string":
        enum = shape.metadata.get("enum")
        if enum:
            return enum[0]
        if "S3" in shape.name or shape.name.endswith(("Uri", "Url")):
            return PLACEHOLDER_S3_URI
    minimum = shape.metadata.get("min", 1) if shape is not None else 1
    placeholders: dict[str, Any] = {
        "integer": max(int(minimum), 1),
        "long": max(int(minimum), 1),
        "double": float(max(minimum, 1)),
        "float": float(max(minimum, 1)),
        "boolean": True,
        "list": [],
        "structure": {},
        "map": {},
    }
    return placeholders.get(kind, PLACEHOLDER_STRING)
