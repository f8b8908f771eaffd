"""Reducer facts: the part of a validated event that a reducer needs (FR-005, FR-006, FR-007).

Every way into a fold (the pydantic models, the compiled engine) produces
these same facts, so the steps in ``steps`` are the only place behaviour is
decided. Facts are frozen ``msgspec`` structs: cheap to build and to pack
into the compact records a large replay keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import msgspec

from ..contract.catalog import EventRecipe, Family, connector_target
from ..contract.lifecycle import ConnectorState, HealthStatus, SyncOutcome

__all__ = [
    "EPOCH",
    "MICROSECOND",
    "ConnectorFact",
    "Fact",
    "LinkFact",
    "MalformedFact",
    "SyncFact",
    "fact_from_roles",
    "fact_from_values",
]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
"""The Unix epoch as an aware datetime."""
MICROSECOND: Final = timedelta(microseconds=1)
"""One microsecond; ``(t - EPOCH) // MICROSECOND`` is an exact integer instant."""


class ConnectorFact(msgspec.Struct, frozen=True, gc=False, tag=1, array_like=True):
    """What the connector reducer needs from one valid connector event."""

    event_id: str
    event_type: str
    connector_id: str
    connector_type: str
    provider: str
    mission_id: str
    recorded_at: datetime
    target: ConnectorState
    health_status: HealthStatus | None = None
    latency_ms: float | None = None
    previous_state: ConnectorState | None = None
    broken_rules: tuple[str, ...] = ()


class SyncFact(msgspec.Struct, frozen=True, gc=False, tag=2, array_like=True):
    """What the sync reducer needs from one valid sync event."""

    event_id: str
    connector_id: str
    outcome: SyncOutcome
    delivery_id: str
    fingerprint: str
    retry_attempt: int = 0
    max_retries: int = 0
    ingested_count: int = 0
    replayed_count: int = 0
    broken_rules: tuple[str, ...] = ()


class LinkFact(msgspec.Struct, frozen=True, gc=False, tag=3, array_like=True):
    """What the link index needs from one valid ``ExternalReferenceLinked`` event."""

    event_id: str
    link_id: str
    connector_id: str
    external_provider: str
    external_ref_type: str
    external_ref_id: str
    external_ref_url: str
    internal_aggregate_type: str
    internal_aggregate_id: str
    mission_id: str
    linked_by: str
    recorded_at: datetime

    def link_fields(self) -> dict[str, Any]:
        """The fields of ``results.ExternalLink`` as a dict (recorded_at in UTC)."""
        fields = msgspec.structs.asdict(self)
        fields["recorded_at"] = _utc(self.recorded_at)
        return fields


class MalformedFact(msgspec.Struct, frozen=True, gc=False, tag=4, array_like=True):
    """A family event whose payload failed validation."""

    event_id: str
    family: Family
    connector_id: str | None
    message: str


Fact = ConnectorFact | SyncFact | LinkFact | MalformedFact


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def fact_from_values(
    recipe: EventRecipe, event_id: str, values: Mapping[str, Any], broken_rules: tuple[str, ...]
) -> Fact:
    """The fact of a valid event, built from its payload's values by the catalogue's roles.

    ``values`` maps payload field names to validated values (enum members,
    aware datetimes); ``broken_rules`` are the codes of the semantic rules the
    payload breaks. One builder for every event type: a new event type or
    field needs a catalogue row, never a new builder.
    """
    attrs = {role: values[field] for field, role in recipe.roles.items() if field in values}
    return fact_from_roles(recipe, event_id, attrs, broken_rules)


def fact_from_roles(
    recipe: EventRecipe, event_id: str, attrs: Mapping[str, Any], broken_rules: tuple[str, ...]
) -> Fact:
    """``fact_from_values`` of values keyed by the fact attribute they fill (their role)."""
    if recipe.family is Family.CONNECTOR:
        health = attrs.get("health_status")
        return ConnectorFact(
            event_id=event_id,
            event_type=recipe.event_type,
            target=connector_target(recipe.event_type, health),
            broken_rules=broken_rules,
            **attrs,
        )
    if recipe.family is Family.SYNC:
        assert recipe.outcome is not None
        return SyncFact(
            event_id=event_id, outcome=recipe.outcome, broken_rules=broken_rules, **attrs
        )
    return LinkFact(event_id=event_id, **attrs)
