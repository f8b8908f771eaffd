"""A byte range is handed to the router as views of what was read, cut at line ends.

``_PieceSource.blocks`` reads a range once and yields views of it in
blocks of about ``_VIEW_BYTES``: every block but the last ends with a
newline, none is empty, and together they are exactly the range's lines as
``Source.blocks`` reads them from the same range (a line longer than a
block stays whole inside one block). Here the block size is shrunk so that
small inputs are cut into many blocks. Lines over the length limit, which
also stay inside their block for the router to report, are drawn by the
tangled logs of ``test_split`` and ``test_cluster``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts.io import Source
from connector_sync_contracts.scale import inputs
from connector_sync_contracts.scale.inputs import piece_source
from connector_sync_contracts.scale.plan import Piece

MAX_LINE = 1000
"""Above every drawn line: ``Source.blocks`` then yields no ``None``."""

line_bytes = st.one_of(
    st.just(b""),  # empty lines: one right after a block's end must stay
    st.binary(min_size=1, max_size=90).map(lambda raw: raw.replace(b"\n", b"x")),
)


def _file_blocks(source: Source) -> bytes:
    """What ``Source.blocks`` reads of the range."""
    read = bytearray()
    for block in Source.blocks(source):
        assert block is not None
        read += block
    return bytes(read)


@given(
    lines=st.lists(line_bytes, max_size=30),
    final_newline=st.booleans(),
    cut=st.data(),
    view_bytes=st.integers(1, 64),
)
def test_a_range_is_yielded_whole_in_blocks_ending_at_line_ends(
    lines: list[bytes], final_newline: bool, cut: st.DataObject, view_bytes: int
) -> None:
    text = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    start = cut.draw(st.integers(0, len(text)), label="start")
    stop = cut.draw(st.integers(start, len(text)), label="stop")
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "log.jsonl"
        path.write_bytes(text)
        patch.setattr(inputs, "_VIEW_BYTES", view_bytes)
        source = piece_source(Piece(0, str(path), start, stop), MAX_LINE)
        blocks = [bytes(block) for block in source.blocks() if block is not None]
        expected = _file_blocks(piece_source(Piece(0, str(path), start, stop), MAX_LINE))
    assert b"".join(blocks) == expected
    assert all(blocks), "an empty block"
    assert all(block.endswith(b"\n") for block in blocks[:-1])
    for block in blocks:
        if len(block) > view_bytes:  # longer than a block only when it is one line
            assert b"\n" not in block[:-1]
    assert source.passes == 1
