"""Validate and replay JSONL logs of any size in bounded memory (the CLI's engine).

With the compiled core, ``native``'s scanner checks whole blocks of lines
and keeps a compact record of each accepted one; only the lines it defers
(invalid lines, and what it cannot decide) go to the model path
(``modelpath``: the strict input layer and the pydantic models, with
``validate_event`` to explain a rejected line), which is loaded the first
time such a line appears. Without the compiled core every line goes through
the model path. Either way every line is either accepted or reported with
its line number, field and rule.

Replay keeps one compact record per distinct event_id instead of event
objects, ordered exactly like the replay order (lamport_clock, UTC instant,
event_id). A line decided in Python joins the records as an ordinary one.
Records are deduplicated, sorted and folded per connector: by the compiled
fold, or by the same ``Engine`` the Python API uses. Copies of an event_id
whose raw bytes differ are resolved exactly, by the dedup rule of the
specification's section 2, in a second read of only the affected lines.
The compiled core compares the bytes of two copies by a keyed hash, made
only when a copy arrives: the first copy of a file stored as it is read is
read again at its offset (``Source.block_offset``), and a file whose lines
were read again must not have changed meanwhile (``_unchanged``). Lines a
caller gives as a list are read again from its items the same way
(``Source.line_reader``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec
import orjson

from ..contract.catalog import ALL_FAMILIES, Family
from ..contract.lifecycle import DEFAULT_MAX_RECONNECT_CYCLES
from ..contract.patterns import encodable, normal_event_id, spelled_event_id
from ..contract.projection import LINK_INDEX_INDENT, JSONText, ReplayData, all_anomalies
from ..errors import InputError
from ..io import (
    LineProblem,
    LineSink,
    Source,
    changed_while_replayed,
    descriptor_limit,
    read_line,
)
from ..reducing.anomalies import (
    AnomalyData,
    anomaly,
    conflicting_duplicate,
)
from ..reducing.facts import ConnectorFact, Fact, MalformedFact, SyncFact
from ..reducing.fold import Engine, settle_copies, unchecked
from ..validation.input import refused_event_id
from . import native
from .decision import Decision, line_event_id, named_event_id, read_decided
from .reports import reported_problems

if TYPE_CHECKING:
    from ..models.envelope import Event
    from .modelpath import LineChecker

__all__ = ["Folded", "RunSummary", "fold_compiled", "replay_sources", "validate_sources"]

_PREFIX: Final = struct.Struct(">QQ")
_INSTANT_BIAS: Final = 2**63
_IDENT_MASK: Final = 2**64 - 1
_BITMAP_BITS: Final = 1 << 26
_BUCKETS: Final = 16
_SAMPLE_LINES: Final = 1000
_FAMILY_BITS: Final = {Family.CONNECTOR: 1, Family.SYNC: 2, Family.LINK: 4}
_KEPT_COPY_BYTES: Final = 16 << 20
"""About the most memory the events of lines decided in Python take while kept for
settling (twice the line each): past it, a copy is read and decided again when its
event_id is settled."""

CopyOrder = tuple[int, int]
"""(lamport, instant_us): orders the copies of one event_id as their sort keys do."""
_Copy = tuple[bool, CopyOrder, bytes, tuple[CopyOrder, bytes, tuple[str, Any]]]
"""One copy of an event_id being settled, as ``settle_copies`` takes it: (not known
valid, order, canonical JSON, (order, raw line, its record values as
``Scanner.offer`` takes them))."""

Scan = Callable[
    [bytes | memoryview, int, int, int],
    tuple[int, list[tuple[int, int, int]], list[tuple[int, int, int, int]]],
]
"""(block, limit, source index, first line) -> (lines, deferred, reported): ``Scanner.scan``."""


@dataclass
class Folded:
    """A folded log: the engine's states and the counts and anomalies of the stream."""

    engine: Engine
    event_count: int
    duplicates_dropped: int
    stream_anomalies: list[AnomalyData]
    """Malformed envelopes and conflicting duplicates (the engine holds its own)."""

    def result_data(self) -> dict[str, Any]:
        """The whole-log result as plain data (stream anomalies sorted)."""
        return self.engine.result_data(
            event_count=self.event_count,
            duplicates_dropped=self.duplicates_dropped,
            stream_anomalies=self.stream_anomalies,
        )


@dataclass
class RunSummary:
    """Line accounting of one run: accepted + rejected == lines_read, always."""

    lines_read: int = 0
    accepted: int = 0
    rejected: int = 0
    problems: int = 0
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "lines_read": self.lines_read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "problems": self.problems,
            # A file name that is not UTF-8 reaches Python with lone surrogates.
            "sources": [encodable(name) for name in self.sources],
        }


def _checker(*, strict: bool) -> LineChecker:
    """The model path's line checker (loads the models on first use)."""
    from .modelpath import LineChecker

    return LineChecker(strict=strict)


def _too_long(line: int, limit: int) -> LineProblem:
    unit = "byte" if limit == 1 else "bytes"
    return LineProblem(line, "$", "line_too_long", f"line is longer than {limit} {unit}")


def _account(
    summary: RunSummary,
    source: Source,
    problems: list[LineProblem],
    raw: bytes | None,
    on_problem: LineSink,
) -> None:
    """Count a line the model path judged, and report each of its problems."""
    if not problems:
        summary.accepted += 1
        return
    summary.rejected += 1
    summary.problems += len(problems)
    for problem in problems:
        on_problem(source.name, problem, raw)


