"""Partitioned replay on one machine: partitions spilled to a temporary folder.

The inputs are read once, block by block; every line is routed to its
partition and written out whenever the routed lines reach the budget's
buffer size. Then each group of partitions is folded by the engine, one
after the other, and the groups' fragments merged. Memory holds one block,
the buffer, and one group's fold: the budget, plus whatever one connector
alone needs beyond it.

Two threads keep the disk busy while the main thread routes and folds
(``overlap``): one reads an input file a few blocks ahead of the router;
the other asks the kernel to read the next group's files while a group
folds, and removes each group's files once it is folded. Writing the
partition files from a thread was measured too, and was slower (the
writes wait for the GIL): they are written by the router's sink.

When the input files and their partition files together outgrow the
machine's memory, the pages of an input are released from the page cache
as it is routed (``_Release``): the input is read once, and the memory it
would keep cached holds the partition files instead, which the groups then
read from memory rather than from the disk.

The folder (``connector-sync-*`` in the system's temporary directory, or
``TMPDIR``) is removed when the replay ends: normally, on an error, and on
Ctrl-C.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import BinaryIO

from ..errors import ContractError, InputError, SpillError
from ..io import Source, descriptor_limit, os_error_reason
from ._engine_calls import no_gc
from .budget import Budget, system_memory
from .fold import FoldSettings, fold_group, report_too_long
from .outcome import Outcome
from .overlap import Behind, ahead
from .plan import Group, Piece, Tie, Tracer, first_lines_of, pack_groups, tied_partitions
from .routing import MAX_PARTITIONS, TOO_LONG, Routed, Router, partition_spaces
from .untangle import untangle

__all__ = ["bucket_count", "estimated_bytes", "partition_count", "spilling"]

_GZIP_RATIO = 8
"""Assumed growth of gzip input when its size is estimated (JSON lines compress about 8x)."""
_CHECK_BYTES_PER_KEY = 100
_STAGE_MIN = 4096
_STAGE_MAX = 2**20
"""Bytes of lines staged per partition before they are written (within the buffer)."""
_BYTES_PER_LINE_FLOOR = 200
_RELEASE_EVERY = 256 * 2**20
"""Bytes of an input read between two releases of its pages from the page cache."""


def estimated_bytes(sources: Sequence[Source]) -> int | None:
    """About how many bytes of lines the inputs hold; None when one is a pipe or stdin.

    Raises ``InputError`` ("cannot read NAME: no such file", ...) when an
    input cannot be read: this is the first look at them.
    """
    total = 0
    for source in sources:
        try:
            if source.streamed():
                return None
            size = os.path.getsize(source.name)
            with open(source.name, "rb") as handle:
                compressed = handle.read(2) == b"\x1f\x8b"
        except OSError as exc:
            raise InputError(f"cannot read {source.name}: {os_error_reason(exc)}") from exc
        total += size * _GZIP_RATIO if compressed else size
    return total


def partition_count(input_bytes: int | None, budget: Budget) -> int:
    """How many partitions to route into: a few per group that fits the budget, for
    connector lines and as many for link lines (``routing.partition_spaces``)."""
    if input_bytes is None:
        return 128
    groups = math.ceil(input_bytes / budget.partition_bytes)
    return max(1, min(MAX_PARTITIONS, 2 * 4 * groups))


def bucket_count(input_bytes: int | None, budget: Budget) -> int:
    """How many buckets the check keys are split into, so one bucket is checked in budget."""
    if input_bytes is None:
        return 64
    keys = input_bytes // _BYTES_PER_LINE_FLOOR + 1
    wanted = math.ceil(keys * _CHECK_BYTES_PER_KEY / max(1, budget.limit // 4))
    return 1 << min(10, max(0, (wanted - 1).bit_length()))


class _Store:
    """The partitions, the routing map and the check keys, as files in one folder."""

    def __init__(self, folder: Path, partitions: int, buckets: int) -> None:
        self.folder = folder
        self.paths = [str(folder / f"partition-{p:03d}.jsonl") for p in range(partitions)]
        self.sizes = [0] * partitions
        self.buckets = [folder / f"keys-{b:04d}.bin" for b in range(buckets)]
        self.routing = folder / "routing.bin"
        self.too_long = 0
        self._open: OrderedDict[int, BinaryIO] = OrderedDict()
        limit = descriptor_limit()
        # At most a quarter of the descriptors stay open (the least recently written
        # file is closed first): a small memory limit makes many partitions, and a
        # low `ulimit -n` ran out of descriptors (found by an outside run).
        self._most_open = max(4, limit // 4) if limit is not None else partitions

    def append(self, partition: int, data: memoryview) -> None:
        """The router's sink: partition ``partition``'s next lines, to its file."""
        try:
            handle = self._open.get(partition)
            if handle is None:
                if len(self._open) >= self._most_open:
                    self._open.popitem(last=False)[1].close()
                handle = self._open[partition] = open(self.paths[partition], "ab", buffering=0)  # noqa: SIM115
            else:
                self._open.move_to_end(partition)
            handle.write(data)
        except OSError as exc:
            raise _spill_error(self.folder, exc) from exc
        self.sizes[partition] += len(data)

    def close(self) -> None:
        """Close the partition files (routing has ended, or failed)."""
        while self._open:
            self._open.popitem()[1].close()

    def write(self, routed: Routed) -> None:
        """Write out the routing map and the check keys of ``routed``."""
        try:
            with open(self.routing, "ab") as handle:
                handle.write(routed.routing)
            for bucket, values in zip(self.buckets, routed.ids, strict=True):
                if values:
                    with open(bucket, "ab") as handle:
                        handle.write(values)
        except OSError as exc:
            raise _spill_error(self.folder, exc) from exc
        self.too_long += routed.routing.count(TOO_LONG)

    def ties(self) -> list[Tie]:
        found: list[Tie] = []
        for bucket in self.buckets:
            if bucket.exists():
                found.extend(tied_partitions(bucket.read_bytes()))
        return found


@contextlib.contextmanager
def _writing(folder: Path) -> Iterator[None]:
    """Raise an ``OSError`` of a step that reads and writes only ``folder`` (a full disk,
    a file size limit, the folder removed meanwhile) as the ``SpillError`` naming it."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, ContractError):
            raise
        raise _spill_error(folder, exc) from exc


