#!/usr/bin/env python3
"""Atheris harness for the compiled scanner (``_native.Scanner``).

Each input is an 8-byte header followed by a body of arbitrary bytes. The
header picks the run's options (``keep``, the line limit, how blocks are cut
and handed over, which records are offered back, ``keep_logs`` and
``max_cycles``); the body is cut into several blocks, at positions taken from
the header, and every block goes through ``Scanner.scan`` the way ``_stream``
uses it. Then the records are offered, settled and folded, group by group,
like ``_stream._fold_native`` does. Checked on every input:

- no crash, no sanitizer report, no exception but the documented ones;
- ``scan`` counts exactly the block's lines (``\\n``-separated, the last one
  without ``\\n`` included), and its deferred ``(index, start, end)`` entries
  have increasing indexes inside the block and each names exactly its line
  (without the ``\\n`` and a ``\\r`` before it);
- a line over the limit is deferred; a line ``scan`` takes is also taken by
  ``probe`` and is a JSON object, and a line it defers within the limit is
  deferred by ``probe`` too;
- the compiled router (``route.c``) gives every line of a block one
  partition and delivers each partition exactly its lines, and its
  ``lines_naming`` picks the lines ``may_name`` picks, but lines with a
  backslash whose event_id (as ``line_event_id`` reads it) is not wanted;
- every block mapped as structured CloudEvents (``cloudevents.c``,
  ``map_cloudevents``) maps or declines each line, in order, and a line it
  maps is the envelope Python's mapping gives for it;
- the fold hands back every kept record exactly once (a link absorbed by
  its key's first link is the one record that leaves no trace), its
  ingested and replayed sums are not negative, a group folded in C converts
  to plain data with ``_accel.connector_state``/``sync_state``, the link
  index is in key order with a reverse index of exactly its keys, and every
  anomaly reported is the dict ``from_native`` makes, message included;
  with the header's ``place`` bit the fold notes the line of each anomaly's
  event (``start_fold(True)``, ``fold_places``): only events of anomalies
  it reported, on lines that were read, all of them when it says so,
  handed over once;
- the first accepted lines, as the mappings ``orjson.loads`` gives and as
  the ``Event``s the model makes of them, go through ``scan_objects``
  (``objects.c``, the path of ``replay()`` of Python objects) with an
  identical copy and a differing copy of each, so the store reads items
  again for their identity, and are settled and folded like the lines: a
  mapping of a line the core took is taken too;
- every line's identity (``Scanner.ident``: ``store.c``'s ``line_identity``)
  is made from any bytes, and a line that is a JSON object keeps it with
  white space around it and after its first brace; a line the input layer
  takes keeps it written again with members in reverse order at every
  depth and every string escaped, and lines that share one are the same
  object;
- the blocks scanned again by a scanner that reads kept lines again from a
  file (``reread_from``: identities made only for a copy of an event_id),
  and by one that reads them again with a callable (lines held in memory),
  find the same identical and differing copies as one that hashes every
  line at once.

Blocks are handed over as buffers that end exactly where their allocation
ends (``ctypes`` arrays; run with ``PYTHONMALLOC=malloc`` so ASan puts a red
zone right after them), so a read one byte past a block is reported.

Run it through ``make fuzz`` (sanitizer build, ASan/UBSan preloaded), or by
hand: ``python fuzz/fuzz_scanner.py fuzz/work/corpus fuzz/corpus -dict=fuzz/scanner.dict``.
Any libFuzzer flag works (``-max_total_time=60``, ``-runs=N``, a crash file
to replay it).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import atheris

with atheris.instrument_imports():
    import orjson

    from connector_sync_contracts._engine import native as _accel
    from connector_sync_contracts.contract.patterns import event_id_key, normal_event_id
    from connector_sync_contracts.scale._engine_calls import line_event_id, may_name
    from connector_sync_contracts.scale.plan import Tie, joined_partitions
    from connector_sync_contracts.scale.routing import TOO_LONG, Router

# After the instrumented imports, so that pydantic and the models are not
# instrumented (they are the slow part of check_objects, not what is fuzzed).
from pydantic import ValidationError

from connector_sync_contracts import Event
from connector_sync_contracts._engine.reports import REPORT_UNKNOWN_TYPE, reported_problems
from connector_sync_contracts.interop._attributes import compiled_plan
from connector_sync_contracts.interop.cloudevents import envelope_from_cloudevent_dict
from connector_sync_contracts.io import LineProblem, parse_line
from connector_sync_contracts.reducing.anomalies import NATIVE_ANOMALIES

HEADER = 8
"""Bytes at the start of each input that choose the options (see ``Plan``)."""

DEFAULT_LIMIT = 1 << 20
_MAX_CUTS = 5  # header bytes 3..7: four cut positions, then strict, weak_bits and place


@dataclass(frozen=True)
class Plan:
    """The options of one run, decoded from the header."""

    keep: bool  # scan(..., keep, ...): store records (replay) or only check (validate)
    snap: bool  # move each cut to just after a newline, as Source.blocks does
    wrapper: int  # 0 exact-size ctypes buffer, 1 bytes, 2 memoryview into the whole body
    keep_logs: bool
    offer_probe: bool  # offer probe()'s values of each accepted line again (dedup copies)
    offer_none: bool  # offer deferred lines as records of no family
    strict: bool  # scan(..., strict, ...): unknown fields are problems (validate --strict)
    weak_bits: int  # keep only this many hash bits, so that collisions are the rule
    place: bool  # start_fold(place): note each anomaly's line as replay --format json does
    render: bool  # next_group(..., link_indent=4): the link index as its JSON text
    reserve: bool  # size the dedup table first, as _stream._reserving_scan does
    limit: int
    max_cycles: int
    cuts: tuple[int, ...]

    @classmethod
    def read(cls, data: bytes) -> tuple[Plan, bytes]:
        """The plan in the header of data, and the body after it."""
        head = data[:HEADER].ljust(HEADER, b"\x00")
        body = data[HEADER:]
        flags, limit_byte, cycles = head[0], head[1], head[2]
        extra = head[3 + _MAX_CUTS - 1]
        n = len(body)
        cuts = sorted({n * b // 256 for b in head[3 : 3 + _MAX_CUTS - 1] if b})
        return (
            cls(
                keep=not flags & 1,
                snap=bool(flags & 2),
                wrapper=(flags >> 2) % 3,
                keep_logs=not flags & 16,
                offer_probe=bool(flags & 32),
                offer_none=bool(flags & 64),
                reserve=bool(flags & 128),
                strict=bool(extra & 1),
                weak_bits=(0, 1, 2, 8)[(extra >> 1) & 3],
                place=bool(extra & 8),
                render=bool(extra & 16),
                limit=DEFAULT_LIMIT if limit_byte == 0 else limit_byte * 8,
                max_cycles=cycles % 8,
                cuts=tuple(cuts),
            ),
            body,
        )


def blocks(body: bytes, plan: Plan) -> Iterator[tuple[int, int]]:
    """(start, end) of each block of body, cut at the plan's positions."""
    start = 0
    for cut in (*plan.cuts, len(body)):
        end = cut
        if plan.snap and end < len(body):
            newline = body.find(b"\n", end)
            end = len(body) if newline < 0 else newline + 1
        if end > start or (end == len(body) and start == end == 0):
            yield start, end
            start = end


