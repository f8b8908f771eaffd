"""Deprecated path of the connector family (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "CONNECTOR_DEGRADED": "",
    "CONNECTOR_EVENT_TYPES": "",
    "CONNECTOR_HEALTH_CHECKED": "",
    "CONNECTOR_PROVISIONED": "",
    "CONNECTOR_RECONNECTED": "",
    "CONNECTOR_REVOKED": "",
    "CONNECTOR_SCHEMA_VERSION": "",
    "ActorType": "",
    "ConnectorDegradedPayload": "",
    "ConnectorHealthCheckedPayload": "",
    "ConnectorPayloadBase": "",
    "ConnectorProvisionedPayload": "",
    "ConnectorReconnectedPayload": "",
    "ConnectorRevokedPayload": "",
    "ConnectorState": "",
    "HealthStatus": "",
    "ReconnectStrategy": "",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
