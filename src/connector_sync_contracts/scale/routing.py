"""Which partition each line goes to, and the keys that find copies across partitions.

A line is routed by what the fold groups it with (specification section 3:
"partition by ``payload.connector_id``"): a connector or sync event goes to
the partition of its ``connector_id``, an ``ExternalReferenceLinked`` event
to the partition of its external key (provider, ref type, ref id), and
anything else (another family, no readable connector, not JSON at all) to a
partition chosen from its own content. Routing reads only those few members,
with msgspec, and caches the partition of each (event type, connector)
pair, so the work per line stays in C.

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
  index skips a reused link_id, so those keys depend on each other).

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

import hashlib
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import attrgetter, or_, rshift
from typing import Any, Final

import msgspec

from ..contract.catalog import EVENT_FAMILIES, Family

__all__ = ["MAX_PARTITIONS", "TOO_LONG", "Routed", "Router", "id_bucket_shift", "link_key"]

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


def link_key(link_id: str) -> int:
    """The check key of a ``link_id``: 48 bits of its BLAKE2b digest (low 16 bits clear)."""
    digest = hashlib.blake2b(link_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _HIGH


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _spread(key: object, partitions: int) -> int:
    """A partition for a line no family claims, chosen from its content (deterministic)."""
    return zlib.crc32(_bytes(repr(key))) % partitions


class _Routes(dict[tuple[Any, Any], int]):
    """(event type, connector_id) -> partition, filled on first sight (``_LINK`` for links)."""

    def __init__(self, partitions: int, cloudevents: bool) -> None:
        super().__init__()
        self.partitions = partitions
        self.cloudevents = cloudevents

    def family(self, raw_type: object) -> Family | None:
        """The family of a line's event type (its CloudEvents ``type`` mapped first)."""
        event_type = raw_type
        if self.cloudevents and isinstance(raw_type, str):
            from ..interop.cloudevents import parse_type

            try:
                event_type = parse_type(raw_type)[0]
            except ValueError:
                return None
        return EVENT_FAMILIES.get(event_type) if isinstance(event_type, str) else None

    def __missing__(self, key: tuple[Any, Any]) -> int:
        raw_type, cid = key
        family = self.family(raw_type)
        if family is Family.LINK:
            partition = _LINK
        elif family is not None and isinstance(cid, str) and cid:
            partition = zlib.crc32(_bytes(cid)) % self.partitions
        else:
            partition = _spread(key, self.partitions)
        if len(self) < _CACHE_LIMIT:
            self[key] = partition
        return partition


class Routed:
    """Lines routed so far: per partition its lines, the routing map, and the check keys.

    ``lines[p]`` holds partition p's raw lines (no line endings) in input
    order; ``routing`` one entry per line read (see the module docstring);
    ``ids[b]`` the check values whose key falls in bucket b: the key's upper
    48 bits followed by the partition in the low 16 bits.
    """

    __slots__ = ("ids", "line_bytes", "lines", "routing")

    def __init__(self, partitions: int, buckets: int) -> None:
        self.lines: list[list[bytes]] = [[] for _ in range(partitions)]
        self.routing: array[int] = array("B")
        self.ids: list[list[int]] = [[] for _ in range(buckets)]
        self.line_bytes = 0
        """Bytes of the routed lines, line endings included: when to write them out."""

    def blob(self, partition: int) -> bytes:
        """Partition ``partition``'s lines as JSONL bytes, each ended by a newline."""
        lines = self.lines[partition]
        if not lines:
            return b""
        lines.append(b"")
        try:
            return b"\n".join(lines)
        finally:
            lines.pop()


