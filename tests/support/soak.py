"""Whether this run is a soak run (``make soak`` sets ``CSC_SOAK=1``): read once, here."""

from __future__ import annotations

import os
from typing import Final

__all__ = ["SOAK", "examples"]

SOAK: Final = os.environ.get("CSC_SOAK") == "1"
"""True under ``make soak``: property, agreement and fuzz tests run many more examples."""


def examples(default: int, soak: int) -> int:
    """How many examples to run: ``soak`` under ``make soak``, else ``default``."""
    return soak if SOAK else default
