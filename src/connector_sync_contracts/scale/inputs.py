"""Inputs of a replay on a cluster: fsspec URLs and globs, cut into pieces read by tasks.

An input may be a local path or any fsspec URL (``s3://...``, ``gs://...``,
``file://...``), with glob patterns. An uncompressed input is cut into byte
ranges aligned to line ends (``fsspec.utils.read_block``: a range holds
the lines that start in it); a gzip input is read whole by one task. Each
piece is read with ``io.Source``'s own rules (the length limit, ``\\r\\n``,
gzip detected by its first bytes, damaged gzip data an ``InputError``), so a
line means what it means to a single-process replay.

fsspec comes with the ``[dask]`` extra; plain local paths need nothing else.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import io
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, Final

from ..errors import InputError
from ..io import Source, changed_while_replayed, os_error_reason
from .plan import Piece

__all__ = [
    "BLOCK_BYTES",
    "check_unchanged",
    "expand_inputs",
    "input_states",
    "is_url",
    "piece_source",
    "plan_pieces",
]

BLOCK_BYTES: Final = 64 * 2**20
"""Default size of one byte range of an uncompressed input (one reading task)."""

_VIEW_BYTES: Final = 4 * 2**20
"""About the size of each block a byte range is handed over in (as ``io.Source``'s)."""

_GLOB: Final = frozenset("*?[")


def is_url(name: str) -> bool:
    """Whether ``name`` is an fsspec URL (``protocol://...``) rather than a local path."""
    return "://" in name


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise InputError(
            "URLs (s3://, gs://, file:// ...) need the [dask] extra: "
            "pip install 'connector-sync-contracts[dask]'"
        ) from exc
    return fsspec


def expand_inputs(names: Iterable[str]) -> list[str]:
    """``names`` with each glob pattern replaced by its matches (sorted; URLs keep their protocol).

    Patterns take ``*``, ``?`` and ``[...]``. A local pattern's matches are
    spelled as the pattern is (relative stays relative), so naming the files
    one by one prints the same. A local path that exists is kept as given,
    even when it holds ``*``. A pattern that matches nothing is an
    ``InputError``.
    """
    expanded: list[str] = []
    for name in names:
        if name == "-" or not (is_url(name) or (_GLOB & set(name) and not os.path.exists(name))):
            expanded.append(name)
            continue
        if not _GLOB & set(name.split("://", 1)[-1]):
            expanded.append(name)
            continue
        if is_url(name):
            with _reading(name):
                fs, path = _fsspec().core.url_to_fs(name)
                found = [fs.unstrip_protocol(match) for match in sorted(fs.glob(path))]
        else:
            found = sorted(glob.glob(name))
        if not found:
            raise InputError(f"cannot read {name}: no file matches")
        expanded.extend(found)
    return expanded


@contextlib.contextmanager
def _reading(name: str) -> Iterator[None]:
    """Raise what goes wrong reading ``name`` as an ``InputError`` naming it.

    For a URL that is any exception of fsspec or of the package behind its
    protocol, whose types are theirs: a package not installed (``s3://``
    without s3fs is an ``ImportError``), a protocol fsspec does not know (a
    ``ValueError``), credentials, the network.
    """
    try:
        yield
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read {name}: {os_error_reason(exc)}") from exc
    except Exception as exc:
        if not is_url(name):
            raise
        text = str(exc) or type(exc).__name__
        raise InputError(f"cannot read {name}: {text[:1].lower()}{text[1:]}") from exc


class _Guarded(io.RawIOBase):
    """A URL's open file whose every error is an ``InputError`` naming the URL (``_reading``)."""

    def __init__(self, name: str, raw: IO[bytes]) -> None:
        super().__init__()
        self._name = name
        self._raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        with _reading(self._name):
            return self._raw.seekable()

    def read(self, size: int | None = -1) -> bytes:
        with _reading(self._name):
            return self._raw.read(-1 if size is None else size)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        with _reading(self._name):
            return self._raw.seek(offset, whence)

    def tell(self) -> int:
        with _reading(self._name):
            return self._raw.tell()

    def close(self) -> None:
        if not self.closed:
            try:
                with _reading(self._name):
                    self._raw.close()
            finally:
                super().close()


def _open_binary(name: str, opened: str = "") -> IO[bytes]:
    """Open input ``name`` (at ``opened`` when given: ``Piece.opened``); errors name ``name``."""
    with _reading(name):
        if is_url(name):
            return _Guarded(name, _fsspec().open(name, "rb").open())  # type: ignore[return-value]
        return open(opened or name, "rb")  # closed by the caller


def _size_and_kind(name: str) -> tuple[int, bool]:
    """(size in bytes, whether it holds gzip data) of one input."""
    if not is_url(name):
        try:
            info = os.stat(name)
        except OSError as exc:
            raise InputError(f"cannot read {name}: {os_error_reason(exc)}") from exc
        if stat.S_ISDIR(info.st_mode):  # as a single-process replay says it
            raise InputError(f"cannot read {name}: is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                f"cannot read {name} on a cluster: it is not a regular file "
                "(a pipe or standard input cannot be cut into pieces); write it to a file first"
            )
    with _reading(name), _open_binary(name) as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
    return size, compressed


_URL_STATE_KEYS: Final = ("size", "ETag", "etag", "LastModified", "last_modified", "mtime", "ino")
"""What an fsspec store's ``info()`` may tell of a file that changes when it is written."""


def _state(name: str, *, fresh: bool = False) -> tuple[object, ...] | None:
    """``input_states``' entry for one input; None when it cannot be looked at.

    ``fresh``: a URL's store is asked again, not its listing cache (a glob's
    listing answers the first look without a request per file)."""
    try:
        if is_url(name):
            store, path = _fsspec().core.url_to_fs(name)
            if fresh:
                store.invalidate_cache(path)
            info = store.info(path)
            return tuple((key, str(info[key])) for key in _URL_STATE_KEYS if key in info)
        now = os.stat(name)
    except (OSError, ValueError, ImportError):  # gone, or a store that says nothing
        return None
    if not stat.S_ISREG(now.st_mode):
        return None  # standard input, a pipe: read once, as it came
    return (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns)


def input_states(names: Iterable[str]) -> dict[str, tuple[object, ...] | None]:
    """What tells, when a replay has read its inputs, whether one changed meanwhile.

    A local file's device, inode, size and modification time; a URL's size
    and whatever of its modification time, ETag or inode its store gives.
    Taken before the first line is read; ``check_unchanged`` compares.
    """
    return {name: _state(name) for name in names if name != "-"}


def check_unchanged(states: Mapping[str, tuple[object, ...] | None]) -> None:
    """Raise ``InputError`` naming the first input that changed since ``input_states``.

    A file appended to, written over or replaced while it was read (by this
    process, or by a cluster's tasks that open it by its name) would make a
    projection of no one state of it: the replay fails closed instead.
    """
    for name, before in states.items():
        if before is not None and _state(name, fresh=True) != before:
            raise InputError(changed_while_replayed(name))


def plan_pieces(names: Iterable[str], block_bytes: int = BLOCK_BYTES) -> list[Piece]:
    """The pieces of every input, in input order: byte ranges, or the whole gzip input."""
    pieces: list[Piece] = []
    for index, name in enumerate(names):
        if name == "-":
            raise InputError("standard input cannot be read on a cluster; write it to a file first")
        size, compressed = _size_and_kind(name)
        # Workers open it: relative to this process's working directory, not theirs.
        opened = "" if is_url(name) or os.path.isabs(name) else os.path.abspath(name)
        if compressed or size <= block_bytes:
            pieces.append(Piece(index, name, opened=opened))
            continue
        for start in range(0, size, block_bytes):
            pieces.append(Piece(index, name, start, min(size, start + block_bytes), opened))
    return pieces


class _PieceSource(Source):
    """``io.Source`` over one piece: a whole input (maybe gzip, maybe a URL) or a range."""

    def __init__(self, piece: Piece, max_line_bytes: int) -> None:
        super().__init__(piece.name, max_line_bytes=max_line_bytes)
        self.piece = piece

    def streamed(self) -> bool:
        """A piece is not a local file whose size the engine may take: read it as a stream."""
        return True

    def _open(self) -> tuple[IO[bytes], IO[bytes]]:
        if self.piece.stop is not None:
            block = io.BytesIO(self._range(self.piece.start, self.piece.stop))
            return block, block
        handle = _open_binary(self.piece.name, self.piece.opened)
        if handle.read(2) == b"\x1f\x8b":
            handle.seek(0)
            return gzip.GzipFile(fileobj=handle, mode="rb"), handle  # type: ignore[return-value]
        handle.seek(0)
        return handle, handle

    def _range(self, start: int, stop: int) -> bytes:
        """The lines that start in bytes start..stop of the input, read once (``read_block``)."""
        from fsspec.utils import read_block

        handle = _open_binary(self.piece.name, self.piece.opened)
        try:
            with _reading(self.piece.name):
                data: bytes = read_block(handle, start, stop - start, delimiter=b"\n")
        finally:
            handle.close()
        return data

    def blocks(self) -> Iterator[bytes | memoryview | None]:
        """``Source.blocks()``; a byte range is read once and yielded as views of what was read.

        The range is in memory whole anyway (``read_block``), so its blocks
        are cut from it at line ends without copying it again. A line over
        the length limit stays inside its block, where the router and the
        engine report it as they report one in ``Source.blocks()``'s blocks
        (no ``spill`` is set on a piece).
        """
        piece = self.piece
        if piece.stop is None or self.spill is not None:
            yield from super().blocks()
            return
        data = self._range(piece.start, piece.stop)
        self.bytes_read = len(data)
        self.block_offset = None  # a range's offsets in the input are not kept
        view = memoryview(data)
        start = 0
        while start < len(data):
            stop = data.rfind(b"\n", start, start + _VIEW_BYTES) + 1
            if stop <= start:  # no line ends within a block: one long line
                stop = data.find(b"\n", start) + 1 or len(data)
            yield view[start:stop]
            start = stop
        self.passes += 1
        if self.on_pass_end is not None:
            self.on_pass_end(self)


def piece_source(piece: Piece, max_line_bytes: int) -> Source:
    """A ``Source`` that reads exactly ``piece``'s lines, by ``io.Source``'s rules."""
    return _PieceSource(piece, max_line_bytes)


def piece_blocks(piece: Piece, max_line_bytes: int) -> Iterator[bytes | memoryview | None]:
    """The blocks of whole lines of ``piece`` (see ``_PieceSource.blocks``)."""
    source = piece_source(piece, max_line_bytes)
    try:
        yield from source.blocks()
    finally:
        source.close()
