"""The library's batch entry points on the compiled core: Events, mappings and lines.

``replay``, ``reduce_*`` and ``replay_lines`` come here first. Lines go
through exactly the command line's runner (``runner.replay_sources`` over a
``LinesSource``). Events and mappings are written by the core as the JSON
text they stand for (``objects.c``: only values JSON carries exactly; an
Event's own timestamp and project_uuid too) and checked like lines, so a
valid item never reaches pydantic. An Event's envelope is not checked
again: it was validated when the Event was made, and the Python path takes
it as it is; its payload is. An item the core refuses or defers is
decided in Python with the models, exactly as the pure-Python path decides
it, and joins the compiled fold as an ordinary record.

Copies of an event_id whose texts differ are settled here by the dedup
rule of specification section 2 (a valid payload first, then the smallest
sort key and canonical JSON), from the items themselves.

Without the compiled core every function returns None and the caller uses
the pure-Python fold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Final

import orjson

from ..contract.catalog import Family
from ..contract.patterns import normal_event_id
from ..io import LineProblem, LinesSource
from ..models.envelope import Event, canonical_json
from ..models.results import DeliveryState
from ..reducing.anomalies import AnomalyData
from ..reducing.facts import Fact
from ..reducing.fold import Engine, settle_copies, unchecked
from . import native
from .runner import CopyOrder, Folded, fold_compiled, replay_sources

__all__ = ["Unheld", "fold_items", "fold_lines"]

_CHUNK: Final = 8192
"""Items handed to the core per call."""

_UTC_Z: Final = orjson.OPT_UTC_Z
"""A zero-offset datetime written ``Z``, as canonical JSON writes it."""


class Unheld(Exception):  # noqa: N818 (a signal to the caller, not an error it reports)
    """An Event the compiled fold cannot hold: one made with ``Event.model_construct``
    holding what its model refuses (an event_id longer than any valid one, a clock
    that is no int, a timestamp that is no datetime). The caller folds ``items``
    (every item of the call, listed) in Python, which takes such an Event as it
    is, as the pure-Python engine does."""

    def __init__(self, items: list[Event | Mapping[str, Any]]) -> None:
        super().__init__("an Event the compiled fold cannot hold")
        self.items = items


def fold_items(
    items: Iterable[Event | Mapping[str, Any]],
    *,
    families: frozenset[Family],
    include_logs: bool,
    max_reconnect_cycles: int,
) -> Folded | None:
    """Dedup and fold Events and envelope mappings on the compiled core (None: not built).

    Raises ``Unheld`` for an Event it cannot hold (made with ``model_construct``).
    """
    scanner = native.scanner()
    if scanner is None:
        return None
    # A list of our own: the core reads an item again when a copy of its
    # event_id arrives, so no caller's code may change it meanwhile.
    listed: list[Event | Mapping[str, Any]] = list(items)
    engine = Engine(families, keep_logs=include_logs, max_reconnect_cycles=max_reconnect_cycles)
    envelope_anomalies: list[AnomalyData] = []
    decided: set[int] = set()  # the items the core deferred to the models
    with native.no_gc():
        scanner.reserve(len(listed))
        for start in range(0, len(listed), _CHUNK):
            stop = min(start + _CHUNK, len(listed))
            _, deferred = scanner.scan_objects(listed, Event, True, 0, 1, start, stop)
            for at in deferred:
                try:
                    _offer_decided(scanner, listed[at], at + 1, envelope_anomalies)
                except (TypeError, ValueError, AttributeError):
                    if not isinstance(listed[at], Event):
                        raise
                    raise Unheld(listed) from None
            decided.update(deferred)
        ids, dropped = scanner.settle()
        conflicts: dict[str, int] = {}
        if ids:
            dropped += _settle(scanner, listed, set(ids), conflicts, decided)
        return fold_compiled(
            engine, scanner, envelope_anomalies, dropped, conflicts, delivery_model=DeliveryState
        )


def fold_lines(
    lines: Iterable[bytes | bytearray | memoryview],
    *,
    include_logs: bool,
    max_reconnect_cycles: int,
    max_line_bytes: int,
    on_problem: Any = None,
) -> dict[str, Any]:
    """Replay lines exactly as ``connector-sync replay`` replays a file holding them.

    Returns the result data; ``on_problem(LineProblem)`` receives each
    problem of a rejected line, as the command line prints them.
    """
    source = LinesSource(lines, max_line_bytes=max_line_bytes)

    def sink(_: str, problem: LineProblem, __: bytes | None) -> None:
        if on_problem is not None:
            on_problem(problem)

    try:
        data, _ = replay_sources(
            [source],
            include_logs=include_logs,
            max_reconnect_cycles=max_reconnect_cycles,
            on_problem=sink,
        )
    finally:
        source.close()
    return data.data


def _decide(item: object, anomalies: list[AnomalyData]) -> tuple[Event, Fact | None] | None:
    """The Python path's verdict on one item: its Event and fact, or None (anomaly added)."""
    from ..reducing.api import admit_envelope, event_to_fact

    event = admit_envelope(item, anomalies)
    if event is None:
        return None
    return event, event_to_fact(event)


