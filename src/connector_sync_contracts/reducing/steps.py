"""The reducer steps: folds of one fact into one partition (FR-005, FR-006, FR-007).

A step takes the state of one partition (a connector, or the link index)
and one fact and returns that state: it reads no clock, no random source,
and nothing but its arguments. For speed the state object is updated in
place and handed back; it is private to the fold that owns it, and results
are plain-data copies of it (``data()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final

from ..contract.lifecycle import (
    ALLOWED_TRANSITIONS,
    OBSERVATION_STATES,
    TERMINAL_OUTCOMES,
    ConnectorState,
    HealthStatus,
    SyncOutcome,
)
from .anomalies import (
    SEMANTIC_ANOMALY,
    AnomalyData,
    conflicting_link,
    conflicting_outcome,
    duplicate_delivery,
    identity_changed,
    invalid_transition,
    link_id_reused,
    malformed,
    previous_state_mismatch,
    reconnect_loop,
    retry_after_terminal,
    retry_attempt_regressed,
    retry_budget_exceeded,
    semantic_violation,
)
from .facts import ConnectorFact, LinkFact, MalformedFact, SyncFact

__all__ = [
    "DELIVERY_FIELDS",
    "ConnectorAcc",
    "LinkAcc",
    "SyncAcc",
    "connector_step",
    "link_step",
    "sync_step",
]

DELIVERY_FIELDS: Final = (
    "delivery_id",
    "source_event_fingerprint",
    "status",
    "attempts",
    "last_event_id",
)
"""The fields of a delivery's plain data (``results.DeliveryState``), in order; deliveries
are ordered by their key, the first two."""


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(timezone.utc)


def _float_or_none(value: float | None) -> float | None:
    # + 0.0 writes a negative zero as 0.0, in every engine (specification section 8).
    return None if value is None else float(value) + 0.0


@dataclass(slots=True)
class ConnectorAcc:
    """Mutable fold state of one connector; see ``ReducedConnectorState``."""

    connector_id: str
    keep_logs: bool
    max_reconnect_cycles: int
    connector_type: str | None = None
    provider: str | None = None
    mission_id: str | None = None
    state: ConnectorState | None = None
    last_transition_at: datetime | None = None
    last_health_check_at: datetime | None = None
    last_health_status: HealthStatus | None = None
    last_latency_ms: float | None = None
    event_count: int = 0
    reconnects_since_healthy: int = 0
    transition_log: list[tuple[str, ConnectorState]] = field(default_factory=list)
    anomalies: list[AnomalyData] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        """This state as plain data: the fields of ``results.ReducedConnectorState``."""
        return {
            "connector_id": self.connector_id,
            "connector_type": self.connector_type,
            "provider": self.provider,
            "mission_id": self.mission_id,
            "current_state": self.state,
            "last_transition_at": _utc_or_none(self.last_transition_at),
            "last_health_check_at": _utc_or_none(self.last_health_check_at),
            "last_health_status": self.last_health_status,
            # A model-path payload may hold an int here; the result's field is a float.
            "last_latency_ms": _float_or_none(self.last_latency_ms),
            "event_count": self.event_count,
            "transition_log": tuple(self.transition_log) if self.keep_logs else None,
            "anomalies": list(self.anomalies),
        }


def connector_step(acc: ConnectorAcc, fact: ConnectorFact | MalformedFact) -> ConnectorAcc:
    """Fold one connector fact into ``acc`` (FR-006) and return it."""
    acc.event_count += 1
    if isinstance(fact, MalformedFact):
        acc.anomalies.append(malformed(fact))
        return acc
    eid = fact.event_id
    if acc.provider is not None and (
        fact.provider != acc.provider or fact.connector_type != acc.connector_type
    ):
        acc.anomalies.append(
            identity_changed(
                eid, fact.provider, fact.connector_type, acc.provider, acc.connector_type or ""
            )
        )
    for code in fact.broken_rules:
        acc.anomalies.append(semantic_violation(eid, code))
    current, target = acc.state, fact.target
    if current is target and target in OBSERVATION_STATES:
        _observe_health(acc, fact)
        return acc
    if target not in ALLOWED_TRANSITIONS[current]:
        acc.anomalies.append(
            invalid_transition(eid, fact.event_type, _value(current), target.value)
        )
        return acc
    # Only a reconnect names the state it leaves (its catalogue role).
    if fact.previous_state is not None and fact.previous_state is not current:
        acc.anomalies.append(
            previous_state_mismatch(eid, fact.previous_state.value, _value(current))
        )
    acc.state = target
    acc.last_transition_at = fact.recorded_at
    if acc.provider is None:
        # Identity comes from the first accepted (applied) event: an event that is
        # not applied, such as a health check before provisioning, must not decide it.
        acc.connector_type, acc.provider, acc.mission_id = (
            fact.connector_type,
            fact.provider,
            fact.mission_id,
        )
    if acc.keep_logs:
        acc.transition_log.append((eid, target))
    if target is ConnectorState.RECONNECTED:
        acc.reconnects_since_healthy += 1
        if acc.reconnects_since_healthy > acc.max_reconnect_cycles:
            acc.anomalies.append(
                reconnect_loop(eid, acc.reconnects_since_healthy, acc.max_reconnect_cycles)
            )
    elif target is ConnectorState.HEALTHY:
        acc.reconnects_since_healthy = 0
    _observe_health(acc, fact)
    return acc


def _value(state: ConnectorState | None) -> str | None:
    return None if state is None else state.value


def _observe_health(acc: ConnectorAcc, fact: ConnectorFact) -> None:
    # Only a health check carries a status (its catalogue role).
    if fact.health_status is not None:
        acc.last_health_check_at = fact.recorded_at
        acc.last_health_status = fact.health_status
        acc.last_latency_ms = fact.latency_ms


# --------------------------------------------------------------------------- sync


@dataclass(slots=True)
class _Delivery:
    status: SyncOutcome
    terminal: SyncOutcome | None = None
    last_retry: int = 0
    replayed: bool = False
    attempts: int = 0
    last_event_id: str = ""


@dataclass(slots=True)
class SyncAcc:
    """Mutable fold state of one connector's deliveries; see ``ReducedSyncState``."""

    connector_id: str
    keep_logs: bool
    counts: dict[SyncOutcome, int] = field(default_factory=lambda: dict.fromkeys(SyncOutcome, 0))
    ingested_items: int = 0
    replayed_items: int = 0
    deliveries: dict[tuple[str, str], _Delivery] = field(default_factory=dict)
    outcome_log: list[tuple[str, SyncOutcome, str]] = field(default_factory=list)
    anomalies: list[AnomalyData] = field(default_factory=list)
    known_pending: int | None = None
    """Pending retries counted by the compiled fold, which keeps its deliveries to itself."""

    def data(self) -> dict[str, Any]:
        """This state as plain data: the fields of ``results.ReducedSyncState``."""
        deliveries = None
        if self.keep_logs:
            deliveries = tuple(
                dict(
                    zip(DELIVERY_FIELDS, (*key, d.status, d.attempts, d.last_event_id), strict=True)
                )
                for key, d in sorted(self.deliveries.items())
            )
        return {
            "connector_id": self.connector_id,
            "outcome_counts": {outcome.value: count for outcome, count in self.counts.items()},
            "ingested_items": self.ingested_items,
            "replayed_items": self.replayed_items,
            "pending_retries": self.known_pending
            if self.known_pending is not None
            else sum(
                1 for d in self.deliveries.values() if d.terminal is None and d.last_retry > 0
            ),
            "outcome_log": tuple(self.outcome_log) if self.keep_logs else None,
            "deliveries": deliveries,
            "anomalies": list(self.anomalies),
        }


