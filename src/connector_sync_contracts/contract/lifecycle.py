"""The lifecycle vocabulary and its tables (FR-006, FR-007).

Connector states and the transitions between them, health statuses and the
state each one targets, sync outcomes and which of them end a delivery, and
the value enums payloads carry. The reducers, the compiled engine's spec,
the generated docs and their state diagrams all read these tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final

from .limits import INT64_MAX

__all__ = [
    "ALLOWED_TRANSITIONS",
    "DEFAULT_MAX_RECONNECT_CYCLES",
    "HEALTH_STATUS_TARGETS",
    "OBSERVATION_STATES",
    "TERMINAL_OUTCOMES",
    "ActorType",
    "ConnectorState",
    "HealthStatus",
    "ReconnectStrategy",
    "SyncOutcome",
    "ValueEnum",
    "checked_reconnect_cycles",
    "is_transition_allowed",
]


class ValueEnum(str, Enum):
    """A string-valued enum whose ``str()`` and ``format()`` are its value.

    ``str(ConnectorState.HEALTHY)`` reads ``healthy``, as it is written in
    events and projections, on every Python version (a plain ``str, Enum``
    mixin gives ``ConnectorState.HEALTHY`` from Python 3.11). ``repr`` still
    names the member.
    """

    def __str__(self) -> str:
        """The member's value, e.g. ``healthy``."""
        return str(self.value)

    def __format__(self, spec: str) -> str:
        """Format the value, so f-strings read ``healthy`` too."""
        return format(str(self.value), spec)


class ConnectorState(ValueEnum):
    """Lifecycle state of a connector as the reducer tracks it."""

    PROVISIONED = "provisioned"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    REVOKED = "revoked"
    RECONNECTED = "reconnected"


class HealthStatus(ValueEnum):
    """Result of a health check."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNREACHABLE = "unreachable"


class ReconnectStrategy(ValueEnum):
    """How a connector was reconnected."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"
    BACKOFF = "backoff"


class ActorType(ValueEnum):
    """Kind of actor that caused an event."""

    HUMAN = "human"
    SERVICE = "service"
    SYSTEM = "system"


class SyncOutcome(ValueEnum):
    """Outcome a sync event records for its delivery."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RETRY_SCHEDULED = "retry_scheduled"
    DEAD_LETTERED = "dead_lettered"
    REPLAY_COMPLETED = "replay_completed"


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


def checked_reconnect_cycles(value: object) -> int:
    """``value`` when it is a ``max_reconnect_cycles`` every engine takes: an int in 0..2**63-1.

    Otherwise ``TypeError`` or ``ValueError`` naming the parameter, as the
    command line's ``--max-reconnect-cycles`` range does (a bool is not a count).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_reconnect_cycles must be an int, not {type(value).__name__}")
    if not 0 <= value <= INT64_MAX:
        raise ValueError(f"max_reconnect_cycles must be 0..{INT64_MAX}, not {value}")
    return value


def checked_include_logs(value: object) -> bool:
    """``value`` when it is an ``include_logs`` every engine takes: ``True`` or ``False``.

    Otherwise ``TypeError`` naming the parameter: a string such as ``"no"``
    or ``"false"`` is truthy and would keep the logs it meant to leave out.
    """
    if not isinstance(value, bool):
        raise TypeError(f"include_logs must be a bool, not {type(value).__name__}")
    return value


TERMINAL_OUTCOMES: Final[frozenset[SyncOutcome]] = frozenset(
    {SyncOutcome.ACCEPTED, SyncOutcome.REJECTED, SyncOutcome.DEAD_LETTERED}
)
"""Outcomes that end a delivery's lifecycle; the first one of a key is applied."""


def is_transition_allowed(current: ConnectorState | None, target: ConnectorState) -> bool:
    """Whether ``current -> target`` is in the FR-006 table (observations excluded)."""
    return target in ALLOWED_TRANSITIONS[current]
