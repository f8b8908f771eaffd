"""Reading JSONL event logs safely: sources, bounded lines and blocks, line problems.

Every line of every input is either handed on as a JSON object or reported
as a ``LineProblem`` naming the line, the field and the rule; nothing is
dropped. Lines are read with a length bound so a single enormous line cannot
exhaust memory. ``parse_line`` adds the line-level rules (no NUL byte, no
blank line) to the input layer of ``validate_event``, which rejects what
makes JSON parsers disagree or misbehave: invalid UTF-8, nesting deeper than
64 levels, ``NaN``/``Infinity`` literals, integers beyond 64 bits, non-object
values and objects with a repeated key.
"""

from __future__ import annotations

import errno
import gzip
import itertools
import operator
import os
import select
import shutil
import stat
import sys
import tempfile
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Final, cast

from .errors import Described, InputError
from .validation.input import load_json_object, nul_byte
from .validation.result import merge_layers

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "MAX_LINE_BYTES_LIMIT",
    "LineProblem",
    "LineSink",
    "LinesSource",
    "Source",
    "check_problem_sink",
    "line_problem",
    "os_error_reason",
    "parse_line",
    "read_line",
]

DEFAULT_MAX_LINE_BYTES: Final = 1024 * 1024
"""Longest accepted line in bytes (1 MiB) unless the caller sets another limit."""

MAX_LINE_BYTES_LIMIT: Final = 1 << 30
"""The largest line limit that can be set (1 GiB): a line is held in memory whole."""

_READ_CHUNK: Final = 1024 * 1024
_WAKE_SECONDS: Final = 0.2
"""How long a pipe is waited on before Python looks at pending signals again."""


def _copy_waking(fd: int, into: IO[bytes]) -> None:
    """Copy a pipe or device to ``into`` until its end, never blocking longer than a moment.

    A Ctrl-C that arrives just before a blocking read would otherwise wait
    for the writer: Python handles signals between its own instructions,
    and a read that has not started yet is not interrupted. Waiting in
    ``select`` with a timeout hands control back often enough.
    """
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], _WAKE_SECONDS)
        except OSError:  # a file select cannot wait on (Windows pipes): plain reads
            ready = [fd]
        if not ready:
            continue
        chunk = os.read(fd, _READ_CHUNK)
        if not chunk:
            return
        into.write(chunk)


_BLOCK: Final = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LineProblem:
    """One problem found on one input line: where, which field, which rule, and why."""

    line: int
    """1-based line number within its source."""
    field: str
    """JSON path of the offending value (``$`` for the whole line)."""
    code: str
    """Stable code of the broken rule, e.g. ``duplicate_key``."""
    message: str
    """Human-readable explanation."""

    @classmethod
    def of(cls, line: int, found: Described) -> LineProblem:
        """``found`` (a ``Violation``, a ``CloudEventProblem``) as a problem of line ``line``."""
        return cls(line, found.path, found.code, found.message)

    @property
    def stated(self) -> str:
        """``field: code: message``: the problem as a ``malformed_envelope`` message states it."""
        return f"{self.field}: {self.code}: {self.message}"


LineSink = Callable[[str, LineProblem, bytes | None], None]
"""Receives (source name, problem, raw line or None when too long) for each problem."""


def check_problem_sink(on_problem: object) -> None:
    """Refuse, as a ``TypeError`` naming it, an ``on_problem`` argument that cannot
    be called: found before any line is read, not after the whole replay."""
    if on_problem is not None and not callable(on_problem):
        raise TypeError(f"on_problem must be callable, not {type(on_problem).__name__}")