def exact(data: bytes) -> Any:
    """A writable buffer of exactly len(data) bytes, allocated on its own."""
    return (ctypes.c_char * len(data)).from_buffer_copy(data) if data else bytearray()


def line_spans(block: bytes) -> list[tuple[int, int]]:
    """(start, end) of each line of a block, as scan() numbers them."""
    spans = []
    start = 0
    while start < len(block):
        newline = block.find(b"\n", start)
        if newline < 0:
            spans.append((start, len(block)))
            break
        end = newline - 1 if newline > start and block[newline - 1] == 13 else newline
        spans.append((start, end))
        start = newline + 1
    return spans


def check_scan(
    scanner: _accel.Scanner, block: bytes, handed: Any, plan: Plan, source: int, first: int
) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """Scan one block and check the answer; return (accepted, deferred, reported lines).

    Without keep (validate), the scan also takes and reports the lines it can
    word (``reports``): each must be a line ``probe`` defers and takes with
    reports, and its report must word at least one problem.
    """
    reported: list[tuple[int, int, int, int]] = []
    if plan.keep:
        count, deferred = scanner.scan(handed, plan.keep, plan.limit, plan.strict, source, first)
    else:
        count, deferred, reported = scanner.scan(
            handed, plan.keep, plan.limit, plan.strict, source, first, -1, True
        )
    spans = line_spans(block)
    assert count == len(spans), (count, len(spans), block)
    previous = -1
    deferred_indexes = set()
    for index, start, end in deferred:
        assert previous < index < count, (previous, index, count)
        assert (start, end) == spans[index], (index, start, end, spans[index])
        previous = index
        deferred_indexes.add(index)
    for index, start, end, code in reported:
        assert index not in deferred_indexes, index
        assert 0 <= index < count, (index, count)
        assert (start, end) == spans[index], (index, start, end, spans[index])
        line = block[start:end]
        assert scanner.probe(exact(line), plan.strict) is None, line
        assert scanner.probe(exact(line), plan.strict, True) is not None, line
        assert reported_problems(line, index + 1, code), (line, code)
        if code & 0xFF == REPORT_UNKNOWN_TYPE and code >> 40:
            # Where the core says the line writes the event type's name, as it reads.
            at, length = code >> 16 & 0xFFFFFF, code >> 40
            named = orjson.loads(bytes(line))["event_type"].encode()
            assert bytes(line[at : at + length]) == named, (line, code)
    reported_indexes = {index for index, _, _, _ in reported}
    accepted, left = [], []
    for index, (start, end) in enumerate(spans):
        line = block[start:end]
        if index in reported_indexes:
            continue
        if index in deferred_indexes:
            left.append(line)
            if len(line) <= plan.limit:
                assert scanner.probe(exact(line), plan.strict) is None, line
            continue
        assert len(line) <= plan.limit, (len(line), plan.limit)
        assert isinstance(orjson.loads(line), dict), line
        accepted.append(line)
    return accepted, left, [block[start:end] for _, start, end, _ in reported]


