"""Copies of one event_id in different partitions, settled so they need not be folded together.

Conflicting copies of one event_id that name different connectors are
routed to different partitions, and their check key ties those partitions.
Tied partitions used to be folded as one group, and ties chain: a few
hundred such event_ids spread over a log joined every partition into one
group, which held the whole log in memory.

Only the copy the dedup keeps is folded, and which copy that is depends on
the copies alone (specification section 2: a valid payload first, then the
smallest sort key and canonical JSON). So the spilling replay settles such
event_ids before the fold instead: it reads the copies of each tied
event_id, has the engine's dedup rule name the winner
(``_engine_calls.copy_winners``) and moves every other copy into the
winner's partition, in input order, updating the routing map. The winner's
group then holds every copy and folds them exactly as the whole log does:
the same copy kept, the same ``duplicates_dropped`` and
``conflicting_duplicate``, each line reported at its true place. A losing
copy changes no other partition's fold, so the partitions it left need no
join.

Ties of another kind stay joined: a ``link_id`` used with external keys in
different partitions (the link index depends on its first use), a key
that names lines the engine does not read as copies of one event, and a
key whose lines could not all be found again.
"""

from __future__ import annotations

import functools
import mmap
import os
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from . import _engine_calls
from .fold import FoldSettings, reading_source
from .plan import Tie, Tracer, lines_before, occurrences
from .routing import Router

__all__ = ["untangle"]

_READ_BYTES = 1 << 20
"""Bytes of lines a partition file is read by when its check keys are read again."""

_MAX_MARKS = 1 << 16
"""Line starts noted at most while the tied partitions are read (bounded memory)."""

_SEEK_BYTES = 1 << 16
"""Bytes read at a time from a noted line start, to find a line a few lines on."""


@dataclass(frozen=True, slots=True)
class _Copy:
    partition: int
    line: int
    """1-based line number in its partition file."""
    offset: int
    """Where the line starts in its partition file."""
    raw: bytes
    """The line as stored, ``\\n`` included."""


def untangle(
    ties: Sequence[Tie],
    paths: Sequence[str],
    sizes: list[int],
    routing_path: Path,
    router: Router,
    settings: FoldSettings,
) -> list[Tie]:
    """Settle the event_ids behind ``ties``; return the ties that must still be joined.

    ``paths[p]`` is partition p's file and ``sizes[p]`` its size, kept up to
    date; ``routing_path`` the routing map of the whole input, rewritten for
    each line moved; ``router`` the router that routed the input (it reads
    a line's check keys again).
    """
    if not ties:
        return []
    wanted = {tie.key for tie in ties}
    found: dict[int, list[_Copy]] = {}
    link_keys: set[int] = set()
    marks: dict[int, list[tuple[int, int]]] = {}
    tied = sorted({p for tie in ties for p in tie.partitions})
    every = _mark_bytes(sum(sizes[p] for p in tied))
    for p in tied:
        number = offset = 0  # lines and bytes before this block
        marks[p], due = [], every
        with open(paths[p], "rb") as handle:
            for block in _whole_lines(handle):
                count, keyed = router.keyed_lines(block, wanted)
                due = _marks(block, number, offset, every, due, marks[p])
                for at, start, line, key, link in keyed:
                    if link in wanted:
                        link_keys.add(link)
                    if key in wanted:
                        copy = _Copy(p, number + at + 1, offset + start, line)
                        found.setdefault(key, []).append(copy)
                number += count
                offset += len(block)
    joined: list[Tie] = []
    copies: list[_Copy] = []
    for tie in ties:
        named = found.get(tie.key, [])
        if tie.key in link_keys or {c.partition for c in named} != set(tie.partitions):
            joined.append(tie)
        else:
            copies.extend(named)
    moves = _moves(copies, routing_path.parent / "copies.jsonl", settings)
    # A key some of whose lines are no copies the engine reads stays settled: such a
    # line (not a valid envelope) is reported and recorded by itself, wherever it is.
    if moves:
        _move(moves, paths, sizes, routing_path, marks)
    return joined


def _whole_lines(handle: BinaryIO) -> Iterator[bytes]:
    """A file's bytes as blocks of whole lines (the last one maybe without its ``\\n``)."""
    rest = b""
    while chunk := handle.read(_READ_BYTES):
        if rest:
            chunk = rest + chunk
        cut = chunk.rfind(b"\n") + 1
        rest = chunk[cut:]
        if cut:
            yield chunk[:cut]
    if rest:
        yield rest


