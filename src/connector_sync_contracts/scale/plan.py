"""Which partitions are folded together, and how routed lines are traced back.

Partitions are independent except where a check key ties them (``routing``:
copies of one event_id, or one link_id, in different partitions). Those are
joined (union-find), and the joined sets are packed into *groups* no larger
than the budget allows; each group is one run of the engine. A group holds
whole connectors, whole link components and every copy of each of its
event_ids, so the engine folds it exactly as it folds the same events in a
whole-log replay.

``Tracer`` turns "line k of partition p" back into the input line it came
from, from the routing maps.
"""

from __future__ import annotations

import mmap
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import rshift
from typing import Final, NamedTuple

from .._engine.native import byte_positions as compiled_byte_positions
from .._engine.native import key_ties

__all__ = [
    "Group",
    "Piece",
    "Routing",
    "Tie",
    "Tracer",
    "byte_positions",
    "occurrences",
    "first_lines_of",
    "lines_before",
    "joined_partitions",
    "pack_groups",
    "tied_partitions",
]

_KEY_BITS: Final = 16
_PARTITION_MASK: Final = (1 << _KEY_BITS) - 1
_CHUNK: Final = 1 << 20


Routing = bytes | mmap.mmap
"""Routing maps of all pieces, one byte per line: in memory, or a mapped file."""


class Tie(NamedTuple):
    """A check key seen with more than one partition."""

    key: int
    """The key: the upper 48 bits of its check values."""
    partitions: tuple[int, ...]
    """The partitions it was seen with, ascending (two or more)."""


def joined_partitions(values: Iterable[Sequence[int]]) -> list[Tie]:
    """The ties among one bucket's check values, in key order.

    Each value is a key's upper 48 bits and a 16-bit partition. A key seen
    with more than one partition ties those partitions.
    """
    distinct: set[int] = set()
    for chunk in values:
        distinct.update(chunk)
    highs = list(map(rshift, distinct, repeat(_KEY_BITS)))
    if len(set(highs)) == len(highs):
        return []  # every key in one partition: the usual case, decided in C
    shared = {high for high, seen in Counter(highs).items() if seen > 1}
    ties: dict[int, list[int]] = {}
    for value in distinct:
        high = value >> _KEY_BITS
        if high in shared:
            ties.setdefault(high, []).append(value & _PARTITION_MASK)
    return [Tie(key, tuple(sorted(ties[key]))) for key in sorted(ties)]


def tied_partitions(packed: bytes | bytearray | memoryview) -> list[Tie]:
    """``joined_partitions`` of one bucket's check values packed as ``array("Q")`` bytes.

    In C (a sort) when the compiled core is built, else in Python: the same
    ties either way.
    """
    native = key_ties()
    if native is not None:
        return [Tie(key, tuple(partitions)) for key, *partitions in native(packed)]
    values = array("Q")
    values.frombytes(packed)
    return joined_partitions([values])


@dataclass(frozen=True)
class Group:
    """Partitions folded together in one engine run, and their input bytes."""

    partitions: tuple[int, ...]
    size: int


def pack_groups(sizes: Sequence[int], ties: Iterable[Sequence[int]], capacity: int) -> list[Group]:
    """Join tied partitions, then pack them into groups of at most ``capacity`` bytes.

    ``sizes[p]`` is partition p's input bytes (empty partitions are left
    out). A set of tied partitions larger than ``capacity`` is a group of its
    own. The packing is first-fit by decreasing size, ties broken by the
    lowest partition number, so the same input always gives the same groups.
    """
    parent = list(range(len(sizes)))

    def root(p: int) -> int:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for tie in ties:
        first = root(tie[0])
        for other in tie[1:]:
            found = root(other)
            if found != first:
                low, high = sorted((first, found))
                parent[high] = low
                first = low
    members: dict[int, list[int]] = {}
    for p, size in enumerate(sizes):
        if size:
            members.setdefault(root(p), []).append(p)
    units = sorted(
        ((sum(sizes[p] for p in ps), ps) for ps in members.values()),
        key=lambda unit: (-unit[0], unit[1][0]),
    )
    bins: list[tuple[int, list[int]]] = []
    for size, ps in units:
        for index, (held, parts) in enumerate(bins):
            if held + size <= capacity:
                bins[index] = (held + size, parts + ps)
                break
        else:
            bins.append((size, list(ps)))
    return [Group(tuple(sorted(parts)), size) for size, parts in bins]


