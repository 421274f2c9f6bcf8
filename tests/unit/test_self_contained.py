"""The repository is self-contained: no file points outside it.

Nothing may refer to documents that are not in the repository (a sibling ``../shared`` folder, design or style
guides kept elsewhere), to an absolute path of one machine (``/work/...``, ``/root/...``, a home directory), or
to a ``docs/*.md`` file or ``#section`` that does not exist. Facts the code relies on are cited as
``docs/aws-facts.md#<section>`` and the design as ``docs/architecture.md#<section>``.

Every file git tracks (or would track: untracked files that are not ignored) is checked, except this one,
which has to spell out what it looks for.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()

# (pattern, why it is not allowed)
FORBIDDEN: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\.\./shared\b"), "refers to ../shared, which is outside the repository"),
    (re.compile(r"/work/|/root/|/home/[A-Za-z]|/Users/[A-Za-z]"), "contains an absolute path of a machine"),
    (
        re.compile(r"\b(?:DESIGN|STYLE)\.md\b|\b(?:offline-testing|local-aws)(?:\.md\b|\s+\d)|platform-facts"),
        "cites a document that is not in the repository (use docs/architecture.md or docs/aws-facts.md)",
    ),
    (
        re.compile(r"(?<!docs/)aws-facts"),
        "cites platform facts other than as docs/aws-facts.md#<section>",
    ),
)
# A reference to a document under docs/, with an optional section anchor. Not when part of a longer path
# (``awsdocs/...``, a URL).
DOC_REFERENCE = re.compile(r"(?<![\w./-])docs/(?P<path>[\w./-]+?\.md)(?:#(?P<anchor>[\w-]+))?")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$", re.M)


def slug(title: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    kept = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return kept.replace(" ", "-")


def anchors_of(markdown: str) -> frozenset[str]:
    return frozenset(slug(m["title"]) for m in HEADING.finditer(markdown))


def problems_in(text: str, *, docs: Mapping[str, frozenset[str]]) -> list[str]:
    """Every reference in ``text`` that points outside the repository, as ``line N: ...`` messages.

    ``docs`` maps each Markdown file under docs/ (path relative to docs/) to its section anchors.
    """
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, why in FORBIDDEN:
            match = pattern.search(line)
            if match:
                problems.append(f"line {number}: {why}: {match.group(0)!r}")
        for ref in DOC_REFERENCE.finditer(line):
            path, anchor = ref["path"], ref["anchor"]
            if path not in docs:
                problems.append(f"line {number}: docs/{path} does not exist")
            elif anchor is not None and anchor not in docs[path]:
                problems.append(f"line {number}: docs/{path} has no section #{anchor}")
    return problems


def repository_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({name for name in listing.split("\0") if name})


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file (or one deleted in the working tree)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def docs_index(files: Iterable[str]) -> dict[str, frozenset[str]]:
    index: dict[str, frozenset[str]] = {}
    for name in files:
        if name.startswith("docs/") and name.endswith(".md"):
            text = text_of(ROOT / name)
            if text is not None:
                index[name.removeprefix("docs/")] = anchors_of(text)
    return index


def test_no_file_points_outside_the_repository() -> None:
    files = repository_files()
    # The listing is the real repository.
    assert "README.md" in files
    assert "docs/aws-facts.md" in files
    docs = docs_index(files)
    found = []
    for name in files:
        if name == THIS_FILE:
            continue
        text = text_of(ROOT / name)
        if text is not None:
            found.extend(f"{name}: {problem}" for problem in problems_in(text, docs=docs))
    assert found == [], "\n".join(found)


DOCS = {
    "aws-facts.md": frozenset({"data-capture", "endpoint-metrics"}),
    "architecture.md": frozenset({"serving-pointer"}),
}


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("see `../shared/DESIGN.md` section 8", "refers to ../shared"),
        ("Formats (DESIGN.md section 4)", "cites a document that is not in the repository"),
        ("as STYLE.md says", "cites a document that is not in the repository"),
        ("Knobs (docs: shared/reference/offline-testing.md 1.3)", "cites a document that is not in the repository"),
        ("(platform-facts 0.4, offline-testing 4.5.)", "cites a document that is not in the repository"),
        ("summarised in reference/platform-facts.md", "cites a document that is not in the repository"),
        ("see docs/platform-facts.md#data-capture", "cites a document that is not in the repository"),
        ("(aws-facts §2.4)", "cites platform facts other than as docs/aws-facts.md"),
        ("summarised in reference/aws-facts.md", "cites platform facts other than as docs/aws-facts.md"),
        ("--evidently-python /work/bench-venv/bin/python", "contains an absolute path of a machine"),
        ("cd /root/project", "contains an absolute path of a machine"),
        ("open /home/alice/notes", "contains an absolute path of a machine"),
        ("see docs/design.md", "docs/design.md does not exist"),
        ("see docs/aws-facts.md#capture-format", "docs/aws-facts.md has no section #capture-format"),
    ],
)
def test_a_reference_outside_the_repository_is_reported(sample: str, expected: str) -> None:
    problems = problems_in(f"first line\n{sample}\n", docs=DOCS)
    assert problems, sample
    assert all(problem.startswith("line 2: ") for problem in problems)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    "sample",
    [
        "ModelLatency is in microseconds (docs/aws-facts.md#endpoint-metrics).",
        "Capture format (docs/aws-facts.md#data-capture): files under the prefix",
        "How it works: docs/architecture.md in the repository.",
        "(`docs/architecture.md#serving-pointer`)",
        "c=/tmp/champion.tar.gz inside the job's container",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html",
        "awsdocs/amazon-sagemaker-developer-guide/doc_source/x.md",
        "schema in `lambdas/shared/features.py`",
    ],
)
def test_references_inside_the_repository_pass(sample: str) -> None:
    assert problems_in(sample, docs=DOCS) == []


def test_anchors_are_the_slugs_github_gives_headings() -> None:
    markdown = "# Title\n\n## Endpoint updates and silent rollbacks\n\ntext\n\n## cdk-nag v3\n"
    assert anchors_of(markdown) == {"title", "endpoint-updates-and-silent-rollbacks", "cdk-nag-v3"}


def test_the_drift_benchmark_records_no_machine_path() -> None:
    from benchmarks.drift.run import recorded_command  # noqa: PLC0415 - the benchmark is only needed here

    for argv in (
        ["--records", "1000000", "--evidently-python", "/opt/venvs/evidently/bin/python"],
        ["--records", "1000000", "--evidently-python=/opt/venvs/evidently/bin/python"],
    ):
        command = recorded_command(argv)
        assert "/opt/venvs" not in command
        assert command.endswith('--evidently-python="$EVIDENTLY_PYTHON"') or command.endswith(
            '--evidently-python "$EVIDENTLY_PYTHON"'
        )
        assert command.startswith(".venv/bin/python benchmarks/drift/run.py --records 1000000 ")
