"""The contract's tables, held as data (FR-006, FR-007, FR-008).

Everything that decides behaviour by event type lives here once: which model
validates a payload, which family an event belongs to, which state a
connector event targets, which transitions are allowed, which outcome a sync
event records, and which cross-field rules apply. The reducers, the
validator, the JSON Schemas, the generated docs and the state diagrams all
read these tables.

The tables that need no model (everything but ``PAYLOAD_MODELS``) are
defined in ``_vocab``, which the compiled replay path imports without
pydantic; this module re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from pydantic import BaseModel

from ._vocab import (
    ALLOWED_TRANSITIONS,
    CONNECTOR_DEGRADED,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    CONNECTOR_RECONNECTED,
    CONNECTOR_REVOKED,
    CONNECTOR_TARGET_STATES,
    DEFAULT_MAX_RECONNECT_CYCLES,
    EVENT_FAMILIES,
    EXTERNAL_REFERENCE_LINKED,
    HEALTH_STATUS_TARGETS,
    OBSERVATION_STATES,
    SEMANTIC_RULES,
    SYNC_DEAD_LETTERED,
    SYNC_INGEST_ACCEPTED,
    SYNC_INGEST_REJECTED,
    SYNC_OUTCOMES,
    SYNC_REPLAY_COMPLETED,
    SYNC_RETRY_SCHEDULED,
    TERMINAL_OUTCOMES,
    Family,
    SemanticRule,
    is_transition_allowed,
)
from .connector import (
    ConnectorDegradedPayload,
    ConnectorHealthCheckedPayload,
    ConnectorProvisionedPayload,
    ConnectorReconnectedPayload,
    ConnectorRevokedPayload,
)
from .links import ExternalReferenceLinkedPayload
from .sync import (
    SyncDeadLetteredPayload,
    SyncIngestAcceptedPayload,
    SyncIngestRejectedPayload,
    SyncReplayCompletedPayload,
    SyncRetryScheduledPayload,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CONNECTOR_TARGET_STATES",
    "DEFAULT_MAX_RECONNECT_CYCLES",
    "EVENT_FAMILIES",
    "HEALTH_STATUS_TARGETS",
    "OBSERVATION_STATES",
    "PAYLOAD_MODELS",
    "SEMANTIC_RULES",
    "SYNC_OUTCOMES",
    "TERMINAL_OUTCOMES",
    "Family",
    "SemanticRule",
    "is_transition_allowed",
]


PAYLOAD_MODELS: Final[Mapping[str, type[BaseModel]]] = MappingProxyType(
    {
        CONNECTOR_PROVISIONED: ConnectorProvisionedPayload,
        CONNECTOR_HEALTH_CHECKED: ConnectorHealthCheckedPayload,
        CONNECTOR_DEGRADED: ConnectorDegradedPayload,
        CONNECTOR_REVOKED: ConnectorRevokedPayload,
        CONNECTOR_RECONNECTED: ConnectorReconnectedPayload,
        SYNC_INGEST_ACCEPTED: SyncIngestAcceptedPayload,
        SYNC_INGEST_REJECTED: SyncIngestRejectedPayload,
        SYNC_RETRY_SCHEDULED: SyncRetryScheduledPayload,
        SYNC_DEAD_LETTERED: SyncDeadLetteredPayload,
        SYNC_REPLAY_COMPLETED: SyncReplayCompletedPayload,
        EXTERNAL_REFERENCE_LINKED: ExternalReferenceLinkedPayload,
    }
)
"""Event type -> frozen payload model, for every event type of the contract."""
