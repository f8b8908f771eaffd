"""Frozen outputs of the reducers and of whole-log replay (FR-006, FR-007; specification section 6).

Every result has ``to_dict()`` (JSON-ready, canonical ordering) and
``to_json()`` (canonical bytes: sorted keys, 2-space indent, newline at the
end), byte-identical for any permutation of the same input. ``repr()`` and
``str()`` are one short line of counts, however large the result:
``ReplayResult(48 events, 3 connectors, 3 links, 0 anomalies)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..contract.lifecycle import (
    ConnectorState,
    HealthStatus,
    SyncOutcome,
    checked_include_logs,
)
from ..contract.projection import canonical_dumps, drop_logs, drop_state_logs, section6_form
from ..contract.version import CONTRACT_VERSION
from ..contract.words import plural

__all__ = [
    "Anomaly",
    "ConnectorProjection",
    "DeliveryState",
    "ExternalLink",
    "LinkIndex",
    "ReducedConnectorState",
    "ReducedSyncState",
    "ReplayResult",
    "ReverseIndexEntry",
    "SyncProjection",
]

_FROZEN: Final = ConfigDict(frozen=True)


def _anomalyplural(anomalies: tuple[Anomaly, ...]) -> str:
    return plural(len(anomalies), "anomaly", "anomalies")


class _Result(BaseModel):
    model_config = _FROZEN
    # A per-connector state holds its logs itself; any other result, in its states.
    _is_state: ClassVar[bool] = False

    def _summary(self) -> str:
        return ""

    def __repr__(self) -> str:
        """``ClassName(short summary)``: counts, never the whole content."""
        return f"{type(self).__name__}({self._summary()})"

    def __str__(self) -> str:
        """The short summary alone, e.g. ``48 events, 3 connectors, 3 links, 0 anomalies``."""
        return self._summary()

    def to_dict(self, *, include_logs: bool = True) -> dict[str, Any]:
        """JSON-ready form; ``include_logs=False`` drops transition/outcome logs and deliveries.

        Logs that were not kept (None: replayed with ``include_logs=False``)
        are left out either way, as ``connector-sync replay --no-logs``
        leaves them out.
        """
        data = self.model_dump(mode="json")
        drop = drop_state_logs if self._is_state else drop_logs
        drop(data, unkept_only=checked_include_logs(include_logs))
        return data

    def to_json(self, *, include_logs: bool = True) -> bytes:
        """Canonical JSON bytes of ``to_dict()``."""
        return canonical_dumps(self.to_dict(include_logs=include_logs))


class Anomaly(BaseModel):
    """Something a reducer noticed and recorded instead of failing."""

    model_config = _FROZEN

    kind: str = Field(description="Stable anomaly kind, e.g. invalid_transition.")
    event_id: str | None = Field(description="Event that caused it, when one can be named.")
    message: str = Field(description="Human-readable explanation.")


class ReducedConnectorState(_Result):
    """Projection of one connector's lifecycle (FR-006)."""

    _is_state: ClassVar[bool] = True

    connector_id: str = Field(description="Connector this state belongs to.")
    connector_type: str | None = Field(description="From the first accepted event.")
    provider: str | None = Field(description="From the first accepted event.")
    mission_id: str | None = Field(description="From the first accepted event.")
    current_state: ConnectorState | None = Field(
        description="Lifecycle state; null when no transition was ever applied."
    )
    last_transition_at: datetime | None = Field(
        description="recorded_at of the last applied transition."
    )
    last_health_check_at: datetime | None = Field(
        description="recorded_at of the last applied health check."
    )
    last_health_status: HealthStatus | None = Field(
        description="health_status of the last applied health check."
    )
    last_latency_ms: float | None = Field(
        description="latency_ms of the last applied health check."
    )
    event_count: int = Field(description="This connector's family events after dedup.")
    transition_log: tuple[tuple[str, ConnectorState], ...] | None = Field(
        description="(event_id, state) of each applied transition, in order; null when omitted."
    )
    anomalies: tuple[Anomaly, ...] = Field(description="Anomalies in fold order.")

    def _summary(self) -> str:
        state = "no state" if self.current_state is None else str(self.current_state)
        health = "none" if self.last_health_status is None else str(self.last_health_status)
        return (
            f"{self.connector_id}: {state}, health {health}, "
            f"{plural(self.event_count, 'event')}, {_anomalyplural(self.anomalies)}"
        )