def descriptor_limit() -> int | None:
    """How many file descriptors this process may open (``ulimit -n``), or None when
    the system sets no such limit or it is unlimited."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # no such limit here (Windows)
        return None
    return None if soft == resource.RLIM_INFINITY else soft


def checked_line_limit(max_line_bytes: object) -> int:
    """``max_line_bytes`` as a caller gives it, checked as ``--max-line-bytes`` is: an
    ``int`` (not a ``bool``) from 1 to ``MAX_LINE_BYTES_LIMIT``, or a ``TypeError`` /
    ``ValueError`` naming it, before any line is read."""
    if isinstance(max_line_bytes, bool) or not isinstance(max_line_bytes, int):
        raise TypeError(f"max_line_bytes must be an int, not {type(max_line_bytes).__name__}")
    if not 1 <= max_line_bytes <= MAX_LINE_BYTES_LIMIT:
        raise ValueError(f"max_line_bytes must be 1..{MAX_LINE_BYTES_LIMIT}, not {max_line_bytes}")
    return max_line_bytes


def line_problem(raw: bytes, line: int = 0) -> LineProblem | None:
    """The line-level problem of a JSONL line (a NUL byte, a blank line), if any.

    Everything inside the JSON text is judged by ``validation.input``.
    """
    found = nul_byte(raw)
    if found is not None:
        return LineProblem.of(line, found)
    if not raw.strip():
        return LineProblem(line, "$", "blank_line", "blank line; every line must hold one event")
    return None


def parse_line(raw: bytes, line: int = 0) -> dict[str, Any] | LineProblem:
    """Parse one JSONL line into a JSON object, or name its first problem.

    Besides NUL bytes and blank lines, the rules are those of
    ``validate_event``'s input layer (``validation.input.load_json_object``):
    invalid UTF-8 or JSON, repeated keys, ``NaN``/``Infinity``, integers
    beyond 64 bits, nesting deeper than 64 levels, values that are not objects.
    """
    obj, problems = read_line(raw, line)
    return problems[0] if obj is None else obj


def read_line(raw: bytes, line: int = 0) -> tuple[dict[str, Any] | None, tuple[LineProblem, ...]]:
    """The JSON object of one JSONL line and no problems, or None and every problem of it.

    ``parse_line``'s rules; the problems are those ``validate_event`` names
    for the line's bytes (one per field and rule, in its order), or its
    line-level problem (``line_problem``).
    """
    problem = line_problem(raw, line)
    if problem is not None:
        return None, (problem,)
    obj, violations = load_json_object(raw)
    if obj is not None:
        return obj, ()
    return None, tuple(LineProblem.of(line, found) for found in merge_layers(violations))


class Source:
    """One input: a file path, a ``.gz`` file, or ``-`` for standard input.

    Lines are yielded without their line ending: ``\\n`` or ``\\r\\n``, and
    for the last line, which may lack its ``\\n``, a ``\\r`` it ends with (a
    CRLF file cut before its last LF; every way of replaying reads it so).
    A line longer than ``max_line_bytes`` is yielded as ``None`` (after
    being skipped in bounded chunks) so the caller can report it. Standard
    input, and any input that is not a regular file (a FIFO, a process
    substitution ``<(...)``, ``/dev/stdin``), is copied to a temporary file
    while read, so a source can be read again.
    """

    core_reports: ClassVar[bool] = True
    """Whether the compiled core may word the problems of the lines it takes and
    reports (``_engine.reports``): a line's problems are those of its own bytes."""

    def __init__(self, name: str, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        if not 0 <= max_line_bytes <= MAX_LINE_BYTES_LIMIT:
            raise ValueError(
                f"max_line_bytes must be 0..{MAX_LINE_BYTES_LIMIT}, not {max_line_bytes}"
            )
        self.name = name
        self.max_line_bytes = max_line_bytes
        self.spill: Callable[[bytes], object] | None = None
        """Receives, in chunks, the content of each line over the limit (e.g. a quarantine)."""
        self.bytes_read = 0
        """Bytes of the file read so far in the first pass: compressed bytes for gzip data."""
        self.passes = 0
        """Complete passes over the input so far (replay reads some lines again)."""
        self.on_pass_end: Callable[[Source], object] | None = None
        """Called with this source when a pass over it ends (e.g. to update a progress bar)."""
        self.hold_for_rereads = False
        """Set before the first pass to have ``blocks()`` keep the file it reads open
        (``reread_fd``), so that a line can be read again by its offset."""
        self.block_offset: int | None = None
        """Where the block ``blocks()`` yielded last starts in the input as stored
        (None for gzip data): the offset ``reread_fd`` reads it at."""
        self._spool: IO[bytes] | None = None
        self._held: tuple[int, tuple[int, int]] | None = None

    def size(self) -> int | None:
        """Bytes of the input as stored (compressed for gzip), or None while not known.

        A regular file's size is known before reading it; standard input's
        once it was copied to its spool, when the first pass starts.
        """
        if self._spool is not None:
            return os.fstat(self._spool.fileno()).st_size
        if self.streamed():
            return None
        return os.stat(self.name).st_size

    def streamed(self) -> bool:
        """Whether the input can be read only once (standard input, a pipe, a device)."""
        return self.name == "-" or not stat.S_ISREG(os.stat(self.name).st_mode)

    def _open(self) -> tuple[IO[bytes], IO[bytes]]:
        """Return (reader, underlying file); the reader un-gzips when the data is gzip.

        Raises ``InputError`` when the input cannot be opened or copied.
        """
        if self._spool is None and self.streamed():
            # Closed by close(): the spool outlives one pass so the input can be re-read.
            self._spool = tempfile.TemporaryFile(prefix="connector-sync-input-")  # noqa: SIM115
            if self.name == "-":
                shutil.copyfileobj(sys.stdin.buffer, self._spool, _READ_CHUNK)
            else:
                with Path(self.name).open("rb", buffering=0) as stream:
                    _copy_waking(stream.fileno(), self._spool)
        if self._spool is not None:
            self._spool.seek(0)
            return _gunzip_if_needed(self._spool), self._spool
        handle = Path(self.name).open("rb")  # noqa: SIM115 - closed by blocks()
        return _gunzip_if_needed(handle), handle

    def reread_fd(self) -> int | None:
        """A descriptor of the uncompressed file ``blocks()`` reads, kept open since its
        first pass (with ``hold_for_rereads``), or None (gzip data, lines given in
        memory, or not held). Read it with ``os.pread`` at ``block_offset``s; closed by
        ``release_rereads()`` and ``close()``.
        """
        return None if self._held is None else self._held[0]

    def line_reader(self) -> Callable[[int, int], bytes | None] | None:
        """``read_held``, for an input held in memory rather than in a file
        (``reread_fd`` is then None); None for any other input."""
        return None

    def rereadable(self) -> bool:
        """Whether ``read_held`` can read lines again (a held file, or lines in memory)."""
        return self._held is not None or self.line_reader() is not None

    def read_held(self, offset: int, length: int) -> bytes | None:
        """``length`` bytes of the held file (``reread_fd``) at ``offset``: a line read
        again where its first pass saw it. None when no file is held, or it holds fewer."""
        if self._held is None:
            return None
        fd, data = self._held[0], b""
        while len(data) < length:
            chunk = os.pread(fd, length - len(data), offset + len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def changed_while_held(self) -> bool:
        """Whether the held file's size or modification time changed since it was opened."""
        if self._held is None:
            return False
        fd, (size, mtime) = self._held
        now = os.fstat(fd)
        return (now.st_size, now.st_mtime_ns) != (size, mtime)

    def release_rereads(self) -> None:
        """Close the descriptor ``reread_fd`` gave, and hold none from now on."""
        self.hold_for_rereads = False
        if self._held is not None:
            os.close(self._held[0])
            self._held = None

    def _hold(self, underlying: IO[bytes]) -> None:
        """Keep a descriptor of ``underlying`` (the stored input, read as it is)."""
        try:
            fd = os.dup(underlying.fileno())
        except (AttributeError, OSError, ValueError):
            return  # not a file (lines given in memory): nothing can be read again
        try:
            now = os.fstat(fd)
        except OSError:
            os.close(fd)
            return
        self._held = (fd, (now.st_size, now.st_mtime_ns))

    def lines(self) -> Iterator[bytes | None]:
        """Yield each line's bytes, or ``None`` for a line over the length limit.

        The lines of ``blocks()``, each without its ``\\n`` or ``\\r\\n`` (the last
        line's ``\\r`` too when it has no ``\\n``).
        """
        # The file's own blocks, also when a subclass yields other blocks.
        for block in Source.blocks(self):
            if block is None:
                yield None
                continue
            pieces = bytes(block).split(b"\n")
            last = pieces.pop()  # empty unless the input ends without a newline
            for raw in pieces:
                yield self._line(raw)
            if last:
                yield self._line(last)

    def lines_again(self) -> Iterator[bytes | None]:
        """``lines()`` for a pass that reads the input again, to find lines already reported.

        ``spill`` is not given the over-limit lines a second time.
        """
        with self._not_spilling():
            yield from self.lines()

    def lines_at(self, numbers: AbstractSet[int]) -> Iterator[tuple[int, bytes | None]]:
        """(number, line) of each 1-based line number in ``numbers``, as ``lines()`` gives it.

        A pass that reads the input again (``spill`` is given nothing), over
        the blocks ``lines()`` reads, splitting only those that hold a wanted
        line: a few lines of a large input cost about a count of its
        newlines. In increasing order of number.
        """
        wanted = sorted(numbers)
        if not wanted:
            return
        with self._not_spilling():
            number = 0  # lines before the block
            for block in Source.blocks(self):
                if block is None:
                    number += 1
                    if number in numbers:
                        yield number, None
                    continue
                data = bytes(block)
                count = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
                at = bisect_right(wanted, number)
                if at < len(wanted) and wanted[at] <= number + count:
                    for offset, raw in enumerate(data.split(b"\n")[:count], start=number + 1):
                        if offset in numbers:
                            yield offset, self._line(raw)
                number += count

    @contextmanager
    def _not_spilling(self) -> Iterator[None]:
        """``spill`` is given nothing meanwhile: a pass that reads the input again."""
        spill, self.spill = self.spill, None
        try:
            yield
        finally:
            self.spill = spill

    def _line(self, piece: bytes) -> bytes | None:
        """A line of a block split at ``\\n``: without a ``\\r`` ending, within the limit."""
        return self.within_limit(piece[:-1] if piece[-1:] == b"\r" else piece)

    def refused(self, number: int) -> Sequence[LineProblem]:
        """Why this input refused line ``number`` before the engine read it, or nothing.

        A CloudEvent that does not map is read by the engine as a stand-in
        (``interop.formats``): its ``malformed_envelope`` anomaly then says
        what these problems say, not what the stand-in lacks.
        """
        return ()

    def within_limit(self, raw: bytes) -> bytes | None:
        """``raw``, or ``None`` (after passing it to ``spill``) when it is over the limit."""
        if len(raw) <= self.max_line_bytes:
            return raw
        if self.spill is not None:
            self.spill(raw)
        return None

    def blocks(self) -> Iterator[bytes | memoryview | None]:
        """Yield the input as runs of whole lines, or ``None`` for a line over the limit.

        Each block holds complete lines, each ended by ``\\n`` except the last
        line of the input; ``lines()`` splits them. Blocks are views of the
        read buffers where possible (no copy); use one before asking for the
        next. A line that grows past
        ``max_line_bytes`` while being read is skipped in bounded chunks
        (seen only by ``spill``) and yielded as ``None``; a shorter
        over-limit line may stay inside a block, for its reader to report.
        """
        limit = self.max_line_bytes
        spill = self.spill
        try:
            handle, underlying = self._open()
        except InputError:
            raise
        except OSError as exc:
            raise InputError(f"cannot read {self.name}: {os_error_reason(exc)}") from exc
        plain = handle is underlying  # offsets in what is read are offsets in the file
        # Only the blocks yielded here are the file's bytes: a subclass that yields
        # others (CloudEvents mapped to envelopes) holds nothing.
        own = type(self).blocks is Source.blocks
        if plain and own and self.hold_for_rereads and self._held is None and not self.passes:
            self._hold(underlying)
        got = 0  # bytes read so far: the last chunk read ends there

        def offset(at: int) -> int | None:
            return at if plain else None

        try:
            counted = handle.read if self.passes else self._counting(handle.read, underlying)

            def read(size: int) -> bytes:
                nonlocal got
                chunk = counted(size)
                got += len(chunk)
                return chunk

            partial = b""  # the start of a line whose end is not read yet
            chunk = read(_BLOCK)
            while chunk:
                first = chunk.find(b"\n")
                if first < 0:
                    partial = partial + chunk if partial else chunk
                else:
                    start = 0
                    if partial:
                        self.block_offset = offset(got - len(chunk) - len(partial))
                        yield partial + chunk[: first + 1]
                        start = first + 1
                    last = chunk.rfind(b"\n") + 1
                    if last > start:
                        self.block_offset = offset(got - len(chunk) + start)
                        yield memoryview(chunk)[start:last]
                    partial = chunk[last:]
                if len(partial) > limit + 1:  # limit + 1: room for a "\\r" before the "\\n"
                    chunk = _skip_line(partial, read, spill)
                    partial = b""
                    yield None
                    if chunk:
                        continue
                chunk = read(_BLOCK)
            if partial:
                self.block_offset = offset(got - len(partial))
                yield partial
            self.passes += 1
            if self.on_pass_end is not None:
                self.on_pass_end(self)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            # gzip reports a truncated or damaged stream with these.
            raise InputError(f"cannot read {self.name}: damaged or truncated gzip data") from exc
        except InputError:
            raise
        except OSError as exc:
            raise InputError(f"cannot read {self.name}: {os_error_reason(exc)}") from exc
        finally:
            if handle is not underlying:
                handle.close()
            if underlying is not self._spool:
                underlying.close()

    def _counting(
        self, read: Callable[[int], bytes], underlying: IO[bytes]
    ) -> Callable[[int], bytes]:
        """``read`` that keeps ``bytes_read`` at the position in the stored (maybe gzip) file."""
        tell = getattr(underlying, "tell", None)
        if tell is None:  # lines given by a caller: count what was read

            def added(size: int) -> bytes:
                chunk = read(size)
                self.bytes_read += len(chunk)
                return chunk

            return added

        def counted(size: int) -> bytes:
            chunk = read(size)
            self.bytes_read = tell()
            return chunk

        return counted

    def close(self) -> None:
        """Release the standard-input spool file and the held descriptor, if any."""
        self.release_rereads()
        if self._spool is not None:
            self._spool.close()
            self._spool = None


class LinesSource(Source):
    r"""Lines given by the caller, read like a file that holds each one on a line.

    Each item is the bytes of one line; a trailing ``\n`` or ``\r\n`` is
    allowed (lines read from a file in binary mode keep theirs). An item that
    holds a newline inside reads as the several lines it holds, as it would
    in a file. A list or tuple is read in place (a line is read again from
    its item: it must not change while it is replayed), any other iterable
    once, into a temporary file (so the settle pass of replay can read it
    again).
    Items are never taken for gzip data.
    """

    def __init__(
        self,
        lines: Iterable[bytes | bytearray | memoryview],
        *,
        name: str = "<lines>",
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        super().__init__(name, max_line_bytes=max_line_bytes)
        self._items = lines
        self._starts: list[int] | None = None

    def streamed(self) -> bool:
        """Whether the lines can be iterated only once (not a list or tuple)."""
        return not isinstance(self._items, (list, tuple))

    def line_reader(self) -> Callable[[int, int], bytes | None] | None:
        """``read_held`` when the lines are a list or tuple (read in place, no file)."""
        return self.read_held if isinstance(self._items, (list, tuple)) else None

    def read_held(self, offset: int, length: int) -> bytes | None:
        """``Source.read_held``; a list or tuple is read again from its items, which
        are where the reading saw them: no copy of the lines is kept.

        None when the bytes asked for are not within one item as it is now.
        """
        items = self._items
        if not isinstance(items, (list, tuple)):
            return super().read_held(offset, length)
        starts = self._starts
        if starts is None or len(starts) != len(items) + 1:
            starts = self._starts = _starts(items)
        at = bisect_right(starts, offset) - 1
        if not 0 <= at < len(items):
            return None
        line = _ended_line(items[at], at)
        begin = offset - starts[at]
        return line[begin : begin + length] if begin + length <= len(line) else None

    def size(self) -> int | None:
        """The lines' bytes (newlines included) when they are a list or tuple, else None."""
        if not isinstance(self._items, (list, tuple)):
            return None
        try:
            return sum(map(len, self._items)) + len(self._items)
        except TypeError:
            return None  # an item that is not bytes: reading it says so

    def _open(self) -> tuple[IO[bytes], IO[bytes]]:
        if isinstance(self._items, (list, tuple)):
            reader = _JoinedLines(self._items)
            return reader, reader  # type: ignore[return-value]
        if self._spool is None:
            # Closed by close(): the spool outlives one pass so the lines can be re-read.
            self._spool = tempfile.TemporaryFile(prefix="connector-sync-lines-")  # noqa: SIM115
            shutil.copyfileobj(_JoinedLines(self._items), self._spool, _READ_CHUNK)
        self._spool.seek(0)
        return self._spool, self._spool


def _line_bytes(item: object, at: int) -> bytes:
    """Item ``at`` (counted from 0) of a caller's lines as bytes, or a TypeError
    that says which item and what to do."""
    if not isinstance(item, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"a line must be bytes, not {type(item).__name__} (item {at} of the lines, "
            "counted from 0; open files in binary mode, 'rb')"
        )
    return bytes(item)


class _JoinedLines:
    r"""A minimal binary reader over lines, each ended by ``\n`` unless it already is.

    The items of a list or tuple are joined a batch at a time: a batch of
    ``bytes`` none of which ends with ``\n`` (what ``bytes.splitlines``
    gives) in one ``join``, any other one item by item.
    """

    _BATCH: Final = 1024

    def __init__(self, items: Iterable[bytes | bytearray | memoryview]) -> None:
        self._listed = items if isinstance(items, (list, tuple)) else None
        self._next = 0  # the first item not read yet
        self._items = iter(() if self._listed is not None else items)
        self._held = b""

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (about: whole items are joined), b"" at the end."""
        parts = [self._held] if self._held else []
        have = len(self._held)
        self._held = b""
        listed = self._listed
        while listed is not None and self._next < len(listed) and not 0 <= size <= have:
            batch = listed[self._next : self._next + self._BATCH]
            first = self._next
            self._next += len(batch)
            if _unended_bytes(batch):
                part = b"\n".join(batch) + b"\n"
            else:
                part = b"".join(map(_ended_line, batch, itertools.count(first)))
            parts.append(part)
            have += len(part)
        for item in self._items:
            line = _ended_line(item, self._next)
            self._next += 1
            parts.append(line)
            have += len(line)
            if 0 <= size <= have:
                break
        data = b"".join(parts)
        if 0 <= size < len(data):
            data, self._held = data[:size], data[size:]
        return data

    def close(self) -> None:
        """Nothing to release."""


_NEWLINE: Final = itertools.repeat(b"\n")


def _unended_bytes(items: Sequence[Any]) -> bool:
    r"""Whether every item is ``bytes`` with no newline at its end (what
    ``bytes.splitlines`` gives): each is then its line plus one ``\n``."""
    return set(map(type, items)) == {bytes} and not any(map(bytes.endswith, items, _NEWLINE))


def _starts(items: Sequence[bytes | bytearray | memoryview]) -> list[int]:
    """Where each item starts in the lines ``_JoinedLines`` reads, and where they end."""
    sizes: Iterable[int]
    if _unended_bytes(items):
        plain = cast("Sequence[bytes]", items)
        sizes = map(operator.add, map(len, plain), itertools.repeat(1))
    else:
        sizes = (len(_ended_line(item, at)) for at, item in enumerate(items))
    return list(itertools.accumulate(sizes, initial=0))


def _ended_line(item: object, at: int) -> bytes:
    r"""Item ``at`` of a caller's lines as bytes ending with ``\n`` (a TypeError
    when it is not bytes)."""
    line = _line_bytes(item, at)
    return line if line.endswith(b"\n") else line + b"\n"


_REASONS: Final = {
    errno.ENOENT: "no such file",
    errno.ENOTDIR: "no such file",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "is a directory",
    errno.ENOSPC: "no space left on the device",
    errno.EROFS: "the file system is read-only",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EMFILE: "too many open files (this process's limit, ulimit -n)",
    errno.ENFILE: "too many open files on this system",
}


def os_error_reason(exc: OSError) -> str:
    """Why an I/O call failed, as a plain phrase: ``permission denied``, not ``[Errno 13] ...``.

    The one wording of every "cannot read/write NAME: REASON" message (the
    command line, the spilled and the cluster replay): the common errors
    have their own phrase; any other, or a text of the raiser's own, is
    that text with its first letter in lower case (only the first, so that
    a path inside keeps its case).
    """
    reason = _REASONS.get(exc.errno or 0)
    text = exc.strerror or str(exc)
    if reason is not None and exc.errno is not None and text == os.strerror(exc.errno):
        return reason  # the system's own text: a caller's ("No usable temporary ...") is kept
    return text[:1].lower() + text[1:]


def changed_while_replayed(name: str) -> str:
    """The message of a replay that stops because input ``name`` changed while it was read."""
    return (
        f"{name} changed while it was replayed (its size or modification time "
        "is not what it was when it was opened): replay it again once nothing writes to it"
    )


def read_small(file: str | os.PathLike[str] | IO[bytes], limit: int) -> bytes:
    """The whole of a file that is read whole (a schema, a replay output to compare):
    a path, or an open binary stream such as standard input.

    Raises ``OSError`` (``EFBIG``, its text naming ``limit``) when it holds more
    than ``limit`` bytes, after reading at most one byte more: a device such as
    ``/dev/zero`` given as a schema once grew the process without end.
    """
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as handle:
            return read_small(handle, limit)
    data = file.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit:,} bytes, the most read whole")
    return data


def _skip_line(
    head: bytes, read: Callable[[int], bytes], spill: Callable[[bytes], object] | None
) -> bytes:
    """Pass an over-limit line to ``spill`` in bounded chunks; return what follows it.

    Like ``lines()``, the content excludes the line ending ``\\n`` or
    ``\\r\\n``, also when the ``\\r`` and the ``\\n`` arrive in different chunks,
    and a ``\\r`` that ends the input.
    """
    piece = head
    while True:
        end = piece.find(b"\n")
        if end >= 0:
            if spill is not None:
                spill(_without_newline(piece[: end + 1]))
            return piece[end + 1 :]
        held = b"\r" if piece.endswith(b"\r") else b""
        if spill is not None and len(piece) > len(held):
            spill(piece[: len(piece) - len(held)])
        more = read(_BLOCK)
        if not more:  # the input ends here: a CR it ends with is the line's ending
            return b""
        piece = held + more


def _without_newline(raw: bytes) -> bytes:
    return raw[:-2] if raw[-2:] == b"\r\n" else raw[:-1]


def _gunzip_if_needed(handle: IO[bytes]) -> IO[bytes]:
    position = handle.tell()
    head = handle.read(2)
    handle.seek(position)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle
