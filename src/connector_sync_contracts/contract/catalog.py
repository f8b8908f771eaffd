"""The event catalogue: one row per event type (FR-001, FR-003, FR-005).

Each ``EventRecipe`` names an event type, its family, the payload model
that validates it, and what it does to a projection: the connector state it
targets or the delivery outcome it records. Every table keyed by event type
(``EVENT_FAMILIES``, ``CONNECTOR_TARGET_STATES``, ``SYNC_OUTCOMES``, the
models' ``PAYLOAD_MODELS``, the compiled engine's spec, the docs) is derived
from ``CATALOG``; adding an event type starts with a row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from .lifecycle import (
    HEALTH_STATUS_TARGETS,
    ConnectorState,
    HealthStatus,
    SyncOutcome,
    ValueEnum,
)

__all__ = [
    "ALL_FAMILIES",
    "CATALOG",
    "CONNECTOR_DEGRADED",
    "CONNECTOR_EVENT_TYPES",
    "CONNECTOR_HEALTH_CHECKED",
    "CONNECTOR_PROVISIONED",
    "CONNECTOR_RECONNECTED",
    "CONNECTOR_REVOKED",
    "CONNECTOR_TARGET_STATES",
    "EVENT_FAMILIES",
    "EXTERNAL_REFERENCE_LINKED",
    "SYNC_DEAD_LETTERED",
    "SYNC_EVENT_TYPES",
    "SYNC_INGEST_ACCEPTED",
    "SYNC_INGEST_REJECTED",
    "SYNC_OUTCOMES",
    "SYNC_REPLAY_COMPLETED",
    "SYNC_RETRY_SCHEDULED",
    "RECIPES",
    "EventRecipe",
    "Family",
    "checked_families",
    "connector_target",
]


class Family(ValueEnum):
    """Event family an event type belongs to."""

    CONNECTOR = "connector"
    SYNC = "sync"
    LINK = "external_reference"


ALL_FAMILIES: Final = frozenset(Family)
"""Every event family: what whole-log replay reduces."""


def checked_families(value: object) -> frozenset[Family]:
    """``value``, a set of families (``Family`` members or their values), as members.

    Otherwise ``TypeError`` for what is no set (a string such as ``"sync"``
    would be read letter by letter) and ``ValueError`` for an empty set or
    naming what is no family: a fold of no family it knows would be an
    empty projection.
    """
    if not isinstance(value, (set, frozenset)):
        raise TypeError(f"families must be a set of Family members, not {type(value).__name__}")
    known = {family.value: family for family in Family}
    if not value:
        raise ValueError(
            f"families must name at least one of {', '.join(sorted(known))}: "
            "an empty set would fold no event"
        )
    unknown = sorted(repr(item) for item in value if item not in known)
    if unknown:
        raise ValueError(
            f"families must be Family members ({', '.join(sorted(known))}), "
            f"got {', '.join(unknown)}"
        )
    return frozenset(known[item] for item in value)


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

EXTERNAL_REFERENCE_LINKED: Final = "ExternalReferenceLinked"
"""Event type: an external reference (GitHub PR, Jira key ...) was bound to an aggregate."""


class EventRecipe(NamedTuple):
    """One event type: its family, its payload model, what it does, and its fields' roles."""

    event_type: str
    """The ``event_type`` value that selects this row."""
    family: Family
    """Family whose reducer folds the event."""
    model: str
    """Name of the payload model class (``models`` builds ``PAYLOAD_MODELS`` from it)."""
    roles: Mapping[str, str]
    """Payload field -> the reducer fact's attribute it fills (``reducing.facts``).

    Fields without a role are validated and otherwise ignored by the reducers."""
    target: ConnectorState | None = None
    """Connector events: the state the event moves its connector to; None for a health
    check, which targets by its ``health_status`` (``HEALTH_STATUS_TARGETS``)."""
    outcome: SyncOutcome | None = None
    """Sync events: the delivery outcome the event records."""


def _roles(*fields: str, **renamed: str) -> Mapping[str, str]:
    """Roles of fields that fill the fact attribute of their own name, plus renamed ones."""
    return MappingProxyType({**{name: name for name in fields}, **renamed})


_CONNECTOR: Final = ("connector_id", "connector_type", "provider", "mission_id", "recorded_at")
_SYNC: Final = ("connector_id", "delivery_id")
_LINK: Final = (
    "link_id",
    "connector_id",
    "external_provider",
    "external_ref_type",
    "external_ref_id",
    "external_ref_url",
    "internal_aggregate_type",
    "internal_aggregate_id",
    "mission_id",
    "linked_by",
    "recorded_at",
)


