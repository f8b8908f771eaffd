"""``Source.blocks()`` splits into exactly the lines of ``Source.lines()``.

The compiled engine reads an input as runs of whole lines (``blocks()``)
while the pure-Python engine reads it line by line (``lines()``); a user
gets the same line numbers, the same too-long verdicts and the same
quarantined (``spill``) content from either. Read the way ``_engine.runner`` reads
them, the blocks must give:

* the same sequence of lines, each without its ``\\n`` or ``\\r\\n`` ending
  (a ``\\r`` is part of the ending right before ``\\n``, and at the end of
  the input, where the last line may lack its ``\\n``: a CRLF file cut
  before its last LF; a stray one elsewhere is content);
* ``None`` at the same places: a ``None`` block, or a line in a block that
  is longer than ``max_line_bytes``;
* the same bytes passed to ``spill`` for each over-limit line: its content
  without the line ending, even when "\\r" and "\\n" are read apart (the
  stream code spills an in-block over-limit line itself, as done here).

Hypothesis draws line contents around a small limit, with tiny read sizes
(``jsonl._BLOCK`` and ``jsonl._READ_CHUNK`` patched) so lines cross read
boundaries everywhere; plain and gzip files. When the compiled extension is
built, its ``scan`` must split each block into the same lines too.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connector_sync_contracts import io as jsonl
from connector_sync_contracts.io import Source
from tests.support.engines import native_scanner
from tests.support.soak import SOAK

GZIP_MAGIC: Final = b"\x1f\x8b"
BLOCK_EXAMPLES: Final = 20_000 if SOAK else 1_000
"""Files per run of the blocks == lines law."""

SCANNER: Final = native_scanner()
"""A compiled scanner (to check its line splitting), or None when not built."""

Read = list[tuple[bytes | None, bytes | None]]
"""What a reading gives: per line, (its bytes or None when too long, what spill got or None)."""


@contextmanager
def read_sizes(block: int, chunk: int) -> Iterator[None]:
    """Make ``blocks()`` read ``block`` bytes at a time, and ``lines()`` ``chunk``."""
    saved = jsonl._BLOCK, jsonl._READ_CHUNK
    jsonl._BLOCK, jsonl._READ_CHUNK = block, chunk  # type: ignore[misc]
    try:
        yield
    finally:
        jsonl._BLOCK, jsonl._READ_CHUNK = saved  # type: ignore[misc]


class _Spill:
    """Collects what ``spill`` receives, one entry per over-limit line."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []

    def __call__(self, chunk: bytes) -> None:
        assert isinstance(chunk, bytes), type(chunk)
        self.pending.append(chunk)

    def take(self) -> bytes | None:
        """Everything spilled since the last take (None if nothing was)."""
        if not self.pending:
            return None
        taken = b"".join(self.pending)
        self.pending = []
        return taken


def read_lines(source: Source) -> Read:
    """One pass of ``lines()``."""
    spill = source.spill = _Spill()
    out: Read = []
    for raw in source.lines():
        got = spill.take()
        if raw is None:
            out.append((None, got))
        else:
            assert got is None, "spill got a line that was not too long"
            out.append((raw, None))
    assert spill.take() is None
    return out


def read_blocks(source: Source) -> Read:
    """One pass of ``blocks()``, split and judged as ``_engine.runner`` does."""
    limit = source.max_line_bytes
    spill = source.spill = _Spill()
    out: Read = []
    ended = True  # whether every block so far ended at a line end
    for block in source.blocks():
        got = spill.take()
        assert ended, "a block after one that did not end with a newline"
        if block is None:
            assert got, "a line skipped while reading was not spilled"
            out.append((None, got))
            continue
        assert got is None, "spill got content outside an over-limit line"
        data = bytes(block)
        assert data, "an empty block"
        held = source.reread_fd()
        if held is not None:
            # The offset a kept line is read again at (for a copy of its event_id).
            assert source.block_offset is not None
            assert os.pread(held, len(data), source.block_offset) == data, "block_offset"
        if SCANNER is not None:
            _check_scan(block, data, limit)
        pieces = data.split(b"\n")
        ended = pieces[-1] == b""
        if ended:
            pieces.pop()
        for piece in pieces:
            line = piece
            if line.endswith(b"\r"):
                line = line[:-1]  # a "\r" before "\n", or ending the input: the ending
            if len(line) > limit:
                spill(line)  # as _engine.runner._deferred_lines does
                out.append((None, spill.take()))
            else:
                out.append((line, None))
    assert spill.take() is None
    return out


def _check_scan(block: bytes | memoryview, data: bytes, limit: int) -> None:
    """The compiled scanner splits ``block`` into the same lines (none of them is an event)."""
    assert SCANNER is not None
    count, deferred = SCANNER.scan(block, False, limit, False, 0, 1)
    expected = data.split(b"\n")
    if expected[-1] == b"":
        expected.pop()
    expected = [p[:-1] if p.endswith(b"\r") else p for p in expected]
    assert count == len(expected)
    # Nothing drawn here is a valid event, so every line is deferred to Python.
    assert [index for index, _, _ in deferred] == list(range(count))
    assert [data[start:end] for _, start, end in deferred] == expected


# Line contents: mostly short, around the limit, with "\r" where it matters.
_ALPHABET: Final = b"ab\r{} "
contents = st.lists(
    st.one_of(
        st.binary(max_size=3),
        st.lists(st.sampled_from(_ALPHABET), max_size=30).map(bytes),
        st.integers(0, 40).map(lambda n: b"x" * n),
        st.integers(0, 40).map(lambda n: b"x" * n + b"\r"),
        st.just(b"\r"),
    ).map(lambda line: line.replace(b"\n", b"")),
    max_size=12,
)