class Router:
    """Routes lines into a ``Routed``; one per reading task (or per spilling replay).

    Every router of one replay must have the same ``partitions`` and
    ``buckets``: a line's partition and its key's bucket depend only on the
    line. ``buckets`` is a power of two.
    """

    def __init__(
        self, partitions: int, buckets: int, *, cloudevents: bool = False, max_line_bytes: int
    ) -> None:
        if not 1 <= partitions <= MAX_PARTITIONS:
            raise ValueError(f"partitions must be 1..{MAX_PARTITIONS}, not {partitions}")
        self.partitions = partitions
        self.buckets = buckets
        self.max_line_bytes = max_line_bytes
        self._shift = id_bucket_shift(buckets)
        self.routed = Routed(partitions, buckets)
        self._routes = _Routes(partitions, cloudevents)
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
        self._route_fields = attrgetter(kind, f"{top}.connector_id")
        self._link_fields = attrgetter(
            *(
                f"{top}.{name}"
                for name in ("external_provider", "external_ref_type", "external_ref_id", "link_id")
            )
        )
        self._event_id: Callable[[Any], Any] = attrgetter(identity)

    def take(self) -> Routed:
        """What was routed since the last ``take``; the router starts empty again."""
        routed = self.routed
        self.routed = Routed(self.partitions, self.buckets)
        return routed

    def too_long(self) -> None:
        """Note the next line of the input: one over the length limit."""
        self.routed.routing.append(TOO_LONG)

    def route(self, lines: Sequence[bytes]) -> None:
        """Route the next ``lines`` of the input (raw, without their ``\\n``)."""
        for start in range(0, len(lines), _SUB_BLOCK):
            part = lines[start : start + _SUB_BLOCK]
            try:
                self._route_fast(part)
            except Exception:  # a line the fast path cannot take: this run goes line by line
                self._route_slow(part)

    def _route_fast(self, lines: Sequence[bytes]) -> None:
        """Every step per line in C; raises (having kept nothing) when a line needs more."""
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
        if _LINK in parts:
            self._place_links(lines, parts)
        # Nothing fails from here on.
        routed = self.routed
        deque(map(list.append, map(routed.lines.__getitem__, parts), lines), maxlen=0)
        routed.routing.extend(parts)
        ids = routed.ids
        deque(
            map(
                list.append,
                map(ids.__getitem__, map(rshift, keys, repeat(self._shift))),
                map(or_, keys, parts),
            ),
            maxlen=0,
        )
        routed.line_bytes += sum(map(len, lines)) + len(lines)

    def _place_links(self, lines: Sequence[bytes], parts: list[int]) -> None:
        """Give each link line the partition of its external key, and keep its link_id."""
        at = parts.index(_LINK)
        while True:
            parts[at] = self._link_partition(self._lenient(lines[at]))
            try:
                at = parts.index(_LINK, at + 1)
            except ValueError:
                return

    def _link_partition(self, obj: Any) -> int:
        provider, ref_type, ref_id, link_id = self._link_fields(obj)
        if isinstance(provider, str) and isinstance(ref_type, str) and isinstance(ref_id, str):
            partition = (
                zlib.crc32(_bytes(f"{provider}\x00{ref_type}\x00{ref_id}")) % self.partitions
            )
        else:
            partition = _spread((provider, ref_type, ref_id), self.partitions)
        if isinstance(link_id, str):
            self._keep(link_key(link_id), partition)
        return partition

    def _route_slow(self, lines: Sequence[bytes]) -> None:
        """Line by line, for a run holding a line the fast path could not take."""
        routed = self.routed
        for line in lines:
            content = line[:-1] if line.endswith(b"\r") else line
            if len(content) > self.max_line_bytes:
                routed.routing.append(TOO_LONG)
                continue
            partition = self._partition(line)
            routed.lines[partition].append(line)
            routed.routing.append(partition)
            routed.line_bytes += len(line) + 1

    def _partition(self, line: bytes) -> int:
        """The partition of one line (and its check keys kept), whatever the line holds."""
        try:
            obj = self._lenient(line)
        except Exception:  # not JSON that msgspec reads: routed by its bytes
            return zlib.crc32(line) % self.partitions
        try:
            partition = self._routes[self._route_fields(obj)]
            if partition == _LINK:
                partition = self._link_partition(obj)
        except (AttributeError, TypeError):  # not an object, or unhashable members
            return zlib.crc32(line) % self.partitions
        try:
            raw = self._event_id(obj)
            key = _HIGH & int(raw.replace("-", ""), 36)
        except (AttributeError, TypeError, ValueError):
            return partition  # no usable event_id: never an event of the fold
        self._keep(key, partition)
        return partition

    def _keep(self, key: int, partition: int) -> None:
        self.routed.ids[key >> self._shift].append(key | partition)