class DeliveryState(BaseModel):
    """Lifecycle of one delivery key (delivery_id, source_event_fingerprint)."""

    model_config = _FROZEN

    delivery_id: str = Field(description="First half of the delivery key.")
    source_event_fingerprint: str = Field(description="Second half of the delivery key.")
    status: SyncOutcome = Field(description="Outcome of the last applied event of the key.")
    attempts: int = Field(description="Applied retry and terminal events of the key.")
    last_event_id: str = Field(description="Last applied event of the key.")


class ReducedSyncState(_Result):
    """Projection of one connector's sync deliveries (FR-007)."""

    _is_state: ClassVar[bool] = True

    connector_id: str = Field(description="Connector this state belongs to.")
    outcome_counts: dict[SyncOutcome, int] = Field(
        description="Applied events per outcome; every outcome is present."
    )
    ingested_items: int = Field(description="Sum of ingested_count over applied acceptances.")
    replayed_items: int = Field(description="Sum of replayed_count over applied replays.")
    pending_retries: int = Field(
        description=(
            "Delivery keys still retrying at the end: a retry applied and no terminal "
            "outcome (a replay_completed is not terminal)."
        )
    )
    outcome_log: tuple[tuple[str, SyncOutcome, str], ...] | None = Field(
        description="(event_id, outcome, delivery_id) of each applied event; null when omitted."
    )
    deliveries: tuple[DeliveryState, ...] | None = Field(
        description="One entry per delivery key, ordered by key; null when omitted."
    )
    anomalies: tuple[Anomaly, ...] = Field(description="Anomalies in fold order.")

    def _summary(self) -> str:
        counts = ", ".join(
            f"{self.outcome_counts.get(outcome, 0):,} {outcome}" for outcome in SyncOutcome
        )
        return (
            f"{self.connector_id}: {counts}, {self.pending_retries:,} pending, "
            f"{_anomalyplural(self.anomalies)}"
        )


class ExternalLink(BaseModel):
    """An accepted link in the external reference index (FR-005)."""

    model_config = _FROZEN

    event_id: str = Field(description="Event that created the link.")
    link_id: str = Field(description="Identifier of the link.")
    connector_id: str = Field(description="Connector that observed the reference.")
    external_provider: str = Field(description="External system.")
    external_ref_type: str = Field(description="Kind of external object.")
    external_ref_id: str = Field(description="Identifier of the external object.")
    external_ref_url: str = Field(description="URL of the external object.")
    internal_aggregate_type: str = Field(description="Kind of internal aggregate.")
    internal_aggregate_id: str = Field(description="Identifier of the internal aggregate.")
    mission_id: str = Field(description="Mission the link belongs to.")
    linked_by: str = Field(description="Who or what created the link.")
    recorded_at: datetime = Field(description="When the link was recorded (UTC).")


class ReverseIndexEntry(BaseModel):
    """All external references bound to one internal aggregate."""

    model_config = _FROZEN

    internal_aggregate_type: str = Field(description="Kind of internal aggregate.")
    internal_aggregate_id: str = Field(description="Identifier of the internal aggregate.")
    external_refs: tuple[tuple[str, str, str], ...] = Field(
        description="(external_provider, external_ref_type, external_ref_id) keys, ordered."
    )


class _Counts(_Result):
    def _parts(self) -> list[str]:
        return []

    def _all_anomalies(self) -> int:
        return len(self.anomalies)

    def _summary(self) -> str:
        parts = [plural(self.event_count, "event"), *self._parts()]
        parts.append(plural(self._all_anomalies(), "anomaly", "anomalies"))
        return ", ".join(parts)

    event_count: int = Field(description="Distinct events after dedup by event_id.")
    duplicates_dropped: int = Field(description="Identical duplicate copies dropped.")
    ignored_event_count: int = Field(description="Valid events of other families, not reduced.")
    anomalies: tuple[Anomaly, ...] = Field(
        description="Stream-level anomalies ordered by (kind, event_id, message)."
    )


