"""Pattern checks with JSON Schema's semantics, shared by the models and the fast paths.

No pydantic here: the compiled replay path builds its pattern checks from
these functions without loading the models.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

__all__ = ["cached_check", "full_match"]

_CACHE_LIMIT: Final = 65536


def full_match(regex: re.Pattern[str], value: str) -> bool:
    """Whether ``regex`` (anchored with ``^...$``) matches all of ``value``.

    ECMA-262 semantics for a trailing ``$``: Python's ``$`` also matches before
    a final newline, which JSON Schema's regex dialect does not allow.
    """
    return regex.match(value) is not None and not value.endswith("\n")


def cached_check(pattern: str, max_length: int | None = None) -> Callable[[str], str | None]:
    """A check returning the value when it matches ``pattern`` (and fits), else None.

    Values that passed are remembered (up to 65,536 of them), so a log that
    repeats the same URLs or versions matches each once.
    """
    regex = re.compile(pattern)
    ok: set[str] = set()

    def check(value: str) -> str | None:
        if value in ok:
            return value
        if (max_length is None or len(value) <= max_length) and full_match(regex, value):
            if len(ok) < _CACHE_LIMIT:
                ok.add(value)
            return value
        return None

    return check
