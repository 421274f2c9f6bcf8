"""Every AWS operation the project's code can make, read from its source (not from what its tests happen to run).

The recorder sees the calls the tests make; a call on a path no test takes would be checked by nothing. This
scan reads the code that runs with an AWS role or operator credentials (the Lambda functions, the on-call CLI,
the bootstrap tool, the pipeline's step scripts, the drift job) and finds every boto3 client method it calls:
an attribute call ``x.<name>(...)`` (or ``get_paginator("<name>")``) whose name is the Python name of an
operation of a service the code creates clients of (``client("s3")``, ``LazyClient("s3")``...) and whose
arguments are the operation's: keywords only, each a member of its input shape (``store.update_record(run)``
is the project's own method, not Feature Store's UpdateRecord), or a method passed uncalled (to a pager:
``_pages(autoscaling.describe_scaling_policies, ...)``). The operation names and shapes come from
botocore's own service models, so the scan knows every operation of those services.

A call that fits an operation of more than one of those services (``list_tags(ResourceArn=...)``: SageMaker's
and Lambda's) stands for any of them: one of them must be in the table.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
# The code that runs with an AWS identity: Lambda functions, the on-call CLI, the bootstrap tool, the step
# scripts the pipeline runs, the drift job. (tools/demo is a local emulator; pipeline_defs/definition.py builds
# the definition at synth time with no AWS call.)
SCOPE = (
    "lambdas",
    "tools/mlops_cli",
    "tools/bootstrap_serving.py",
    "pipeline_defs/scripts",
    "monitoring_job",
)
_CLIENT_FACTORIES = {"client", "_client", "LazyClient"}


@dataclass(frozen=True, order=True)
class SourceCall:
    candidates: tuple[tuple[str, str], ...]  # (service, operation): the operations the method name can be
    where: str  # file:line of a call

    def __str__(self) -> str:
        return " or ".join(f"{s}.{o}" for s, o in self.candidates) + f" ({self.where})"


def _files() -> list[Path]:
    found: list[Path] = []
    for entry in SCOPE:
        path = ROOT / entry
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


@cache
def _operations(service: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Python method name -> (API operation name, its input's members), from botocore's model of ``service``."""
    model = botocore.session.get_session().get_service_model(service)
    found = {}
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        found[xform_name(name)] = (name, frozenset(shape.members) if shape is not None else frozenset())
    return found


def _fits(node: ast.Call, members: frozenset[str]) -> bool:
    """Called as a client method: keywords only (``**request`` allowed), each one of the input's members."""
    return not node.args and all(k.arg is None or k.arg in members for k in node.keywords)


def services(trees: Iterable[ast.AST]) -> set[str]:
    """The services the code creates clients of: the string literal given to a client factory."""
    available = set(botocore.session.get_session().get_available_services())
    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in _CLIENT_FACTORIES and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and first.value in available:
                    found.add(str(first.value))
    return found


def source_calls() -> set[SourceCall]:
    """Every operation a method call in the scope's source names, with where it is first called."""
    trees = {path: ast.parse(path.read_text(), filename=str(path)) for path in _files()}
    by_name: dict[str, list[tuple[str, str, frozenset[str]]]] = {}
    for service in sorted(services(trees.values())):
        for method, (operation, members) in _operations(service).items():
            by_name.setdefault(method, []).append((service, operation, members))
    found: dict[tuple[tuple[str, str], ...], str] = {}
    for path, tree in sorted(trees.items()):
        called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and id(node) not in called:  # a method passed, called elsewhere
                candidates = [(s, o) for s, o, _ in by_name.get(node.attr, [])]
            elif not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            elif node.func.attr == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
                candidates = [(s, o) for s, o, _ in by_name.get(str(node.args[0].value), [])]
            else:
                candidates = [(s, o) for s, o, members in by_name.get(node.func.attr, []) if _fits(node, members)]
            if candidates:
                found.setdefault(tuple(candidates), f"{path.relative_to(ROOT)}:{node.lineno}")
    return {SourceCall(candidates, where) for candidates, where in found.items()}
