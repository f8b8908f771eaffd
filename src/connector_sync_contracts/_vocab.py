"""The contract's vocabulary and tables as plain data, without pydantic.

Event type names, the lifecycle and outcome enums, and every table that
decides behaviour by event type (families, target states, allowed
transitions, outcomes, semantic rules) are defined here once. The public
modules re-export them (``connector``, ``sync``, ``links``, ``registry``,
``envelope``), and the command line's compiled replay path imports only
this module, so it starts without building the pydantic models.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final, NamedTuple

__all__ = [
    "ALLOWED_TRANSITIONS",
    "ALL_FAMILIES",
    "CONNECTOR_DEGRADED",
    "CONNECTOR_EVENT_TYPES",
    "CONNECTOR_HEALTH_CHECKED",
    "CONNECTOR_PROVISIONED",
    "CONNECTOR_RECONNECTED",
    "CONNECTOR_REVOKED",
    "CONNECTOR_TARGET_STATES",
    "CONTRACT_VERSION",
    "DEFAULT_MAX_RECONNECT_CYCLES",
    "EVENT_FAMILIES",
    "EXTERNAL_REFERENCE_LINKED",
    "HEALTH_STATUS_TARGETS",
    "MAX_DEPTH",
    "OBSERVATION_STATES",
    "SEMANTIC_RULES",
    "SYNC_DEAD_LETTERED",
    "SYNC_EVENT_TYPES",
    "SYNC_INGEST_ACCEPTED",
    "SYNC_INGEST_REJECTED",
    "SYNC_OUTCOMES",
    "SYNC_REPLAY_COMPLETED",
    "SYNC_RETRY_SCHEDULED",
    "TERMINAL_OUTCOMES",
    "ConnectorState",
    "Family",
    "HealthStatus",
    "SemanticRule",
    "SyncOutcome",
    "connector_target",
    "is_transition_allowed",
]

CONTRACT_VERSION: Final = "2.7.0"
"""Version of the contract this package implements (also the package version)."""

MAX_DEPTH: Final = 64
"""Deepest nesting of JSON arrays and objects that is accepted."""

CONNECTOR_PROVISIONED: Final = "ConnectorProvisioned"
"""Event type: a connector was created and configured."""
CONNECTOR_HEALTH_CHECKED: Final = "ConnectorHealthChecked"
"""Event type: a periodic or on-demand health probe finished."""
CONNECTOR_DEGRADED: Final = "ConnectorDegraded"
"""Event type: a connector stopped working normally."""
CONNECTOR_REVOKED: Final = "ConnectorRevoked"
"""Event type: a connector's credentials or installation were revoked."""
CONNECTOR_RECONNECTED: Final = "ConnectorReconnected"
"""Event type: a degraded or revoked connector was reconnected."""

CONNECTOR_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {
        CONNECTOR_PROVISIONED,
        CONNECTOR_HEALTH_CHECKED,
        CONNECTOR_DEGRADED,
        CONNECTOR_REVOKED,
        CONNECTOR_RECONNECTED,
    }
)
"""The five connector lifecycle event types."""


class ConnectorState(str, Enum):
    """Lifecycle state of a connector as the reducer tracks it."""

    PROVISIONED = "provisioned"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    REVOKED = "revoked"
    RECONNECTED = "reconnected"


class HealthStatus(str, Enum):
    """Result of a health check."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNREACHABLE = "unreachable"


SYNC_INGEST_ACCEPTED: Final = "SyncIngestAccepted"
"""Event type: a delivery was ingested (terminal)."""
SYNC_INGEST_REJECTED: Final = "SyncIngestRejected"
"""Event type: a delivery was refused (terminal)."""
SYNC_RETRY_SCHEDULED: Final = "SyncRetryScheduled"
"""Event type: a failed delivery will be attempted again."""
SYNC_DEAD_LETTERED: Final = "SyncDeadLettered"
"""Event type: a delivery gave up and was parked in a dead-letter store (terminal)."""
SYNC_REPLAY_COMPLETED: Final = "SyncReplayCompleted"
"""Event type: a replay of stored deliveries finished."""

SYNC_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {
        SYNC_INGEST_ACCEPTED,
        SYNC_INGEST_REJECTED,
        SYNC_RETRY_SCHEDULED,
        SYNC_DEAD_LETTERED,
        SYNC_REPLAY_COMPLETED,
    }
)
"""The five sync delivery event types."""


class SyncOutcome(str, Enum):
    """Outcome a sync event records for its delivery."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RETRY_SCHEDULED = "retry_scheduled"
    DEAD_LETTERED = "dead_lettered"
    REPLAY_COMPLETED = "replay_completed"


EXTERNAL_REFERENCE_LINKED: Final = "ExternalReferenceLinked"
"""Event type: an external reference (GitHub PR, Jira key ...) was bound to an aggregate."""


class Family(str, Enum):
    """Event family an event type belongs to."""

    CONNECTOR = "connector"
    SYNC = "sync"
    LINK = "external_reference"


ALL_FAMILIES: Final = frozenset(Family)
"""Every event family: what whole-log replay reduces."""

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


def connector_target(event_type: str, health: HealthStatus | None) -> ConnectorState:
    """The state a connector event moves its connector to.

    A health check (``health`` given) targets by its status
    (``HEALTH_STATUS_TARGETS``); every other connector event by its type
    (``CONNECTOR_TARGET_STATES``).
    """
    if health is not None:
        return HEALTH_STATUS_TARGETS[health]
    return CONNECTOR_TARGET_STATES[event_type]


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
