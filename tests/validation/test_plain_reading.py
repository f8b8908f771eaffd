"""The input layer's quick reading (orjson) takes a line only when it reads it exactly.

``_load`` reads JSON bytes with orjson and keeps the result only when it is
what the exact reading (``json`` with hooks, then the limits scan) gives;
anything else goes to the exact reading, which names the problem. Texts
here are written member by member, so keys repeat, integers cross the
64-bit range, strings hold quotes, colons and escapes, and objects nest.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts.contract.limits import MAX_DEPTH
from connector_sync_contracts.validation.input import (
    _load,
    _load_exactly,
    _plain_object,
    repeated_keys,
)

_KEYS = st.sampled_from(["a", "b", 'q"', "c:d", "\\", "é", "\u2028", "x" * 30])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.sampled_from([2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.sampled_from('ab:"\\/{}[],\u00e9\u2028\U0001f600\n'), max_size=8),
)


def _text(value: Any, ascii_only: bool) -> str:
    if isinstance(value, tuple):  # an object, as its members: keys may repeat
        members = ",".join(f"{json.dumps(k, ensure_ascii=ascii_only)}:{v}" for k, v in value)
        return "{" + members + "}"
    if isinstance(value, list):
        return "[" + ",".join(value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


@st.composite
def _documents(draw: st.DrawFn) -> bytes:
    ascii_only = draw(st.booleans())

    def render(node: Any) -> str:
        if isinstance(node, tuple):
            return _text(tuple((k, render(v)) for k, v in node), ascii_only)
        if isinstance(node, list):
            return _text([render(v) for v in node], ascii_only)
        return _text(node, ascii_only)

    tree = st.recursive(
        _SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.lists(st.tuples(_KEYS, inner), max_size=4).map(tuple),
        ),
        max_leaves=12,
    )
    top = draw(st.lists(st.tuples(_KEYS, tree), max_size=5).map(tuple))
    return render(top).encode()


def _same(raw: bytes) -> None:
    quick, exact = _load(raw), _load_exactly(raw)
    # json.dumps tells 1 from 1.0 and keeps key order: equal text, equal values.
    assert json.dumps(quick[0]) == json.dumps(exact[0]), raw
    assert quick[1] == exact[1], raw


@settings(max_examples=1500, deadline=None)
@given(raw=_documents())
def test_the_quick_reading_gives_what_the_exact_reading_gives(raw: bytes) -> None:
    _same(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":1}',
        b'{"a":{"b":1,"b":2}}',
        b'{"a":[{"k":1},{"k":2,"k":3}]}',
        b'{"a:":"x\\":y","b":1}',
        b'{"a":"x\\u003a","a":"y:"}',
        b'{"a":"x","a":"y\\u003a"}',
        b'{"a\\u003A":1,"a:":2}',
        b'{"f":9.3e18,"g":-9.3e18,"h":[1e300]}',
        b'{"n":18446744073709551615}',
        b'{"n":18446744073709551616}',
        b'{"n":-9223372036854775809}',
        b'{"n":1e400}',
        b'{"n":NaN}',
        b'{"s":"\\ud800"}',
        b'{"s":"\xed\xa0\x80"}',
        b'\xef\xbb\xbf{"a":1}',
        b'["not an object"]',
        b'{"a":1} {"b":2}',
        b'{"d":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}",
        b'{"d":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",
    ],
)
def test_lines_the_quick_reading_would_misread_are_read_exactly(raw: bytes) -> None:
    _same(raw)


def test_an_ordinary_line_is_read_quickly() -> None:
    # Escapes of characters other than ":" (\u0030 is "0", \u003c is "<") are ordinary.
    raw = (
        b'{"event_id":"01J","payload":{"note":"a:b \\"q\\" \\u00e9 \\u0030\\u003c",'
        b'"n":[1,2.5,null],"k:v":0}}'
    )
    assert _plain_object(raw) == json.loads(raw)


@given(st.lists(st.sampled_from("abcdefg"), max_size=40))
def test_repeated_keys_are_named_once_each_in_the_order_they_first_repeat(keys: list[str]) -> None:
    expected: list[str] = []
    for at, key in enumerate(keys):
        if key in keys[:at] and key not in expected:
            expected.append(key)
    assert repeated_keys([(key, at) for at, key in enumerate(keys)]) == tuple(expected)


def test_an_object_of_many_repeated_keys_names_each_once() -> None:
    # 30,000 repeated keys on one line took 9.5 s to name (a list searched per key).
    members = ",".join(f'"k{n}": 1, "k{n}": 2' for n in range(30_000))
    obj, problems = _load_exactly(f"{{{members}}}".encode())
    assert obj is None
    assert [p.path for p in problems[:2]] == ["$.k0", "$.k1"]
    assert len(problems) == 30_000
