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
winner's partition, in input order, updating the routing map (and every
line that names the event without being a copy of it, such as an invalid
envelope: when it comes first, the event's anomalies are placed on it). The winner's
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

import contextlib
import functools
import mmap
import os
import struct
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

from . import _engine_calls
from .fold import FoldSettings, reading_source
from .plan import Tie, Tracer, lines_before, occurrences
from .routing import Router, event_check_key

if TYPE_CHECKING:
    from ..models.envelope import SortKey

__all__ = ["untangle"]

_READ_BYTES = 1 << 20
"""Bytes of lines a partition file is read by when its check keys are read again."""

_MAX_MARKS = 1 << 16
"""Line starts noted at most while the tied partitions are read (bounded memory)."""

_MAX_BINS = 128
"""Bins the copies are split into at most (each an open file while they are split)."""

_SEEK_BYTES = 1 << 16
"""Bytes read at a time from a noted line start, to find a line a few lines on."""


_Row: Final = struct.Struct("<QQQQQ")
"""A copy's place, before its bytes in a bin: check key, partition, line, offset, length."""

_ROW_BYTES: Final = _Row.size


def untangle(
    ties: Sequence[Tie],
    paths: Sequence[str],
    sizes: list[int],
    routing_path: Path,
    router: Router,
    settings: FoldSettings,
    *,
    bin_bytes: int = 16 << 20,
) -> list[Tie]:
    """Settle the event_ids behind ``ties``; return the ties that must still be joined.

    ``paths[p]`` is partition p's file and ``sizes[p]`` its size, kept up to
    date; ``routing_path`` the routing map of the whole input, rewritten for
    each line moved; ``router`` the router that routed the input (it reads
    a line's check keys again). The copies found are kept on disk, beside
    the routing map, and decided in bins of about ``bin_bytes`` bytes of
    lines (all copies of one key in one bin), so memory holds one bin, not
    every copy.
    """
    if not ties:
        return []
    wanted = {tie.key for tie in ties}
    link_keys: set[int] = set()
    marks: dict[int, list[tuple[int, int]]] = {}
    tied = sorted({p for tie in ties for p in tie.partitions})
    every = _mark_bytes(sum(sizes[p] for p in tied))
    with _Copies(routing_path.parent) as copies:
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
                            copies.add(key, p, number + at + 1, offset + start, line)
                    number += count
                    offset += len(block)
        bins = copies.binned(bin_bytes)
        tied_with = {tie.key: tie.partitions for tie in ties if tie.key not in link_keys}
        settled: set[int] = set()
        moves = _Moves()
        try:
            for b in range(len(bins)):
                settled |= _decide(bins, b, tied_with, settings, moves)
        except _KeysDisagreeError:
            return list(ties)  # nothing is moved before every bin is decided
        # A key some of whose lines are no copies the engine reads is settled: such a
        # line (not a valid envelope) is reported and recorded by itself, wherever it
        # is; one that names a settled event goes with its copies all the same.
        if moves:
            _move(moves, bins, paths, sizes, routing_path, marks)
    return [tie for tie in ties if tie.key not in settled]


class _KeysDisagreeError(Exception):
    """The engine read a copy's event_id as another id than routing did: every tie
    stays joined (never seen: the two read event ids alike)."""


