"""Deprecated path of the reducers (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "EventLike": "",
    "Projection": "",
    "reduce_connector_events": "",
    "reduce_external_links": "",
    "reduce_sync_events": "",
    "replay": "",
    "ALL_FAMILIES": "contract.catalog",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
