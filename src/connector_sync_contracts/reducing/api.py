"""Public reducers and whole-log replay (FR-006, FR-007; specification section 6).

Batch functions dedup by event_id, sort by (lamport_clock, UTC instant,
event_id) and fold; ``Projection`` folds events one at a time with the same
steps, so for input already in replay order both end equal.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, TypeAlias

from .._engine import native
from .._engine.library import Unheld, fold_items, fold_lines
from .._engine.native import no_gc, record_fact
from .._engine.runner import Folded
from ..contract.canonical import line_canonical_json
from ..contract.catalog import ALL_FAMILIES, EVENT_FAMILIES, RECIPES, Family
from ..contract.lifecycle import DEFAULT_MAX_RECONNECT_CYCLES
from ..contract.patterns import encodable, spelled_event_id
from ..contract.rules import semantic_failures
from ..contract.words import plural
from ..errors import OutOfOrderWarning
from ..io import DEFAULT_MAX_LINE_BYTES, LineProblem, check_problem_sink, checked_line_limit
from ..models.envelope import LIMITS_CHECKED, Event, SortKey, canonical_json
from ..models.payloads import PAYLOAD_MODELS
from ..models.results import (
    ConnectorProjection,
    LinkIndex,
    ReplayResult,
    SyncProjection,
    connector_projection_from_data,
    link_index_from_data,
    replay_result_from_data,
    sync_projection_from_data,
)
from ..validation.input import cloudevent_hint, first_problem, load_mapping
from ..validation.messages import summarize
from ..validation.outcomes import Outcomes, validate_once
from .anomalies import AnomalyData, anomaly, anomaly_order
from .facts import Fact, MalformedFact, fact_from_values
from .fold import Dedup, Engine, unchecked

__all__ = [
    "EventLike",
    "Projection",
    "reduce_connector_events",
    "reduce_external_links",
    "reduce_sync_events",
    "replay",
    "replay_lines",
]

EventLike: TypeAlias = Event | Mapping[str, Any]
"""An ``Event`` or an envelope mapping (validated with ``Event.model_validate``)."""


def _readable_connector_id(payload: Mapping[str, Any]) -> str | None:
    cid = payload.get("connector_id")
    return encodable(cid) if isinstance(cid, str) and cid else None


def raw_event_id(item: object) -> str | None:
    """The ``event_id`` of an envelope that failed validation, for its anomaly
    (``spelled_event_id``)."""
    return spelled_event_id(item.get("event_id") if isinstance(item, Mapping) else None)


def admit_envelope(
    item: object,
    anomalies: list[AnomalyData],
    *,
    limits_checked: bool = False,
    outcomes: Outcomes | None = None,
) -> Event | None:
    """``item`` as a validated ``Event``, or None after recording ``malformed_envelope``.

    A mapping is first read through the input layer, so a value beyond the
    contract's limits (nesting, integer range, NaN, lone surrogates) rejects
    it exactly as it rejects the JSON line it came from (section 8).
    ``limits_checked`` says ``item`` came from that layer already.
    ``outcomes`` keeps the model's verdict for explaining the line later.
    """
    if isinstance(item, Event):
        return item
    # A datetime or UUID object stays for the model to judge; any other Python
    # object that is not JSON is refused, as validate_event refuses it.
    obj, problems = (item, ()) if limits_checked else load_mapping(item)
    hint = cloudevent_hint(obj) if isinstance(obj, Mapping) else None
    if obj is None or hint is not None:
        found = (hint,) if hint is not None else problems
        # A mapping refused for a value beyond a limit still names its event.
        eid = None if hint is not None else raw_event_id(item)
        anomalies.append(
            anomaly(kind="malformed_envelope", event_id=eid, message=first_problem(found))
        )
        return None
    event = validate_once(Event, obj, outcomes, (), LIMITS_CHECKED)
    if isinstance(event, Event):
        return event
    anomalies.append(
        anomaly(kind="malformed_envelope", event_id=raw_event_id(item), message=summarize(event))
    )
    return None


def event_to_fact(event: Event, outcomes: Outcomes | None = None) -> Fact | None:
    """Validate ``event.payload`` with its family model and extract what reducers need.

    Returns ``None`` for event types outside the three families, and a
    ``MalformedFact`` when the payload fails validation. ``outcomes`` keeps
    the payload model's verdict for explaining the line later.
    """
    event_type = event.event_type
    family = EVENT_FAMILIES.get(event_type)
    if family is None:
        return None
    payload = validate_once(PAYLOAD_MODELS[event_type], event.payload, outcomes, ("payload",))
    if isinstance(payload, list):
        return MalformedFact(
            event.event_id, family, _readable_connector_id(event.payload), summarize(payload)
        )
    broken = tuple(rule.code for rule in semantic_failures(event_type, payload))
    return fact_from_values(RECIPES[event_type], event.event_id, payload.__dict__, broken)


class Projection:
    """Whole-log projection that accepts events one at a time.

    ``apply`` validates the envelope, drops duplicates by event_id and folds
    the event with the same steps batch ``replay`` uses. For input in
    replay order (``sorted(events, key=sort_key)``) the final ``result()``
    equals ``replay(events)``. Differing copies of one event_id share its
    sort key only when their lamport_clock and timestamp agree too: they
    arrive together, and the last event applied is folded only when an
    event with another event_id comes (or ``result()`` is asked for), so
    that ``replay``'s dedup rule picks which copy is folded. A differing
    copy that comes later is recorded as ``conflicting_duplicate`` and not
    folded, unless the folded copy's payload was malformed and the new
    one's is valid: then the new copy replaces it, as the dedup rule says.

    An event that sorts before one already folded is folded where it
    arrives, so the result can differ from ``replay()``: ``out_of_order``
    counts such events, and the first one raises an ``OutOfOrderWarning``.
    So does a later differing copy that the dedup rule would have kept
    instead of the one folded; ``result()`` and ``repr()`` fold the event
    applied last, so a copy of it that comes after them is such a copy.
    """

    def __init__(
        self,
        *,
        include_logs: bool = True,
        max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES,
        families: AbstractSet[Family | str] = ALL_FAMILIES,
    ) -> None:
        """``include_logs`` and ``max_reconnect_cycles`` as ``replay_lines`` takes them;
        ``families`` (``Family`` members or their values) narrows the fold to those
        families, as ``reduce_connector_events`` and ``reduce_sync_events`` do."""
        self._engine = Engine(
            families, keep_logs=include_logs, max_reconnect_cycles=max_reconnect_cycles
        )
        self._dedup: Dedup[SortKey, Fact | None] = Dedup()
        self._envelope_anomalies: list[AnomalyData] = []
        self._latest: SortKey | None = None
        self._offered: SortKey | None = None
        self._pending: str | None = None
        """The event_id applied last and not folded yet: its copies may still come."""
        self.out_of_order = 0
        """Events ``apply`` folded after an event that sorts later (0 for sorted input)."""

    def __copy__(self) -> Projection:
        """A copy that goes on apart from this one, as ``copy.deepcopy`` makes it
        (a checkpoint): a shallow copy would share the fold's state, so that
        applying events to either would change the other."""
        return copy.deepcopy(self)

    def _admit(self, item: EventLike) -> tuple[SortKey, Fact | None, bytes] | None:
        """(sort key, fact, canonical JSON) of a valid envelope; None after recording
        the ``malformed_envelope`` anomaly of one that is not.

        On the compiled core, an item it takes (``probe_object``: read as
        ``replay()`` reads its items) is decided there and its fact made from
        the core's record, without the models; anything else, and every item
        without the core, is decided by the models.
        """
        core = native.shared_scanner()
        if core is not None:
            took = core.probe_object(item, Event)
            if took is not None:
                event_id, _, instant, kind, values = took
                if isinstance(item, Event):
                    key, identity = item.sort_key, canonical_json(item)
                else:
                    key = native.taken_order(took)
                    identity = line_canonical_json(item, event_id, instant)
                return key, record_fact(event_id, kind, values), identity
        admitted = admit_envelope(item, self._envelope_anomalies)
        if admitted is None:
            return None
        return admitted.sort_key, event_to_fact(admitted), canonical_json(admitted)

    def _offer(self, item: EventLike) -> tuple[str, Fact | None, Fact | None]:
        """Admit and dedup one item: (status, its fact, the fact of the copy held before).

        The status is ``Dedup.offer``'s, ``rejected`` for an envelope that
        is not valid, or ``overtook`` for a differing copy that the dedup
        rule keeps instead of the copy held before it.
        """
        admitted = self._admit(item)
        self._offered = None if admitted is None else admitted[0]
        if admitted is None:
            return "rejected", None, None
        key, fact, identity = admitted
        event_id = key[2]
        replaced = self._dedup.held(event_id) if event_id in self._dedup.winners else None
        status: str = self._dedup.offer(event_id, key, identity, fact, malformed=unchecked(fact))
        if status == "conflict" and self._dedup.winners[event_id][2] == identity:
            status = "overtook"
        return status, fact, replaced

    def apply(self, event: EventLike) -> None:
        """Apply one event (or envelope mapping) to the projection.

        A copy whose payload is valid replaces an earlier copy of its
        event_id whose payload was malformed or of no family (what that one
        added is undone). The first event applied out of replay order
        raises an ``OutOfOrderWarning`` once it is applied: where warnings
        are errors, the event is in the projection all the same, and
        applying it again changes nothing.
        """
        status, _, replaced = self._offer(event)
        key = self._offered
        if key is None or status == "identical":
            return
        if key[2] == self._pending:
            return  # a copy of the event not folded yet: the dedup holds the winner
        late: str | None = None
        if status == "new":
            late = self._out_of_order()
            self._fold_pending()
            self._pending = key[2]
        elif status == "upgrade":
            assert replaced is None or isinstance(replaced, MalformedFact)
            late = self._out_of_order()
            self._fold_pending()
            self._engine.retract(replaced)
            self._pending = key[2]  # folded as a new event is: its copies may still come
        elif status == "overtook":
            late = (
                f"a copy of event {key[2]} that replay() keeps (its sort key or canonical "
                "JSON is smaller) arrived after the copy already folded"
            )
        if late is not None:
            self._count_out_of_order(late)

    def _fold_pending(self) -> None:
        """Fold the winning copy of the event applied last, if it is not folded yet."""
        if self._pending is not None:
            self._engine.fold(self._dedup.held(self._pending))
            self._pending = None

    def _out_of_order(self) -> str | None:
        """What makes the event offered last arrive out of replay order, if it does."""
        key, latest = self._offered, self._latest
        if key is None:
            return None
        if latest is None or key >= latest:
            self._latest = key
            return None
        return f"event {key[2]} arrived after {latest[2]}, which sorts later"

    def _count_out_of_order(self, what: str) -> None:
        """Count one event folded out of replay order; warn the first time, at
        ``apply``'s caller."""
        self.out_of_order += 1
        if self.out_of_order == 1:
            warnings.warn(
                OutOfOrderWarning(
                    f"{what}: this Projection can differ from replay() of the same "
                    "events (sort them with sort_key, or use replay())"
                ),
                stacklevel=3,
            )

    def __repr__(self) -> str:
        """``Projection(48 events, 3 connectors, 0 out of order)``: counts, never the content."""
        self._fold_pending()  # as result() does
        engine = self._engine
        connectors = len({*engine.connectors, *engine.syncs, *engine.connector_data})
        return (
            f"Projection({plural(len(self._dedup.winners), 'event')}, "
            f"{plural(connectors, 'connector')}, {self.out_of_order:,} out of order)"
        )

    def _load(self, events: Iterable[EventLike]) -> None:
        for item in events:
            self._offer(item)
        for fact in self._dedup.in_order():
            self._engine.fold(fact)

    def result(self) -> ReplayResult:
        """Frozen whole-log result of everything applied so far."""
        self._fold_pending()
        return build_result(
            self._engine,
            event_count=len(self._dedup.winners),
            duplicates_dropped=self._dedup.duplicates_dropped,
            stream_anomalies=[*self._envelope_anomalies, *self._dedup.anomalies()],
        )


