"""Deprecated path of the envelope (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "CONTRACT_VERSION": "",
    "Event": "",
    "SortKey": "",
    "canonical_json": "",
    "sort_key": "",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
