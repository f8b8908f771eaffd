"""The compiled ``lines_naming`` picks exactly the lines ``may_name`` picks.

A partitioned replay reads a group's files again for the lines of the event
ids its anomalies name (their first line in input order). ``may_name`` is the
rule that lets a line be passed over without parsing it; ``lines_naming``
(C) applies it to a whole block. A line it passed over wrongly would place
an anomaly on another line than the single-process replay does, so the two
must agree on every line, whatever its bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts._engine.native import PURE_PYTHON_ENV, lines_naming
from connector_sync_contracts.io import Source
from connector_sync_contracts.scale._engine_calls import lines_may_naming, may_name

pytestmark = pytest.mark.skipif(lines_naming() is None, reason="the compiled core is not built")

_ID = "01JBKBT1WENZESTNCCBMXR6BQV"
_KEYS = frozenset({_ID.lower().encode(), b"0d750b36130e4cd185fe490d6a6713c9", b"a"})


def _python(block: bytes, keys: frozenset[bytes]) -> tuple[int, list[tuple[int, bytes]]]:
    """What ``lines_naming`` must give: ``Source.lines()``'s split, then ``may_name``."""
    pieces = block.split(b"\n")
    if not pieces[-1]:
        pieces.pop()
    found = [
        (at, piece)
        for at, piece in enumerate(pieces)
        if may_name(piece[:-1] if piece.endswith(b"\r") else piece, keys)
    ]
    return len(pieces), found


def _compiled(block: bytes, keys: frozenset[bytes]) -> tuple[int, list[tuple[int, bytes]]]:
    native = lines_naming()
    assert native is not None
    count, found = native(block, keys)
    return count, list(found)


# Lines made of the pieces that decide may_name: the member name (also nested,
# repeated, sharing a quote), white space, the colon, quotes, backslashes,
# hyphens and case in the value, a CR before the newline.
_piece = st.sampled_from(
    [
        b'"event_id"',
        b'"event_id"event_id"',
        b'"event_ID"',
        b":",
        b" ",
        b"\t",
        b"\r",
        b'"',
        b"\\",
        b"\\u0041",
        b"-",
        b"{",
        b"}",
        b",",
        b'"payload":{',
        _ID.encode(),
        _ID.lower().encode(),
        b"0D750B36-130E-4CD1-85FE-490D6A6713C9",
        b"A",
        b"a-",
        b"x",
        "é".encode(),
        b"\x00",
        b"\xff",
    ]
)
_line = st.lists(_piece, max_size=12).map(b"".join)
_block = st.lists(_line, max_size=12).map(b"\n".join)


@given(
    _block,
    st.booleans(),
    st.sets(st.sampled_from([*sorted(_KEYS), b"", b"x", _ID.encode()]), max_size=4),
)
def test_the_compiled_line_test_is_may_name(
    block: bytes, ends_with_newline: bool, keys: set[bytes]
) -> None:
    block += b"\n" if ends_with_newline else b""
    wanted = frozenset(keys)
    assert _compiled(block, wanted) == _python(block, wanted)


@pytest.mark.parametrize(
    "line",
    [
        b'{"event_id":"01JBKBT1WENZESTNCCBMXR6BQV","event_type":"X"}',
        b'{"event_id" :\t "01jbkbt1-wenz-estn-ccbm-xr6bqv"}',
        b'{"event_id"event_id":"01JBKBT1WENZESTNCCBMXR6BQV"}',
        b'{"event_id"event_id":"nope"}',
        b'{"event_id":"nope","payload":{"event_id":"01JBKBT1WENZESTNCCBMXR6BQV"}}',
        b'{"event_id":"01JBKBT1WENZESTNCCBMXR6BQV}',
        b'{"event_id":"nope\\u0041"}',
        b'{"event_id":"nope"}\r',
        b'{"event_id":"nope",}',
        b'{"event_id":17}',
        b'{"event_id":"a"}',
        b'{"event_id":"--A--"}',
        b'{"event_id":""}',
        b"",
        b"\r",
        b"not json",
    ],
)
def test_each_kind_of_line(line: bytes) -> None:
    for block in (line, line + b"\n", b"\n" + line + b"\n\n"):
        assert _compiled(block, _KEYS) == _python(block, _KEYS)
        assert _compiled(block, frozenset()) == _python(block, frozenset())


def test_a_line_that_names_no_wanted_id_is_passed_over() -> None:
    block = b'{"event_id":"nope"}\n{"event_id":"01JBKBT1WENZESTNCCBMXR6BQV"}\n{"event_id":"no"}'
    assert _compiled(block, _KEYS) == (3, [(1, block.split(b"\n")[1])])


def test_keys_must_be_a_frozenset_of_bytes() -> None:
    native = lines_naming()
    assert native is not None
    with pytest.raises(TypeError):
        native(b"{}\n", {b"a"})
    with pytest.raises(TypeError, match="frozenset of bytes"):
        native(b"{}\n", frozenset({"a"}))


@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_the_lines_of_a_file_are_numbered_as_source_lines_numbers_them(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blocks of a file: the compiled test per block, the numbers over the whole file,
    # a line over the length limit left out (it names no event id). The Python
    # path (no compiled core) reads it line by line, to the same lines.
    if engine == "python":
        monkeypatch.setenv(PURE_PYTHON_ENV, "1")
    lines = [b'{"event_id":"nope%d"}' % n for n in range(50_000)]
    lines[7] = b'{"event_id":"01JBKBT1WENZESTNCCBMXR6BQV"}\r'
    lines[30_001] = b'{"event_id":"a", "pad":"' + b"x" * 300 + b'"}'
    lines[40_000] = b"not json"
    lines[49_999] = b'{"event_id":"A"}'
    path = tmp_path / "part.jsonl"
    path.write_bytes(b"\n".join(lines))  # the last line without its newline
    source = Source(str(path), max_line_bytes=200)
    try:
        found = list(lines_may_naming(source, _KEYS))
    finally:
        source.close()
    assert found == [
        (8, b'{"event_id":"01JBKBT1WENZESTNCCBMXR6BQV"}'),
        (40_001, b"not json"),
        (50_000, b'{"event_id":"A"}'),
    ]
