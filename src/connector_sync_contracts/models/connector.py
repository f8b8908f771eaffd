"""Connector lifecycle family: frozen payloads (FR-001, FR-002).

The nine fields every connector event carries live once, in
``ConnectorPayloadBase``; each of the five payload models adds only its own.
The event type names and enums are in ``contract``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..contract.lifecycle import ActorType, ConnectorState, HealthStatus, ReconnectStrategy
from .fields import HttpUrlStr, NonEmptyStr, RecordedAt, UtcDatetime, UuidField

__all__ = [
    "ConnectorDegradedPayload",
    "ConnectorHealthCheckedPayload",
    "ConnectorPayloadBase",
    "ConnectorProvisionedPayload",
    "ConnectorReconnectedPayload",
    "ConnectorRevokedPayload",
]


class ConnectorPayloadBase(BaseModel):
    """Fields every connector lifecycle payload carries (FR-002)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    connector_id: NonEmptyStr = Field(
        description="Stable identifier of the connector; the reducer's partition key."
    )
    connector_type: NonEmptyStr = Field(
        description="Kind of integration, e.g. webhook, polling or app-installation."
    )
    provider: NonEmptyStr = Field(description="External system, e.g. github, jira, slack.")
    mission_id: NonEmptyStr = Field(description="Mission the connector serves.")
    project_uuid: UuidField = Field(description="UUID of the project that owns the connector.")
    actor_id: NonEmptyStr = Field(description="Who or what caused the event.")
    actor_type: ActorType = Field(description="Kind of actor: human, service or system.")
    endpoint_url: HttpUrlStr = Field(
        description="Absolute http(s) URL of the connector endpoint; at most 2048 characters "
        "and never with credentials (user-info)."
    )
    recorded_at: RecordedAt


class ConnectorProvisionedPayload(ConnectorPayloadBase):
    """Payload of ``ConnectorProvisioned``: a connector now exists."""


class ConnectorHealthCheckedPayload(ConnectorPayloadBase):
    """Payload of ``ConnectorHealthChecked``: the result of one health probe."""

    health_status: HealthStatus = Field(
        description="Probe result; degraded and unreachable move the connector to degraded."
    )
    latency_ms: Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)] = Field(
        description="Probe round-trip time in milliseconds: a finite number >= 0."
    )


class ConnectorDegradedPayload(ConnectorPayloadBase):
    """Payload of ``ConnectorDegraded``: the connector stopped working normally."""

    degradation_reason: NonEmptyStr = Field(description="Why the connector is degraded.")
    last_healthy_at: UtcDatetime = Field(
        description="When the connector was last known healthy; must not be after recorded_at."
    )


class ConnectorRevokedPayload(ConnectorPayloadBase):
    """Payload of ``ConnectorRevoked``: credentials or installation were revoked."""

    revocation_reason: NonEmptyStr = Field(description="Why the connector was revoked.")


class ConnectorReconnectedPayload(ConnectorPayloadBase):
    """Payload of ``ConnectorReconnected``: the connector was reconnected."""

    previous_state: ConnectorState = Field(
        description="State the producer believes the connector left; checked by the reducer."
    )
    reconnect_strategy: ReconnectStrategy = Field(
        description="How the connector was reconnected: automatic, manual or backoff."
    )