def _mark_bytes(total: int) -> int:
    """Bytes between two noted line starts, for tied partitions of ``total`` bytes:
    ``_SEEK_BYTES``, or more so that at most ``_MAX_MARKS`` are noted."""
    return max(_SEEK_BYTES, -(-total // _MAX_MARKS))


def _marks(
    block: bytes, number: int, offset: int, every: int, due: int, into: list[tuple[int, int]]
) -> int:
    """Note in ``into`` (lines before, byte offset) of the first line start at or
    after ``due``, and then ``every`` bytes on, within ``block``; return the
    next ``due``. ``number`` lines and ``offset`` bytes come before the block."""
    lines, counted = number, 0  # newlines before block[counted]
    while due < offset + len(block):
        cut = block.find(b"\n", max(due - offset - 1, 0))
        if cut < 0 or cut + 1 == len(block):
            break  # the next line starts in the next block
        lines += block.count(b"\n", counted, cut + 1)
        counted = cut + 1
        into.append((lines, offset + counted))
        due = offset + counted + every
    return due


def _moves(copies: list[_Copy], scratch: Path, settings: FoldSettings) -> list[tuple[_Copy, int]]:
    """(copy, partition) for each copy that must join its event_id's winner."""
    if not copies:
        return []
    with open(scratch, "wb") as handle:
        handle.writelines(c.raw for c in copies)
    try:
        source = reading_source(str(scratch), settings)
        try:
            ids, winners = _engine_calls.copy_winners(source.lines())
        finally:
            source.close()
    finally:
        scratch.unlink()
    if len(ids) != len(copies):
        raise ValueError("copies were read back as another number of lines")
    moves = []
    for copy, eid in zip(copies, ids, strict=True):
        if eid is not None:
            home = copies[winners[eid][0]].partition
            if copy.partition != home:
                moves.append((copy, home))
    return moves


def _move(
    moves: Sequence[tuple[_Copy, int]],
    paths: Sequence[str],
    sizes: list[int],
    routing_path: Path,
    marks: Mapping[int, Sequence[tuple[int, int]]],
) -> None:
    """Move each copy to its partition: the files rewritten, the routing map updated.

    ``marks[p]``: (lines before, byte offset) of the line starts noted in
    partition p's file while its check keys were read (``_marks``).
    """
    with open(routing_path, "r+b") as handle, mmap.mmap(handle.fileno(), 0) as routing:
        tracer = Tracer(routing, [len(routing)], [1])
        leaving: dict[int, list[_Copy]] = {}
        for copy, _ in moves:
            leaving.setdefault(copy.partition, []).append(copy)
        where = {
            p: tracer.positions(p, [copy.line for copy in copies]) for p, copies in leaving.items()
        }
        arriving: dict[int, list[tuple[int, bytes]]] = {}
        for copy, home in moves:
            arriving.setdefault(home, []).append((where[copy.partition][copy.line], copy.raw))
        inserts: dict[int, list[tuple[int, bytes]]] = {}
        for home, items in arriving.items():  # counted in the map as it was routed
            items.sort()
            before = lines_before(routing, home, [position for position, _ in items])
            inserts[home] = [(count, raw) for count, (_, raw) in zip(before, items, strict=True)]
        for home, items in arriving.items():
            for position, _ in items:
                routing[position] = home
        routing.flush()
    for p in sorted({*leaving, *inserts}):
        sizes[p] = _rewrite(paths[p], leaving.get(p, []), inserts.get(p, []), marks.get(p, ()))


def _rewrite(
    path: str,
    leaving: Sequence[_Copy],
    arriving: Sequence[tuple[int, bytes]],
    marks: Sequence[tuple[int, int]] = (),
) -> int:
    """Rewrite one partition file without the ``leaving`` lines and with the ``arriving``
    ones, each after the given number of the file's own lines; return its new size.

    The file is copied by byte ranges between those places, not line by line.
    ``marks`` are known line starts (see ``_line_starts``).
    """
    starts = _line_starts(path, sorted({count + 1 for count, _ in arriving}), marks)
    # At one offset, arriving lines go first, in input order (never ordered by content).
    cuts = sorted(
        [(copy.offset, 1, 0, len(copy.raw), b"") for copy in leaving]
        + [(starts[count + 1], 0, at, 0, raw) for at, (count, raw) in enumerate(arriving)]
    )
    staged = f"{path}.new"
    with open(path, "rb") as old, open(staged, "wb") as new:
        done = 0
        for offset, _, _, skipped, raw in cuts:
            _copy(old, new, done, offset)
            new.write(raw)
            done = max(done, offset + skipped)
        _copy(old, new, done, None)
    os.replace(staged, path)
    return os.path.getsize(path)


def _line_starts(
    path: str, numbers: Sequence[int], marks: Sequence[tuple[int, int]] = ()
) -> dict[int, int]:
    """Where each 1-based line of ``numbers`` (ascending) starts in ``path``; a number
    one past the last line starts at the end.

    ``marks``: (lines before, byte offset) of known line starts, ascending.
    Each line is looked for from the last mark before it, so only the bytes
    between a mark and the lines wanted after it are read; without marks,
    the file from its start.
    """
    found: dict[int, int] = {}
    known = [(0, 0), *marks]
    befores = [before for before, _ in known]
    groups: dict[int, list[int]] = {}
    for k in numbers:
        # Line k starts after the file's (k - 1)-th newline.
        groups.setdefault(bisect_right(befores, max(k - 1, 0)) - 1, []).append(k)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        for mark, wanted in groups.items():
            newlines, read = known[mark]
            handle.seek(read)
            chunks = iter(functools.partial(handle.read, _SEEK_BYTES), b"")
            counts = [k - 1 for k in wanted if k - 1 > newlines]
            ends = dict(occurrences(chunks, ord("\n"), counts, newlines))
            for k in wanted:
                # Line k follows newline k - 1, or is the mark's own line; else past the end.
                end = ends.get(k - 1)
                found[k] = read if k - 1 <= newlines else size if end is None else read + end + 1
    return found


def _copy(source: BinaryIO, target: BinaryIO, start: int, stop: int | None) -> None:
    """Copy ``source``'s bytes from ``start`` to ``stop`` (None: its end) to ``target``."""
    source.seek(start)
    left = None if stop is None else stop - start
    while left is None or left > 0:
        chunk = source.read(_READ_BYTES if left is None else min(left, _READ_BYTES))
        if not chunk:
            return
        target.write(chunk)
        if left is not None:
            left -= len(chunk)