def build_result(
    engine: Engine,
    *,
    event_count: int,
    duplicates_dropped: int,
    stream_anomalies: list[AnomalyData],
) -> ReplayResult:
    """Freeze an engine into the section 6 result (stream anomalies get sorted here)."""
    return replay_result_from_data(
        engine.result_data(
            event_count=event_count,
            duplicates_dropped=duplicates_dropped,
            stream_anomalies=stream_anomalies,
        )
    )


def _folded(
    events: Iterable[EventLike],
    families: frozenset[Family],
    max_reconnect_cycles: int,
    *,
    include_logs: bool = True,
) -> Folded:
    """Dedup and fold a batch: on the compiled core when it is built, else in Python."""
    _one_batch(events, "events", "Events or envelope mappings", "for one event, pass [event]")
    if isinstance(events, io.IOBase):
        raise TypeError(
            "events must be an iterable of Events or envelope mappings, not a file "
            f"({type(events).__name__}): replay_lines(file) replays the lines of a JSONL file"
        )
    try:
        folded = fold_items(
            events,
            families=families,
            include_logs=include_logs,
            max_reconnect_cycles=max_reconnect_cycles,
        )
    except Unheld as unheld:  # an Event made with model_construct: folded as it is
        events, folded = unheld.items, None
    if folded is not None:
        return folded
    projection = Projection(
        families=families, max_reconnect_cycles=max_reconnect_cycles, include_logs=include_logs
    )
    projection._load(events)
    return Folded(
        projection._engine,
        len(projection._dedup.winners),
        projection._dedup.duplicates_dropped,
        [*projection._envelope_anomalies, *projection._dedup.anomalies()],
    )


def _one_batch(given: object, name: str, items: str, hint: str) -> None:
    """Refuse, as a ``TypeError``, one event or one text given where a batch of them belongs.

    Iterating it would read its keys, fields, characters or bytes as events
    and report each as malformed: a result that hides the mistake.
    """
    if isinstance(given, (str, bytes, bytearray, memoryview, Mapping, Event)):
        raise TypeError(
            f"{name} must be an iterable of {items}, not {type(given).__name__}: {hint}"
        )
    # Asked of the type, not by iter(): a caller's iterable may start work when iterated.
    if not isinstance(given, Iterable) and not hasattr(type(given), "__getitem__"):
        raise TypeError(f"{name} must be an iterable of {items}, not {type(given).__name__}")


def _stream_anomalies(folded: Folded) -> list[AnomalyData]:
    return sorted([*folded.stream_anomalies, *folded.engine.stream_anomalies], key=anomaly_order)


def _counts(folded: Folded) -> dict[str, Any]:
    return {
        "event_count": folded.event_count,
        "duplicates_dropped": folded.duplicates_dropped,
        "ignored_event_count": folded.engine.ignored,
        "anomalies": _stream_anomalies(folded),
    }


def replay(
    events: Iterable[EventLike], *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
) -> ReplayResult:
    """Reduce a mixed log into connectors + sync + links + stream anomalies (section 6).

    ``events`` are ``Event`` objects or envelope mappings (as ``json.loads``
    gives them), in any order; copies of an event_id are deduplicated by the
    rule of specification section 2. A mapping (and an ``Event``'s payload,
    a plain dict) is read while the call runs, maybe more than once: none
    may change until it returns, and a generator must yield a new mapping
    each time rather than refill one.
    """
    with no_gc():
        folded = _folded(events, ALL_FAMILIES, max_reconnect_cycles)
        return replay_result_from_data(folded.result_data())


