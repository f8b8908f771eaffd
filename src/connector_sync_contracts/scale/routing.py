"""Which partition each line goes to, and the keys that find copies across partitions.

A line is routed by what the fold groups it with (specification section 3:
"partition by ``payload.connector_id``"): a connector or sync event goes to
the partition of its ``connector_id``, an ``ExternalReferenceLinked`` event
to the partition of its external key (provider, ref type, ref id), in a
range of partitions of its own (``partition_spaces``), and anything else
(another family, no readable connector, not JSON at all) to a partition
chosen from its own content. Routing reads only those few members:
in C when the compiled core is built (``route.c``, which hands every line
it cannot read unambiguously to ``Router.slow_route`` here), else with
msgspec, caching the partition of each (event type, connector) pair. The
two read every JSON line without a repeated key alike.

Routing does not judge a line: the engine does, when it folds the
partition. It only has to agree with the engine on every line the engine
keeps as an event, and it does: it reads the same JSON members the engine
partitions by (a line the two could read differently, one with a repeated
key for example, is never a valid envelope, so never an event).

Two things can still tie partitions together, and keys kept beside the
lines find both:

- copies of one event_id routed to different partitions (conflicting copies
  that name different connectors): the key is the event_id read in base 36,
  which every spelling of one ULID or UUID shares;
- a ``link_id`` used with external keys of different partitions (the link
  index skips a reused link_id, so those keys depend on each other); those
  are partitions of link lines only, so joining them leaves the
  connectors' partitions apart.

Each key is kept with its partition, and ``plan`` folds partitions that
share one together. A false match (two ids with equal keys) only joins
partitions that did not need it.

Where each line went is kept as a *routing map*: one byte per input line,
in input order, holding its partition (``TOO_LONG`` for a line over the
length limit). Partition p's k-th line is the k-th line whose byte is p, so
a problem the engine reports in a partition is traced back to its true line
without storing a position per line (``plan.Tracer``).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from itertools import accumulate, repeat
from operator import attrgetter, or_, rshift
from typing import Any, Final

import msgspec

from .._engine.native import block_router, lines_keyed
from ..contract.catalog import EVENT_FAMILIES, Family
from . import _engine_calls

__all__ = [
    "MAX_PARTITIONS",
    "TOO_LONG",
    "KeyedLine",
    "Routed",
    "Router",
    "event_check_key",
    "id_bucket_shift",
    "link_key",
    "partition_spaces",
]

KeyedLine = tuple[int, int, bytes, int | None, int | None]
"""A line found by ``Router.keyed_lines``: (index in its block, where it starts there,
its bytes with their ``\\n``, its event_id key, its link_id key)."""

TOO_LONG: Final = 0xFF
"""Routing-map byte of a line over the length limit: reported, never routed."""

MAX_PARTITIONS: Final = TOO_LONG
"""Partitions are numbered below ``TOO_LONG``: one byte per line in the routing map."""

_KEY_BITS: Final = 16
_HIGH: Final = ((1 << 64) - 1) ^ ((1 << _KEY_BITS) - 1)
_CACHE_LIMIT: Final = 1 << 17
_SUB_BLOCK: Final = 4096
_LINK: Final = -1


# The fast path reads the usual line: every member present, a string. A line it
# cannot read is routed alone by the slow path, from the same members read
# leniently, so each line gets the same partition either way.


class _FastPayload(msgspec.Struct, gc=False):
    connector_id: str


class _FastEnvelope(msgspec.Struct, gc=False):
    event_id: str
    event_type: str
    payload: _FastPayload


class _FastCloudEvent(msgspec.Struct, gc=False):
    id: str
    type: str
    data: _FastPayload


class _Payload(msgspec.Struct):
    connector_id: Any = None
    external_provider: Any = None
    external_ref_type: Any = None
    external_ref_id: Any = None
    link_id: Any = None


_Value = _Payload | None | bool | int | float | str | list[Any]


class _Envelope(msgspec.Struct):
    event_id: Any = None
    event_type: Any = None
    payload: _Value = None


class _CloudEvent(msgspec.Struct):
    id: Any = None
    type: Any = None
    data: _Value = None


def id_bucket_shift(buckets: int) -> int:
    """Right shift that turns a 64-bit key into its bucket among ``buckets`` (a power of 2)."""
    if buckets < 1 or buckets & (buckets - 1):
        raise ValueError(f"buckets must be a power of two, not {buckets}")
    return 64 - (buckets.bit_length() - 1)


def event_check_key(event_id: str) -> int:
    """The check key of an event_id: its value read in base 36 (which every spelling of
    one ULID or UUID shares), upper 48 bits shifted down, as ``plan.Tie.key`` holds it.

    Raises ``ValueError`` for an id that is no base-36 number.
    """
    return (_HIGH & int(event_id.replace("-", ""), 36)) >> _KEY_BITS


def _named_key(line: bytes) -> int | None:
    """The check key (shifted, as routing keeps it) of the event a line that is no
    event of the fold still names (``named_event_id``); None when it names none."""
    eid = _engine_calls.named_event_id(line)
    if eid is None:
        return None
    try:
        return event_check_key(eid) << _KEY_BITS
    except ValueError:  # an id no ULID or UUID reads as: named by no valid line either
        return None


def link_key(link_id: str) -> int:
    """The check key of a ``link_id``: CRC-32s of its bytes and of their reverse, low 16 bits 0.

    Not a secret hash: a key only ties partitions, and a false match (two
    ids with one key) folds together partitions that did not need it. The
    compiled router computes the same key (``route.c``).
    """
    data = link_id.encode("utf-8", "surrogatepass")
    return (zlib.crc32(data) << 32 | zlib.crc32(data[::-1])) & _HIGH


def partition_spaces(partitions: int) -> tuple[int, int, int]:
    """How ``partitions`` are shared: (connectors, first link partition, links).

    Connector and sync lines go to partitions ``0 .. connectors - 1``, link
    lines to the ``links`` partitions from ``first``: a reused link_id then
    ties only partitions of link lines, and joining those (the link index
    depends on a link_id's first use) leaves the connectors' partitions
    apart. One partition is shared by both. The compiled router is handed the
    split.
    """
    links = partitions // 2
    if not links:
        return partitions, 0, partitions
    return partitions - links, partitions - links, links


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _spread(key: object, partitions: int) -> int:
    """A partition for a line no family claims, chosen from its content (deterministic)."""
    return zlib.crc32(_bytes(repr(key))) % partitions


_BY_CONNECTOR: Final = 0
_BY_EXTERNAL_KEY: Final = 1
_MAX_KNOWN_TYPES: Final = 64


class _Routes(dict[tuple[Any, Any], int]):
    """(event type, connector_id) -> partition, filled on first sight (``_LINK`` for links).

    ``types`` collects, for the compiled router, how each event type seen
    is routed (by connector or by external key), by its raw ``event_type``
    (or CloudEvents ``type``) bytes.
    """

    def __init__(self, partitions: int, connectors: int, cloudevents: bool) -> None:
        super().__init__()
        self.partitions = partitions
        self.connectors = connectors
        """Partitions ``0 .. connectors - 1`` take connector and sync lines."""
        self.cloudevents = cloudevents
        self.types: dict[bytes, int] = {}

    def family(self, raw_type: object) -> Family | None:
        """The family of a line's event type (its CloudEvents ``type`` mapped first)."""
        event_type = raw_type
        if self.cloudevents and isinstance(raw_type, str):
            from ..interop.cloudevents import parse_type

            try:
                event_type = parse_type(raw_type)[0]
            except ValueError:
                return None
        family = EVENT_FAMILIES.get(event_type) if isinstance(event_type, str) else None
        if family is not None and isinstance(raw_type, str) and len(self.types) < _MAX_KNOWN_TYPES:
            route = _BY_EXTERNAL_KEY if family is Family.LINK else _BY_CONNECTOR
            self.types[_bytes(raw_type)] = route
        return family

    def __missing__(self, key: tuple[Any, Any]) -> int:
        partition = self.route(key)
        if len(self) < _CACHE_LIMIT:
            self[key] = partition
        return partition

    def route(self, key: tuple[Any, Any]) -> int:
        """The partition of (event type, connector_id), either of them any JSON value
        (an object or array one cannot be a key of this cache: it is routed here)."""
        raw_type, cid = key
        family = self.family(raw_type)
        if family is Family.LINK:
            return _LINK
        if family is not None and isinstance(cid, str) and cid:
            return zlib.crc32(_bytes(cid)) % self.connectors
        return _spread(key, self.partitions)


Sink = Callable[[int, memoryview], object]
"""Where a router delivers lines: ``sink(p, data)`` gets whole lines of partition p.

``data`` holds one or more lines, each ended by ``\\n`` (a line's own ``\\r``
kept), in input order; the sink must write or copy it before it returns.
"""


class Routed:
    """Lines routed since the last ``take``: the routing map and the check keys.

    ``routing`` holds one byte per line read (see the module docstring);
    ``ids[b]`` the check values whose key falls in bucket b, packed as
    native 64-bit unsigned integers (``array("Q")``): the key's upper 48
    bits, then the partition in the low 16 bits. The lines themselves went
    to the router's sink.
    """

    __slots__ = ("ids", "line_bytes", "routing")

    def __init__(self, buckets: int) -> None:
        self.routing = bytearray()
        self.ids: list[bytearray] = [bytearray() for _ in range(buckets)]
        self.line_bytes = 0
        """Bytes of the routed lines, line endings included."""


class Router:
    """Routes lines to a sink and into a ``Routed``; one per reading task (or spilling replay).

    Every router of one replay must have the same ``partitions`` and
    ``buckets``: a line's partition and its key's bucket depend only on the
    line. ``buckets`` is a power of two. When the compiled core is built, a
    block's usual lines are routed in C (``route.c``), staged up to
    ``stage_bytes`` per partition, and the others by ``slow_route`` here;
    without it, every line is routed here.
    """

    def __init__(
        self,
        partitions: int,
        buckets: int,
        *,
        sink: Sink,
        cloudevents: bool = False,
        max_line_bytes: int,
        stage_bytes: int = 256 * 1024,
        compiled: bool = True,
    ) -> None:
        if not 1 <= partitions <= MAX_PARTITIONS:
            raise ValueError(f"partitions must be 1..{MAX_PARTITIONS}, not {partitions}")
        self.partitions = partitions
        self.buckets = buckets
        self.max_line_bytes = max_line_bytes
        self.sink = sink
        self._shift = id_bucket_shift(buckets)
        self.routed = Routed(buckets)
        self._spaces = partition_spaces(partitions)
        self._routes = _Routes(partitions, self._spaces[0], cloudevents)
        fast = _FastCloudEvent if cloudevents else _FastEnvelope
        self._fast = msgspec.json.Decoder(fast).decode
        self._lenient = msgspec.json.Decoder(
            (_CloudEvent if cloudevents else _Envelope)
            | None
            | bool
            | int
            | float
            | str
            | list[Any]
        ).decode
        top, kind, identity = (
            ("data", "type", "id") if cloudevents else ("payload", "event_type", "event_id")
        )
        link_members = ("external_provider", "external_ref_type", "external_ref_id", "link_id")
        self._route_fields = attrgetter(kind, f"{top}.connector_id")
        self._link_fields = attrgetter(*(f"{top}.{name}" for name in link_members))
        self._event_id: Callable[[Any], Any] = attrgetter(identity)
        self._names = tuple(map(str.encode, (identity, kind, top, "connector_id", *link_members)))
        self._compiled = block_router() if compiled else None
        self._cap = max(1, stage_bytes)
        self._stage = bytearray(self._cap * partitions) if self._compiled else bytearray()
        self._fill = array("q", bytes(8 * partitions))
        if not cloudevents:
            for event_type in EVENT_FAMILIES:
                self._routes.family(event_type)

    def flush(self) -> None:
        """Deliver every staged line to the sink."""
        view = memoryview(self._stage)
        try:
            for p, staged in enumerate(self._fill):
                if staged:
                    start = p * self._cap
                    with view[start : start + staged] as data:
                        self.sink(p, data)
                    self._fill[p] = 0
        finally:
            view.release()

    def done_routing(self) -> None:
        """Free the staging buffer (every staged line is delivered first). The router
        still reads lines' keys (``keyed_lines``, ``line_keys``); routing again
        stages anew."""
        self.flush()
        self._stage = bytearray()

    def take(self) -> Routed:
        """What was routed since the last ``take``, all of it delivered; the router starts anew."""
        self.flush()
        routed = self.routed
        self.routed = Routed(self.buckets)
        return routed

    def too_long(self) -> None:
        """Note the next line of the input: one over the length limit."""
        self.routed.routing.append(TOO_LONG)

    def route_block(self, block: bytes | memoryview) -> int:
        """Route a block of whole lines (each ended by ``\\n``, the last maybe not); count them."""
        routed = self.routed
        if self._compiled is not None:
            if not self._stage:  # freed by done_routing
                self._stage = bytearray(self._cap * self.partitions)
            lines, line_bytes = self._compiled(
                block,
                self.partitions,
                self._spaces,
                self._shift,
                self.max_line_bytes,
                self._names,
                self._routes.types,
                self.slow_route,
                self._stage,
                self._fill,
                self.sink,
                routed.routing,
                routed.ids,
            )
            routed.line_bytes += line_bytes
            return lines
        found = bytes(block).split(b"\n")
        if not found[-1]:
            found.pop()
        self.route(found)
        return len(found)

    def route(self, lines: Sequence[bytes]) -> None:
        """Route the next ``lines`` of the input (raw, without their ``\\n``), in Python."""
        for start in range(0, len(lines), _SUB_BLOCK):
            part = lines[start : start + _SUB_BLOCK]
            try:
                parts, values = self._route_fast(part)
            except Exception:  # a line the fast path cannot take: this run goes line by line
                parts, values = self._route_slow(part)
            self._append(part, parts, values)

    def _append(self, lines: Sequence[bytes], parts: list[int], values: list[int]) -> None:
        """Deliver ``lines`` to their partitions (``TOO_LONG``: none) and keep check ``values``."""
        routed = self.routed
        routed.routing.extend(parts)
        by_bucket: list[list[int]] = [[] for _ in range(self.buckets)]
        shift = self._shift
        for value in values:
            by_bucket[value >> shift if shift < 64 else 0].append(value)
        for b, found_values in enumerate(by_bucket):
            if found_values:
                routed.ids[b] += array("Q", found_values).tobytes()
        by_part: list[list[bytes]] = [[] for _ in range(self.partitions)]
        for part, line in zip(parts, lines, strict=True):
            if part != TOO_LONG:
                by_part[part].append(line)
                routed.line_bytes += len(line) + 1
        for p, found in enumerate(by_part):
            if found:
                found.append(b"")
                with memoryview(b"\n".join(found)) as data:
                    self.sink(p, data)

    def _route_fast(self, lines: Sequence[bytes]) -> tuple[list[int], list[int]]:
        """Every step per line in C (msgspec); raises when a line needs more."""
        if max(map(len, lines)) > self.max_line_bytes:
            raise ValueError("a line may be over the length limit")
        objs = list(map(self._fast, lines))
        parts = list(map(self._routes.__getitem__, map(self._route_fields, objs)))
        keys = list(
            map(
                _HIGH.__and__,
                map(
                    int,
                    map(str.replace, map(self._event_id, objs), repeat("-"), repeat("")),
                    repeat(36),
                ),
            )
        )
        values = list(map(or_, keys, parts))
        if _LINK in parts:
            at = parts.index(_LINK)
            while True:
                parts[at], link = self._link_partition(self._lenient(lines[at]))
                values[at] = keys[at] | parts[at]
                if link is not None:
                    values.append(link | parts[at])
                try:
                    at = parts.index(_LINK, at + 1)
                except ValueError:
                    break
        return parts, values

    def _link_partition(self, obj: Any) -> tuple[int, int | None]:
        """A link line's partition (that of its external key) and its link_id's key."""
        provider, ref_type, ref_id, link_id = self._link_fields(obj)
        if isinstance(provider, str) and isinstance(ref_type, str) and isinstance(ref_id, str):
            crc = zlib.crc32(_bytes(f"{provider}\x00{ref_type}\x00{ref_id}"))
            _, first, links = self._spaces
            partition = first + crc % links
        else:
            partition = _spread((provider, ref_type, ref_id), self.partitions)
        return partition, link_key(link_id) if isinstance(link_id, str) else None

    def _route_slow(self, lines: Sequence[bytes]) -> tuple[list[int], list[int]]:
        """Line by line, for a run holding a line the fast path could not take."""
        parts: list[int] = []
        values: list[int] = []
        for line in lines:
            content = line[:-1] if line.endswith(b"\r") else line
            if len(content) > self.max_line_bytes:
                parts.append(TOO_LONG)
                continue
            partition, keys = self.slow_route(line)
            parts.append(partition)
            values.extend(key | partition for key in keys)
        return parts, values

    def slow_route(self, line: bytes) -> tuple[int, list[int]]:
        """The partition of one line and its check keys, whatever the line holds."""
        partition, event_key, link = self._read(line)
        return partition, [key for key in (link, event_key) if key is not None]

    def _read(self, line: bytes) -> tuple[int, int | None, int | None]:
        """(partition, event_id key, link_id key) of one line, read leniently.

        A line that is no JSON object with hashable routing members is routed
        by its bytes. A line that is no event of the fold is keyed by the
        event it still names (``named_event_id``), if any: the engine places
        that event's anomalies on the first line naming it when no valid line
        does, so it must be folded with the event's copies (an outside run
        found them placed on the second line when it was elsewhere).
        """
        try:
            obj = self._lenient(line)
        except Exception:  # not JSON that msgspec reads
            return self._by_bytes(line)
        try:
            route = self._route_fields(obj)
        except AttributeError:  # not an object, or its payload is not one
            return self._by_bytes(line)
        try:
            partition = self._routes[route]
        except TypeError:
            # An object or array member (a connector_id of {}, say): routed as any
            # other value, and its event_id keyed below, so that a valid copy of
            # its event in another partition is folded with it.
            partition = self._routes.route(route)
        link = None
        if partition == _LINK:
            partition, link = self._link_partition(obj)
        event_key: int | None
        try:
            event_key = event_check_key(self._event_id(obj)) << _KEY_BITS
        except (AttributeError, TypeError, ValueError):
            event_key = _named_key(line)  # no usable event_id: never an event of the fold
        return partition, event_key, link

    def _by_bytes(self, line: bytes) -> tuple[int, int | None, None]:
        """``_read`` of a line routed by its bytes: keyed by the event it names, if any."""
        return zlib.crc32(line) % self.partitions, _named_key(line), None

    def check_keys(self, lines: Sequence[bytes]) -> tuple[list[int | None], list[int | None]]:
        """``line_keys`` of each of ``lines``, as two lists: the event_id keys, the link_id keys.

        The usual line is read in bulk, as ``_route_fast`` reads it; a run
        holding any other line is read by ``line_keys``, line by line, and
        so is a link's link_id.
        """
        ids: list[int | None] = []
        links: list[int | None] = []
        for start in range(0, len(lines), _SUB_BLOCK):
            part = lines[start : start + _SUB_BLOCK]
            try:
                objs = list(map(self._fast, part))
                routes = list(map(self._routes.__getitem__, map(self._route_fields, objs)))
                plain = map(str.replace, map(self._event_id, objs), repeat("-"), repeat(""))
                keys = map(
                    rshift, map(_HIGH.__and__, map(int, plain, repeat(36))), repeat(_KEY_BITS)
                )
                ids.extend(keys)
            except Exception:  # a line the bulk read cannot take: this run goes line by line
                read = list(map(self.line_keys, part))
                del ids[len(links) :]
                ids.extend(key for key, _ in read)
                links.extend(link for _, link in read)
                continue
            if _LINK in routes:
                links.extend(
                    self.line_keys(line)[1] if route == _LINK else None
                    for line, route in zip(part, routes, strict=True)
                )
            else:
                links.extend(repeat(None, len(part)))
        return ids, links

    def keyed_lines(self, block: bytes, wanted: AbstractSet[int]) -> tuple[int, list[KeyedLine]]:
        """The lines of ``block`` with a check key in ``wanted``, and how many lines it holds.

        ``block``: whole lines, each ended by ``\\n`` (the last maybe not).
        Each line found is (its 0-based index, where it starts in the block,
        its bytes with their ``\\n``, its event_id key, its link_id key), the
        keys as ``check_keys`` gives them. With the compiled core, a line
        ``route_block`` reads without a wanted key is passed over in C
        (``lines_keyed``), as the two routers give every line they both read
        the same keys; the Python router tells the others.
        """
        compiled = lines_keyed() if self._compiled is not None else None
        if compiled is None:
            pieces = block.split(b"\n")
            last = pieces.pop()
            lines = [piece + b"\n" for piece in pieces] + ([last] if last else [])
            starts = list(accumulate(map(len, lines), initial=0))
            ids, links = self.check_keys(lines)
            candidates = (
                (at, starts[at], line, ids[at], links[at]) for at, line in enumerate(lines)
            )
            count = len(lines)
        else:
            count, found = compiled(
                block, self._names, self._routes.types, array("Q", wanted).tobytes()
            )
            candidates = (
                (index, start, line, *self.line_keys(line)) for index, start, line in found
            )
        return count, [item for item in candidates if item[3] in wanted or item[4] in wanted]

    def line_keys(self, line: bytes) -> tuple[int | None, int | None]:
        """The check keys routing gives one line: (its event_id's, its link_id's).

        Each is the key's upper 48 bits shifted down (``plan.Tie.key``), or
        None where the line has none. Read as ``slow_route`` reads the line,
        which routes every JSON line without a repeated key as the compiled
        router does.
        """
        _, event_key, link = self._read(line)
        return (
            None if event_key is None else event_key >> _KEY_BITS,
            None if link is None else link >> _KEY_BITS,
        )
