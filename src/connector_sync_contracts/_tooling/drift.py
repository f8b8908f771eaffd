"""Drift checks for generated, committed files: diff them, rewrite only what changed.

Every generated artifact is checked the same way: render it, compare it with
the committed text, and show a unified diff (committed -> generated) when
they differ; writing rewrites only files whose text changed.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Protocol

from .._staged import StagedFile

__all__ = ["committed_text", "drift_diff", "file_diff", "write_if_changed"]


class _Stored(Protocol):
    def read_bytes(self) -> bytes: ...


def committed_text(path: _Stored) -> str:
    """The text of a committed file exactly as stored: line ends are not translated,
    so a file rewritten with CRLF (``core.autocrlf``) differs from its source."""
    return path.read_bytes().decode("utf-8")


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
    have = committed_text(path) if path.exists() else None
    return drift_diff(name or path.name, have, text)


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (UTF-8, as given) unless it is already there; True if written.

    The file is written beside ``path`` and renamed over it (``StagedFile``):
    an interruption leaves the old file or the new one, never a part.
    """
    if path.exists() and committed_text(path) == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with StagedFile(path) as staged:
        staged.handle.write(text.encode("utf-8"))
        staged.commit()
    return True
