"""One command for every generated file: ``python -m connector_sync_contracts._tooling.regen``.

``--check`` prints a unified diff for every committed file that differs from
what the code generates and exits 1 (``make schema-check``); ``--write``
rewrites the files that changed (``make regen``). ``--only NAME`` limits
either to some artifacts. Every artifact is a function from nothing to
(path -> expected text), plus the folder whose other files are stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, NamedTuple

from .drift import committed_text, drift_diff, write_if_changed

__all__ = ["ARTIFACTS", "REPO_ROOT", "Artifact", "check", "main", "write"]

REPO_ROOT: Final = Path(__file__).resolve().parents[3]
"""The source checkout this module lives in; every generated file's path is relative to it."""


class Artifact(NamedTuple):
    """A set of generated files: how to build them, and where strays would be."""

    name: str
    """Name used by ``--only``."""
    expected: Callable[[], dict[Path, str]]
    """Every file of the artifact -> the text the code generates for it."""
    folder: Path | None = None
    """A folder holding only this artifact's ``*.json`` files (others there are stale)."""


def _schemas() -> dict[Path, str]:
    from ..schemas import SCHEMA_DIR
    from .schemagen import generated_files

    return {SCHEMA_DIR / name: text for name, text in generated_files().items()}


def _asyncapi() -> dict[Path, str]:
    from ..asyncapi import DOCUMENT_PATH, render_document

    return {DOCUMENT_PATH: render_document()}


def _docs() -> dict[Path, str]:
    from .docs import DEFAULT_OUTPUT, render_docs

    return {DEFAULT_OUTPUT: render_docs()}


def _native_spec() -> dict[Path, str]:
    from .._engine.native import SPEC_FILE
    from .._engine.native.spec import render_spec

    return {SPEC_FILE: render_spec()}


def _goldens() -> dict[Path, str]:
    from .goldens import expected_goldens

    return {path: data.decode("utf-8") for path, data in expected_goldens().items()}


def _schema_folder() -> Path:
    from ..schemas import SCHEMA_DIR

    return SCHEMA_DIR


ARTIFACTS: Final[tuple[Artifact, ...]] = (
    Artifact("schemas", _schemas, _schema_folder()),
    Artifact("asyncapi", _asyncapi),
    Artifact("docs", _docs),
    Artifact("native-spec", _native_spec),
    Artifact("goldens", _goldens),
)
"""Every generated, committed artifact, in the order they depend on each other."""


def _select(only: Sequence[str] | None) -> list[Artifact]:
    if not only:
        return list(ARTIFACTS)
    known = {artifact.name: artifact for artifact in ARTIFACTS}
    unknown = sorted(set(only) - known.keys())
    if unknown:
        raise SystemExit(f"unknown artifact(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[name] for name in only]


def _files(
    artifact: Artifact, root: Path | None
) -> tuple[dict[str, tuple[Path, str]], Path | None]:
    """Label -> (path, expected text), and the stray-file folder, moved under ``root`` if given."""

    def place(path: Path) -> tuple[str, Path]:
        label = str(path.relative_to(REPO_ROOT))
        return label, path if root is None else root / label

    files = {}
    for path, text in artifact.expected().items():
        label, where = place(path)
        files[label] = (where, text)
    folder = None if artifact.folder is None else place(artifact.folder)[1]
    return files, folder


def _strays(files: dict[str, tuple[Path, str]], folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    owned = {path for path, _ in files.values()}
    return [path for path in sorted(folder.glob("*.json")) if path not in owned]


def check(artifact: Artifact, root: Path | None = None) -> list[str]:
    """One unified diff (or note) per file of ``artifact`` that differs from what the code makes.

    Files are looked up in the source tree, or under ``root`` (a copy of it).
    """
    files, folder = _files(artifact, root)
    problems = []
    for label, (path, text) in sorted(files.items()):
        have = committed_text(path) if path.exists() else None
        diff = drift_diff(label, have, text)
        if diff is not None:
            problems.append(diff)
    for path in _strays(files, folder):
        problems.append(f"{path.name}: committed, but nothing generates it\n")
    return problems


def write(artifact: Artifact, root: Path | None = None) -> list[str]:
    """Rewrite the files of ``artifact`` that changed (removing strays); return their labels."""
    files, folder = _files(artifact, root)
    changed = []
    for path in _strays(files, folder):
        path.unlink()
        changed.append(path.name)
    for label, (path, text) in sorted(files.items()):
        if write_if_changed(path, text):
            changed.append(label)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """``--check`` or ``--write`` every (or ``--only``) artifact; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m connector_sync_contracts._tooling.regen",
        description="Check or regenerate every generated, committed file.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="exit 1 with a diff when stale")
    action.add_argument("--write", action="store_true", help="regenerate the stale files")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"only this artifact (repeatable): {', '.join(a.name for a in ARTIFACTS)}",
    )
    args = parser.parse_args(argv)
    selected = _select(args.only)
    if args.write:
        changed = [name for artifact in selected for name in write(artifact)]
        for name in changed:
            print(f"wrote {name}")
        print(f"{len(changed)} file(s) changed")
        return 0
    stale = 0
    for artifact in selected:
        problems = check(artifact)
        stale += len(problems)
        for problem in problems:
            sys.stdout.write(problem if problem.endswith("\n") else problem + "\n")
    if stale:
        print(
            f"{stale} generated file(s) differ from what the code generates; run `make regen`",
            file=sys.stderr,
        )
        return 1
    print(f"{len(selected)} artifact(s) up to date: {', '.join(a.name for a in selected)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