def offer_lines(
    scanner: _accel.Scanner, accepted: list[bytes], left: list[bytes], plan: Plan
) -> None:
    """Offer records the way the Python path does (probe's values, or made-up ones)."""
    if plan.offer_probe:
        for number, line in enumerate(accepted):
            probed = scanner.probe(exact(line), plan.strict)
            assert probed is not None, line
            event_id, lamport, instant_us, kind, values = probed
            assert isinstance(event_id, str), event_id
            assert 0 < len(event_id.encode()) <= 36, event_id
            assert kind in ("connector", "sync", "link", "other"), kind
            # The same bytes (an identical copy) or, for every other line,
            # another identity (a copy that differs): both reach settle().
            ident = scanner.ident(exact(line)) ^ (len(line) % 2)
            scanner.offer(event_id, lamport, instant_us, ident, 1, number, True, kind, values)
    if plan.offer_none:
        for number, line in enumerate(left):
            # A made-up event id taken from the line's bytes (any text, lone
            # surrogates included), kept as a record of no family.
            text = line.decode("utf-8", "surrogateescape")
            event_id = text[:36]
            lamport = int.from_bytes(line[:8].ljust(8, b"\x00"), "little")
            instant = int.from_bytes(line[8:16].ljust(8, b"\x00"), "little", signed=True)
            args = (event_id, lamport, instant, hash(line) & (2**64 - 1), 2, number, True)
            size = len(event_id.encode("utf-8", "surrogatepass"))
            try:
                scanner.offer(*args, "other", None)
            except UnicodeEncodeError:  # 's#' needs UTF-8: lone surrogates are refused
                assert any(0xD800 <= ord(c) <= 0xDFFF for c in event_id), event_id
            except ValueError:
                assert not 0 < size <= 36, event_id
            else:
                assert 0 < size <= 36, event_id


