"""The reducer core: compact facts, pure-by-contract steps and one fold (FR-006, FR-007).

A *fact* is the part of a validated event that a reducer needs; both the
pydantic path and the fast ``msgspec`` path produce the same facts, so the
steps below are the only place behaviour is decided. A step takes the state
of one partition and one fact and returns that state: it reads no clock, no
random source, and nothing but its arguments. For speed the state object is
updated in place and handed back; it is private to the fold that owns it,
and results are plain-data copies of it, which the public API turns into
frozen pydantic results (``reducers``) and the command line writes as JSON.

``Engine`` holds the partitioned states and is shared by batch replay (which
dedups, sorts, then folds) and incremental ``Projection.apply`` (which folds
as events arrive), so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypedDict, TypeVar

import msgspec

from ._vocab import (
    ALLOWED_TRANSITIONS,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_RECONNECTED,
    CONTRACT_VERSION,
    OBSERVATION_STATES,
    SEMANTIC_RULES,
    TERMINAL_OUTCOMES,
    ConnectorState,
    Family,
    HealthStatus,
    SemanticRule,
    SyncOutcome,
)

if TYPE_CHECKING:
    from .envelope import SortKey

__all__ = [
    "EPOCH",
    "MICROSECOND",
    "AnomalyData",
    "ConnectorFact",
    "Dedup",
    "Engine",
    "Fact",
    "LinkFact",
    "MalformedFact",
    "SyncFact",
    "anomaly",
    "anomaly_order",
    "conflicting_duplicate",
    "semantic_failures",
]

T = TypeVar("T")

EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
"""The Unix epoch as an aware datetime."""
MICROSECOND: Final = timedelta(microseconds=1)
"""One microsecond; ``(t - EPOCH) // MICROSECOND`` is an exact integer instant."""


class AnomalyData(TypedDict):
    """An anomaly as plain data: the fields of ``results.Anomaly``."""

    kind: str
    event_id: str | None
    message: str


def anomaly(*, kind: str, event_id: str | None, message: str) -> AnomalyData:
    """Something a reducer noticed and recorded instead of failing (see ``results.Anomaly``)."""
    return {"kind": kind, "event_id": event_id, "message": message}


def anomaly_order(item: AnomalyData) -> tuple[str, str, str]:
    """Order of stream-level anomalies: (kind, event_id, message)."""
    return (item["kind"], item["event_id"] or "", item["message"])


_SEMANTIC_ANOMALY: Final = {"retry_attempt_exceeds_max_retries": "retry_budget_exceeded"}
_RULES_BY_TYPE: Final[dict[str, tuple[SemanticRule, ...]]] = {}
for _rule in SEMANTIC_RULES:
    _RULES_BY_TYPE[_rule.event_type] = (*_RULES_BY_TYPE.get(_rule.event_type, ()), _rule)


def semantic_failures(event_type: str, payload: object) -> tuple[SemanticRule, ...]:
    """The semantic rules of ``event_type`` that a model-valid ``payload`` breaks."""
    rules = _RULES_BY_TYPE.get(event_type)
    if not rules:
        return ()
    return tuple(
        rule for rule in rules if getattr(payload, rule.earlier) > getattr(payload, rule.later)
    )


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


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(timezone.utc)


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def _malformed(fact: MalformedFact) -> AnomalyData:
    return anomaly(kind="malformed_payload", event_id=fact.event_id, message=fact.message)


def _describe_rule(code: str) -> str:
    for rule in SEMANTIC_RULES:
        if rule.code == code:
            return f"{rule.code}: {rule.message}"
    return code


# --------------------------------------------------------------------------- connector


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
        acc.anomalies.append(_malformed(fact))
        return acc
    eid = fact.event_id
    if acc.provider is not None and (
        fact.provider != acc.provider or fact.connector_type != acc.connector_type
    ):
        acc.anomalies.append(
            anomaly(
                kind="identity_changed",
                event_id=eid,
                message=f"provider/connector_type {fact.provider}/{fact.connector_type} differs "
                f"from the first accepted {acc.provider}/{acc.connector_type}; first values kept",
            )
        )
    for code in fact.broken_rules:
        acc.anomalies.append(
            anomaly(kind="semantic_violation", event_id=eid, message=_describe_rule(code))
        )
    current, target = acc.state, fact.target
    if current is target and target in OBSERVATION_STATES:
        _observe_health(acc, fact)
        return acc
    if target not in ALLOWED_TRANSITIONS[current]:
        shown = current.value if current is not None else "none"
        acc.anomalies.append(
            anomaly(
                kind="invalid_transition",
                event_id=eid,
                message=f"{fact.event_type} cannot move {shown} -> {target.value}; not applied",
            )
        )
        return acc
    if fact.event_type == CONNECTOR_RECONNECTED and fact.previous_state is not current:
        claimed = fact.previous_state.value if fact.previous_state is not None else "none"
        shown = current.value if current is not None else "none"
        acc.anomalies.append(
            anomaly(
                kind="previous_state_mismatch",
                event_id=eid,
                message=f"previous_state {claimed} but the connector was {shown}; applied",
            )
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
                anomaly(
                    kind="reconnect_loop",
                    event_id=eid,
                    message=f"{acc.reconnects_since_healthy} reconnects without reaching healthy "
                    f"(limit {acc.max_reconnect_cycles}); applied",
                )
            )
    elif target is ConnectorState.HEALTHY:
        acc.reconnects_since_healthy = 0
    _observe_health(acc, fact)
    return acc