class LinkIndex(_Counts):
    """The external reference index: links by key and the reverse index (FR-005).

    Its link anomalies are ``link_anomalies``, written as ``anomalies`` under
    ``external_links`` in the JSON of a whole-log replay (specification
    section 6); its own ``anomalies`` are stream-level, empty inside a
    ``ReplayResult`` (whose ``anomalies`` are the stream's).
    """

    links: tuple[ExternalLink, ...] = Field(
        description="Accepted links ordered by (external_provider, external_ref_type, "
        "external_ref_id)."
    )
    reverse_index: tuple[ReverseIndexEntry, ...] = Field(
        description="Internal aggregate -> its external keys, ordered by aggregate."
    )
    link_anomalies: tuple[Anomaly, ...] = Field(
        description="conflicting_link, link_id_reused and malformed link payloads, in fold "
        "order (external_links.anomalies in a whole-log replay's JSON)."
    )

    def _parts(self) -> list[str]:
        return [plural(len(self.links), "link")]

    def _all_anomalies(self) -> int:
        return len(self.anomalies) + len(self.link_anomalies)


class ConnectorProjection(_Counts):
    """Result of ``reduce_connector_events``: every connector's state, keyed by id."""

    connectors: dict[str, ReducedConnectorState] = Field(
        description="Per-connector lifecycle, ordered by connector_id."
    )

    def _parts(self) -> list[str]:
        return [plural(len(self.connectors), "connector")]

    def _all_anomalies(self) -> int:
        return len(self.anomalies) + sum(len(s.anomalies) for s in self.connectors.values())


class SyncProjection(_Counts):
    """Result of ``reduce_sync_events``: every connector's delivery state, keyed by id."""

    sync: dict[str, ReducedSyncState] = Field(
        description="Per-connector sync state, ordered by connector_id."
    )

    def _parts(self) -> list[str]:
        return [plural(len(self.sync), "connector")]

    def _all_anomalies(self) -> int:
        return len(self.anomalies) + sum(len(s.anomalies) for s in self.sync.values())


class ReplayResult(_Counts):
    """Result of whole-log ``replay``: connectors, sync, links and stream anomalies."""

    contract_version: str = Field(
        default=CONTRACT_VERSION, description="Contract version that produced this result."
    )
    connectors: dict[str, ReducedConnectorState] = Field(
        description="Per-connector lifecycle, ordered by connector_id."
    )
    sync: dict[str, ReducedSyncState] = Field(
        description="Per-connector sync state, ordered by connector_id."
    )
    external_links: LinkIndex = Field(description="The external reference index.")

    def _parts(self) -> list[str]:
        connectors = len(set(self.connectors) | set(self.sync))
        return [plural(connectors, "connector"), plural(len(self.external_links.links), "link")]

    def _all_anomalies(self) -> int:
        return (
            len(self.anomalies)
            + len(self.external_links.link_anomalies)
            + sum(len(s.anomalies) for s in self.connectors.values())
            + sum(len(s.anomalies) for s in self.sync.values())
        )

    def to_dict(self, *, include_logs: bool = True) -> dict[str, Any]:
        """The section 6 JSON form; ``include_logs=False`` drops the per-event logs.

        Logs that were not kept (None) are left out either way.
        """
        return section6_form(self.model_dump(mode="json"), include_logs=include_logs)


# ---------------------------------------------------------------- results from the engine
#
# The fold hands over its states as plain data whose values already have the
# fields' types (enum members, UTC datetimes, tuples). Validating that data
# again would cost more than the fold itself, so the results are assembled
# without validation. ``_made`` does what ``model_construct`` does for these
# models (every field given in the model's order, no aliases, defaults,
# extras or private attributes) without its per-field loop, which costs
# microseconds per delivery. ``_made_all`` makes a batch in one call to the
# compiled core's ``instances`` when it is built (``_made`` in C: a tenth of
# the time for the tens of thousands of deliveries of a large log). Tests
# check, with either maker, that the outcome equals ``model_validate`` of the
# same data and ``model_construct``, field for field and in field order.

_setattr: Final = object.__setattr__
_M = TypeVar("_M", bound=BaseModel)


def _made(cls: type[_M], fields: dict[str, Any]) -> _M:
    made = cls.__new__(cls)
    _setattr(made, "__dict__", fields)
    _setattr(made, "__pydantic_fields_set__", set(fields))
    _setattr(made, "__pydantic_extra__", None)
    _setattr(made, "__pydantic_private__", None)
    return made