_SYNC_SKIPS = frozenset(
    {
        "malformed_payload",
        "duplicate_delivery",
        "retry_after_terminal",
        "retry_attempt_regressed",
        "conflicting_outcome",
    }
)
"""Anomaly kinds of a sync record that is not applied (``reducing/steps.sync_step``)."""


def fold(scanner: _accel.Scanner, plan: Plan) -> None:
    """Settle, fold every group and check that each record comes back once."""
    conflicted, dropped = scanner.settle()
    assert dropped >= 0, dropped
    assert all(isinstance(e, str) for e in conflicted), conflicted
    # Where every copy of each conflicted id was read: two copies at least, in order.
    places = scanner.copy_places()
    assert places is not None, "settle() made them"
    assert set(places) == set(conflicted), (places, conflicted)
    for at in places.values():
        assert len(at) >= 2, at
        assert list(at) == sorted(at), at
        assert all((offset < 0) == (length < 0) for _, _, offset, length in at), at
    assert scanner.copy_places() is None, "given once"
    for event_id in conflicted:  # _NativeRecords.settle offers the winner back
        scanner.offer(event_id, 0, 0, 0, 0, 0, False, "other", None)
    live = scanner.start_fold(plan.place)
    seen = winners = 0
    named: set[str] = set()  # the event ids of the anomalies folded
    indent = 4 if plan.render else -1
    while (
        group := scanner.next_group(plan.keep_logs, plan.max_cycles, 7, None, indent)
    ) is not None:
        if group[0] == "stream":
            # Each record is ignored, a stream anomaly, a link that wins its
            # key, a link anomaly, or a link absorbed by its key's winner.
            _, ignored, found, (index, reverse, link_anomalies) = group
            if plan.render:  # each is its JSON text, read-only, that parses
                views = memoryview(index), memoryview(reverse)
                assert all(view.readonly for view in views), views
                index, reverse = (json.loads(bytes(view)) for view in views)
                reverse = [
                    (e["internal_aggregate_type"], e["internal_aggregate_id"], e["external_refs"])
                    for e in reverse
                ]
            seen += ignored + len(found) + len(index) + len(link_anomalies)
            winners = len(index)
            for item in found + link_anomalies:  # every kind has its message
                assert list(item) == ["kind", "event_id", "message"], item
                assert item["kind"] in NATIVE_ANOMALIES, item
                assert item["message"], item
                named.add(item["event_id"])
            keys = [
                (item["external_provider"], item["external_ref_type"], item["external_ref_id"])
                for item in index
            ]
            assert keys == sorted(set(keys)), keys
            assert sorted(tuple(k) for _, _, refs in reverse for k in refs) == keys, reverse
            continue
        tag, cid, connector_part, sync_part, ignored = group
        assert tag == "partition", group
        assert isinstance(cid, str), group
        assert connector_part is not None or sync_part is not None or ignored
        seen += ignored
        if connector_part is not None:
            seen += connector_part[8]
            state = _accel.connector_state(cid, connector_part)
            named.update(a["event_id"] for a in state["anomalies"])
        if sync_part is not None:
            # Every count is >= 0 and sums are exact, so the sums are too.
            assert sync_part[1] >= 0, sync_part[1]
            assert sync_part[2] >= 0, sync_part[2]
            state = _accel.sync_state(cid, sync_part)
            named.update(a["event_id"] for a in state["anomalies"])
            # An applied record counts once; one that is not applied (the
            # compiled fold records anomalies itself) leaves one skip anomaly.
            seen += sum(sync_part[0])
            seen += sum(1 for a in state["anomalies"] if a["kind"] in _SYNC_SKIPS)
    # Only a link can leave no trace (absorbed), and only after a winner of its key.
    assert seen == live or (seen < live and winners), (seen, live)
    assert scanner.next_group(plan.keep_logs, plan.max_cycles, 7, None, indent) is None
    # Each place the fold noted names an anomaly's event, on a line that was read.
    placed, all_placed = scanner.fold_places()
    assert placed.keys() <= named, (placed, named)
    assert all(0 <= source <= 3 and line >= 1 for source, line in placed.values()), placed
    assert plan.place or not (placed or all_placed), placed
    assert not all_placed or placed.keys() == named, (placed, named)
    assert scanner.fold_places() == ({}, False), "given once"