def _offer_decided(
    scanner: native.Scanner, item: object, number: int, anomalies: list[AnomalyData]
) -> None:
    decided = _decide(item, anomalies)
    if decided is None:
        return
    event, fact = decided
    kind, values = native.record_values(fact)
    scanner.offer(
        event.event_id,
        event.lamport_clock,
        native.instant_us(event.timestamp),
        scanner.ident(canonical_json(event)),
        0,
        number,
        True,
        kind,
        values,
    )


def _raw_event_id(item: object) -> str | None:
    if isinstance(item, Event):
        return item.event_id
    raw = item.get("event_id") if isinstance(item, Mapping) else None
    return normal_event_id(raw) if isinstance(raw, str) else None


_Copy = tuple[bool, CopyOrder, bytes, tuple[CopyOrder, bytes, tuple[str, Any]]]
"""A copy as settle_copies takes it: (not known valid, order, canonical JSON,
(order, canonical JSON, the core's record of it))."""


def _settle(
    scanner: native.Scanner,
    items: Sequence[object],
    wanted: set[str],
    conflicts: dict[str, int],
    decided: AbstractSet[int],
) -> int:
    """Settle the event ids whose copies differ; return the identical copies found among them.

    Every copy of each id is decided again from the items; the kept one is
    offered back (specification section 2: a valid payload first, then the
    smallest (sort key, canonical JSON)). ``decided``: the positions of the
    items the core deferred to the models, which decide them again.
    """
    copies: dict[str, list[_Copy]] = {eid: [] for eid in wanted}
    # The core says which items hold the copies (item i is line i + 1 of source 0):
    # only those are decided again, in the order of the list, as reading it all would.
    places = scanner.copy_places() or {}
    spots = [(source, line) for at in places.values() for source, line, _, _ in at]
    placed = places.keys() == wanted and all(s == 0 and 1 <= n <= len(items) for s, n in spots)
    candidates = sorted({n - 1 for _, n in spots}) if placed else range(len(items))
    for at in candidates:
        item = items[at]
        eid = _raw_event_id(item)
        if eid not in wanted:
            continue
        copy = None if at in decided else _taken_whole(scanner, item, eid)
        if copy is None:
            found = _decide(item, [])
            if found is None:
                continue
            event, fact = found
            eid = event.event_id
            order = (event.lamport_clock, native.instant_us(event.timestamp))
            canonical = canonical_json(event)
            record = native.record_values(fact)
            copy = (unchecked(fact), order, canonical, (order, canonical, record))
        copies[eid].append(copy)
    dropped = 0
    for eid, held in copies.items():
        ((lamport, instant), canonical, (kind, values)), identical, distinct = settle_copies(
            eid, held
        )
        dropped += identical
        if distinct > 1:
            conflicts[eid] = distinct
        scanner.offer(eid, lamport, instant, scanner.ident(canonical), 0, 0, False, kind, values)
    return dropped


def _taken_whole(scanner: native.Scanner, item: object, eid: str) -> _Copy | None:
    """A copy the core took whole, settled without the models, as the command line
    settles a line (``native.copy_taken_whole``); None: the models decide it.

    The core took only values JSON carries exactly (and datetime and UUID
    objects where the models take their text alike), so the item's JSON
    text, written as canonical JSON writes a datetime, reads as the item
    (an Event's is its canonical JSON): copies that differ only in key
    order, say, are not validated again.
    """
    try:
        if isinstance(item, Event):
            raw, written = canonical_json(item), True
        else:
            raw, written = orjson.dumps(item, option=_UTC_Z), False
    except TypeError:
        return None
    took = native.copy_taken_whole(scanner, raw, canonical=written)
    if took is None or took[0] != eid:
        return None
    _, lamport, instant, canonical, record = took
    order = (lamport, instant)
    return (native.unchecked_record(record[0]), order, canonical, (order, canonical, record))