def _semantic_violations(acc: SyncAcc, fact: SyncFact) -> None:
    """A ``semantic_violation`` per broken rule of a sync event being applied.

    Section 8: a skipped sync event (a duplicate, a regressed retry, one
    after its delivery's terminal outcome) records only the skip's own
    anomaly, and the retry budget has its own kind (``retry_budget_exceeded``).
    """
    for code in fact.broken_rules:
        if code not in SEMANTIC_ANOMALY:
            acc.anomalies.append(semantic_violation(fact.event_id, code))


def sync_step(acc: SyncAcc, fact: SyncFact | MalformedFact) -> SyncAcc:
    """Fold one sync fact into ``acc`` (FR-007, per-delivery lifecycle) and return it."""
    if isinstance(fact, MalformedFact):
        acc.anomalies.append(malformed(fact))
        return acc
    eid = fact.event_id
    key = (fact.delivery_id, fact.fingerprint)
    delivery = acc.deliveries.get(key)
    outcome = fact.outcome
    if outcome is SyncOutcome.REPLAY_COMPLETED:
        if delivery is not None and delivery.replayed:
            acc.anomalies.append(duplicate_delivery(eid, *key, "replay"))
            return acc
        _semantic_violations(acc, fact)
        if delivery is None:
            delivery = acc.deliveries[key] = _Delivery(status=outcome)
        delivery.replayed = True
        acc.replayed_items += fact.replayed_count
    elif outcome is SyncOutcome.RETRY_SCHEDULED:
        if delivery is not None:
            if delivery.terminal is not None:
                acc.anomalies.append(retry_after_terminal(eid, *key, delivery.terminal.value))
                return acc
            if fact.retry_attempt == delivery.last_retry:
                acc.anomalies.append(duplicate_delivery(eid, *key, "retry", fact.retry_attempt))
                return acc
            if fact.retry_attempt < delivery.last_retry:
                acc.anomalies.append(
                    retry_attempt_regressed(eid, *key, fact.retry_attempt, delivery.last_retry)
                )
                return acc
        else:
            delivery = acc.deliveries[key] = _Delivery(status=outcome)
        # Reported only here, once the retry is known to be applied: a skipped copy
        # of an over-budget retry is a skip, not another overrun (section 8).
        _semantic_violations(acc, fact)
        for code in fact.broken_rules:
            if code in SEMANTIC_ANOMALY:
                acc.anomalies.append(retry_budget_exceeded(eid, code))
        delivery.last_retry = fact.retry_attempt
        delivery.attempts += 1
    else:
        assert outcome in TERMINAL_OUTCOMES
        if delivery is not None and delivery.terminal is not None:
            if delivery.terminal is outcome:
                acc.anomalies.append(duplicate_delivery(eid, *key, "terminal", outcome.value))
            else:
                acc.anomalies.append(
                    conflicting_outcome(eid, *key, outcome.value, delivery.terminal.value)
                )
            return acc
        _semantic_violations(acc, fact)
        if delivery is None:
            delivery = acc.deliveries[key] = _Delivery(status=outcome)
        delivery.terminal = outcome
        delivery.attempts += 1
        acc.ingested_items += fact.ingested_count
    delivery.status = outcome
    delivery.last_event_id = eid
    acc.counts[outcome] += 1
    if acc.keep_logs:
        acc.outcome_log.append((eid, outcome, fact.delivery_id))
    return acc