_MAX_OBJECTS = 4
"""Accepted lines of an input also read as Python objects (``check_objects``)."""


def check_objects(lines: list[bytes], plan: Plan) -> None:
    """Read accepted lines again as mappings and Events with ``scan_objects``, and fold them."""
    items: list[Any] = []
    mappings: list[int] = []
    for line in lines[:_MAX_OBJECTS]:
        obj = orjson.loads(line)
        mappings.append(len(items))
        items += [obj, orjson.loads(line)]  # an identical copy, not the same objects
        try:
            event = Event.model_validate(obj)
            other = Event.model_validate({**obj, "node_id": "fuzz-copy"})
        except ValidationError:
            continue
        items += [event, event, other]  # the same Event twice, then a differing copy
    if not items:
        return
    scanner = new_scanner(plan)
    stop, deferred = scanner.scan_objects(items, Event, True, 3, 1, 0, len(items))
    assert stop == len(items), (stop, len(items))
    assert deferred == sorted(set(deferred)), deferred
    assert all(0 <= at < len(items) for at in deferred), deferred
    # The mapping of a line the core took is taken too (the same rules, read
    # from objects); strict lines are a subset of the non-strict ones.
    assert not set(mappings) & set(deferred), (mappings, deferred, lines[:_MAX_OBJECTS])
    fold(scanner, plan)


def check_rereads(body: bytes, plan: Plan) -> None:
    """Scan the blocks again, reading kept lines again from a file holding body: the
    copies settle as they do when every line is hashed at once."""
    if not plan.keep:
        return
    fd = os.memfd_create("fuzz-body")
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        at_once, read_again = new_scanner(plan), new_scanner(plan)
        in_memory = new_scanner(plan)  # lines held in memory: read again by a callable
        assert read_again.reread_from(0, fd)
        assert in_memory.reread_from(0, lambda offset, length: body[offset : offset + length])
        first = 1
        for start, end in blocks(body, plan):
            block = exact(body[start:end])
            count, _ = at_once.scan(block, True, plan.limit, plan.strict, 0, first)
            again = read_again.scan(block, True, plan.limit, plan.strict, 0, first, start)
            held = in_memory.scan(block, True, plan.limit, plan.strict, 0, first, start)
            assert again[0] == count == held[0], (again, count, held)
            first += count
        settled, other = at_once.settle(), read_again.settle()
        assert (sorted(other[0]), other[1]) == (sorted(settled[0]), settled[1]), (settled, other)
        assert in_memory.rereads() == read_again.rereads()
        held_settled = in_memory.settle()
        assert (sorted(held_settled[0]), held_settled[1]) == (sorted(other[0]), other[1])
        # The same copies, and where a line was read from the file, its bytes end a line there.
        hashed, placed = at_once.copy_places() or {}, read_again.copy_places() or {}
        assert (in_memory.copy_places() or {}) == placed
        assert {e: [p[:2] for p in at] for e, at in hashed.items()} == {
            e: [p[:2] for p in at] for e, at in placed.items()
        }, (hashed, placed)
        for at in placed.values():
            for _, _, offset, length in at:
                if offset >= 0:
                    assert offset + length <= len(body), (offset, length)
                    assert body[offset + length : offset + length + 1] in (b"", b"\n", b"\r")
    finally:
        os.close(fd)


def new_scanner(plan: Plan) -> _accel.Scanner:
    """A fresh scanner, as ``_accel.scanner()`` makes it (weak hashes when the plan says so)."""
    made = _accel.scanner(key=bytes(16), weak_bits=plan.weak_bits)
    assert made is not None
    return made


