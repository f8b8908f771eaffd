"""Builders for valid envelopes and payloads, as plain JSON-ready dicts.

Tests start from a payload or envelope that is valid by construction and
change exactly the field under test, so a failure always points at that one
field. Everything here is deterministic: identifiers and times are derived
from a sequence number, never from a clock or a random source.

Import it as ``from factories import ...``: ``tests/`` has no ``__init__.py``,
so pytest's default (prepend) import mode puts ``tests/`` on ``sys.path`` when
it loads ``tests/conftest.py``, and mypy finds it the same way.

Typical use::

    payload = payload_for(CONNECTOR_HEALTH_CHECKED, health_status="unreachable")
    event = envelope(CONNECTOR_HEALTH_CHECKED, payload, seq=3)

    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id="c1")
    log.add(CONNECTOR_HEALTH_CHECKED, connector_id="c1")
    result = replay(log.events)
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Final
from uuid import UUID

from pydantic import BaseModel

from connector_sync_contracts import (
    CONNECTOR_DEGRADED,
    CONNECTOR_EVENT_TYPES,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    CONNECTOR_RECONNECTED,
    CONNECTOR_REVOKED,
    EXTERNAL_REFERENCE_LINKED,
    PAYLOAD_MODELS,
    SYNC_DEAD_LETTERED,
    SYNC_EVENT_TYPES,
    SYNC_INGEST_ACCEPTED,
    SYNC_INGEST_REJECTED,
    SYNC_REPLAY_COMPLETED,
    SYNC_RETRY_SCHEDULED,
)

__all__ = [
    "BASE_TIME",
    "CROCKFORD",
    "PROJECT_UUID",
    "EventLog",
    "connector_payload",
    "envelope",
    "filled_from_model",
    "iso",
    "link_payload",
    "payload_for",
    "required_fields",
    "sync_payload",
    "ulid",
    "without",
]

BASE_TIME: Final = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
"""Minute 0 of every built log; ``iso(minutes)`` counts from here."""

PROJECT_UUID: Final = "0b5c3f5e-6d0a-4c56-9a53-2f7e4f1c9d10"
"""Project every built envelope and connector payload belongs to."""

CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base32 alphabet used by ULIDs (no I, L, O, U)."""

_ULID_LENGTH: Final = 26


def ulid(n: int) -> str:
    """A valid upper-case ULID whose value is ``n``; distinct ``n`` give distinct ids."""
    if n < 0:
        raise ValueError("ulid() needs a non-negative number")
    digits = []
    for _ in range(_ULID_LENGTH):
        n, digit = divmod(n, 32)
        digits.append(CROCKFORD[digit])
    if n:
        raise ValueError("number too large for a ULID")
    return "".join(reversed(digits))


def iso(minutes: float) -> str:
    """RFC 3339 UTC time ``minutes`` after ``BASE_TIME`` (``...Z``)."""
    moment = BASE_TIME + timedelta(minutes=minutes)
    return moment.isoformat().replace("+00:00", "Z")