def _lines(
    sources: list[Source],
    summary: RunSummary,
    scan: Scan | None,
    on_line: Callable[[int, int], None] | None,
) -> Iterator[tuple[int, Source, int, bytes | None, int, int]]:
    """The lines Python must see: (source index, source, line number, raw or None, report,
    offset of the line in the file as stored, or -1 when not known).

    With the compiled core (``scan``), every block is checked there and only
    the lines it defers (report 0: Python decides) or took and reports
    (``reports.reported_problems``' code) are yielded; lines it accepted
    are counted as read and accepted here. Without it, every line is
    yielded, with report 0. None stands for a line over the length limit.
    """
    for index, source in enumerate(sources):
        summary.sources.append(source.name)
        limit = source.max_line_bytes
        if scan is None:
            for number, raw in enumerate(source.lines(), start=1):
                summary.lines_read += 1
                if on_line is not None:
                    on_line(0 if raw is None else len(raw) + 1, 1)
                yield index, source, number, raw, 0, -1
            continue
        number = 0
        for block in source.blocks():
            if block is None:
                number += 1
                summary.lines_read += 1
                if on_line is not None:
                    on_line(0, 1)
                yield index, source, number, None, 0, -1
                continue
            count, deferred, reported = scan(block, limit, index, number + 1)
            if on_line is not None:
                on_line(len(block), count)
            summary.lines_read += count
            summary.accepted += count - len(deferred) - len(reported)
            found = [(at, start, end, 0) for at, start, end in deferred]
            if reported:  # merged into line order only when there are some
                found.extend(reported)
                found.sort()
            base = source.block_offset
            for at, start, end, report in found:
                raw = source.within_limit(bytes(block[start:end]))
                where = -1 if base is None else base + start
                yield index, source, number + at + 1, raw, report, where
            number += count