def check_route(block: bytes, handed: Any, plan: Plan) -> None:
    """Route one block with the compiled router (``route.c``) and check the answer.

    Every line gets one routing byte; each partition receives exactly its
    lines, whole and in order; the check keys carry their partition, and
    ``key_ties`` finds the ties the Python check finds.
    """
    partitions = 1 + plan.limit % 7
    delivered = [bytearray() for _ in range(partitions)]
    router = Router(
        partitions,
        4,
        sink=lambda p, data: delivered[p].extend(data),
        max_line_bytes=plan.limit,
        stage_bytes=1 + len(block) % 97,
        cloudevents=plan.strict,
    )
    lines = block.split(b"\n")
    if not lines[-1]:
        lines.pop()
    assert router.route_block(handed) == len(lines)
    routed = router.take()
    assert len(routed.routing) == len(lines)
    for p in range(partitions):
        mine = [line for line, q in zip(lines, routed.routing, strict=True) if q == p]
        assert bytes(delivered[p]) == b"".join(line + b"\n" for line in mine)
    assert all(q < partitions or q == TOO_LONG for q in routed.routing)
    for bucket in routed.ids:
        assert len(bucket) % 8 == 0
        values = memoryview(bucket).cast("Q")
        assert all(value & 0xFFFF < partitions for value in values)
        ties = [Tie(key, tuple(found)) for key, *found in _accel.key_ties()(bucket)]
        assert ties == joined_partitions([values])


def check_cloudevents(scanner: _accel.Scanner, block: bytes, handed: Any, plan: Plan) -> None:
    """Map one block as structured CloudEvents (``cloudevents.c``) and check the answer.

    Every line is mapped or declined, in order; a mapped line is the
    envelope Python's mapping gives for it (same members, order and types).
    """
    count, mapped, declined = scanner.map_cloudevents(handed, plan.limit, compiled_plan())
    spans = line_spans(block)
    assert count == len(spans), (count, len(spans))
    out = mapped.split(b"\n")
    assert out.pop() == b"", mapped[-80:]
    assert len(out) == count - len(declined), (len(out), count, declined)
    declined_at = {}
    previous, place = -1, 0
    for index, start, end, at in declined:
        assert previous < index < count, (previous, index, count)
        assert (start, end) == spans[index], (index, start, end)
        assert place <= at <= len(mapped), (place, at)
        assert at == 0 or mapped[at - 1] == 10, at
        previous, place = index, at
        declined_at[index] = at
    lines = iter(out)
    for index, (start, end) in enumerate(spans):
        if index in declined_at:
            continue
        line = block[start:end]
        assert len(line) <= plan.limit, (len(line), plan.limit)
        got = orjson.loads(next(lines))
        parsed = parse_line(line)
        assert not isinstance(parsed, LineProblem), (parsed, line)
        expected = envelope_from_cloudevent_dict(parsed)
        assert json.dumps(got) == json.dumps(expected), (got, expected)


class _Number(str):
    """A number's text as the line writes it (``json.loads``' parse hooks)."""


def _written_otherwise(value: Any) -> str:
    """``value`` (read with its numbers as ``_Number``) as another writer writes it:
    members in reverse order at every depth, every string \\u-escaped and ``/``
    written ``\\/``, white space between tokens, each number's text unchanged."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True).replace("/", "\\/")
    if isinstance(value, dict):
        members = [f"{_written_otherwise(k)} : {_written_otherwise(v)}" for k, v in value.items()]
        return "{ " + " , ".join(reversed(members)) + " }"
    if isinstance(value, list):
        return "[ " + " , ".join(_written_otherwise(item) for item in value) + " ]"
    return json.dumps(value)  # true, false, null


def _same_event(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same JSON object, but for the spelling of its event_id (as identities take it)."""
    a, b = dict(a), dict(b)
    for event in (a, b):
        if isinstance(event.get("event_id"), str):
            event["event_id"] = normal_event_id(event["event_id"]) or event["event_id"]
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def check_identity(scanner: _accel.Scanner, block: bytes) -> None:
    """Identities of arbitrary lines. For a line the input layer takes: white space,
    member order at any depth and string escapes are no part of it, and lines that
    share one are the same object (the event_id's spelling aside)."""
    taken: dict[int, dict[str, Any]] = {}
    for start, end in line_spans(block):
        line = block[start:end]
        ident = scanner.ident(exact(line))
        parsed = parse_line(line)
        if isinstance(parsed, LineProblem):
            # Not taken (nested deeper than the limit, say): hashed as written.
            continue
        spaced = b" \t" + line.replace(b"{", b"{\r\n ", 1) + b" "
        assert scanner.ident(exact(spaced)) == ident, (line, spaced)
        held = taken.setdefault(ident, parsed)
        assert _same_event(held, parsed), (held, parsed)
        as_written = json.loads(line, parse_float=_Number, parse_int=_Number)
        again = _written_otherwise(as_written).encode()
        assert scanner.ident(exact(again)) == ident, (line, again)


