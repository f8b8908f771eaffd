"""Drift checks for generated, committed files (schemas, AsyncAPI, docs).

Every generated artifact is checked the same way: render it, compare it with
the committed text, and show a unified diff (committed -> generated) when
they differ; ``--write`` rewrites only files whose text changed.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["drift_diff", "drift_main", "file_diff", "file_drift_main", "write_if_changed"]


def drift_diff(name: str, have: str | None, want: str) -> str | None:
    """Unified diff from the committed text (None: missing) to the generated one, or None."""
    if have == want:
        return None
    return "".join(
        difflib.unified_diff(
            (have or "").splitlines(keepends=True),
            want.splitlines(keepends=True),
            fromfile=f"committed/{name}" if have is not None else "/dev/null",
            tofile=f"generated/{name}",
        )
    )


def file_diff(path: Path, text: str, name: str | None = None) -> str | None:
    """``drift_diff`` of the file at ``path`` (None: missing) against ``text``; None if equal."""
    have = path.read_text(encoding="utf-8") if path.exists() else None
    return drift_diff(name or path.name, have, text)


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (LF line endings) unless it is already there; True if written."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return True


def drift_main(
    argv: Sequence[str] | None,
    *,
    module: str,
    description: str,
    target_option: str,
    target_help: str,
    default: Path | None,
    check: Callable[[Path | None], Sequence[str]],
    write: Callable[[Path | None], Sequence[str]],
) -> int:
    """The ``python -m <module> --check | --write`` command line shared by every artifact.

    ``check`` returns one diff (or note) per stale file and ``write`` the
    names of the files it changed. ``--check`` prints the diffs and exits 1
    when anything is stale; ``--write`` regenerates and exits 0.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="exit 1 with a diff when stale")
    action.add_argument("--write", action="store_true", help="regenerate the file(s)")
    parser.add_argument(target_option, dest="target", type=Path, default=default, help=target_help)
    args = parser.parse_args(argv)
    if args.write:
        changed = write(args.target)
        for name in changed:
            print(f"wrote {name}")
        print(f"{len(changed)} file(s) changed")
        return 0
    problems = check(args.target)
    if not problems:
        print(f"{module}: up to date")
        return 0
    for problem in problems:
        sys.stdout.write(problem if problem.endswith("\n") else problem + "\n")
    print(
        f"{len(problems)} file(s) differ from what the code generates; "
        f"run `python -m {module} --write` (or `make regen`)",
        file=sys.stderr,
    )
    return 1


def file_drift_main(
    argv: Sequence[str] | None,
    *,
    module: str,
    description: str,
    target_help: str,
    default: Path,
    render: Callable[[], str],
) -> int:
    """``drift_main`` for one generated file (``--output``, default ``default``)."""

    def check(path: Path | None) -> list[str]:
        diff = file_diff(path or default, render())
        return [] if diff is None else [diff]

    def write(path: Path | None) -> list[str]:
        target = path or default
        return [target.name] if write_if_changed(target, render()) else []

    return drift_main(
        argv,
        module=module,
        description=description,
        target_option="--output",
        target_help=target_help,
        default=default,
        check=check,
        write=write,
    )
