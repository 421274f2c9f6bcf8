"""Offline checks that a job needs nothing at run time but its image and its code bundle.

Two questions, asked of a processing job request (a pipeline step's ``Arguments`` or a state machine's
``CreateProcessingJob`` parameters):

- ``package_index_problems``: could the job reach a package index? Any ``pip`` / ``uv`` / ``conda`` /
  ``easy_install`` install in its entrypoint or arguments, an index URL, or a ``PIP_*`` / ``UV_*`` index
  variable in its environment is reported, unless the install is offline (``--no-index`` with
  ``--find-links`` into the unpacked bundle) and installs only wheel files the bundle ships.
- ``import_problems``: does every import the job's module makes (transitively, through the bundle's own
  modules) resolve to the bundle, the standard library of the image's Python, or a package the image is pinned
  to carry (``pipeline_defs/images.py``)? Every bundle module on the way must also parse as the image's Python
  version. Imports a module makes at its top level always run; imports inside functions run only on the paths
  that call them, so each one must either resolve like the others or be named in ``conditional`` with the
  reason the job never takes that path (for example DuckDB: the local engine of the Dataset step).
  ``try: import x / except ImportError`` imports are optional and ``if TYPE_CHECKING:`` imports never run.

Nothing here imports the job's code: it is read as text (``ast``).
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_defs.images import Image

_INSTALLERS = re.compile(
    r"\b(pip3?|uv|conda|mamba|micromamba|easy_install)\b(?:\s+pip)?\s+(install|add|sync)\b", re.IGNORECASE
)
_INDEX_URL = re.compile(r"(--(extra-)?index-url|--find-links=?https?:|https?://[^\s'\"]*(pypi|simple|anaconda|conda))")
_INDEX_ENV = re.compile(
    r"^(PIP_(INDEX_URL|EXTRA_INDEX_URL|FIND_LINKS|TRUSTED_HOST)|UV_(INDEX_URL|EXTRA_INDEX_URL|INDEX)|CONDA_CHANNELS)$"
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, Sequence):
        for item in value:
            yield from _strings(item)


def _install_commands(text: str) -> Iterator[list[str]]:
    """Each shell command in ``text`` (split on ; && || |) that installs packages, as words (a command whose
    install is inside one quoted word, a ``sh -c`` script, is left to the check of that word)."""
    for command in re.split(r";|&&|\|\||\|", text):
        if _INSTALLERS.search(command):
            try:
                words = shlex.split(command)
            except ValueError:
                words = command.split()
            if any(w in ("install", "add", "sync") for w in words):
                yield words


def _offline_install_problems(words: Sequence[str], *, code_dir: str, shipped_wheels: frozenset[str]) -> list[str]:
    command = " ".join(words)
    problems = []
    if "--no-index" not in words:
        problems.append(f"'{command}' may reach a package index (no --no-index)")
    links = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("--find-links", "-f")]
    links += [w.split("=", 1)[1] for w in words if w.startswith("--find-links=")]
    if not links or any(not link.startswith(code_dir) for link in links):
        problems.append(f"'{command}' does not take its wheels from the unpacked bundle ({code_dir})")
    for word in words:
        if word.endswith(".whl") and Path(word).name not in shipped_wheels:
            problems.append(f"'{command}' installs {Path(word).name}, which the bundle does not ship")
    if "-r" in words or "--requirement" in words:
        problems.append(f"'{command}' installs from a requirements file: name the shipped wheels instead")
    verb = next(i for i, w in enumerate(words) if w in ("install", "add", "sync"))
    named = [w for w in words[verb + 1 :] if not w.startswith("-") and not w.endswith(".whl")]
    named = [w for w in named if w not in links]
    if named:
        problems.append(f"'{command}' installs {named} by name, not as wheel files the bundle ships")
    return problems


def package_index_problems(
    request: Mapping[str, Any], *, code_dir: str, shipped_wheels: frozenset[str] = frozenset()
) -> list[str]:
    """Ways the job could reach a package index at run time (an empty list: none)."""
    problems = []
    app = request.get("AppSpecification", {})
    argv = [*_strings(app.get("ContainerEntrypoint", [])), *_strings(app.get("ContainerArguments", []))]
    # The command line as a whole (``pip install x`` as separate arguments), then each argument that is itself a
    # shell script (``sh -c '...; pip install ...'``).
    for text in [" ".join(shlex.quote(a) for a in argv), *(a for a in argv if any(c.isspace() for c in a))]:
        if _INDEX_URL.search(text):
            problems.append(f"names a package index: {text!r}")
        for words in _install_commands(text):
            problems += _offline_install_problems(words, code_dir=code_dir, shipped_wheels=shipped_wheels)
    for name, value in dict(request.get("Environment", {})).items():
        if _INDEX_ENV.match(str(name)):
            problems.append(f"environment {name}={value!r} points pip/uv/conda at an index")
    return problems


# ---- imports ----


@dataclass(frozen=True)
class Import:
    module: str  # the absolute module name imported
    file: str  # bundle path of the importing file
    line: int
    top_level: bool  # runs when the importing module is imported
    optional: bool  # inside try/except ImportError
    member: bool = False  # "from X import a" as "X.a": a submodule of X if there is one, else a name in X


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, file: str, package: str) -> None:
        self.file, self.package = file, package
        self.found: list[Import] = []
        self._depth = 0  # functions entered
        self._optional = 0  # try bodies guarded by an ImportError handler
        self._type_checking = 0

    def _add(self, module: str, line: int, *, member: bool = False) -> None:
        if self._type_checking:
            return
        self.found.append(Import(module, self.file, line, self._depth == 0, self._optional > 0, member))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            module = ".".join([*base, node.module] if node.module else base)
        else:
            module = node.module or ""
        if module == "__future__":
            return
        self._add(module, node.lineno)
        for alias in node.names:  # "from package import module" imports a submodule
            self._add(f"{module}.{alias.name}", node.lineno, member=True)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_FunctionDef(node)

    def visit_Try(self, node: ast.Try) -> None:
        guarded = any(
            isinstance(h.type, ast.Name | ast.Tuple)
            and {"ImportError", "ModuleNotFoundError"} & {n.id for n in ast.walk(h.type) if isinstance(n, ast.Name)}
            for h in node.handlers
        )
        self._optional += guarded
        for statement in node.body:
            self.visit(statement)
        self._optional -= guarded
        for handler in node.handlers:
            self.visit(handler)
        for statement in [*node.orelse, *node.finalbody]:
            self.visit(statement)

    def visit_If(self, node: ast.If) -> None:
        checking = isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        checking = checking or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
        self._type_checking += checking
        for statement in node.body:
            self.visit(statement)
        self._type_checking -= checking
        for statement in node.orelse:
            self.visit(statement)


def _module_of(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_problems(
    module: str,
    *,
    bundle: Mapping[str, bytes],
    image: Image,
    conditional: Mapping[str, str] = {},
) -> list[str]:
    """Imports of ``module`` (and, transitively, of the bundle modules it imports) that ``image`` cannot satisfy.

    ``bundle`` maps bundle paths (``pipeline_defs/scripts/score.py``) to their bytes: the files the job unpacks.
    ``conditional`` maps top-level package names imported only inside functions to why the job never runs
    them; it is reported if such an import is actually made at a module's top level.
    """
    modules = {_module_of(path): path for path in bundle if path.endswith(".py")}
    stdlib = _stdlib(image.python)
    problems: list[str] = []
    seen: set[str] = set()
    queue = [module]
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        path = modules.get(name)
        if path is None:
            problems.append(f"{module}: '{name}' is not a module of the bundle")
            continue
        try:
            tree = ast.parse(bundle[path], filename=path, feature_version=image.python)
        except SyntaxError as error:
            problems.append(f"{path}:{error.lineno}: not Python {image.python[0]}.{image.python[1]} ({error.msg})")
            continue
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        visitor = _ImportVisitor(path, package)
        visitor.visit(tree)
        # importing a.b.c runs a/__init__.py and a/b/__init__.py first
        parents = [".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")))]
        queue += [p for p in parents if p in modules]
        packages = {m.split(".", 1)[0] for m in modules}
        for found in visitor.found:
            top = found.module.split(".", 1)[0]
            if found.module in modules:
                queue.append(found.module)
            elif found.member:
                continue  # a name defined in a module, which is checked as an import of its own
            elif top in packages:
                problems.append(f"{found.file}:{found.line}: '{found.module}' is not in the bundle")
            elif top in stdlib or image.provides(top) or found.optional or (not found.top_level and top in conditional):
                continue
            else:
                where = "at import" if found.top_level else "in a function"
                problems.append(
                    f"{found.file}:{found.line}: imports '{found.module}' {where}: not in the bundle, the standard "
                    f"library or the {image.framework} {image.version} image ({sorted(image.packages)})"
                )
    return problems


def _stdlib(python: tuple[int, int]) -> frozenset[str]:
    """Standard-library top-level modules of ``python`` (this interpreter's list, less what it added since)."""
    names = set(sys.stdlib_module_names)
    newer = {(3, 11): {"tomllib", "wsgiref.types"}, (3, 9): {"zoneinfo", "graphlib"}}
    for version, added in newer.items():
        if python < version:
            names -= added
    return frozenset(names)


def read_bundle(files: Sequence[Path], *, root: Path, extra_files: Mapping[str, str] = {}) -> dict[str, bytes]:
    """The bundle as ``import_problems`` takes it: bundle path -> bytes."""
    bundle = {path.relative_to(root).as_posix(): path.read_bytes() for path in files}
    bundle |= {name: text.encode() for name, text in extra_files.items()}
    return bundle
