"""Deprecated path of the generated reference page (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "DEFAULT_OUTPUT": "_tooling.docs",
    "OBSERVATION_LABEL": "_tooling.docs",
    "connector_diagram": "_tooling.docs",
    "delivery_diagram": "_tooling.docs",
    "delivery_rules": "_tooling.docs",
    "field_rows": "_tooling.docs",
    "render_docs": "_tooling.docs",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