def _spill_error(folder: Path | None, exc: OSError) -> SpillError:
    """The error of a spilled replay that could not write ``folder`` (None: could not
    make one): which folder, and why."""
    what = "create a spill folder" if folder is None else f"write the spill folder {folder}"
    return SpillError(
        f"cannot {what}: {os_error_reason(exc)}"
        " (TMPDIR chooses where it goes; a larger memory limit spills less)"
    )


def route_sources(
    sources: Sequence[Source],
    store: _Store,
    router: Router,
    buffer_bytes: int,
    on_line: Callable[[int, int], None] | None,
    *,
    release_inputs: bool = False,
) -> list[int]:
    """Read and route every input; return each input's number of lines.

    ``release_inputs``: release the pages of each input file from the page
    cache as it is read (``_Release``).
    """
    counts = []
    for source in sources:
        if not _a_file(source):
            # Read here: a read that waits for a pipe's writer must not keep Ctrl-C waiting.
            counts.append(_route_blocks(source.blocks(), store, router, buffer_bytes, on_line))
            continue
        blocks = ahead(source.blocks())  # a file: read on a thread, a few blocks ahead
        release = _Release(source) if release_inputs else None
        try:
            counts.append(_route_blocks(blocks, store, router, buffer_bytes, on_line, release))
        finally:
            blocks.close()  # stops the reading thread
            if release is not None:
                release.close()
    store.write(router.take())
    return counts


def _inputs_outgrow_memory(sources: Sequence[Source], input_bytes: int | None) -> bool:
    """Whether the input files and their partition files (about ``input_bytes``, the
    lines they hold) together are more than the memory this process may use (the
    machine's, or its cgroup's), and the page cache can be told to release a
    file's pages (POSIX).

    Then keeping the inputs cached only pushes the partition files out of the
    cache, and the groups read them back from the disk.
    """
    if input_bytes is None or getattr(os, "posix_fadvise", None) is None:
        return False
    try:
        stored = sum(os.path.getsize(source.name) for source in sources)
    except OSError:
        return False
    return stored + input_bytes > system_memory()