def _observe_health(acc: ConnectorAcc, fact: ConnectorFact) -> None:
    if fact.event_type == CONNECTOR_HEALTH_CHECKED:
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
                {
                    "delivery_id": key[0],
                    "source_event_fingerprint": key[1],
                    "status": d.status,
                    "attempts": d.attempts,
                    "last_event_id": d.last_event_id,
                }
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


def _skip(acc: SyncAcc, kind: str, fact: SyncFact, why: str) -> SyncAcc:
    acc.anomalies.append(
        anomaly(
            kind=kind,
            event_id=fact.event_id,
            message=f"delivery {fact.delivery_id} ({fact.fingerprint}): {why}; skipped",
        )
    )
    return acc


def sync_step(acc: SyncAcc, fact: SyncFact | MalformedFact) -> SyncAcc:
    """Fold one sync fact into ``acc`` (FR-007, per-delivery lifecycle) and return it."""
    if isinstance(fact, MalformedFact):
        acc.anomalies.append(_malformed(fact))
        return acc
    for code in fact.broken_rules:
        if code not in _SEMANTIC_ANOMALY:
            acc.anomalies.append(
                anomaly(
                    kind="semantic_violation", event_id=fact.event_id, message=_describe_rule(code)
                )
            )
    key = (fact.delivery_id, fact.fingerprint)
    delivery = acc.deliveries.get(key)
    outcome = fact.outcome
    if outcome is SyncOutcome.REPLAY_COMPLETED:
        if delivery is not None and delivery.replayed:
            return _skip(acc, "duplicate_delivery", fact, "replay already completed")
        if delivery is None:
            delivery = acc.deliveries[key] = _Delivery(status=outcome)
        delivery.replayed = True
        acc.replayed_items += fact.replayed_count
    elif outcome is SyncOutcome.RETRY_SCHEDULED:
        if delivery is not None:
            if delivery.terminal is not None:
                return _skip(
                    acc, "retry_after_terminal", fact, f"already {delivery.terminal.value}"
                )
            if fact.retry_attempt == delivery.last_retry:
                return _skip(
                    acc, "duplicate_delivery", fact, f"retry {fact.retry_attempt} already seen"
                )
            if fact.retry_attempt < delivery.last_retry:
                return _skip(
                    acc,
                    "retry_attempt_regressed",
                    fact,
                    f"retry {fact.retry_attempt} after retry {delivery.last_retry}",
                )
        else:
            delivery = acc.deliveries[key] = _Delivery(status=outcome)
        # Reported only here, once the retry is known to be applied: a skipped copy
        # of an over-budget retry is a skip, not another overrun.
        for code in fact.broken_rules:
            if code in _SEMANTIC_ANOMALY:
                acc.anomalies.append(
                    anomaly(
                        kind=_SEMANTIC_ANOMALY[code],
                        event_id=fact.event_id,
                        message=_describe_rule(code) + "; applied",
                    )
                )
        delivery.last_retry = fact.retry_attempt
        delivery.attempts += 1
    else:
        assert outcome in TERMINAL_OUTCOMES
        if delivery is not None and delivery.terminal is not None:
            if delivery.terminal is outcome:
                return _skip(acc, "duplicate_delivery", fact, f"already {outcome.value}")
            return _skip(
                acc,
                "conflicting_outcome",
                fact,
                f"{outcome.value} after terminal {delivery.terminal.value}",
            )
        if delivery is None:
            delivery = acc.deliveries[key] = _Delivery(status=outcome)
        delivery.terminal = outcome
        delivery.attempts += 1
        acc.ingested_items += fact.ingested_count
    delivery.status = outcome
    delivery.last_event_id = fact.event_id
    acc.counts[outcome] += 1
    if acc.keep_logs:
        acc.outcome_log.append((fact.event_id, outcome, fact.delivery_id))
    return acc