def _made_all(cls: type[_M], dicts: Any) -> tuple[_M, ...]:
    """``_made`` of each dict; in one call to the compiled core when it is built."""
    if not dicts:  # most states have no anomalies: skip looking up the maker
        return ()
    from .._engine.native import model_maker

    maker = model_maker()
    if maker is not None:
        made: tuple[_M, ...] = maker(cls, dicts)
        return made
    return tuple(_made(cls, fields) for fields in dicts)


def _anomalies(items: Any) -> tuple[Anomaly, ...]:
    # Each anomaly's dict becomes its model's own: the reducers make a new
    # dict for every anomaly (the compiled fold too), nothing else holds it
    # once the result is made, and the model is frozen. A log can have an
    # anomaly on every other line, so they are not copied.
    return _made_all(Anomaly, items if isinstance(items, list) else list(items))


def _connectors(states: dict[str, dict[str, Any]]) -> dict[str, ReducedConnectorState]:
    made = _made_all(
        ReducedConnectorState,
        [
            {
                **data,
                "transition_log": None if (log := data["transition_log"]) is None else tuple(log),
                "anomalies": _anomalies(data["anomalies"]),
            }
            for data in states.values()
        ],
    )
    return dict(zip(states, made, strict=True))


_OUTCOMES: Final = {outcome.value: outcome for outcome in SyncOutcome}
"""Each outcome by its value: a dict lookup, where ``SyncOutcome(value)`` is a call."""


def _deliveries(deliveries: Any) -> tuple[DeliveryState, ...] | None:
    """The deliveries' models: made from their dicts, or already made by the compiled fold."""
    if deliveries is None:
        return None
    if deliveries and isinstance(deliveries[0], DeliveryState):
        return tuple(deliveries)
    return _made_all(DeliveryState, deliveries)


def _syncs(states: dict[str, dict[str, Any]]) -> dict[str, ReducedSyncState]:
    made = _made_all(
        ReducedSyncState,
        [
            {
                **data,
                "outcome_counts": {_OUTCOMES[k]: v for k, v in data["outcome_counts"].items()},
                "outcome_log": None if (log := data["outcome_log"]) is None else tuple(log),
                "deliveries": _deliveries(data["deliveries"]),
                "anomalies": _anomalies(data["anomalies"]),
            }
            for data in states.values()
        ],
    )
    return dict(zip(states, made, strict=True))


def _counts(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_count": data["event_count"],
        "duplicates_dropped": data["duplicates_dropped"],
        "ignored_event_count": data["ignored_event_count"],
        "anomalies": _anomalies(data["anomalies"]),
    }


def link_index_from_data(data: dict[str, Any]) -> LinkIndex:
    """A ``LinkIndex`` from the fold's plain data (see the note above)."""
    return LinkIndex.model_construct(
        **_counts(data),
        # As with the anomalies: each link's dict is made for this result (the
        # compiled fold's, or LinkFact.link_fields), so it becomes its model's own.
        links=_made_all(ExternalLink, list(data["links"])),
        reverse_index=_made_all(
            ReverseIndexEntry,
            [
                {
                    "internal_aggregate_type": entry["internal_aggregate_type"],
                    "internal_aggregate_id": entry["internal_aggregate_id"],
                    "external_refs": tuple(map(tuple, entry["external_refs"])),
                }
                for entry in data["reverse_index"]
            ],
        ),
        link_anomalies=_anomalies(data["link_anomalies"]),
    )


def connector_projection_from_data(data: dict[str, Any]) -> ConnectorProjection:
    """A ``ConnectorProjection`` from the fold's plain data (see the note above)."""
    return ConnectorProjection.model_construct(
        **_counts(data),
        connectors=_connectors(data["connectors"]),
    )


def sync_projection_from_data(data: dict[str, Any]) -> SyncProjection:
    """A ``SyncProjection`` from the fold's plain data (see the note above)."""
    return SyncProjection.model_construct(**_counts(data), sync=_syncs(data["sync"]))


def replay_result_from_data(data: dict[str, Any]) -> ReplayResult:
    """A ``ReplayResult`` from the fold's plain data (see the note above)."""
    return ReplayResult.model_construct(
        **_counts(data),
        contract_version=data["contract_version"],
        connectors=_connectors(data["connectors"]),
        sync=_syncs(data["sync"]),
        external_links=link_index_from_data(data["external_links"]),
    )