def without(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of ``mapping`` without ``keys`` (which must be present)."""
    missing = [key for key in keys if key not in mapping]
    if missing:
        raise KeyError(f"not in mapping: {missing}")
    return {key: value for key, value in mapping.items() if key not in keys}


def required_fields(model: type[BaseModel]) -> list[str]:
    """Names of the fields ``model`` requires, in declaration order (from ``model_fields``)."""
    return [name for name, info in model.model_fields.items() if info.is_required()]


def connector_payload(
    event_type: str = CONNECTOR_PROVISIONED, *, at: float = 0, **overrides: Any
) -> dict[str, Any]:
    """A valid connector lifecycle payload of ``event_type``, recorded at minute ``at``.

    Time fields that must relate to ``recorded_at`` (``last_healthy_at``) are
    derived from ``at`` so the semantic rules hold; ``overrides`` replace or
    add any field.
    """
    data: dict[str, Any] = {
        "connector_id": "conn-github-1",
        "connector_type": "webhook",
        "provider": "github",
        "mission_id": "mission-042",
        "project_uuid": PROJECT_UUID,
        "actor_id": "svc-connector-runtime",
        "actor_type": "service",
        "endpoint_url": "https://api.github.com/repos/acme/api/hooks/7",
        "recorded_at": iso(at),
    }
    if event_type == CONNECTOR_HEALTH_CHECKED:
        data.update(health_status="healthy", latency_ms=42.5)
    elif event_type == CONNECTOR_DEGRADED:
        data.update(degradation_reason="rate limited by provider", last_healthy_at=iso(at - 30))
    elif event_type == CONNECTOR_REVOKED:
        data.update(revocation_reason="installation token revoked")
    elif event_type == CONNECTOR_RECONNECTED:
        data.update(previous_state="degraded", reconnect_strategy="automatic")
    elif event_type != CONNECTOR_PROVISIONED:
        _fill_from_model(event_type, CONNECTOR_EVENT_TYPES, data, at)
    data.update(overrides)
    return data


def sync_payload(
    event_type: str = SYNC_INGEST_ACCEPTED, *, at: float = 0, **overrides: Any
) -> dict[str, Any]:
    """A valid sync delivery payload of ``event_type``, recorded at minute ``at``.

    ``next_retry_at`` is derived from ``at`` so the semantic rules hold;
    ``overrides`` replace or add any field.
    """
    data: dict[str, Any] = {
        "delivery_id": "dlv-0001",
        "source_event_fingerprint": "sha256:9f2c1e",
        "connector_id": "conn-github-1",
        "mission_id": "mission-042",
        "recorded_at": iso(at),
    }
    if event_type == SYNC_INGEST_ACCEPTED:
        data.update(ingest_batch_id="batch-0001", ingested_count=3)
    elif event_type == SYNC_INGEST_REJECTED:
        data.update(rejection_reason="signature mismatch", rejected_payload_ref="s3://rej/1")
    elif event_type == SYNC_RETRY_SCHEDULED:
        data.update(retry_attempt=1, max_retries=3, next_retry_at=iso(at + 5))
    elif event_type == SYNC_DEAD_LETTERED:
        data.update(
            failure_reason="provider kept returning 502", total_attempts=3, dead_letter_ref="dlq/1"
        )
    elif event_type == SYNC_REPLAY_COMPLETED:
        data.update(replay_id="replay-0001", replay_source="dlq", replayed_count=4)
    else:
        _fill_from_model(event_type, SYNC_EVENT_TYPES, data, at)
    data.update(overrides)
    return data


def filled_from_model(event_type: str, *, at: float = 0) -> dict[str, Any]:
    """A payload of ``event_type`` with every required field filled from its model alone
    (what a connector or sync event type added without a case above gets)."""
    family = CONNECTOR_EVENT_TYPES if event_type in CONNECTOR_EVENT_TYPES else SYNC_EVENT_TYPES
    data: dict[str, Any] = {}
    _fill_from_model(event_type, family, data, at)
    return data


def _fill_from_model(
    event_type: str, family: AbstractSet[str], data: dict[str, Any], at: float
) -> None:
    """Fill the required fields of an event type with no case above from its model.

    An event type added to the catalogue gets valid payloads at once: a
    string field its name (a ``*_url`` one a URL), a number 1, a date-time
    minute ``at``, a UUID ``PROJECT_UUID``, an enum its first value. A type
    with a semantic rule between its fields needs a case above (as
    ``ConnectorDegraded`` has).
    """
    if event_type not in family:
        raise ValueError(f"not an event type of this family: {event_type!r}")
    for name, info in PAYLOAD_MODELS[event_type].model_fields.items():
        if not info.is_required() or name in data:
            continue
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, Enum):
            data[name] = next(iter(kind)).value
        elif kind in (int, float):
            data[name] = 1
        elif kind is datetime:
            data[name] = iso(at)
        elif kind is UUID:
            data[name] = PROJECT_UUID
        elif kind is str and name.endswith("_url"):
            data[name] = f"https://example.com/{name}"
        elif kind is str:
            data[name] = name.replace("_", "-")
        else:
            raise ValueError(f"no sample value for {event_type}.{name}: {kind!r}")


def link_payload(*, at: float = 0, **overrides: Any) -> dict[str, Any]:
    """A valid ``ExternalReferenceLinked`` payload recorded at minute ``at``."""
    data: dict[str, Any] = {
        "link_id": "link-0001",
        "connector_id": "conn-github-1",
        "external_provider": "github",
        "external_ref_type": "pull_request",
        "external_ref_id": "acme/api#42",
        "external_ref_url": "https://github.com/acme/api/pull/42",
        "internal_aggregate_type": "work_package",
        "internal_aggregate_id": "WP01",
        "mission_id": "mission-042",
        "linked_by": "svc-linker",
        "recorded_at": iso(at),
    }
    data.update(overrides)
    return data


def payload_for(event_type: str, *, at: float = 0, **overrides: Any) -> dict[str, Any]:
    """A valid payload for any event type of the contract (see the family builders)."""
    if event_type in CONNECTOR_EVENT_TYPES:
        return connector_payload(event_type, at=at, **overrides)
    if event_type in SYNC_EVENT_TYPES:
        return sync_payload(event_type, at=at, **overrides)
    if event_type == EXTERNAL_REFERENCE_LINKED:
        return link_payload(at=at, **overrides)
    raise ValueError(f"not an event type of the contract: {event_type!r}")


def envelope(
    event_type: str,
    payload: object = None,
    /,
    *,
    seq: int = 1,
    **overrides: Any,
) -> dict[str, Any]:
    """A valid envelope whose id, clock and time derive from ``seq``.

    ``event_id`` is ``ulid(seq)``, ``lamport_clock`` is ``seq`` and
    ``timestamp`` is minute ``seq``; ``payload`` defaults to
    ``payload_for(event_type, at=seq)``, and may be any value (a mapping is
    copied) so tests can build envelopes whose payload is not an object.
    ``overrides`` replace or add any envelope field, ``event_type`` and
    ``payload`` included.
    """
    data: dict[str, Any] = {
        "event_id": ulid(seq),
        "event_type": event_type,
        "aggregate_id": "conn-github-1",
        "payload": payload_for(event_type, at=seq) if payload is None else _copy(payload),
        "timestamp": iso(seq),
        "node_id": "node-a",
        "lamport_clock": seq,
        "project_uuid": PROJECT_UUID,
        "correlation_id": ulid(10**6 + seq),
        "causation_id": None,
        "build_id": None,
        "project_slug": "acme-api",
        "schema_version": "2.7.0",
        "data_tier": 0,
    }
    data.update(overrides)
    return data


def _copy(value: object) -> object:
    return dict(value) if isinstance(value, Mapping) else value


class EventLog:
    """An ordered log under construction: each ``add`` takes the next sequence number.

    The sequence number gives the event its ``event_id``, ``lamport_clock``,
    envelope ``timestamp`` and payload ``recorded_at``, so the log is already
    in replay order and every event is distinct.
    """

    def __init__(self, *, start: int = 1) -> None:
        self._next = start
        self.events: list[dict[str, Any]] = []
        """The envelopes added so far, in order."""

    def add(self, event_type: str, **payload_fields: Any) -> dict[str, Any]:
        """Append a valid event of ``event_type`` with these payload fields; return it."""
        seq = self._next
        self._next += 1
        payload = payload_for(event_type, at=seq, **payload_fields)
        event = envelope(event_type, payload, seq=seq, aggregate_id=payload["connector_id"])
        self.events.append(event)
        return event