# --------------------------------------------------------------------------- links


@dataclass(slots=True)
class LinkAcc:
    """Mutable fold state of the external reference index."""

    links: dict[tuple[str, str, str], LinkFact] = field(default_factory=dict)
    link_ids: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    anomalies: list[AnomalyData] = field(default_factory=list)

    def data(
        self, counts: tuple[int, int, int], stream_anomalies: Sequence[AnomalyData]
    ) -> dict[str, Any]:
        """The index as plain data (the fields of ``results.LinkIndex``), with the given
        counts and stream-level anomalies."""
        reverse: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for key, link in self.links.items():
            reverse.setdefault(
                (link.internal_aggregate_type, link.internal_aggregate_id), []
            ).append(key)
        return {
            "event_count": counts[0],
            "duplicates_dropped": counts[1],
            "ignored_event_count": counts[2],
            "anomalies": list(stream_anomalies),
            "links": [self.links[key].link_fields() for key in sorted(self.links)],
            "reverse_index": [
                {
                    "internal_aggregate_type": agg[0],
                    "internal_aggregate_id": agg[1],
                    "external_refs": sorted(keys),
                }
                for agg, keys in sorted(reverse.items())
            ],
            "link_anomalies": list(self.anomalies),
        }


def link_step(acc: LinkAcc, fact: LinkFact | MalformedFact) -> LinkAcc:
    """Fold one link fact into the index (FR-005: first link of a key wins) and return it."""
    if isinstance(fact, MalformedFact):
        acc.anomalies.append(_malformed(fact))
        return acc
    link = fact
    key = (link.external_provider, link.external_ref_type, link.external_ref_id)
    owner = acc.link_ids.get(link.link_id)
    if owner is not None and owner != key:
        acc.anomalies.append(
            anomaly(
                kind="link_id_reused",
                event_id=fact.event_id,
                message=f"link_id {link.link_id} already names {'/'.join(owner)}; skipped",
            )
        )
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
            anomaly(
                kind="conflicting_link",
                event_id=fact.event_id,
                message=f"{'/'.join(key)} is linked to {existing.internal_aggregate_type} "
                f"{existing.internal_aggregate_id}, not {link.internal_aggregate_type} "
                f"{link.internal_aggregate_id}; skipped",
            )
        )
    return acc


# --------------------------------------------------------------------------- dedup


class Dedup(Generic[T]):
    """Deduplication by event_id that does not depend on input order (section 2).

    ``identity`` is equal exactly for identical content (the canonical JSON
    bytes). Among differing copies the winner is the one with the smallest
    (sort key, identity); ``item`` is whatever the caller folds for a winner.
    """

    __slots__ = ("conflicts", "offered", "winners")

    def __init__(self) -> None:
        self.winners: dict[str, tuple[SortKey, bytes, T]] = {}
        self.conflicts: dict[str, set[bytes]] = {}
        self.offered = 0

    def offer(
        self, event_id: str, key: SortKey, identity: bytes, item: T
    ) -> Literal["new", "identical", "conflict"]:
        """Record one copy; return whether it is new, an identical or a differing duplicate."""
        self.offered += 1
        held = self.winners.get(event_id)
        if held is None:
            self.winners[event_id] = (key, identity, item)
            return "new"
        if held[1] == identity:
            return "identical"
        seen = self.conflicts.get(event_id)
        if seen is None:
            seen = self.conflicts[event_id] = {held[1]}
        seen.add(identity)
        if (key, identity) < (held[0], held[1]):
            self.winners[event_id] = (key, identity, item)
        return "conflict"

    def in_order(self) -> list[T]:
        """The winning items in replay order."""
        return [entry[2] for entry in sorted(self.winners.values(), key=_entry_order)]

    @property
    def duplicates_dropped(self) -> int:
        """Identical copies dropped (differing copies are reported as anomalies instead)."""
        distinct = len(self.winners) + sum(len(s) - 1 for s in self.conflicts.values())
        return self.offered - distinct

    def anomalies(self) -> list[AnomalyData]:
        """One ``conflicting_duplicate`` anomaly per event_id seen with differing content."""
        return [conflicting_duplicate(eid, len(seen)) for eid, seen in self.conflicts.items()]


def conflicting_duplicate(event_id: str, versions: int) -> AnomalyData:
    """The stream-level anomaly for an event_id seen with ``versions`` different contents."""
    return anomaly(
        kind="conflicting_duplicate",
        event_id=event_id,
        message=f"{versions} different contents share this event_id; kept the one "
        "with the smallest (sort key, canonical JSON)",
    )


