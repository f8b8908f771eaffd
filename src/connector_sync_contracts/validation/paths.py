"""The one JSON-path renderer: ``$.payload.endpoint_url``, ``$.tags[0]``, ``$["odd key"]``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from enum import Enum
from typing import Final

__all__ = ["Wildcard", "json_path"]


class Wildcard(Enum):
    """A path segment that stands for many: every array item, or every other key."""

    ITEM = "[*]"
    """Every item of an array: ``$.tags[*]``."""
    KEY = ".*"
    """Every key of an object not named otherwise: ``$.labels.*``."""


_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def json_path(parts: Iterable[str | int | Wildcard]) -> str:
    """Render path segments as a JSON path: ``$.payload.endpoint_url``, ``$.tags[0]``.

    Keys that are not identifiers use bracket notation: ``$["odd key"]``;
    ``Wildcard`` segments render as ``[*]`` and ``.*``.
    """
    out = ["$"]
    for part in parts:
        if isinstance(part, Wildcard):
            out.append(part.value)
        elif isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            # A key may hold a lone surrogate ("\ud800" is valid JSON text); escape
            # it then, so a path can always be printed and encoded.
            readable = part.isascii() or not _has_surrogate(part)
            out.append(f"[{json.dumps(part, ensure_ascii=not readable)}]")
    return "".join(out)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
