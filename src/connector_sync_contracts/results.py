"""Deprecated path of the results (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "Anomaly": "",
    "ConnectorProjection": "",
    "DeliveryState": "",
    "ExternalLink": "",
    "LinkIndex": "",
    "ReducedConnectorState": "",
    "ReducedSyncState": "",
    "ReplayResult": "",
    "ReverseIndexEntry": "",
    "SyncProjection": "",
    "LOG_FIELDS": "contract.projection",
    "canonical_dumps": "contract.projection",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