def _entry_order(entry: tuple[SortKey, bytes, object]) -> SortKey:
    return entry[0]


# --------------------------------------------------------------------------- engine


class Engine:
    """Partitioned fold state for every family, shared by batch and incremental use."""

    __slots__ = (
        "connector_data",
        "connectors",
        "families",
        "ignored",
        "keep_logs",
        "links",
        "max_cycles",
        "stream_anomalies",
        "sync_data",
        "syncs",
    )

    def __init__(
        self, families: frozenset[Family], *, keep_logs: bool, max_reconnect_cycles: int
    ) -> None:
        self.families = families
        self.keep_logs = keep_logs
        self.max_cycles = max_reconnect_cycles
        self.connectors: dict[str, ConnectorAcc] = {}
        self.syncs: dict[str, SyncAcc] = {}
        self.links = LinkAcc()
        self.stream_anomalies: list[AnomalyData] = []
        self.ignored = 0
        self.connector_data: dict[str, dict[str, Any]] = {}
        """Finished connectors' states as plain data (see ``drain``)."""
        self.sync_data: dict[str, dict[str, Any]] = {}
        """Finished connectors' delivery states as plain data (see ``drain``)."""

    def drain(self) -> None:
        """Freeze every connector folded so far and drop its working state.

        Only valid once all of those connectors' events were folded: used by
        the streaming replay, which folds one partition of connectors at a
        time to bound memory.
        """
        for cid, acc in self.connectors.items():
            self.connector_data[cid] = acc.data()
        for cid, sync in self.syncs.items():
            self.sync_data[cid] = sync.data()
        self.connectors = {}
        self.syncs = {}

    def states(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Per-connector states as plain data, ordered by connector_id."""
        connectors = dict(self.connector_data)
        connectors.update((cid, acc.data()) for cid, acc in self.connectors.items())
        syncs = dict(self.sync_data)
        syncs.update((cid, acc.data()) for cid, acc in self.syncs.items())
        return (
            {cid: connectors[cid] for cid in sorted(connectors)},
            {cid: syncs[cid] for cid in sorted(syncs)},
        )

    def result_data(
        self,
        *,
        event_count: int,
        duplicates_dropped: int,
        stream_anomalies: list[AnomalyData],
    ) -> dict[str, Any]:
        """The whole-log result as plain data: the fields of ``results.ReplayResult``.

        Stream anomalies (the given ones and the engine's own) are sorted here.
        """
        anomalies = sorted([*stream_anomalies, *self.stream_anomalies], key=anomaly_order)
        connectors, syncs = self.states()
        return {
            "contract_version": CONTRACT_VERSION,
            "connectors": connectors,
            "sync": syncs,
            "external_links": self.links.data((event_count, duplicates_dropped, self.ignored), ()),
            "anomalies": anomalies,
            "event_count": event_count,
            "duplicates_dropped": duplicates_dropped,
            "ignored_event_count": self.ignored,
        }

    def fold(self, fact: Fact | None) -> None:
        """Apply one deduplicated fact; ``None`` stands for an event of another family."""
        if isinstance(fact, ConnectorFact):
            if Family.CONNECTOR in self.families:
                self._connector(fact.connector_id, fact)
            else:
                self.ignored += 1
        elif isinstance(fact, SyncFact):
            if Family.SYNC in self.families:
                self._sync(fact.connector_id, fact)
            else:
                self.ignored += 1
        elif isinstance(fact, LinkFact):
            if Family.LINK in self.families:
                link_step(self.links, fact)
            else:
                self.ignored += 1
        elif isinstance(fact, MalformedFact):
            if fact.family not in self.families:
                self.ignored += 1
            elif fact.connector_id is None:
                self.stream_anomalies.append(_malformed(fact))
            elif fact.family is Family.CONNECTOR:
                self._connector(fact.connector_id, fact)
            elif fact.family is Family.SYNC:
                self._sync(fact.connector_id, fact)
            else:
                link_step(self.links, fact)
        else:
            self.ignored += 1

    def _connector(self, cid: str, fact: ConnectorFact | MalformedFact) -> None:
        acc = self.connectors.get(cid)
        if acc is None:
            acc = self.connectors[cid] = ConnectorAcc(cid, self.keep_logs, self.max_cycles)
        connector_step(acc, fact)

    def _sync(self, cid: str, fact: SyncFact | MalformedFact) -> None:
        acc = self.syncs.get(cid)
        if acc is None:
            acc = self.syncs[cid] = SyncAcc(cid, self.keep_logs)
        sync_step(acc, fact)
