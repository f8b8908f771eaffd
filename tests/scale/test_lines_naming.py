"""The compiled ``lines_naming`` passes over only lines that name no wanted event id.

A partitioned replay reads a group's files again for the lines of the event
ids its anomalies name (their first line in input order). ``may_name`` is the
rule that lets a line be passed over without parsing it; ``lines_naming``
(C) applies it to a whole block. A line it passed over wrongly would place
an anomaly on another line than the single-process replay does. On a line
without a backslash the two agree, whatever its bytes. A line with one (an
escape anywhere, ordinary in real producers' text) ``may_name`` keeps; the C
walks its top-level members and passes over it when its event_id, read as
``line_event_id`` reads it, is not wanted: it keeps every line ``may_name``
keeps that names a wanted id, and none that ``may_name`` passes over.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts._engine.decision import line_event_id
from connector_sync_contracts._engine.native import PURE_PYTHON_ENV, lines_naming
from connector_sync_contracts.contract.patterns import event_id_key
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
    _agree(block, frozenset(keys))


def _names_a_wanted_id(line: bytes, keys: frozenset[bytes]) -> bool:
    """What reading the line tells (``line_event_id``): it names a wanted id."""
    eid = line_event_id(line[:-1] if line.endswith(b"\r") else line)
    return eid is not None and event_id_key(eid).encode() in keys


def _agree(block: bytes, keys: frozenset[bytes]) -> None:
    """The compiled test keeps what ``may_name`` keeps, but lines with a backslash
    that name no wanted id; it never passes over one that names a wanted id."""
    count, found = _compiled(block, keys)
    python_count, python_found = _python(block, keys)
    assert count == python_count
    assert set(found) <= set(python_found)
    for at, line in python_found:
        if (at, line) not in found:
            assert b"\\" in line
            assert not _names_a_wanted_id(line, keys)
    kept = {at for at, _ in found}
    for at, line in enumerate(block.split(b"\n")[:count]):
        if at not in kept:
            assert not _names_a_wanted_id(line, keys)


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)
_member_value = st.one_of(
    _text, st.integers(), st.none(), st.sampled_from(["a/b", 'q"q', "\\", "\u00e9", "é/"])
)
_id_value = st.sampled_from(
    [_ID, _ID.lower(), "0D750B36-130E-4CD1-85FE-490D6A6713C9", "nope", "a", "A-", "x/y", 'x"y']
)


@st.composite
def _envelope_lines(draw: st.DrawFn) -> bytes:
    """A JSON object as producers write one: members in any order, an event_id at the
    top (or none, or nested only), strings with escapes (``\\/``, ``\\u00e9``, ``\\"``)
    or raw UTF-8."""
    members: dict[str, object] = draw(
        st.dictionaries(st.sampled_from(["x", "note", "url", "data_tier"]), _member_value)
    )
    if draw(st.booleans()):
        members["event_id"] = draw(_id_value)
    if draw(st.booleans()):
        members["payload"] = {"event_id": draw(_id_value), "reason": draw(_member_value)}
    order = draw(st.permutations(list(members)))
    text = json.dumps({k: members[k] for k in order}, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace("/", "\\/")
    return text.encode()


@given(
    st.lists(_envelope_lines(), min_size=1, max_size=8),
    st.sets(st.sampled_from([*sorted(_KEYS), b"nope", b"x/y"]), max_size=3),
)
def test_lines_with_escapes_are_passed_over_only_when_they_name_no_wanted_id(
    lines: list[bytes], keys: set[bytes]
) -> None:
    wanted = frozenset(keys)
    block = b"\n".join(lines)
    _agree(block, wanted)
    # A line with an escape but a plain top-level event_id is decided by that value.
    _, found = _compiled(block, wanted)
    kept = {at for at, _ in found}
    for at, line in enumerate(lines):
        top = json.loads(line).get("event_id")
        written = json.dumps(top)
        plain = isinstance(top, str) and "\\" not in written
        plain = plain and f'"event_id": {written}'.encode() in line and b"\\" in line
        if plain and b'\\"event_id' not in line:
            # As may_name decides a line without a backslash: by the value's key.
            assert (at in kept) is (top.replace("-", "").lower().encode() in wanted)


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
        _agree(block, _KEYS)
        _agree(block, frozenset())


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (b'{"url":"https:\\/\\/h.example\\/","event_id":"nope"}', False),
        (b'{"url":"https:\\/\\/h","event_id":"01jbkbt1wenzestnccbmxr6bqv"}', True),
        (b'{"reason":"caf\\u00e9","payload":{"event_id":"01JBKBT1WENZESTNCCBMXR6BQV"}}', False),
        (b'{"x":"\\"event_id\\": \\"01JBKBT1WENZESTNCCBMXR6BQV\\""}', False),
        (b'{"event\\u005fid":"01JBKBT1WENZESTNCCBMXR6BQV"}', True),
        (b'{"event_id":"01JBKBT1WENZESTNCCBMXR6BQ\\u0056"}', True),
        (b'{"event_id":"nope","x":"\\n","event_id":"a"}', True),
        (b'{"x":"\\n","event_id":17}', True),
        (b'{"x":"\\n"', True),
        (b'{"x":"\\n"}', False),
    ],
)
def test_a_line_with_an_escape_is_walked(line: bytes, kept: bool) -> None:
    # Kept: the line names a wanted id, or only parsing it can tell (an escaped
    # key or value, an event_id twice or not a string, bytes that do not walk).
    count, found = _compiled(line, _KEYS)
    assert (count, bool(found)) == (1, kept)
    _agree(line, _KEYS)


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
