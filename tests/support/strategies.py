"""Hypothesis strategies for realistic multi-connector event logs (FR-009).

A generated log looks like production traffic, only denser in trouble:
several connectors going through their lifecycle with periodic health
checks, webhook deliveries that retry, land or dead-letter, links between
external references and work packages - and, on purpose, the cases the
reducers must survive: invalid transitions, repeated deliveries, conflicting
links, malformed payloads, event types of other families, Lamport clock ties,
timestamps written with different UTC offsets and event_ids reused with
different content. Identifiers come from small pools so that collisions,
which exercise the interesting rules, are frequent.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any, Final

from hypothesis import strategies as st

from connector_sync_contracts import (
    ALLOWED_TRANSITIONS,
    CONNECTOR_DEGRADED,
    CONNECTOR_EVENT_TYPES,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_RECONNECTED,
    EXTERNAL_REFERENCE_LINKED,
    SYNC_DEAD_LETTERED,
    SYNC_EVENT_TYPES,
    SYNC_INGEST_ACCEPTED,
    SYNC_INGEST_REJECTED,
    SYNC_REPLAY_COMPLETED,
    SYNC_RETRY_SCHEDULED,
    ConnectorState,
    HealthStatus,
    ReconnectStrategy,
)
from connector_sync_contracts.contract.catalog import CONNECTOR_TARGET_STATES
from connector_sync_contracts.contract.lifecycle import HEALTH_STATUS_TARGETS
from tests.support.factories import BASE_TIME, envelope, payload_for, ulid

__all__ = [
    "CONNECTOR_IDS",
    "broken_envelopes",
    "logs",
    "render_time",
]

CONNECTOR_IDS: Final = ("conn-github-1", "conn-jira-1", "conn-slack-1", "conn-ci-1")
"""Connector ids logs draw from, each with its own provider."""

_PROVIDERS: Final = {
    "conn-github-1": "github",
    "conn-jira-1": "jira",
    "conn-slack-1": "slack",
    "conn-ci-1": "circleci",
}
_OFFSETS: Final = (0, 0, 0, 300, -210, 840, -720, 60)
"""UTC offsets in minutes; the same instant is written in several ways."""

_CONNECTOR_TYPES: Final = sorted(CONNECTOR_EVENT_TYPES)
_DRIVERS: Final[dict[ConnectorState, list[tuple[str, str]]]] = {
    target: [(t, "") for t, s in CONNECTOR_TARGET_STATES.items() if s is target]
    + [(CONNECTOR_HEALTH_CHECKED, h.value) for h, s in HEALTH_STATUS_TARGETS.items() if s is target]
    for target in ConnectorState
}
"""Target state -> (event type, health_status) pairs that move a connector there."""
_SYNC_TYPES: Final = sorted(SYNC_EVENT_TYPES)
_OTHER_TYPES: Final = ("MissionCreated", "WorkPackageUpdated")

Spec = tuple[str, dict[str, Any]]
"""An event type and its payload."""


def render_time(minute: float, offset_minutes: int) -> str:
    """RFC 3339 text of ``BASE_TIME + minute``, written with the given UTC offset."""
    moment = BASE_TIME + timedelta(minutes=minute)
    text = moment.astimezone(timezone(timedelta(minutes=offset_minutes))).isoformat()
    return text.replace("+00:00", "Z")


@st.composite
def _time(draw: st.DrawFn, minute: int) -> str:
    """``minute`` plus some seconds of jitter, in a random offset."""
    jitter = draw(st.integers(0, 59)) / 60
    return render_time(minute + jitter, draw(st.sampled_from(_OFFSETS)))


class _World:
    """What producers believe so far, so that most generated events make sense.

    Events are generated in (nearly) replay order, so following these
    beliefs yields real lifecycles; a share of events ignores them on purpose.
    """

    def __init__(self) -> None:
        self.states: dict[str, ConnectorState | None] = {}
        self.retries: dict[tuple[str, str, str], int] = {}
        self.terminal: dict[tuple[str, str, str], str] = {}


def _chaos(draw: st.DrawFn) -> bool:
    """Whether this event ignores what the producer believes (about one in eight)."""
    return draw(st.integers(0, 7)) == 0


@st.composite
def _connector_payload(draw: st.DrawFn, world: _World, cid: str, minute: int) -> Spec:
    current = world.states.get(cid)
    fields: dict[str, Any] = {
        "connector_id": cid,
        "provider": _PROVIDERS[cid],
        "recorded_at": draw(_time(minute)),
    }
    if draw(st.integers(0, 30)) == 0:  # identity_changed
        fields["provider"] = "gitlab"
    if _chaos(draw) or not ALLOWED_TRANSITIONS[current]:  # ignoring it, or a dead end
        event_type = draw(st.sampled_from(_CONNECTOR_TYPES))
        status = draw(st.sampled_from([s.value for s in HealthStatus]))
        previous = draw(st.sampled_from([s.value for s in ConnectorState]))
    else:
        # Periodic health checks of a healthy connector are the common case.
        options = sorted(ALLOWED_TRANSITIONS[current], key=lambda s: s.value)
        if current is ConnectorState.HEALTHY:
            options += [current] * 4
        target = draw(st.sampled_from(options))
        event_type, status = draw(st.sampled_from(_DRIVERS[target]))
        previous = current.value if current is not None else "degraded"
        world.states[cid] = target
    if event_type == CONNECTOR_HEALTH_CHECKED:
        fields["health_status"] = status
        fields["latency_ms"] = draw(
            st.one_of(st.integers(0, 5000), st.floats(0, 5000, allow_nan=False))
        )
    elif event_type == CONNECTOR_DEGRADED:
        # Usually before recorded_at; sometimes after it (semantic_violation).
        fields["last_healthy_at"] = draw(_time(minute + draw(st.integers(-90, 3))))
    elif event_type == CONNECTOR_RECONNECTED:
        fields["previous_state"] = previous
        fields["reconnect_strategy"] = draw(st.sampled_from([s.value for s in ReconnectStrategy]))
    return event_type, payload_for(event_type, **fields)


@st.composite
def _sync_payload(draw: st.DrawFn, world: _World, cid: str, minute: int) -> Spec:
    delivery_id = draw(st.sampled_from(["dlv-1", "dlv-2", "dlv-3", "dlv-4"]))
    fingerprint = draw(st.sampled_from(["sha256:aa", "sha256:aa", "sha256:bb"]))
    key = (cid, delivery_id, fingerprint)
    attempt = world.retries.get(key, 0) + 1
    if _chaos(draw):
        event_type = draw(st.sampled_from(_SYNC_TYPES))
        attempt = draw(st.integers(1, 5))
    elif key in world.terminal:
        # Webhook redelivery of the final outcome, or a replay from the store.
        event_type = draw(st.sampled_from([world.terminal[key], SYNC_REPLAY_COMPLETED]))
    else:
        event_type = draw(
            st.sampled_from(
                [SYNC_RETRY_SCHEDULED] * 4
                + [SYNC_INGEST_ACCEPTED] * 3
                + [SYNC_INGEST_REJECTED, SYNC_DEAD_LETTERED, SYNC_REPLAY_COMPLETED]
            )
        )
        if event_type == SYNC_RETRY_SCHEDULED:
            world.retries[key] = attempt
        elif event_type != SYNC_REPLAY_COMPLETED:
            world.terminal[key] = event_type
    fields: dict[str, Any] = {
        "connector_id": cid,
        "delivery_id": delivery_id,
        "source_event_fingerprint": fingerprint,
        "recorded_at": draw(_time(minute)),
    }
    if event_type == SYNC_INGEST_ACCEPTED:
        fields["ingested_count"] = draw(st.integers(1, 500))
    elif event_type == SYNC_RETRY_SCHEDULED:
        fields["retry_attempt"] = attempt
        fields["max_retries"] = 3
        fields["next_retry_at"] = draw(_time(minute + draw(st.integers(-1, 30))))
    elif event_type == SYNC_DEAD_LETTERED:
        fields["total_attempts"] = attempt
    elif event_type == SYNC_REPLAY_COMPLETED:
        fields["replayed_count"] = draw(st.integers(0, 50))
    return event_type, payload_for(event_type, **fields)


@st.composite
def _link_payload(draw: st.DrawFn, world: _World, connector_id: str, minute: int) -> Spec:
    provider, ref_type = draw(st.sampled_from([("github", "pull_request"), ("jira", "issue")]))
    payload = payload_for(
        EXTERNAL_REFERENCE_LINKED,
        connector_id=connector_id,
        link_id=draw(st.sampled_from(["link-1", "link-2", "link-3", "link-4"])),
        external_provider=provider,
        external_ref_type=ref_type,
        external_ref_id=draw(st.sampled_from(["REF-1", "REF-2", "REF-3"])),
        internal_aggregate_id=draw(st.sampled_from(["WP01", "WP02", "WP03"])),
        recorded_at=draw(_time(minute)),
    )
    return EXTERNAL_REFERENCE_LINKED, payload


def _break(payload: dict[str, Any], how: int) -> dict[str, Any]:
    """One realistic way a producer gets a payload wrong."""
    broken = dict(payload)
    if how == 0:
        broken.pop("connector_id")  # unreadable: a stream-level anomaly
    elif how == 1:
        broken["recorded_at"] = "2026-11-25T08:00:00"  # naive timestamp
    elif how == 2:
        broken["mission_id"] = ""
    else:
        broken["recorded_at"] = 1764057600  # a number where a string belongs
    return broken


@st.composite
def _payload(draw: st.DrawFn, world: _World, connector_ids: tuple[str, ...], minute: int) -> Spec:
    connector_id = draw(st.sampled_from(connector_ids))
    family = draw(st.sampled_from(["connector"] * 5 + ["sync"] * 4 + ["link", "other"]))
    if family == "other":
        return draw(st.sampled_from(_OTHER_TYPES)), {"mission_id": "mission-042"}
    make = {"connector": _connector_payload, "sync": _sync_payload, "link": _link_payload}[family]
    event_type, payload = draw(make(world, connector_id, minute))
    if draw(st.integers(0, 25)) == 0:
        payload = _break(payload, draw(st.integers(0, 3)))
    return event_type, payload


@st.composite
def logs(
    draw: st.DrawFn,
    connector_ids: tuple[str, ...] = CONNECTOR_IDS,
    *,
    id_base: int = 0,
    min_size: int = 0,
    max_size: int = 40,
    conflicting_ids: bool = True,
) -> list[dict[str, Any]]:
    """A log of valid envelopes (payloads may be malformed) about ``connector_ids``.

    Event ids are ``ulid(id_base + n)``, so logs drawn with different
    ``id_base`` (at least ``max_size`` apart) never share an id. With
    ``conflicting_ids`` an event now and then reuses an earlier event's id
    with different content (a ``conflicting_duplicate``).
    """
    size = draw(st.integers(min_size, max_size))
    world = _World()
    events: list[dict[str, Any]] = []
    clock = 0
    for n in range(size):
        # Clocks mostly advance; ties are frequent, and then time and id decide.
        clock += draw(st.sampled_from([0, 1, 1, 2]))
        minute = clock * 10 + draw(st.integers(0, 9))
        event_type, payload = draw(_payload(world, connector_ids, minute))
        event_id = ulid(id_base + n)
        if conflicting_ids and events and draw(st.integers(0, 20)) == 0:
            event_id = draw(st.sampled_from(events))["event_id"]
        events.append(
            envelope(
                event_type,
                payload,
                event_id=event_id,
                aggregate_id=payload.get("connector_id") or "unknown",
                lamport_clock=clock,
                timestamp=render_time(minute, draw(st.sampled_from(_OFFSETS))),
                node_id=draw(st.sampled_from(["node-a", "node-b"])),
                correlation_id=ulid(10**6 + id_base + n),
            )
        )
    return events


@st.composite
def broken_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """An envelope that fails validation (a ``malformed_envelope`` in replay)."""
    base = envelope(CONNECTOR_HEALTH_CHECKED, seq=draw(st.integers(1, 10_000)))
    field, value = draw(
        st.sampled_from(
            [
                ("event_id", "evt-1"),
                ("timestamp", "2026-11-25T08:00:00"),
                ("lamport_clock", -1),
                ("lamport_clock", True),
                ("payload", ["not", "an", "object"]),
                ("project_uuid", "project-1"),
            ]
        )
    )
    return base | {field: value}