CATALOG: Final[tuple[EventRecipe, ...]] = (
    EventRecipe(
        CONNECTOR_PROVISIONED,
        Family.CONNECTOR,
        "ConnectorProvisionedPayload",
        _roles(*_CONNECTOR),
        target=ConnectorState.PROVISIONED,
    ),
    EventRecipe(
        CONNECTOR_HEALTH_CHECKED,
        Family.CONNECTOR,
        "ConnectorHealthCheckedPayload",
        _roles(*_CONNECTOR, "health_status", "latency_ms"),
    ),
    EventRecipe(
        CONNECTOR_DEGRADED,
        Family.CONNECTOR,
        "ConnectorDegradedPayload",
        _roles(*_CONNECTOR),
        target=ConnectorState.DEGRADED,
    ),
    EventRecipe(
        CONNECTOR_REVOKED,
        Family.CONNECTOR,
        "ConnectorRevokedPayload",
        _roles(*_CONNECTOR),
        target=ConnectorState.REVOKED,
    ),
    EventRecipe(
        CONNECTOR_RECONNECTED,
        Family.CONNECTOR,
        "ConnectorReconnectedPayload",
        _roles(*_CONNECTOR, "previous_state"),
        target=ConnectorState.RECONNECTED,
    ),
    EventRecipe(
        SYNC_INGEST_ACCEPTED,
        Family.SYNC,
        "SyncIngestAcceptedPayload",
        _roles(*_SYNC, "ingested_count", source_event_fingerprint="fingerprint"),
        outcome=SyncOutcome.ACCEPTED,
    ),
    EventRecipe(
        SYNC_INGEST_REJECTED,
        Family.SYNC,
        "SyncIngestRejectedPayload",
        _roles(*_SYNC, source_event_fingerprint="fingerprint"),
        outcome=SyncOutcome.REJECTED,
    ),
    EventRecipe(
        SYNC_RETRY_SCHEDULED,
        Family.SYNC,
        "SyncRetryScheduledPayload",
        _roles(*_SYNC, "retry_attempt", "max_retries", source_event_fingerprint="fingerprint"),
        outcome=SyncOutcome.RETRY_SCHEDULED,
    ),
    EventRecipe(
        SYNC_DEAD_LETTERED,
        Family.SYNC,
        "SyncDeadLetteredPayload",
        _roles(*_SYNC, source_event_fingerprint="fingerprint"),
        outcome=SyncOutcome.DEAD_LETTERED,
    ),
    EventRecipe(
        SYNC_REPLAY_COMPLETED,
        Family.SYNC,
        "SyncReplayCompletedPayload",
        _roles(*_SYNC, "replayed_count", source_event_fingerprint="fingerprint"),
        outcome=SyncOutcome.REPLAY_COMPLETED,
    ),
    EventRecipe(
        EXTERNAL_REFERENCE_LINKED,
        Family.LINK,
        "ExternalReferenceLinkedPayload",
        _roles(*_LINK),
    ),
)
"""Every event type of the contract, in the order tables, schemas and docs list them."""

RECIPES: Final[Mapping[str, EventRecipe]] = MappingProxyType(
    {row.event_type: row for row in CATALOG}
)
"""Event type -> its catalogue row."""

EVENT_FAMILIES: Final[Mapping[str, Family]] = MappingProxyType(
    {row.event_type: row.family for row in CATALOG}
)
"""Event type -> family; event types not listed here are ignored by the reducers."""

CONNECTOR_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    row.event_type for row in CATALOG if row.family is Family.CONNECTOR
)
"""The five connector lifecycle event types."""

SYNC_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    row.event_type for row in CATALOG if row.family is Family.SYNC
)
"""The five sync delivery event types."""

CONNECTOR_TARGET_STATES: Final[Mapping[str, ConnectorState]] = MappingProxyType(
    {row.event_type: row.target for row in CATALOG if row.target is not None}
)
"""Connector event type -> the state it moves a connector to (health checks: by status)."""

SYNC_OUTCOMES: Final[Mapping[str, SyncOutcome]] = MappingProxyType(
    {row.event_type: row.outcome for row in CATALOG if row.outcome is not None}
)
"""Sync event type -> the outcome it records."""


def connector_target(event_type: str, health: HealthStatus | None) -> ConnectorState:
    """The state a connector event moves its connector to.

    A health check (``health`` given) targets by its status
    (``HEALTH_STATUS_TARGETS``); every other connector event by its type
    (``CONNECTOR_TARGET_STATES``).
    """
    if health is not None:
        return HEALTH_STATUS_TARGETS[health]
    return CONNECTOR_TARGET_STATES[event_type]