def _file_bytes(lines: list[bytes], crlf: list[bool], final_newline: bool) -> bytes:
    endings = [b"\r\n" if crlf[i % len(crlf)] else b"\n" for i in range(len(lines))] if crlf else []
    endings = endings or [b"\n"] * len(lines)
    if lines and not final_newline:
        endings[-1] = b""
    return b"".join(line + ending for line, ending in zip(lines, endings, strict=True))


def _expected(data: bytes, limit: int) -> Read:
    """The reference: split on "\\n", strip one "\\r" before it (or ending the input),
    None when over the limit.

    An over-limit line's content goes to ``spill``.
    """
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    out: Read = []
    for piece in pieces:
        line = piece[:-1] if piece.endswith(b"\r") else piece
        out.append((None, line) if len(line) > limit else (line, None))
    return out


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("blocks")


@settings(
    max_examples=BLOCK_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    lines=contents,
    crlf=st.lists(st.booleans(), max_size=4),
    final_newline=st.booleans(),
    limit=st.integers(0, 12),
    block=st.sampled_from([1, 2, 3, 7, 16, 4096]),
    chunk=st.sampled_from([1, 2, 5, 4096]),
    compressed=st.booleans(),
)
# A CRLF line one byte over the limit, read with the default read sizes:
# lines() sees "x" * 13 + "\r" before the newline.
@example(
    lines=[b"x" * 13, b"ok"],
    crlf=[True],
    final_newline=True,
    limit=12,
    block=4096,
    chunk=4096,
    compressed=False,
)
# An over-limit CRLF line whose "\r" ends one read and "\n" starts the next in blocks().
@example(
    lines=[b"xx", b"ok"],
    crlf=[True],
    final_newline=True,
    limit=0,
    block=1,
    chunk=4096,
    compressed=False,
)
# Blank lines, a lone "\r" line and a last line ending in "\r" (its ending: no LF after it).
@example(
    lines=[b"", b"\r", b"a\r"],
    crlf=[False],
    final_newline=False,
    limit=1,
    block=1,
    chunk=1,
    compressed=True,
)
def test_blocks_split_into_the_lines_of_lines(
    where: Path,
    lines: list[bytes],
    crlf: list[bool],
    final_newline: bool,
    limit: int,
    block: int,
    chunk: int,
    compressed: bool,
) -> None:
    data = _file_bytes(lines, crlf, final_newline)
    if data.startswith(GZIP_MAGIC) and not compressed:
        data = b" " + data  # such a file is read as gzip (see test_hostile_input)
    path = where / ("log.jsonl.gz" if compressed else "log.jsonl")
    path.write_bytes(gzip.compress(data) if compressed else data)
    source = Source(str(path), max_line_bytes=limit)
    source.hold_for_rereads = True
    try:
        with read_sizes(block, chunk):
            by_lines = read_lines(source)
            by_blocks = read_blocks(source)
        # Lines are read again from the file only when it stores them as they are.
        assert (source.reread_fd() is None) == compressed
    finally:
        source.close()
    assert source.reread_fd() is None, "close() releases the held file"
    expected = _expected(data, limit)
    assert [raw for raw, _ in by_lines] == [raw for raw, _ in expected], "lines() misread"
    assert [raw for raw, _ in by_blocks] == [raw for raw, _ in by_lines], "blocks() != lines()"
    # A quarantine gets each over-limit line's content, without its line ending.
    assert [spilled for _, spilled in by_blocks] == [spilled for _, spilled in by_lines]
    assert [spilled for _, spilled in by_lines] == [spilled for _, spilled in expected]


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_standard_input_reads_alike_on_every_pass(
    monkeypatch: pytest.MonkeyPatch, compressed: bool
) -> None:
    data = b'{"a":1}\r\n\r\n' + b"y" * 40 + b"\r\n\rz\n" + b"w" * 13 + b"\nlast\r"
    piped = gzip.compress(data) if compressed else data
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(piped)))
    source = Source("-", max_line_bytes=12)
    source.hold_for_rereads = True
    expected = _expected(data, 12)
    try:
        for _ in range(2):  # standard input is spooled, so a source can be read again
            assert read_blocks(source) == expected
            assert read_lines(source) == expected
        # Its lines are read again from the spool, where it is not gzip data.
        assert (source.reread_fd() is None) == compressed
    finally:
        source.close()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda tmp: tmp / "missing.jsonl", "no such file"),
        (lambda tmp: tmp, "is a directory"),
    ],
    ids=["missing", "directory"],
)
def test_every_reader_words_an_unreadable_input_the_same(
    tmp_path: Path, make: object, reason: str
) -> None:
    """The in-memory reader and the partitioned replay give one sentence per cause.

    A user who moves from ``replay`` to ``replay --memory-limit`` (or to the
    library's ``replay_partitioned``) meets the same "cannot read NAME:
    REASON", not "no such file or directory" on one path and "no such
    file" on the other.
    """
    from connector_sync_contracts import InputError, replay_partitioned

    assert callable(make)
    path = make(tmp_path)
    expected = f"cannot read {path}: {reason}"
    source = Source(str(path))
    with pytest.raises(InputError) as in_memory:
        list(source.blocks())
    source.close()
    with pytest.raises(InputError) as partitioned:
        replay_partitioned([path], memory_limit="1MB")
    assert str(in_memory.value) == expected
    assert str(partitioned.value) == expected