def check_lines_naming(block: bytes, handed: Any) -> None:
    """``lines_naming`` (route.c) picks the lines ``may_name`` picks, for keys the block's
    own ``"event_id"`` values give (some wanted, some not), but may pass over a line with
    a backslash (which ``may_name`` keeps) that names no wanted id when read."""
    values = re.findall(rb'"event_id"[ \t\r\n]*:[ \t\r\n]*"([^"\\\n]*)"', block)
    keys = frozenset(v.replace(b"-", b"").lower() for v in values[::2])
    count, found = _accel.lines_naming()(handed, keys)
    pieces = block.split(b"\n")
    if not pieces[-1]:
        pieces.pop()
    assert count == len(pieces), (count, len(pieces))
    expected = [
        (at, piece)
        for at, piece in enumerate(pieces)
        if may_name(piece[:-1] if piece.endswith(b"\r") else piece, keys)
    ]
    left_out = sorted(set(expected) - set(found))
    assert set(found) <= set(expected), (found, expected)
    for _, piece in left_out:
        assert b"\\" in piece, piece
        eid = line_event_id(piece[:-1] if piece.endswith(b"\r") else piece)
        assert eid is None or event_id_key(eid).encode() not in keys, piece


def test_one_input(data: bytes) -> None:
    """The fuzz target: one whole scan, offer, settle and fold run."""
    plan, body = Plan.read(data)
    scanner = new_scanner(plan)
    if plan.reserve:
        scanner.reserve(len(body) * (1 + plan.max_cycles))
    accepted: list[bytes] = []
    left: list[bytes] = []
    reported: list[bytes] = []
    first = 1
    for source, (start, end) in enumerate(blocks(body, plan)):
        block = body[start:end]
        handed: Any = (exact(block), block, memoryview(body)[start:end])[plan.wrapper]
        got, rest, worded = check_scan(scanner, block, handed, plan, source % 3, first)
        check_route(block, handed, plan)
        check_lines_naming(block, handed)
        check_cloudevents(scanner, block, handed, plan)
        first += len(got) + len(rest) + len(worded)
        accepted += got
        left += rest
        reported += worded
    check_identity(scanner, body)
    offer_lines(scanner, accepted, left, plan)
    fold(scanner, plan)
    check_rereads(body, plan)
    # A line the core takes with reports (another family, a broken rule) is an
    # item scan_objects takes too.
    check_objects(accepted + reported, plan)


def main() -> None:
    """Run libFuzzer with sys.argv (corpus folders and libFuzzer flags)."""
    if _accel.scanner() is None:
        sys.exit(f"no compiled scanner: build it, and unset {_accel.PURE_PYTHON_ENV}")
    if os.environ.get("PYTHONMALLOC") != "malloc":
        print("note: PYTHONMALLOC=malloc lets ASan see reads past a block", file=sys.stderr)
    checks = (
        blocks,
        line_spans,
        check_scan,
        check_route,
        check_lines_naming,
        check_cloudevents,
        offer_lines,
        fold,
        check_rereads,
        check_objects,
        test_one_input,
    )
    for function in checks:
        atheris.instrument_func(function)  # Python-level coverage of the checks themselves
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