def replay_lines(
    lines: Iterable[bytes | bytearray | memoryview],
    *,
    max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES,
    include_logs: bool = True,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    on_problem: Callable[[LineProblem], object] | None = None,
) -> ReplayResult:
    r"""Replay JSONL lines, exactly as ``connector-sync replay`` replays a file holding them.

    Each item is one line's bytes (``bytes``, ``bytearray`` or ``memoryview``; a trailing
    newline is allowed, so an open
    binary file works: ``replay_lines(open(path, "rb"))``). Only ``\n`` ends
    a line, as in a file: ``bytes.splitlines()`` also splits at a bare
    ``\r``, which JSON allows inside a line, so prefer ``list()`` of the
    open file. A list or tuple
    is read in place, and some lines again (copies of an event_id), so it
    must not change during the call; any other iterable is read once. A rejected line
    becomes a ``malformed_envelope`` anomaly, and each of its problems is
    passed to ``on_problem`` with its 1-based line number.
    ``include_logs=False`` leaves the per-event logs out: they are ``None``,
    and ``to_json()`` leaves them out as ``connector-sync replay --no-logs`` does.
    A line longer than ``max_line_bytes`` (without its line end; 1 MiB by
    default, as ``--max-line-bytes``) is rejected (``line_too_long``) unread;
    ``replay()`` and ``validate_event`` have no such limit, so a service that
    takes larger events raises it here to replay the lines it stored.
    """
    _one_batch(lines, "lines", "bytes, one per line", "pass an open binary file, or list() of one")
    check_problem_sink(on_problem)
    checked_line_limit(max_line_bytes)
    with no_gc():
        data = fold_lines(
            lines,
            include_logs=include_logs,
            max_reconnect_cycles=max_reconnect_cycles,
            max_line_bytes=max_line_bytes,
            on_problem=on_problem,
        )
        return replay_result_from_data(data)


def reduce_connector_events(
    events: Iterable[EventLike], *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
) -> ConnectorProjection:
    """Fold the connector family of a log into per-connector states (FR-006)."""
    with no_gc():
        folded = _folded(events, frozenset({Family.CONNECTOR}), max_reconnect_cycles)
        connectors, _ = folded.engine.states()
        return connector_projection_from_data({**_counts(folded), "connectors": connectors})


def reduce_sync_events(events: Iterable[EventLike]) -> SyncProjection:
    """Fold the sync family of a log into per-connector delivery states (FR-007)."""
    with no_gc():
        folded = _folded(events, frozenset({Family.SYNC}), DEFAULT_MAX_RECONNECT_CYCLES)
        _, syncs = folded.engine.states()
        return sync_projection_from_data({**_counts(folded), "sync": syncs})


def reduce_external_links(events: Iterable[EventLike]) -> LinkIndex:
    """Fold ``ExternalReferenceLinked`` events into the link index (FR-005)."""
    with no_gc():
        folded = _folded(events, frozenset({Family.LINK}), DEFAULT_MAX_RECONNECT_CYCLES)
        counts = _counts(folded)
        return link_index_from_data(
            folded.engine.links.data(
                (
                    counts["event_count"],
                    counts["duplicates_dropped"],
                    counts["ignored_event_count"],
                ),
                counts["anomalies"],
            )
        )