class _Copies:
    """The copies found of the tied event_ids, on disk: appended while the tied
    partitions are read, then split into bins by check key (``binned``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "copies.bin"
        self.handle = self.path.open("wb")
        self.bins: list[BinaryIO] = []

    def __enter__(self) -> _Copies:
        return self

    def __exit__(self, *_: object) -> None:
        self.handle.close()
        for handle in self.bins:
            handle.close()
        for path in (self.path, *self._bin_paths(len(self.bins))):
            with contextlib.suppress(OSError):
                path.unlink()

    def add(self, key: int, partition: int, line: int, offset: int, raw: bytes) -> None:
        """Keep one copy: its key, its place in partition ``partition``, its bytes."""
        self.handle.write(_Row.pack(key, partition, line, offset, len(raw)))
        self.handle.write(raw)

    def binned(self, bin_bytes: int) -> list[BinaryIO]:
        """The copies split into bins of about ``bin_bytes`` bytes each, every copy of one
        key in the same bin, in the order they were found; one open file per bin."""
        self.handle.close()
        count = min(_MAX_BINS, max(1, -(-self.path.stat().st_size // max(1, bin_bytes))))
        if count == 1:
            self.bins = [self.path.open("rb")]
            return self.bins
        outs = [path.open("wb") for path in self._bin_paths(count)]
        try:
            for row, raw in _rows(self.path):
                outs[_bin_of(row[0], count)].write(_Row.pack(*row) + raw)
        finally:
            for out in outs:
                out.close()
        self.path.unlink()
        self.bins = [path.open("rb") for path in self._bin_paths(count)]
        return self.bins

    def _bin_paths(self, count: int) -> list[Path]:
        return [self.folder / f"copies-{b:04d}.bin" for b in range(count)]


def _bin_of(key: int, count: int) -> int:
    """The bin of a check key (keys are uniform bits of the event id: any bits will do)."""
    return key % count


def _rows(source: Path | BinaryIO) -> Iterator[tuple[tuple[int, int, int, int, int], bytes]]:
    """Each copy kept in a copies file: (key, partition, line, offset, length), bytes."""
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(source.open("rb")) if isinstance(source, Path) else source
        handle.seek(0)
        read = functools.partial(handle.read, _READ_BYTES)
        pending = b""
        for chunk in iter(read, b""):
            pending = pending + chunk if pending else chunk
            at = 0
            while len(pending) - at >= _ROW_BYTES:
                row = _Row.unpack_from(pending, at)
                end = at + _ROW_BYTES + row[4]
                if end > len(pending):
                    break
                yield row, pending[at + _ROW_BYTES : end]
                at = end
            pending = pending[at:]
        if pending:
            raise ValueError(f"damaged copies file {handle.name}")


_PARTITION, _LINE, _OFFSET, _LENGTH, _BIN, _AT, _HOME = range(7)
"""The fields of a move, in ``_Moves``."""


class _Moves:
    """The copies to move: (partition, line, offset, length, bin, where in the bin,
    home partition) each, packed: 56 bytes of memory a move (``_move`` adds 32
    while it makes them)."""

    FIELDS: Final = 7

    def __init__(self) -> None:
        self.values = array("q")

    def add(self, moves: Iterable[tuple[int, ...]]) -> None:
        for move in moves:
            self.values.extend(move)

    def __len__(self) -> int:
        return len(self.values) // self.FIELDS

    def field(self, move: int, which: int) -> int:
        """Field ``which`` of move number ``move``."""
        return self.values[move * self.FIELDS + which]

    def by(self, which: int) -> dict[int, array[int]]:
        """The numbers of the moves of each value of field ``which``, in move order."""
        found: dict[int, array[int]] = {}
        values = self.values
        for move, value in enumerate(values[which :: self.FIELDS]):
            held = found.get(value)
            if held is None:
                held = found[value] = array("q")
            held.append(move)
        return found


_Found = tuple[int, int, int, int, int, int]
"""A copy read back from its bin: (key, partition, line, offset, length, where in the bin)."""


def _decide(
    bins: Sequence[BinaryIO],
    b: int,
    tied_with: Mapping[int, tuple[int, ...]],
    settings: FoldSettings,
    moves: _Moves,
) -> set[int]:
    """Decide the winners of bin ``b``'s keys, add the moves they call for to ``moves``,
    and return those keys (settled: their ties need no join).

    A key is settled when every partition it tied holds a copy found again,
    and it is not a link_id's key too (``tied_with`` leaves those out).
    Raises ``_KeysDisagreeError`` when the engine reads a copy's event_id as
    another key's.
    """
    rows: list[_Found] = []
    raws: list[bytes] = []
    found: dict[int, set[int]] = {}
    at = 0  # where the next row starts in the bin
    for row, raw in _rows(bins[b]):
        rows.append((*row, at + _ROW_BYTES))
        raws.append(raw)
        found.setdefault(row[0], set()).add(row[1])
        at += _ROW_BYTES + len(raw)
    settled = {
        key for key, partitions in found.items() if set(tied_with.get(key, ())) == partitions
    }
    decided = [index for index, row in enumerate(rows) if row[0] in settled]
    scratch = Path(bins[b].name).with_suffix(".jsonl")
    ids, names, winners = _winners([raws[index] for index in decided], scratch, settings)
    del raws
    wanted = []
    for index, eid, named in zip(decided, ids, names, strict=True):
        key, partition, line, offset, length, raw_at = rows[index]
        if eid is not None:
            if event_check_key(eid) != key:
                raise _KeysDisagreeError(eid)
        elif named in winners and event_check_key(named) == key:
            # No copy, yet it names the event: should it come first, the event's
            # anomalies are placed on it, so it goes where they are made.
            eid = named
        else:
            continue  # reported and recorded by itself, wherever it is
        home = rows[decided[winners[eid][0]]][1]
        if partition != home:
            wanted.append((partition, line, offset, length, b, raw_at, home))
    moves.add(wanted)
    return settled


def _winners(
    lines: Sequence[bytes], scratch: Path, settings: FoldSettings
) -> tuple[list[str | None], list[str | None], dict[str, tuple[int, SortKey]]]:
    """``copy_winners`` of ``lines`` (input lines, each with its ``\\n``), read as the
    fold reads its partitions (a CloudEvents line mapped first) from ``scratch``, and
    the event_id each line that is no copy still names (``named_event_id``)."""
    if not lines:
        return [], [], {}
    with open(scratch, "wb") as handle:
        handle.writelines(lines)
    try:
        source = reading_source(str(scratch), settings)
        try:
            read = list(source.lines())
        finally:
            source.close()
    finally:
        scratch.unlink()
    ids, winners = _engine_calls.copy_winners(read)
    if len(ids) != len(lines):
        raise ValueError("copies were read back as another number of lines")
    names = [
        None if eid is not None or raw is None else _engine_calls.named_event_id(raw)
        for eid, raw in zip(ids, read, strict=True)
    ]
    return ids, names, winners


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


def _move(
    moves: _Moves,
    bins: Sequence[BinaryIO],
    paths: Sequence[str],
    sizes: list[int],
    routing_path: Path,
    marks: Mapping[int, Sequence[tuple[int, int]]],
) -> None:
    """Make each move: the partition files rewritten, the routing map updated.

    A moved line's bytes are read from its bin when its new partition is
    written. ``marks[p]``: (lines before, byte offset) of the line starts
    noted in partition p's file while its check keys were read (``_marks``).
    """
    field = moves.field
    leaving = moves.by(_PARTITION)
    arriving = moves.by(_HOME)
    position = array("q", bytes(8 * len(moves)))  # each moved line's input index
    before = array("q", bytes(8 * len(moves)))  # its new partition's lines before it
    with open(routing_path, "r+b") as handle, mmap.mmap(handle.fileno(), 0) as routing:
        tracer = Tracer(routing, [len(routing)], [1])
        for p, found in leaving.items():
            where = tracer.positions(p, [field(m, _LINE) for m in found])
            for m in found:
                position[m] = where[field(m, _LINE)]
        for home, found in arriving.items():  # counted in the map as it was routed
            arriving[home] = found = array("q", sorted(found, key=position.__getitem__))
            counts = lines_before(routing, home, [position[m] for m in found])
            for m, count in zip(found, counts, strict=True):
                before[m] = count
        for home, found in arriving.items():
            for m in found:
                routing[position[m]] = home
        routing.flush()

    def read(b: int, at: int, length: int) -> bytes:
        return os.pread(bins[b].fileno(), length, at)

    for p in sorted({*leaving, *arriving}):
        sizes[p] = _rewrite(
            paths[p],
            [(field(m, _OFFSET), field(m, _LENGTH)) for m in leaving.pop(p, ())],
            [
                (before[m], field(m, _BIN), field(m, _AT), field(m, _LENGTH))
                for m in arriving.pop(p, ())
            ],
            read,
            marks.get(p, ()),
        )


def _rewrite(
    path: str,
    leaving: Sequence[tuple[int, int]],
    arriving: Sequence[tuple[int, int, int, int]],
    read: Callable[[int, int, int], bytes],
    marks: Sequence[tuple[int, int]] = (),
) -> int:
    """Rewrite one partition file without the ``leaving`` lines (offset, length) and
    with the ``arriving`` ones (lines before, bin, where, length: their bytes are
    ``read(bin, where, length)``), each after the given number of the file's own
    lines; return its new size.

    The file is copied by byte ranges between those places, not line by line.
    ``marks`` are known line starts (see ``_line_starts``).
    """
    starts = _line_starts(path, sorted({item[0] + 1 for item in arriving}), marks)
    # At one offset, arriving lines go first, in input order (never ordered by content).
    cuts = sorted(
        [(offset, 1, 0, length, None) for offset, length in leaving]
        + [(starts[item[0] + 1], 0, at, 0, item) for at, item in enumerate(arriving)]
    )
    staged = f"{path}.new"
    with open(path, "rb") as old, open(staged, "wb") as new:
        done = 0
        for offset, _, _, skipped, item in cuts:
            _copy(old, new, done, offset)
            if item is not None:
                new.write(read(*item[1:]))
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
