"""Input limits that hold for every entry point (specification section 8).

A JSON value beyond these limits makes the whole event invalid, wherever
it appears (unknown fields included), so the command line, ``replay()`` of
mappings and ``validate_event`` give the same verdict.
"""

from __future__ import annotations

from typing import Final

__all__ = ["INT64_MAX", "INT_RANGE", "MAX_DEPTH"]

MAX_DEPTH: Final = 64
"""Deepest nesting of JSON arrays and objects that is accepted."""

INT64_MAX: Final = 2**63 - 1
"""Largest integer any contract field accepts: every integer fits a signed 64-bit slot."""

INT_RANGE: Final = (-(2**63), 2**64 - 1)
"""Smallest and largest integer accepted anywhere in an event, unknown fields included."""