# --------------------------------------------------------------------------- links


LinkKey = tuple[str, str, str]
"""A link's key: (external_provider, external_ref_type, external_ref_id)."""

ReverseEntry = tuple[str, str, list[LinkKey]]
"""(internal_aggregate_type, internal_aggregate_id, its keys in key order)."""


@dataclass(slots=True)
class LinkAcc:
    """Mutable fold state of the external reference index.

    The compiled fold hands over its finished index instead (``folded``):
    the links' data in key order and the reverse index, as ``data`` would
    make them from ``links``. For a caller that only writes the canonical
    JSON it hands over that JSON instead (``rendered``: the ``links`` and
    ``reverse_index`` values as ``contract.projection.JSONText``).
    """

    links: dict[LinkKey, LinkFact] = field(default_factory=dict)
    link_ids: dict[str, LinkKey] = field(default_factory=dict)
    anomalies: list[AnomalyData] = field(default_factory=list)
    folded: tuple[list[dict[str, Any]], list[ReverseEntry]] | None = None
    rendered: tuple[Any, Any] | None = None

    def data(
        self, counts: tuple[int, int, int], stream_anomalies: Sequence[AnomalyData]
    ) -> dict[str, Any]:
        """The index as plain data (the fields of ``results.LinkIndex``), with the given
        counts and stream-level anomalies."""
        links: Any
        reverse_index: Any
        if self.rendered is not None:
            links, reverse_index = self.rendered
        else:
            links, reverse = self.folded if self.folded is not None else self._index()
            reverse_index = [
                {
                    "internal_aggregate_type": aggregate_type,
                    "internal_aggregate_id": aggregate_id,
                    "external_refs": keys,
                }
                for aggregate_type, aggregate_id, keys in reverse
            ]
        return {
            "event_count": counts[0],
            "duplicates_dropped": counts[1],
            "ignored_event_count": counts[2],
            "anomalies": list(stream_anomalies),
            "links": links,
            "reverse_index": reverse_index,
            "link_anomalies": list(self.anomalies),
        }

    def _index(self) -> tuple[list[dict[str, Any]], list[ReverseEntry]]:
        # In key order, so each aggregate's references come out sorted too.
        ordered = sorted(self.links.items(), key=_link_key)
        reverse: dict[tuple[str, str], list[LinkKey]] = {}
        for key, link in ordered:
            aggregate = (link.internal_aggregate_type, link.internal_aggregate_id)
            refs = reverse.get(aggregate)
            if refs is None:
                reverse[aggregate] = [key]
            else:
                refs.append(key)
        return (
            [link.link_fields() for _, link in ordered],
            [(agg[0], agg[1], keys) for agg, keys in sorted(reverse.items())],
        )


def _link_key(item: tuple[LinkKey, LinkFact]) -> LinkKey:
    return item[0]


def link_step(acc: LinkAcc, fact: LinkFact | MalformedFact) -> LinkAcc:
    """Fold one link fact into the index (FR-005: first link of a key wins) and return it."""
    if isinstance(fact, MalformedFact):
        acc.anomalies.append(malformed(fact))
        return acc
    link = fact
    key = (link.external_provider, link.external_ref_type, link.external_ref_id)
    owner = acc.link_ids.get(link.link_id)
    if owner is not None and owner != key:
        acc.anomalies.append(link_id_reused(fact.event_id, link.link_id, *owner))
        return acc
    existing = acc.links.get(key)
    if existing is None:
        acc.links[key] = link
        acc.link_ids[link.link_id] = key
    elif (existing.internal_aggregate_type, existing.internal_aggregate_id) != (
        link.internal_aggregate_type,
        link.internal_aggregate_id,
    ):
        acc.anomalies.append(
            conflicting_link(
                fact.event_id,
                *key,
                existing.internal_aggregate_type,
                existing.internal_aggregate_id,
                link.internal_aggregate_type,
                link.internal_aggregate_id,
            )
        )
    return acc
