"""The README and the docs say what is true (issue 13, item 10).

The README's Python runs as written, its example line is a valid event,
its quick start says how to reach ``connector-sync`` after ``make demo``,
and what it says about over-long lines and quarantine is what happens. The
docs name no file that is not in the repository and no requirement id the
specification does not define.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from connector_sync_contracts import validate_event
from tests.support.cli import parse_problems, run_cli, run_env

ROOT: Final = Path(__file__).resolve().parents[2]
README: Final = ROOT / "README.md"
DOCS: Final = (README, ROOT / "COMPATIBILITY.md", *sorted((ROOT / "docs").glob("*.md")))
PACKAGE: Final = ROOT / "src" / "connector_sync_contracts"


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def _run_snippet(snippet: str, folder: Path) -> str:
    """What ``snippet`` prints, run from an empty ``folder``: it needs nothing from the tree."""
    done = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=folder,
        capture_output=True,
        env=run_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def test_the_readme_python_runs_as_written(tmp_path: Path) -> None:
    [snippet] = _blocks(README.read_text(encoding="utf-8"), "python")
    printed = _run_snippet(snippet, tmp_path).splitlines()
    # What the comments say it prints.
    for line in snippet.splitlines():
        if "print(" in line and "  # " in line:
            said = line.split("  # ", 1)[1].removesuffix("...").strip()
            said = said.split("; ")[0]
            assert any(out.startswith(said) for out in printed), (said, printed)


@pytest.mark.parametrize("index", range(2))
def test_the_interop_pages_python_runs_as_written(tmp_path: Path, index: int) -> None:
    # The CloudEvents round trip (with the [cloudevents] extra) and the compat gate.
    snippet = _blocks((ROOT / "docs" / "interop.md").read_text(encoding="utf-8"), "python")[index]
    _run_snippet(snippet, tmp_path)


def test_the_readme_example_line_is_a_valid_event() -> None:
    lines = [b for b in _blocks(README.read_text(encoding="utf-8"), "json") if b.count("\n") == 1]
    assert lines, "no one-line JSON example"
    for line in lines:
        result = validate_event(line.strip())
        assert result.valid, str(result)
        assert result.kind == "envelope"


def test_the_quick_start_says_how_to_run_the_installed_program() -> None:
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "source .venv/bin/activate" in quick
    assert ".venv/bin/connector-sync" in quick
    assert "pip install ." in quick


def test_what_the_readme_says_of_long_lines_and_quarantine_holds(tmp_path: Path) -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "`--quarantine` still receives it unchanged" in text
    long_line = b'{"pad":"' + b"x" * 5000 + b'"}'
    log = tmp_path / "long.jsonl"
    log.write_bytes(b"{oops\n" + long_line + b"\n")
    quarantine = tmp_path / "q.jsonl"
    run = run_cli("validate", "--max-line-bytes", "1000", "--quarantine", quarantine, log)
    assert [(p.line, p.code) for p in parse_problems(run.out)] == [
        (1, "invalid_json"),
        (2, "line_too_long"),
    ]
    assert quarantine.read_bytes() == b"{oops\n" + long_line + b"\n"


def _paths(text: str) -> list[str]:
    found = []
    for token in re.findall(r"`([^`\s]+)`", text):
        if token.replace("\\/", "/").startswith(("application/", "text/")):
            continue  # a media type (also as JSON writes it escaped: application\/json)
        if "://" in token or token.startswith(("-", "$", "#", "@", ".")) or "<" in token:
            continue  # URLs, options, JSON paths, module paths (.registry), placeholders
        if "/" in token or re.search(r"\.(md|py|json|jsonl|txt|toml|c|h)$", token):
            found.append(token)
    return found


def _expand(path: str) -> list[str]:
    match = re.search(r"\{([^}]*)\}", path)
    if match is None:
        return [path]
    return [
        expanded
        for option in match[1].split(",")
        for expanded in _expand(path[: match.start()] + option + path[match.end() :])
    ]


def _exists(path: str, doc: Path) -> bool:
    """A path relative to the repository, the doc, or the package; a bare name anywhere."""
    path = path.rstrip("/")
    if "/" not in path:
        return (
            any(
                next(base.rglob(path), None) is not None
                for base in (ROOT / "src", ROOT / "docs", ROOT / "tests")
            )
            or (ROOT / path).exists()
        )
    bases = (ROOT, doc.parent, ROOT / "src", PACKAGE)
    # A module may be named by its path without ``.py`` (``_engine/modelpath``).
    return any(
        next(base.glob(candidate), None) is not None
        for base in bases
        for candidate in (path, path + ".py")
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_refer_only_to_files_in_the_repository(doc: Path) -> None:
    missing = [
        candidate
        for path in _paths(doc.read_text(encoding="utf-8"))
        for candidate in _expand(path)
        if not _exists(candidate, doc)
    ]
    assert missing == []


def test_every_requirement_id_in_use_is_defined_by_the_specification() -> None:
    spec = (ROOT / "docs" / "specification.md").read_text(encoding="utf-8")
    defined = set(re.findall(r"^\| (FR-[0-9]+) \|", spec, re.MULTILINE))
    assert len(defined) == 10
    used: dict[str, set[str]] = {}
    files = [*DOCS, ROOT / "CHANGELOG.md", *PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    for path in files:
        for found in re.findall(r"FR-[0-9]+", path.read_text(encoding="utf-8")):
            used.setdefault(found, set()).add(str(path.relative_to(ROOT)))
    undefined = {fr: sorted(where) for fr, where in used.items() if fr not in defined}
    assert undefined == {}
