"""``LinesSource`` reads a caller's items as a file holding each one on a line.

``replay_lines`` hands its items to ``LinesSource``, whose reader
(``io._JoinedLines``) joins a list's items a batch at a time: one ``join``
for a batch of ``bytes`` none of which ends with ``\\n``, item by item
otherwise. Whatever the items' types and endings, and however the reads are
sized, the bytes read are each item followed by ``\\n`` unless it ends with
one, in order; an item that is not bytes is a ``TypeError`` naming its type.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts.io import LinesSource

_CONTENT = st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")) | st.sampled_from(
    [b"", b"\n", b"a\n", b"a\r\n", b"a\nb", b"\r"]
)
_ITEM = st.one_of(
    _CONTENT,
    _CONTENT.map(bytearray),
    _CONTENT.map(lambda b: memoryview(b)),
)


def _expected(items: list[Any]) -> bytes:
    out = b""
    for item in items:
        line = bytes(item)
        out += line if line.endswith(b"\n") else line + b"\n"
    return out


def _read_all(source: LinesSource, size: int) -> bytes:
    try:
        reader, _ = source._open()
        chunks = []
        while chunk := reader.read(size):
            assert len(chunk) <= size
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        source.close()


# Lists longer than a batch (1024 items) come from repeating a short drawn
# list, so that they cost Hypothesis little to make.
_LONG = st.builds(
    lambda part, length, tail: (part * length)[:length] + tail,
    st.lists(_CONTENT, min_size=1, max_size=8),
    st.integers(1000, 2600),
    st.lists(_ITEM, max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(_ITEM, max_size=40) | _LONG,
    size=st.integers(1, 5000),
    as_tuple=st.booleans(),
)
def test_the_bytes_read_are_the_items_each_ended_by_a_newline(
    items: list[Any], size: int, as_tuple: bool
) -> None:
    given_items = tuple(items) if as_tuple else items
    assert _read_all(LinesSource(given_items), size) == _expected(items)
    # Any other iterable is read once, into a spool file: the same bytes.
    assert _read_all(LinesSource(iter(items)), size) == _expected(items)


@pytest.mark.parametrize("at", [0, 5, 1500])
def test_an_item_that_is_not_bytes_is_a_type_error_naming_its_type(at: int) -> None:
    items: list[Any] = [b"x"] * 2000
    items[at] = "text"
    with pytest.raises(TypeError, match="a line must be bytes, not str"):
        _read_all(LinesSource(items), 1 << 20)


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(_ITEM, min_size=1, max_size=30),
    data=st.data(),
    as_tuple=st.booleans(),
)
def test_a_line_is_read_again_from_the_items_where_the_reading_saw_it(
    items: list[Any], data: st.DataObject, as_tuple: bool
) -> None:
    """``read_held`` of a list or tuple gives the bytes the reading saw at that offset
    when they lie within one item (every line does), and None otherwise: no line is
    ever pieced together from two items."""
    source = LinesSource(tuple(items) if as_tuple else items)
    assert source.rereadable()
    text = _expected(items)
    ends: list[int] = []
    for item in items:
        line = bytes(item)
        ends.append((ends[-1] if ends else 0) + len(line) + (not line.endswith(b"\n")))
    offset = data.draw(st.integers(0, len(text) + 2))
    length = data.draw(st.integers(0, 20))
    starts = [0, *ends[:-1]]
    # Every item is at least its newline: the item an offset is in is one or none.
    within = any(
        start <= offset < end and offset + length <= end
        for start, end in zip(starts, ends, strict=True)
    )
    expected = text[offset : offset + length] if within else None
    assert source.read_held(offset, length) == expected


def test_lines_that_are_not_a_list_are_read_again_from_their_spool() -> None:
    source = LinesSource(iter([b"a", b"bc"]))
    assert source.line_reader() is None
    try:
        source.hold_for_rereads = True
        assert list(source.lines()) == [b"a", b"bc"]
        assert source.rereadable()
        assert source.read_held(2, 2) == b"bc"
    finally:
        source.close()