def validate_sources(
    sources: list[Source],
    *,
    strict: bool = False,
    on_problem: LineSink,
    on_line: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Check every line of every source; report each problem through ``on_problem``."""
    summary = RunSummary()
    scanner = native.scanner()
    scan: Scan | None = None
    if scanner is not None:

        def scan(
            block: bytes | memoryview, limit: int, index: int, first: int
        ) -> tuple[int, list[tuple[int, int, int]], list[tuple[int, int, int, int]]]:
            return _scanned(
                scanner, block, False, limit, strict, index, first, -1, sources[index].core_reports
            )

    checker: LineChecker | None = None  # loaded by the first line that needs it
    with native.no_gc():
        for _, source, number, raw, report, _ in _lines(sources, summary, scan, on_line):
            if raw is None:
                problems = [_too_long(number, source.max_line_bytes)]
                _account(summary, source, problems, raw, on_problem)
                continue
            if report:
                _account(summary, source, reported_problems(raw, number, report), raw, on_problem)
                continue
            mapping = source.refused(number)
            if mapping:  # a stand-in for a line its input refused: those are its problems
                _account(summary, source, list(mapping), raw, on_problem)
                continue
            if strict and scanner is not None and scanner.probe(raw, False) is not None:
                # Valid but for what strict adds (a newer producer's fields, a
                # project_uuid mismatch): worded without validating it again.
                if checker is None:
                    checker = _checker(strict=strict)
                problems = checker.strict_problems(number, orjson.loads(raw))
                _account(summary, source, problems, raw, on_problem)
                continue
            parsed, refused = read_line(raw, number)
            if parsed is None:  # the input layer's problems need no model
                _account(summary, source, list(refused), raw, on_problem)
                continue
            if checker is None:
                checker = _checker(strict=strict)
            if scan is None:  # every line comes here, most of them valid: decided first
                decision = checker.decide_object(parsed)
                problems = [] if decision.valid else checker.problems(number, decision)
            else:  # the core deferred it, so it is most likely invalid: explained at once
                problems = checker.explain(number, parsed)
            if not problems:
                summary.accepted += 1
                continue
            _account(summary, source, problems, raw, on_problem)
    return summary


class _Records:
    """One compact record per accepted envelope, deduplicated after the first read.

    Duplicate detection needs no per-event dictionary: a fixed bitmap of
    event_id hashes flags ids that may repeat, and only those are grouped
    after the read. Copies with identical raw bytes are dropped; copies whose
    bytes differ are settled exactly by canonical JSON (see ``settle``).
    """

    def __init__(self) -> None:
        self.buckets: list[list[bytes]] = [[] for _ in range(_BUCKETS + 1)]
        self._bitmap = bytearray(_BITMAP_BITS >> 3)
        self._suspects: set[str] = set()
        self.conflicts: dict[str, int] = {}
        self.duplicates_dropped = 0
        self._encode = msgspec.msgpack.Encoder().encode

    def make(
        self, event_id: str, lamport: int, instant_us: int, raw: bytes, fact: Fact | None
    ) -> bytes:
        """Record bytes: sortable prefix, event_id, NUL, raw-line digest, msgpack fact.

        The fact is stored without its event_id (the prefix holds it once).
        """
        if fact is not None and fact.event_id:
            fact = msgspec.structs.replace(fact, event_id="")
        return b"".join(
            (
                _PREFIX.pack(lamport, instant_us + _INSTANT_BIAS),
                event_id.encode(),
                b"\x00",
                (hash(raw) & _IDENT_MASK).to_bytes(8, "big"),
                self._encode(fact),
            )
        )

    def offer(
        self,
        event_id: str,
        lamport: int,
        instant_us: int,
        raw: bytes,
        fact: Fact | None,
        source: int = 0,
        line: int = 0,
        offset: int = -1,
        event: Event | None = None,
    ) -> None:
        """Keep one copy's record and remember whether its event_id may repeat.

        (``source``, ``line``, ``offset`` and ``event`` are
        ``_NativeRecords.offer``'s: the pure-Python records find copies by
        reading the lines again.)"""
        self.buckets[_bucket(fact)].append(self.make(event_id, lamport, instant_us, raw, fact))
        slot = hash(event_id) & (_BITMAP_BITS - 1)
        mask = 1 << (slot & 7)
        if self._bitmap[slot >> 3] & mask:
            self._suspects.add(event_id)
        else:
            self._bitmap[slot >> 3] |= mask

    def settle(self, sources: list[Source]) -> None:
        """Drop identical copies and resolve differing ones (section 2 dedup rule)."""
        self._bitmap = bytearray()
        if not self._suspects:
            return
        wanted = {eid.encode() for eid in self._suspects}
        self._suspects = set()
        groups: dict[bytes, list[tuple[int, int]]] = {}
        for b, bucket in enumerate(self.buckets):
            for index, record in enumerate(bucket):
                eid = record[16 : record.index(0, 16)]
                if eid in wanted:
                    groups.setdefault(eid, []).append((b, index))
        differing: dict[str, list[tuple[int, int]]] = {}
        for eid, places in groups.items():
            start = 17 + len(eid)
            first_by_ident: dict[bytes, tuple[int, int]] = {}
            for b, index in places:
                ident = self.buckets[b][index][start : start + 8]
                if ident in first_by_ident:
                    self.buckets[b][index] = b""
                    self.duplicates_dropped += 1
                else:
                    first_by_ident[ident] = (b, index)
            if len(first_by_ident) > 1:
                differing[eid.decode()] = list(first_by_ident.values())
        if differing:
            self._resolve(differing, sources)
        for bucket in self.buckets:
            if b"" in bucket:
                bucket[:] = [record for record in bucket if record]

    def _resolve(self, differing: dict[str, list[tuple[int, int]]], sources: list[Source]) -> None:
        from .modelpath import canonical_json, copies_of, event_to_fact, instant_us

        # Raw bytes differ, so compare canonical JSON: re-read only these ids' lines.
        # Each copy as settle_copies takes it; a record's first 16 bytes order it
        # as its sort key does.
        versions: dict[str, dict[bytes, tuple[bool, tuple[bytes], bytes, tuple[bytes, int]]]] = {
            e: {} for e in differing
        }
        for _, raw, event in copies_of(differing, sources):
            fact = event_to_fact(event)
            record = self.make(event.event_id, event.lamport_clock, instant_us(event), raw, fact)
            start = 17 + len(event.event_id.encode())
            versions[event.event_id][record[start : start + 8]] = (
                unchecked(fact),
                (record[:16],),
                canonical_json(event),
                (record, _bucket(fact)),
            )
        for eid, places in differing.items():
            (best, bucket), dropped, distinct = settle_copies(eid, versions[eid].values())
            self.duplicates_dropped += dropped
            if distinct > 1:
                self.conflicts[eid] = distinct
            for b, index in places:
                self.buckets[b][index] = b""
            self.buckets[bucket].append(best)

    def conflict_anomalies(self) -> list[AnomalyData]:
        """One ``conflicting_duplicate`` anomaly per event_id seen with differing content."""
        return [conflicting_duplicate(eid, count) for eid, count in self.conflicts.items()]


def _kept_copy(event: Event, unknown: bool, values: tuple[str, Any], raw: bytes) -> _Copy:
    """A copy decided in Python when it was read, as it is settled (``unknown``: not
    known valid)."""
    from .modelpath import canonical_json, instant_us

    order = (event.lamport_clock, instant_us(event))
    return unknown, order, canonical_json(event), (order, raw, values)


def _first_valid(
    copies: Iterable[tuple[int, int, int, int]], rejected: AbstractSet[tuple[int, int]]
) -> tuple[int, int]:
    """The first (source index, line) of an event's copies that was not rejected; the
    first of all when every one was (``copies``: ``Scanner.copy_places()`` entries)."""
    lines = sorted((index, line) for index, line, _, _ in copies)
    return next((place for place in lines if place not in rejected), lines[0])


class _NativeRecords:
    """``_Records``' interface over the compiled scanner's record store."""

    def __init__(self, scanner: native.Scanner) -> None:
        self.scanner = scanner
        self.first_places: dict[str, tuple[int, int]] = {}
        """After ``settle``: event_id -> (source index, line) of its first copy, for
        each event_id whose copies differ, when the core knew where they all are."""
        self.unplaced: frozenset[str] = frozenset()
        """After ``settle``: the event_ids whose copies differ, when it did not."""
        self.offsets: dict[tuple[int, int], tuple[int, int]] = {}
        """(source index, line) -> (offset, length) of each line offered with its offset:
        the core knows where its own records' lines are, not where these are."""
        self.kept: dict[tuple[int, int], tuple[Event, bool, tuple[str, Any], bytes]] = {}
        """(source index, line) -> (event, not known valid, record values, line) of a
        line decided in Python (up to ``_KEPT_COPY_BYTES``): settling its event_id
        does not decide it again."""
        self._kept_room = _KEPT_COPY_BYTES

    def offer(
        self,
        event_id: str,
        lamport: int,
        instant_us: int,
        raw: bytes,
        fact: Fact | None,
        source: int = 0,
        line: int = 0,
        offset: int = -1,
        event: Event | None = None,
    ) -> None:
        """Keep one copy decided by the Python path, as an ordinary record.

        ``offset``: where the line starts in its file as stored (-1: not
        known), so that settling copies can read it there again.
        ``event``: the line's; given, it is kept (while there is room) for
        settling its event_id without deciding the line again.
        """
        if offset >= 0:
            self.offsets[source, line] = (offset, len(raw))
        if fact is not None and fact.event_id != event_id:
            fact = msgspec.structs.replace(fact, event_id=event_id)
        kind, values = native.record_values(fact)
        self.scanner.offer(
            event_id, lamport, instant_us, self.scanner.ident(raw), source, line, True, kind, values
        )
        if event is not None and line > 0 and 2 * len(raw) <= self._kept_room:
            self._kept_room -= 2 * len(raw)
            self.kept[source, line] = (event, unchecked(fact), (kind, values), raw)

    def _with_offsets(
        self, copies: Sequence[tuple[int, int, int, int]]
    ) -> tuple[tuple[int, int, int, int], ...]:
        """``copy_places`` entries, each offered line's offset and length filled in."""
        offsets = self.offsets
        return tuple(
            (index, line, *offsets[index, line])
            if offset < 0 and (index, line) in offsets
            else (index, line, offset, length)
            for index, line, offset, length in copies
        )

    def _settle_checked(
        self,
        places: Mapping[str, Sequence[tuple[int, int, int, int]]],
        sources: list[Source],
        kept: Mapping[tuple[int, int], tuple[Event, bool, tuple[str, Any], bytes]],
    ) -> tuple[set[str], int, dict[str, int]]:
        """Settle each event_id whose every copy is known without the models.

        A copy decided in Python when it was read is the one kept then
        (``kept``, ``offer``'s). Any other is read at its offset as
        ``native.copy_taken_whole`` reads it, or, where no offset is known (a
        ``.gz`` input), by its number in one pass over its input
        (``_unplaced_lines``): its sort key and record are the core's, its
        canonical JSON is written from its object without the models. An
        event_id with a copy the core would not take (the model path decides
        it), or that cannot be read, is left for the models. Returns the
        event_ids settled, and the copies dropped and conflicts among them.
        """
        scanner, settled, dropped = self.scanner, set(), 0
        conflicts: dict[str, int] = {}
        by_number = _unplaced_lines(places, sources, kept)
        for eid, at in places.items():
            checked: list[_Copy] = []
            for index, line, offset, length in dict.fromkeys(at):
                known_copy = kept.get((index, line))
                if known_copy is not None:
                    checked.append(_kept_copy(*known_copy))
                    continue
                known = offset >= 0 and index < len(sources)
                raw = (
                    sources[index].read_held(offset, length)
                    if known
                    else by_number.get((index, line))
                )
                took = None if raw is None else native.copy_taken_whole(scanner, raw)
                if took is None or took[0] != eid:
                    break
                assert raw is not None
                _, lamport, instant, canonical, record = took
                order = (lamport, instant)
                unchecked_copy = native.unchecked_record(record[0])
                checked.append((unchecked_copy, order, canonical, (order, raw, record)))
            else:
                # Decided at once: the copies of one event_id are held at a time.
                dropped += self._decide(eid, checked, conflicts)
                settled.add(eid)
        return settled, dropped, conflicts

    def _decide(self, eid: str, found: list[_Copy], conflicts: dict[str, int]) -> int:
        """Offer the winner of one event_id's copies back (``settle_copies``); copies dropped.

        More than one content is a conflict, counted in ``conflicts``.
        """
        ((lamport, instant), raw, (kind, values)), dropped, distinct = settle_copies(eid, found)
        if distinct > 1:
            conflicts[eid] = distinct
        self.scanner.offer(
            eid, lamport, instant, self.scanner.ident(raw), 0, 0, False, kind, values
        )
        return dropped

    def settle(
        self, sources: list[Source], rejected: AbstractSet[tuple[int, int]] = frozenset()
    ) -> tuple[int, dict[str, int]]:
        """Identical copies dropped, and event_id -> distinct contents of differing copies.

        The scanner drops copies with identical raw bytes and removes every
        copy of an event_id whose copies differ; those lines are read again
        and settled exactly (specification section 2), and the winner is
        offered back. ``rejected``: the (source index, line) of the rejected
        lines; ``first_places`` is an event's first line not among them, if any.
        """
        ids, dropped = self.scanner.settle()
        kept, self.kept = self.kept, {}  # needed by this settle only
        conflicts: dict[str, int] = {}
        if not ids:
            return dropped, conflicts
        # Only the lines that hold copies, where the core saw them; every line
        # when it cannot say (copies_at then declines).
        places = self.scanner.copy_places() or {}
        if self.offsets:
            places = {eid: self._with_offsets(at) for eid, at in places.items()}
        rest = set(ids)
        placed = places.keys() == rest
        read: list[tuple[int, bytes, Event]] | None = None
        if placed:
            # Copies the core takes whole are compared without the models.
            settled, dropped_checked, conflicts = self._settle_checked(places, sources, kept)
            dropped += dropped_checked
            rest -= settled
            read = []
            if rest:
                from .modelpath import copies_at

                read = copies_at({eid: places[eid] for eid in rest}, sources)
            for source in {sources[index] for at in places.values() for index, *_ in at}:
                if source.changed_while_held():
                    raise InputError(changed_while_replayed(source.name))
        if read is None:
            # Not where the core saw them: every line is read again to find them.
            from .modelpath import copies_of

            self.unplaced = frozenset(rest)
            read = list(copies_of(rest, sources))
        if placed:
            self.first_places = {
                eid: _first_valid(at, rejected)
                for eid, at in places.items()
                if eid not in self.unplaced
            }
        if not read:
            return dropped, conflicts
        from .modelpath import canonical_json, event_to_fact, instant_us

        copies: dict[str, list[_Copy]] = {eid: [] for eid in rest}
        for _, raw, event in read:
            fact = event_to_fact(event)
            order = (event.lamport_clock, instant_us(event))
            copies[event.event_id].append(
                (
                    unchecked(fact),
                    order,
                    canonical_json(event),
                    (order, raw, native.record_values(fact)),
                )
            )
        for eid, found in copies.items():
            dropped += self._decide(eid, found, conflicts)
        return dropped, conflicts


def _unplaced_lines(
    places: Mapping[str, Sequence[tuple[int, int, int, int]]],
    sources: list[Source],
    kept: Mapping[tuple[int, int], object],
) -> dict[tuple[int, int], bytes]:
    """The copies ``places`` names without an offset (a ``.gz`` input, a CloudEvents
    stand-in) and ``kept`` does not hold, read by number: one pass over each input
    that has any (``Source.lines_at``). Keyed by (source index, line)."""
    wanted: dict[int, set[int]] = {}
    for at in places.values():
        for index, line, offset, _ in at:
            if offset < 0 and line > 0 and index < len(sources) and (index, line) not in kept:
                wanted.setdefault(index, set()).add(line)
    found: dict[tuple[int, int], bytes] = {}
    for index, numbers in wanted.items():
        for number, raw in sources[index].lines_at(numbers):
            if raw is not None:
                found[index, number] = raw
    return found


class _Replayer:
    def __init__(
        self,
        *,
        include_logs: bool,
        max_reconnect_cycles: int,
        scanner: native.Scanner | None = None,
    ) -> None:
        self._checker: LineChecker | None = None
        self.records: _Records | _NativeRecords = (
            _Records() if scanner is None else _NativeRecords(scanner)
        )
        self.engine = Engine(
            ALL_FAMILIES, keep_logs=include_logs, max_reconnect_cycles=max_reconnect_cycles
        )
        self.envelope_anomalies: list[AnomalyData] = []
        self.envelope_places: dict[object, tuple[int, int]] = {}
        """``id()`` of each malformed_envelope anomaly -> (source index, line)."""
        self.rejected_places: dict[str, tuple[int, int]] = {}
        """The event_id a rejected line names -> (source index, line) of the first such line."""
        self.rejected_lines: set[tuple[int, int]] = set()
        """(source index, line) of every rejected line: no anomaly of an event is placed
        on one while a valid line holds that event."""

    def checker(self) -> LineChecker:
        """The model path's line checker (replay is never strict)."""
        if self._checker is None:
            self._checker = _checker(strict=False)
        return self._checker

    def reported(
        self,
        index: int,
        source: Source,
        number: int,
        raw: bytes | None,
        report: int,
        summary: RunSummary,
        on_problem: LineSink,
    ) -> None:
        """Report a line the compiled core took (its record is kept) with a problem.

        A valid envelope of an event type with no payload model (kept as an
        ignored event), or a valid event that breaks semantic rules (kept,
        and applied): the problem is worded from the core's report alone.
        """
        assert raw is not None, "a line over the length limit is never taken"
        self.rejected_lines.add((index, number))
        _account(summary, source, reported_problems(raw, number, report), raw, on_problem)

    def line(
        self,
        index: int,
        source: Source,
        number: int,
        raw: bytes | None,
        summary: RunSummary,
        on_problem: LineSink,
        offset: int = -1,
    ) -> None:
        """Decide, report and keep one line the compiled core left to Python (or any line).

        ``offset``: where the line starts in its file as stored (-1: not known)."""
        if raw is None:
            problem = _too_long(number, source.max_line_bytes)
            found = anomaly(kind="malformed_envelope", event_id=None, message=problem.message)
            self.envelope_anomalies.append(found)
            self.envelope_places[id(found)] = (index, number)
            self.rejected_lines.add((index, number))
            _account(summary, source, [problem], raw, on_problem)
            return
        refused = source.refused(number)
        if refused:  # a stand-in for a line its input refused: those are its problems
            self._refused(index, source, number, raw, refused, summary, on_problem)
            return
        read = read_decided(raw, number)
        # A line the input layer refuses is decided without loading the models.
        decision = read if isinstance(read, Decision) else self.checker().decide_object(read)
        if decision.event is not None:
            from .modelpath import instant_us

            event = decision.event
            self.records.offer(
                event.event_id,
                event.lamport_clock,
                instant_us(event),
                raw,
                decision.fact,
                index,
                number,
                offset,
                event,
            )
        elif decision.anomaly is not None:
            self.envelope_anomalies.append(decision.anomaly)
            self.envelope_places[id(decision.anomaly)] = (index, number)
        if decision.valid:
            summary.accepted += 1
            return
        self.rejected_lines.add((index, number))
        # Placed here, no line is read again to find it.
        eid = (
            decision.event.event_id
            if decision.event is not None
            else named_event_id(raw, decision.parsed)
        )
        if eid is not None:
            self.rejected_places.setdefault(eid, (index, number))
        problems = (
            list(decision.input_problems)
            if decision.parsed is None
            else self.checker().problems(number, decision)
        )
        _account(summary, source, problems, raw, on_problem)

    def _refused(
        self,
        index: int,
        source: Source,
        number: int,
        raw: bytes,
        refused: Sequence[LineProblem],
        summary: RunSummary,
        on_problem: LineSink,
    ) -> None:
        """``line`` for the stand-in of a line its input refused (a CloudEvent that
        does not map): its ``malformed_envelope`` anomaly says why the line itself
        was refused, and names the event the stand-in keeps as deciding it would
        (the input layer's ``refused_event_id`` when it refuses the stand-in: an
        id with a lone surrogate; else the models' ``spelled_event_id``), without
        the models reading the stand-in."""
        stated = "; ".join(problem.stated for problem in refused)
        stand_in, _ = read_line(raw, number)
        named = (
            refused_event_id(raw)
            if stand_in is None
            else spelled_event_id(stand_in.get("event_id"))
        )
        found = anomaly(kind="malformed_envelope", event_id=named, message=stated)
        self.envelope_anomalies.append(found)
        self.envelope_places[id(found)] = (index, number)
        self.rejected_lines.add((index, number))
        eid = named_event_id(raw)
        if eid is not None:
            self.rejected_places.setdefault(eid, (index, number))
        _account(summary, source, list(refused), raw, on_problem)


def _inputs_to_hold(count: int) -> int:
    """How many of ``count`` inputs may be kept open to read lines again: at most
    half the descriptors this process may open, so that many inputs never use
    them all up (a copy in an input not held is settled by reading its line by
    number: the same result, read more slowly)."""
    limit = descriptor_limit()
    return count if limit is None else min(count, max(0, limit // 2 - _DESCRIPTORS_SPARED))


_DESCRIPTORS_SPARED: Final = 16
"""Of the half a replay may hold, kept for what it opens besides (modules, a spool)."""


def replay_sources(
    sources: list[Source],
    *,
    include_logs: bool = True,
    max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES,
    on_problem: LineSink,
    on_line: Callable[[int, int], None] | None = None,
    locate: bool = False,
    render_links: bool = False,
) -> tuple[ReplayData, RunSummary]:
    """Replay every line of ``sources`` into the section 6 projection, reporting problems.

    ``locate`` also finds the input and line of each anomaly's event
    (``ReplayData.located_anomalies``): with the compiled core from its
    records, otherwise (and for conflicting copies) by reading the lines of
    those events again. ``render_links``: for a caller that only writes the
    section 6 JSON of the result; the compiled core then hands over the
    link index as that JSON (``JSONText`` values), not as objects.
    """
    with native.no_gc():
        summary = RunSummary()
        scanner = native.scanner()
        replayer = _Replayer(
            include_logs=include_logs, max_reconnect_cycles=max_reconnect_cycles, scanner=scanner
        )
        scan = None
        if scanner is not None:
            scan = _reserving_scan(scanner, sources)
            for source in sources[: _inputs_to_hold(len(sources))]:
                source.hold_for_rereads = True
        records = replayer.records
        try:
            for index, source, number, raw, report, at in _lines(sources, summary, scan, on_line):
                if report:
                    replayer.reported(index, source, number, raw, report, summary, on_problem)
                else:
                    replayer.line(index, source, number, raw, summary, on_problem, at)
            if scanner is not None:
                _unchanged(scanner, sources)
            if isinstance(records, _NativeRecords):
                # While the files are held: differing copies are read at their offsets.
                dropped, conflicts = records.settle(sources, replayer.rejected_lines)
        finally:
            _release(scanner, sources)
        folded_places: dict[object, tuple[int, int]] | None = None
        all_placed = False
        if isinstance(records, _NativeRecords):
            data = _fold_native(
                replayer,
                records.scanner,
                dropped,
                conflicts,
                place=locate,
                link_indent=LINK_INDEX_INDENT if render_links else -1,
            )
            folded_places, all_placed = records.scanner.fold_places()
        else:
            records.settle(sources)
            data = _fold(replayer, records)
        names = [source.name for source in sources]
        if not locate:
            return ReplayData(data.data, sources=names), summary
        known: Mapping[str, tuple[int, int]] = {}
        rejected: Mapping[str, tuple[int, int]] = {}
        if isinstance(records, _NativeRecords):
            # The first copy of each event_id with differing copies: the winner
            # offered back has no place, and every other line names another id.
            known = records.first_places
            # Settled without their places: only reading every line can tell.
            unplaced = records.unplaced
            rejected = {e: p for e, p in replayer.rejected_places.items() if e not in unplaced}
        places = _anomaly_places(
            data.data,
            scanner,
            sources,
            known,
            rejected,
            folded_places,
            all_placed,
            rejected_lines=replayer.rejected_lines,
            rejected_first=replayer.rejected_places,
        )
        places.update(replayer.envelope_places)
        return ReplayData(data.data, sources=names, places=places), summary


def _anomaly_places(
    data: dict[str, Any],
    scanner: native.Scanner | None,
    sources: list[Source],
    known: Mapping[str, tuple[int, int]] | None = None,
    rejected: Mapping[str, tuple[int, int]] | None = None,
    folded: dict[object, tuple[int, int]] | None = None,
    all_placed: bool = False,
    *,
    rejected_lines: AbstractSet[tuple[int, int]] = frozenset(),
    rejected_first: Mapping[str, tuple[int, int]] | None = None,
) -> dict[object, tuple[int, int]]:
    """event_id -> (source index, line) for every event an anomaly of ``data`` names.

    The first valid line that names the event_id: ``known`` places, else
    the core's kept record (as the fold placed it, ``folded``, or as
    ``locate`` finds it), else the lines read again, leaving out the
    ``rejected_lines``. An event_id that only rejected lines name (its
    kept record, if any, is on one) is placed on the first of them:
    ``rejected`` (for event_ids the core kept no record of, so that their
    lines need no second read) or, after the lines were read again,
    ``rejected_first``. A valid line's anomaly (an ``invalid_transition``,
    a ``conflicting_duplicate``) is thus never placed on a rejected copy
    of its event, which the command line's listing leaves out as reported
    already. ``all_placed``: the compiled fold made every anomaly below
    the stream level and placed each one's event in ``folded``.
    """
    # The fold's places are its kept records' (a log can have an anomaly on
    # every other line: no second pass over every record to find them). Its
    # dict is handed over once, so it becomes the table: only the event_ids
    # it did not place are collected, not one set of all of them; and when
    # it placed every one, only the stream level's (where the envelope and
    # duplicate anomalies are) can name another.
    places: dict[object, tuple[int, int]] = folded if folded is not None else {}
    named = data["anomalies"] if folded is not None and all_placed else all_anomalies(data)
    unplaced = {eid for item in named if (eid := item["event_id"]) and eid not in places}

    def wanted(eid: str) -> bool:
        # Named by an anomaly: placed so far, or not yet. (A place for an
        # event_id no anomaly names would never be looked up.)
        return eid in unplaced or eid in places

    if known:
        for eid in [eid for eid in known if wanted(eid)]:
            places[eid] = known[eid]
            unplaced.discard(eid)
    if scanner is not None and unplaced:
        # The kept record of an event_id is its first valid line.
        found = scanner.locate(list(unplaced))  # a lookup table: no order needed
        places.update(found)
        unplaced.difference_update(found)
    for named, place in (rejected or {}).items():
        # A kept record on a rejected line (a malformed payload) means no valid line
        # names the event_id: then the first line naming it, rejected as well.
        if wanted(named) and (
            named not in places or (places[named] in rejected_lines and place < places[named])
        ):
            places[named] = place
            unplaced.discard(named)
    # A line names an event_id in its normal spelling only: an anomaly's
    # malformed event_id is on no line (its anomaly carries its own place).
    missing = {eid for eid in unplaced if normal_event_id(eid) == eid}
    if missing:
        for index, source in enumerate(sources):
            for number, raw in enumerate(source.lines_again(), start=1):
                eid = None if raw is None else line_event_id(raw)
                if eid in missing and (index, number) not in rejected_lines:
                    places[eid] = (index, number)
                    missing.discard(eid)
            if not missing:
                break
        for eid in missing:  # named by rejected lines only
            if rejected_first and eid in rejected_first:
                places[eid] = rejected_first[eid]
    return places


def _reserving_scan(scanner: native.Scanner, sources: list[Source]) -> Scan:
    """The replay's scan: keep records, and size the dedup table after the first block.

    The table is sized once for the whole input, estimated from the first
    block, rather than doubled (moving every entry) again and again. The
    compiled core bounds the reservation, so a bad estimate costs little.
    """
    input_bytes = _file_bytes(sources)
    reserved = False
    readable: dict[int, bool] = {}

    def scan(
        block: bytes | memoryview, limit: int, index: int, first: int
    ) -> tuple[int, list[tuple[int, int, int]], list[tuple[int, int, int, int]]]:
        nonlocal reserved
        # A kept line of a file held open gets its identity (the hash of its bytes)
        # only if a copy of its event_id arrives: then it is read again by offset.
        source = sources[index]
        if index not in readable:
            how: int | Callable[[int, int], bytes | None] | None = source.reread_fd()
            if how is None:
                how = source.line_reader()
            readable[index] = how is not None and scanner.reread_from(index, how)
        offset = source.block_offset if readable[index] else None
        count, deferred, reported = _scanned(
            scanner,
            block,
            True,
            limit,
            False,
            index,
            first,
            -1 if offset is None else offset,
            source.core_reports,
        )
        accepted = count - len(deferred) - len(reported)
        if not reserved and accepted >= _SAMPLE_LINES:
            reserved = True
            scanner.reserve(input_bytes * accepted // len(block))
        return count, deferred, reported

    return scan


def _scanned(
    scanner: native.Scanner,
    block: bytes | memoryview,
    keep: bool,
    limit: int,
    strict: bool,
    index: int,
    first: int,
    offset: int,
    reports: bool,
) -> tuple[int, list[tuple[int, int, int]], list[tuple[int, int, int, int]]]:
    """``Scanner.scan`` of one block, with the lines it took and reports when ``reports``."""
    if reports:
        return scanner.scan(block, keep, limit, strict, index, first, offset, True)
    count, deferred = scanner.scan(block, keep, limit, strict, index, first, offset)
    return count, deferred, []


def _unchanged(scanner: native.Scanner, sources: list[Source]) -> None:
    """Fail closed when a file whose lines were read again changed while it was replayed.

    A line read again for a copy of its event_id must be the bytes read the
    first time; a file written to meanwhile may hold others there.
    """
    for index, count in enumerate(scanner.rereads()):
        if count and sources[index].changed_while_held():
            raise InputError(changed_while_replayed(sources[index].name))


def _release(scanner: native.Scanner | None, sources: list[Source]) -> None:
    """Close the files held for lines read again, once the scanner no longer has them."""
    for index, source in enumerate(sources):
        if scanner is not None and source.rereadable():
            scanner.reread_from(index, -1)
        source.release_rereads()


def _fold_native(
    replayer: _Replayer,
    scanner: native.Scanner,
    dropped: int,
    conflicts: dict[str, int],
    *,
    place: bool = False,
    link_indent: int = -1,
) -> ReplayData:
    """Fold the scanner's records: partitions in C, the stream-level group by the Engine."""
    folded = fold_compiled(
        replayer.engine,
        scanner,
        replayer.envelope_anomalies,
        dropped,
        conflicts,
        place=place,
        link_indent=link_indent,
    )
    return ReplayData(folded.result_data())


def fold_compiled(
    engine: Engine,
    scanner: native.Scanner,
    envelope_anomalies: list[AnomalyData],
    dropped: int,
    conflicts: dict[str, int],
    *,
    delivery_model: type | None = None,
    place: bool = False,
    link_indent: int = -1,
) -> Folded:
    """Fold a settled scanner's records into ``engine``.

    Everything is folded in C: each partition, then the stream-level group
    (links, events of no family, malformed payloads without a connector),
    routed as ``Engine.fold`` routes it; the link index arrives finished.
    With ``delivery_model`` the sync states' deliveries are made as its
    instances, for a caller that makes result models (``models/results.py``
    takes either). ``place``: the scanner notes where each anomaly's event
    is (``fold_places``). ``link_indent >= 0``: the link index arrives as
    its canonical JSON (``LinkAcc.rendered``), for a caller that only
    writes the JSON.
    """
    event_count = scanner.start_fold(place)
    families = sum(_FAMILY_BITS[f] for f in engine.families)
    keep_logs, max_cycles = engine.keep_logs, engine.max_cycles
    while (
        group := scanner.next_group(keep_logs, max_cycles, families, delivery_model, link_indent)
    ) is not None:
        if group[0] == "stream":
            _, ignored, found, links = group
            engine.ignored += ignored
            engine.stream_anomalies.extend(found)
            if links is not None:
                index, reverse, link_anomalies = links
                if link_indent >= 0:
                    engine.links.rendered = (
                        JSONText(memoryview(index)),
                        JSONText(memoryview(reverse)),
                    )
                else:
                    engine.links.folded = (index, reverse)
                engine.links.anomalies = link_anomalies
            continue
        _, cid, connector_part, sync_part, ignored = group
        engine.ignored += ignored
        if connector_part is not None:
            engine.connector_data[cid] = native.connector_state(cid, connector_part)
        if sync_part is not None:
            engine.sync_data[cid] = native.sync_state(cid, sync_part)
    anomalies = [
        *envelope_anomalies,
        *(conflicting_duplicate(eid, count) for eid, count in conflicts.items()),
    ]
    return Folded(engine, event_count, dropped, anomalies)


def _fold(replayer: _Replayer, records: _Records) -> ReplayData:
    buckets = records.buckets
    records.buckets = []
    event_count = sum(len(bucket) for bucket in buckets)
    anomalies = [*replayer.envelope_anomalies, *records.conflict_anomalies()]
    decode = msgspec.msgpack.Decoder(Fact | None).decode
    engine = replayer.engine
    fold = engine.fold
    set_event_id = msgspec.structs.force_setattr
    # Each bucket holds whole connectors (links all in bucket 0), so folding
    # bucket by bucket in replay order gives the same states as one global
    # fold, while only one bucket's working state is alive at a time.
    while buckets:
        ordered = buckets.pop()
        ordered.sort(reverse=True)
        pop = ordered.pop
        while ordered:
            record = pop()
            end = record.index(0, 16)
            fact = decode(record[end + 9 :])
            if fact is not None:
                set_event_id(fact, "event_id", record[16:end].decode())
            fold(fact)
        engine.drain()
    return ReplayData(
        engine.result_data(
            event_count=event_count,
            duplicates_dropped=records.duplicates_dropped,
            stream_anomalies=anomalies,
        )
    )


def _file_bytes(sources: list[Source]) -> int:
    """Bytes of the sources whose size is known ahead (not a pipe's)."""
    return sum(size for source in sources if (size := source.size()) is not None)


def _partition(fact: Fact | None) -> str | None:
    """Connector a fact is folded with, or None for the stream-level group (links, others)."""
    if isinstance(fact, (ConnectorFact, SyncFact)):
        return fact.connector_id
    if (
        isinstance(fact, MalformedFact)
        and fact.connector_id is not None
        and fact.family is not Family.LINK
    ):
        return fact.connector_id
    return None


def _bucket(fact: Fact | None) -> int:
    """Bucket of a fact: its connector's partition spread over 1.._BUCKETS, the rest in 0."""
    partition = _partition(fact)
    return 0 if partition is None else 1 + hash(partition) % _BUCKETS