class _Release:
    """Releases the pages of an input file already read from the page cache, every
    ``_RELEASE_EVERY`` bytes read (a hint to the kernel: nothing is lost, a line
    read again later comes from the disk)."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._released = 0
        try:
            self._fd: int | None = os.open(source.name, os.O_RDONLY)
        except OSError:
            self._fd = None  # its reading says what is wrong

    def __call__(self) -> None:
        """Release what was read since the last release, once it is enough."""
        read = self._source.bytes_read  # by the reading thread, ahead of the router
        if self._fd is not None and read - self._released >= _RELEASE_EVERY:
            self._advise(read)
            self._released = read

    def close(self) -> None:
        """Release the whole file, and close the descriptor."""
        if self._fd is not None:
            self._advise(0)  # 0: to the end of the file
            os.close(self._fd)
            self._fd = None

    def _advise(self, length: int) -> None:
        assert self._fd is not None
        with contextlib.suppress(OSError):
            os.posix_fadvise(self._fd, 0, length, os.POSIX_FADV_DONTNEED)


def _a_file(source: Source) -> bool:
    """Whether ``source`` is a file, not standard input or a pipe."""
    try:
        return not source.streamed()
    except OSError:  # gone or unreadable: its blocks() says so, naming it
        return False


def _route_blocks(
    blocks: Iterator[bytes | memoryview | None],
    store: _Store,
    router: Router,
    buffer_bytes: int,
    on_line: Callable[[int, int], None] | None,
    release: Callable[[], None] | None = None,
) -> int:
    """Route one input's blocks; return its number of lines. ``release`` is called
    after each block is read."""
    read = 0
    for block in blocks:
        if release is not None:
            release()
        if block is None:
            router.too_long()
            read += 1
            if on_line is not None:
                on_line(0, 1)
        else:
            lines = router.route_block(block)
            read += lines
            if on_line is not None:
                on_line(len(block), lines)
        if router.routed.line_bytes >= buffer_bytes:
            store.write(router.take())
    return read


@contextlib.contextmanager
def spilling(
    sources: Sequence[Source],
    settings: FoldSettings,
    budget: Budget,
    *,
    pieces: Sequence[Piece] | None = None,
    on_line: Callable[[int, int], None] | None = None,
) -> Iterator[Outcome]:
    """Replay ``sources`` in partitions spilled to a temporary folder; yield the outcome.

    Each source is a whole input, unless ``pieces`` says which piece of which
    input each one reads (consecutive pieces of one input, in order). The
    folder and everything in it are removed when the block ends, however it
    ends.
    """
    try:
        folder = Path(tempfile.mkdtemp(prefix="connector-sync-"))
    except OSError as exc:
        raise _spill_error(None, exc) from exc
    outcome: Outcome | None = None
    routing_map: mmap.mmap | None = None
    try:
        size = estimated_bytes(sources)
        store = _Store(folder, partition_count(size, budget), bucket_count(size, budget))
        partitions = len(store.paths)
        router = Router(
            partitions,
            len(store.buckets),
            sink=store.append,
            cloudevents=settings.input_format == "cloudevents",
            max_line_bytes=settings.max_line_bytes,
            stage_bytes=max(_STAGE_MIN, min(_STAGE_MAX, budget.buffer_bytes // partitions)),
        )
        try:
            release = pieces is None and _inputs_outgrow_memory(sources, size)
            with no_gc():  # routing makes many short-lived, acyclic objects
                counts = route_sources(
                    sources, store, router, budget.buffer_bytes, on_line, release_inputs=release
                )
            router.done_routing()  # its staging buffer is not needed while the groups fold
        finally:
            with _writing(folder):
                store.close()
        # From here on only the spill folder is read and written (the inputs were
        # routed above): an OSError here is the folder's, not an input's.
        with _writing(folder):
            # Copies of one event_id in several partitions go to their winner's partition,
            # so that only link_id ties join partitions (``untangle``).
            ties = untangle(
                store.ties(),
                store.paths,
                store.sizes,
                store.routing,
                router,
                settings,
                bin_bytes=budget.copies_bytes,
            )
            # Link lines cost more to fold than connector lines: their partitions are
            # packed by what they cost, so no group gathers more links than it can hold.
            groups = pack_groups(
                budget.weighted(store.sizes, partition_spaces(partitions)[1]),
                [tie.partitions for tie in ties],
                budget.partition_bytes,
            )
            if pieces is None:
                pieces = [Piece(index, source.name) for index, source in enumerate(sources)]
            outcome = Outcome(folder, pieces, include_logs=settings.include_logs)
            if sum(counts):
                with open(store.routing, "rb") as handle:
                    routing_map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                outcome.tracer = Tracer(routing_map, counts, first_lines_of(pieces, counts))
            _fold_groups(outcome, store, groups, settings)
            if store.too_long:
                outcome.add(report_too_long(store.too_long, settings), [])
        yield outcome
    finally:
        if outcome is not None:
            outcome.close()
        if routing_map is not None:
            routing_map.close()
        shutil.rmtree(folder, ignore_errors=True)


def _fold_groups(
    outcome: Outcome, store: _Store, groups: Sequence[Group], settings: FoldSettings
) -> None:
    """Fold the groups one after the other.

    Meanwhile a thread has the next group's files read into the page cache
    and removes each folded group's files (giving the disk space back early).
    """
    chores: Behind[Callable[[], None]] = Behind(_call, name="connector-sync-chores")
    try:
        for at, group in enumerate(groups):
            if at + 1 < len(groups):
                chores.put(partial(_prefetch, [store.paths[p] for p in groups[at + 1].partitions]))
            paths = [store.paths[p] for p in group.partitions]
            result = fold_group(paths, settings, alone=len(groups) == 1)
            outcome.add(result, group.partitions)  # its fragments go to the folder
            chores.put(partial(_remove, paths))
    except BaseException:
        chores.abort()
        raise
    chores.close()


def _call(chore: Callable[[], None]) -> None:
    chore()


def _prefetch(paths: Sequence[str]) -> None:
    """Ask the kernel to read ``paths`` into the page cache (where it can: POSIX)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    for path in paths:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY)
            try:
                advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(fd)


def _remove(paths: Sequence[str]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)
