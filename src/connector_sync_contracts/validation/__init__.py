"""Layered validation of payloads and envelopes (FR-008; specification sections 7-8).

Owns ``validate_event`` and its layers (``layers``), the strict JSON input
layer every entry point reads through (``input``), the result types and
stable codes (``result``) and the one JSON-path renderer (``paths``).

May import: ``contract``, ``models`` and ``schemas``. ``input``, ``result``
and ``paths`` need no pydantic: names are loaded on first use, so the
command line reads lines through the input layer without the models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from .layers import validate_event
    from .paths import json_path
    from .result import VIOLATION_CODES, Layer, ValidationResult, Violation

__all__ = [
    "VIOLATION_CODES",
    "Layer",
    "ValidationResult",
    "Violation",
    "json_path",
    "validate_event",
]

_HOMES: Final = {
    "VIOLATION_CODES": ".result",
    "Layer": ".result",
    "ValidationResult": ".result",
    "Violation": ".result",
    "json_path": ".paths",
    "validate_event": ".layers",
}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """Load a public name from its home module on first use (PEP 562)."""
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        found = getattr(importlib.import_module(home, __name__), name)
        globals()[name] = found
        return found

    def __dir__() -> list[str]:
        """Module attributes, the public names not loaded yet included."""
        return sorted({*globals(), *__all__})
