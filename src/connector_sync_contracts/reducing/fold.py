"""The fold: deduplication by event_id and the partitioned state of a whole log (FR-006, FR-007).

``Engine`` holds the partitioned states and routes each fact to its step;
it is shared by batch replay (which dedups, sorts, then folds) and by
incremental ``Projection.apply`` (which folds as events arrive), so the two
cannot disagree. ``Dedup`` implements the order-independent dedup rule of
specification section 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any, Generic, Literal, TypeVar

from ..contract.catalog import Family, checked_families
from ..contract.lifecycle import checked_include_logs, checked_reconnect_cycles
from ..contract.version import CONTRACT_VERSION
from .anomalies import AnomalyData, anomaly_order, conflicting_duplicate, malformed
from .facts import ConnectorFact, Fact, LinkFact, MalformedFact, SyncFact
from .steps import ConnectorAcc, LinkAcc, SyncAcc, connector_step, link_step, sync_step

__all__ = ["Dedup", "Engine", "settle_copies", "unchecked"]

T = TypeVar("T")
K = TypeVar("K", bound="tuple[Any, ...]")


class Dedup(Generic[K, T]):
    """Deduplication by event_id that does not depend on input order (specification section 2).

    ``identity`` is equal exactly for identical content (the canonical JSON
    bytes). Among differing copies the winner is a copy whose payload is
    valid, if any; among copies of equal validity, the one with the smallest
    (sort key, identity). ``item`` is whatever the caller folds for a winner.

    ``malformed`` is ``unchecked``'s verdict on the copy: a payload that
    failed validation, or one of an event type with no payload model.

    ``key`` is the sort key (``SortKey``), or any key that orders the copies
    of one event_id as their sort keys do, such as (lamport, instant in
    microseconds); ``in_order`` sorts the winners by it.
    """

    __slots__ = ("conflicts", "offered", "winners")

    def __init__(self) -> None:
        self.winners: dict[str, tuple[bool, K, bytes, T]] = {}
        self.conflicts: dict[str, set[bytes]] = {}
        self.offered = 0

    def offer(
        self, event_id: str, key: K, identity: bytes, item: T, *, malformed: bool = False
    ) -> Literal["new", "identical", "conflict", "upgrade"]:
        """Record one copy; say whether it is new, identical, or differs.

        ``malformed`` is true when the copy's payload failed validation.
        ``upgrade`` means the copy differs and replaces a held winner whose
        payload was malformed (an incremental fold must retract that one).
        """
        self.offered += 1
        held = self.winners.get(event_id)
        entry = (malformed, key, identity, item)
        if held is None:
            self.winners[event_id] = entry
            return "new"
        if held[2] == identity:
            return "identical"
        seen = self.conflicts.get(event_id)
        if seen is None:
            seen = self.conflicts[event_id] = {held[2]}
        seen.add(identity)
        if (malformed, key, identity) < held[:3]:
            self.winners[event_id] = entry
            if held[0] and not malformed:
                return "upgrade"
        return "conflict"

    def held(self, event_id: str) -> T:
        """The item of the copy of ``event_id`` that currently wins."""
        return self.winners[event_id][3]

    def in_order(self) -> list[T]:
        """The winning items in the order of their keys (replay order for sort keys)."""
        return [entry[3] for entry in sorted(self.winners.values(), key=_entry_order)]

    @property
    def duplicates_dropped(self) -> int:
        """Identical copies dropped (differing copies are reported as anomalies instead)."""
        distinct = len(self.winners) + sum(len(s) - 1 for s in self.conflicts.values())
        return self.offered - distinct

    def anomalies(self) -> list[AnomalyData]:
        """One ``conflicting_duplicate`` anomaly per event_id seen with differing content."""
        return [conflicting_duplicate(eid, len(seen)) for eid, seen in self.conflicts.items()]


def _entry_order(entry: tuple[bool, K, bytes, object]) -> K:
    return entry[1]


def unchecked(fact: Fact | None) -> bool:
    """Whether a copy's payload is not known to be valid, so that any copy whose payload
    is valid beats it (section 2): a payload that failed validation (``MalformedFact``),
    or one of an event type with no payload model in this version (``None``), which
    ``validate`` and the command line's gate reject as ``unknown_event_type``."""
    return fact is None or isinstance(fact, MalformedFact)


def settle_copies(event_id: str, copies: Iterable[tuple[bool, K, bytes, T]]) -> tuple[T, int, int]:
    """Settle the copies of one event_id read together, by ``Dedup``'s rule.

    ``copies``: (malformed payload, key, identity, item) of each copy, at
    least one, as ``Dedup.offer`` takes them. Returns the winning copy's item,
    the identical copies dropped, and the distinct contents (more than one:
    a conflict).
    """
    dedup: Dedup[K, T] = Dedup()
    for invalid, key, identity, item in copies:
        dedup.offer(event_id, key, identity, item, malformed=invalid)
    seen = dedup.conflicts.get(event_id)
    return dedup.held(event_id), dedup.duplicates_dropped, len(seen) if seen else 1


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
        self,
        families: AbstractSet[Family | str],
        *,
        keep_logs: bool,
        max_reconnect_cycles: int,
    ) -> None:
        self.families = checked_families(families)
        self.keep_logs = checked_include_logs(keep_logs)
        self.max_cycles = checked_reconnect_cycles(max_reconnect_cycles)
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
                self.stream_anomalies.append(malformed(fact))
            elif fact.family is Family.CONNECTOR:
                self._connector(fact.connector_id, fact)
            elif fact.family is Family.SYNC:
                self._sync(fact.connector_id, fact)
            else:
                link_step(self.links, fact)
        else:
            self.ignored += 1

    def retract(self, fact: MalformedFact | None) -> None:
        """Undo folding an ``unchecked`` fact: a valid copy of its event_id replaces it.

        An event of no family (``None``) only added one to ``ignored``. A
        malformed fact only ever added one ``malformed_payload`` anomaly
        (and, on a connector, one to ``event_count``), and created the state
        of its connector if no other event had: so this is exact. A state
        that nothing else touched goes too, as if the fact had never come
        (the valid copy may name another connector).
        """
        if fact is None or fact.family not in self.families:
            self.ignored -= 1
            return
        cid = fact.connector_id
        if cid is None:
            _remove_malformed(self.stream_anomalies, fact)
        elif fact.family is Family.CONNECTOR:
            acc = self.connectors[cid]
            acc.event_count -= 1
            _remove_malformed(acc.anomalies, fact)
            if acc.event_count == 0 and not acc.anomalies:
                del self.connectors[cid]
        elif fact.family is Family.SYNC:
            sync = self.syncs[cid]
            _remove_malformed(sync.anomalies, fact)
            if _untouched(sync):
                del self.syncs[cid]
        else:
            _remove_malformed(self.links.anomalies, fact)

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


def _remove_malformed(anomalies: list[AnomalyData], fact: MalformedFact) -> None:
    anomalies.remove(malformed(fact))


def _untouched(acc: SyncAcc) -> bool:
    """Whether no sync fact changed ``acc`` (an applied one counts, the rest are anomalies)."""
    return not (
        acc.anomalies
        or acc.deliveries
        or acc.outcome_log
        or acc.ingested_items
        or acc.replayed_items
        or any(acc.counts.values())
    )
