"""Deprecated path of the contract tables (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "ALLOWED_TRANSITIONS": "",
    "DEFAULT_MAX_RECONNECT_CYCLES": "",
    "PAYLOAD_MODELS": "",
    "SEMANTIC_RULES": "",
    "SYNC_OUTCOMES": "",
    "TERMINAL_OUTCOMES": "",
    "Family": "",
    "CONNECTOR_TARGET_STATES": "contract.catalog",
    "EVENT_FAMILIES": "contract.catalog",
    "HEALTH_STATUS_TARGETS": "contract.lifecycle",
    "OBSERVATION_STATES": "contract.lifecycle",
    "is_transition_allowed": "contract.lifecycle",
    "SemanticRule": "contract.rules",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
