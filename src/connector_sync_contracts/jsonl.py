"""Deprecated path of reading JSONL (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "DEFAULT_MAX_LINE_BYTES": "io",
    "LineProblem": "io",
    "Source": "io",
    "line_problem": "io",
    "parse_line": "io",
    "MAX_DEPTH": "contract.limits",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
