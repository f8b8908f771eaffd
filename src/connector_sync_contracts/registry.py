"""The contract's tables, held as data (FR-006, FR-007, FR-008).

Everything that decides behaviour by event type lives here once: which model
validates a payload, which family an event belongs to, which state a
connector event targets, which transitions are allowed, which outcome a sync
event records, and which cross-field rules apply. The reducers, the
validator, the JSON Schemas, the generated docs and the state diagrams all
read these tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final, NamedTuple

from pydantic import BaseModel

from .connector import (
    CONNECTOR_DEGRADED,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    CONNECTOR_RECONNECTED,
    CONNECTOR_REVOKED,
    ConnectorDegradedPayload,
    ConnectorHealthCheckedPayload,
    ConnectorProvisionedPayload,
    ConnectorReconnectedPayload,
    ConnectorRevokedPayload,
    ConnectorState,
    HealthStatus,
)
from .links import EXTERNAL_REFERENCE_LINKED, ExternalReferenceLinkedPayload
from .sync import (
    SYNC_DEAD_LETTERED,
    SYNC_INGEST_ACCEPTED,
    SYNC_INGEST_REJECTED,
    SYNC_REPLAY_COMPLETED,
    SYNC_RETRY_SCHEDULED,
    SyncDeadLetteredPayload,
    SyncIngestAcceptedPayload,
    SyncIngestRejectedPayload,
    SyncOutcome,
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


class Family(str, Enum):
    """Event family an event type belongs to."""

    CONNECTOR = "connector"
    SYNC = "sync"
    LINK = "external_reference"


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

EVENT_FAMILIES: Final[Mapping[str, Family]] = MappingProxyType(
    {
        CONNECTOR_PROVISIONED: Family.CONNECTOR,
        CONNECTOR_HEALTH_CHECKED: Family.CONNECTOR,
        CONNECTOR_DEGRADED: Family.CONNECTOR,
        CONNECTOR_REVOKED: Family.CONNECTOR,
        CONNECTOR_RECONNECTED: Family.CONNECTOR,
        SYNC_INGEST_ACCEPTED: Family.SYNC,
        SYNC_INGEST_REJECTED: Family.SYNC,
        SYNC_RETRY_SCHEDULED: Family.SYNC,
        SYNC_DEAD_LETTERED: Family.SYNC,
        SYNC_REPLAY_COMPLETED: Family.SYNC,
        EXTERNAL_REFERENCE_LINKED: Family.LINK,
    }
)
"""Event type -> family; event types not listed here are ignored by the reducers."""

CONNECTOR_TARGET_STATES: Final[Mapping[str, ConnectorState]] = MappingProxyType(
    {
        CONNECTOR_PROVISIONED: ConnectorState.PROVISIONED,
        CONNECTOR_DEGRADED: ConnectorState.DEGRADED,
        CONNECTOR_REVOKED: ConnectorState.REVOKED,
        CONNECTOR_RECONNECTED: ConnectorState.RECONNECTED,
    }
)
"""Connector event type -> the state it moves a connector to (health checks: see below)."""

HEALTH_STATUS_TARGETS: Final[Mapping[HealthStatus, ConnectorState]] = MappingProxyType(
    {
        HealthStatus.HEALTHY: ConnectorState.HEALTHY,
        HealthStatus.DEGRADED: ConnectorState.DEGRADED,
        HealthStatus.UNREACHABLE: ConnectorState.DEGRADED,
    }
)
"""``ConnectorHealthChecked`` targets by ``health_status``: a failing check never means healthy."""

ALLOWED_TRANSITIONS: Final[Mapping[ConnectorState | None, frozenset[ConnectorState]]] = (
    MappingProxyType(
        {
            None: frozenset({ConnectorState.PROVISIONED}),
            ConnectorState.PROVISIONED: frozenset(
                {ConnectorState.HEALTHY, ConnectorState.DEGRADED, ConnectorState.REVOKED}
            ),
            ConnectorState.HEALTHY: frozenset({ConnectorState.DEGRADED, ConnectorState.REVOKED}),
            ConnectorState.DEGRADED: frozenset(
                {ConnectorState.HEALTHY, ConnectorState.REVOKED, ConnectorState.RECONNECTED}
            ),
            ConnectorState.REVOKED: frozenset({ConnectorState.RECONNECTED}),
            ConnectorState.RECONNECTED: frozenset(
                {ConnectorState.HEALTHY, ConnectorState.DEGRADED, ConnectorState.REVOKED}
            ),
        }
    )
)
"""FR-006 transition table: current state (None before provisioning) -> allowed targets."""

OBSERVATION_STATES: Final[frozenset[ConnectorState]] = frozenset(
    {ConnectorState.HEALTHY, ConnectorState.DEGRADED}
)
"""States whose self-loop is an observation: it updates health fields, logs no transition
and raises no anomaly (periodic health checks)."""

DEFAULT_MAX_RECONNECT_CYCLES: Final = 3
"""Entries into ``reconnected`` allowed without reaching ``healthy`` before ``reconnect_loop``."""

SYNC_OUTCOMES: Final[Mapping[str, SyncOutcome]] = MappingProxyType(
    {
        SYNC_INGEST_ACCEPTED: SyncOutcome.ACCEPTED,
        SYNC_INGEST_REJECTED: SyncOutcome.REJECTED,
        SYNC_RETRY_SCHEDULED: SyncOutcome.RETRY_SCHEDULED,
        SYNC_DEAD_LETTERED: SyncOutcome.DEAD_LETTERED,
        SYNC_REPLAY_COMPLETED: SyncOutcome.REPLAY_COMPLETED,
    }
)
"""Sync event type -> the outcome it records."""

TERMINAL_OUTCOMES: Final[frozenset[SyncOutcome]] = frozenset(
    {SyncOutcome.ACCEPTED, SyncOutcome.REJECTED, SyncOutcome.DEAD_LETTERED}
)
"""Outcomes that end a delivery's lifecycle; the first one of a key is applied."""


class SemanticRule(NamedTuple):
    """A cross-field rule JSON Schema cannot express: ``earlier <= later`` must hold."""

    code: str
    """Stable violation code, also used in ``semantic_violation`` anomaly messages."""
    event_type: str
    """Event type whose payload the rule applies to."""
    earlier: str
    """Field that must not be greater than ``later``."""
    later: str
    """Field that must not be smaller than ``earlier``."""
    message: str
    """Human-readable statement of the rule."""


SEMANTIC_RULES: Final[tuple[SemanticRule, ...]] = (
    SemanticRule(
        "last_healthy_after_recorded",
        CONNECTOR_DEGRADED,
        "last_healthy_at",
        "recorded_at",
        "last_healthy_at must not be after recorded_at",
    ),
    SemanticRule(
        "next_retry_before_recorded",
        SYNC_RETRY_SCHEDULED,
        "recorded_at",
        "next_retry_at",
        "next_retry_at must not be before recorded_at",
    ),
    SemanticRule(
        "retry_attempt_exceeds_max_retries",
        SYNC_RETRY_SCHEDULED,
        "retry_attempt",
        "max_retries",
        "retry_attempt must not exceed max_retries",
    ),
)
"""Cross-field rules, checked by the validator's semantic layer and by the reducers."""


def is_transition_allowed(current: ConnectorState | None, target: ConnectorState) -> bool:
    """Whether ``current -> target`` is in the FR-006 table (observations excluded)."""
    return target in ALLOWED_TRANSITIONS[current]