@dataclass(frozen=True)
class Piece:
    """One part of the input read by one task: a whole input, or a byte range of one."""

    source: int
    """Index of the input among FILE... (reports name it)."""
    name: str
    """The input as given: a path, ``-`` or a URL."""
    start: int = 0
    """First byte of the range (0 for a whole input)."""
    stop: int | None = None
    """End of the range, or None for the whole input."""
    opened: str = ""
    """Where a task opens the input when that is not ``name``: a relative path made
    absolute where it was given, so that a worker whose working directory differs
    (``--scheduler``) reads the same file."""


class Tracer:
    """Traces routed lines back to the input: (partition, k-th line there) -> input line.

    ``routing`` is the concatenated routing maps of all pieces, in input
    order (one byte per line; a file mapped with ``mmap`` will do);
    ``counts[i]`` is piece i's number of lines and ``first_lines[i]`` the
    input line number of its first line (pieces of one input follow each
    other). Every step is a C-level ``count`` or ``find`` over the map.
    """

    def __init__(self, routing: Routing, counts: Sequence[int], first_lines: Sequence[int]) -> None:
        if sum(counts) != len(routing):
            raise ValueError("routing maps and piece line counts disagree")
        self.routing = routing
        self.starts = list(accumulate(counts, initial=0))
        self.first_lines = list(first_lines)

    def positions(self, partition: int, lines: Iterable[int]) -> dict[int, int]:
        """Input index (0-based, over all pieces) of each of partition's ``lines`` (1-based)."""
        wanted = sorted(set(lines))
        found: dict[int, int] = {}
        if not wanted:
            return found
        routing = self.routing
        chunks = (routing[start : start + _CHUNK] for start in range(0, len(routing), _CHUNK))
        found = dict(occurrences(chunks, partition, wanted))
        if len(found) < len(wanted):
            raise ValueError(f"partition {partition} has fewer than {wanted[len(found)]} lines")
        return found

    def where(self, position: int) -> tuple[int, int]:
        """(piece, line number in its input) of an input index."""
        piece = bisect_right(self.starts, position) - 1
        return piece, self.first_lines[piece] + position - self.starts[piece]


def occurrences(
    chunks: Iterable[bytes], byte: int, wanted: Sequence[int], seen: int = 0
) -> Iterator[tuple[int, int]]:
    """(k, index over all the chunks' bytes) of the k-th occurrence of ``byte``, for
    each k of ``wanted`` (ascending, above ``seen``, the occurrences before the
    first chunk); it stops at the chunks' end, or when all are found, without
    taking another chunk."""
    at = read = 0  # the first of ``wanted`` not found yet; bytes before the chunk
    if not wanted:
        return
    mark = bytes([byte])
    for chunk in chunks:
        here = chunk.count(mark)
        stop = bisect_right(wanted, seen + here, lo=at)
        if stop > at:
            counts = [k - seen for k in wanted[at:stop]]
            for k, index in zip(wanted[at:stop], byte_positions(chunk, byte, counts), strict=True):
                yield k, read + index
            at = stop
        if at == len(wanted):
            return
        seen += here
        read += len(chunk)


def byte_positions(data: bytes | memoryview, byte: int, counts: Sequence[int]) -> list[int]:
    """For each count k of ``counts`` (1-based, ascending), the index in ``data`` of the
    k-th occurrence of ``byte``; the list stops where ``data`` has fewer.

    In C with the compiled core (``route.c``), else a ``find`` per occurrence.
    """
    native = compiled_byte_positions()
    if native is not None:
        found: list[int] = native(data, byte, list(counts))
        return found
    text, mark = bytes(data), bytes([byte])
    found = []
    seen, at, previous = 0, -1, 0
    for k in counts:
        if k <= previous:
            raise ValueError("byte_positions: counts must be ascending, from 1")
        previous = k
        while seen < k:
            at = text.find(mark, at + 1)
            if at < 0:
                return found
            seen += 1
        found.append(at)
    return found


def lines_before(routing: Routing, partition: int, positions: Sequence[int]) -> list[int]:
    """How many lines of ``partition`` the routing map holds before each input index.

    ``positions`` ascending; each count is a C-level ``count`` over the map,
    read a chunk at a time.
    """
    mark = bytes([partition])
    found: list[int] = []
    counted = done = 0
    for position in positions:
        if position < done:
            raise ValueError("positions must be ascending")
        while done < position:
            step = min(position, done + _CHUNK)
            counted += routing[done:step].count(mark)
            done = step
        found.append(counted)
    return found


def first_lines_of(pieces: Sequence[Piece], counts: Sequence[int]) -> list[int]:
    """The input line number of each piece's first line, from each piece's line count."""
    first = []
    seen: dict[int, int] = {}
    for piece, count in zip(pieces, counts, strict=True):
        start = seen.get(piece.source, 0)
        first.append(start + 1)
        seen[piece.source] = start + count
    return first
