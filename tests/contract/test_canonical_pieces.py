"""The command line writes the section 6 JSON in pieces; together they are canonical_dumps' bytes.

The compiled fold hands over the link index of a whole log as its JSON text
(``JSONText``), a hundred MB for a million links. ``canonical_pieces`` writes
that text as a piece of its own instead of copying it into the document, by
leaving a raw NUL byte in its place: orjson never writes one itself.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts.contract.projection import (
    JSONText,
    canonical_dumps,
    canonical_pieces,
)
from tests.support.soak import examples

# Any text orjson writes (it refuses lone surrogates): NULs and controls included.
_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=["Cs"]))
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=12,
)


def _document(links: Any, reverse: Any, other: dict[str, Any]) -> dict[str, Any]:
    return {
        **other,
        "external_links": {"link_anomalies": [], "links": links, "reverse_index": reverse},
    }


@settings(max_examples=examples(200, 3000), deadline=None)
@given(
    links=_VALUES,
    reverse=_VALUES,
    other=st.dictionaries(_TEXT, _VALUES, max_size=3),
    as_text=st.sampled_from(["both", "links", "reverse_index", "neither"]),
    view=st.booleans(),
)
def test_the_pieces_are_the_canonical_bytes(
    links: Any, reverse: Any, other: dict[str, Any], as_text: str, view: bool
) -> None:
    """Any values around them (text with NULs and controls, keys sorting before
    and after, integers past 64 bits): the pieces join to canonical_dumps' bytes
    of the same values as objects, and each JSONText is written as it is."""
    other.pop("external_links", None)
    expected = canonical_dumps(_document(links, reverse, other))

    def text(value: Any, key: str) -> Any:
        if as_text not in ("both", key):
            return value
        # The JSON of the value as canonical_dumps writes it in its place: the
        # document's bytes less what is around a stand-in for it.
        document = _document(links, reverse, other)
        document["external_links"][key] = orjson.Fragment(b"\x00")
        before, after = canonical_dumps(document).split(b"\x00")
        raw = expected[len(before) : len(expected) - len(after)]
        return JSONText(memoryview(raw) if view else raw)

    data = _document(text(links, "links"), text(reverse, "reverse_index"), other)
    pieces = canonical_pieces(data)
    assert b"".join(pieces) == expected
    assert canonical_dumps(data) == expected
    rendered = [v for v in data["external_links"].values() if isinstance(v, JSONText)]
    assert [p for p in pieces if any(p is t.text for t in rendered)] == [t.text for t in rendered]


def test_a_raw_nul_outside_the_texts_is_refused() -> None:
    """Fail closed: a fragment holding a raw NUL would split the document wrongly."""
    data = _document(JSONText(b"[]"), [], {"odd": orjson.Fragment(b'"\x00"')})
    with pytest.raises(ValueError, match="raw NUL"):
        canonical_pieces(data)


def test_a_document_without_texts_is_one_piece() -> None:
    data = _document([], [], {"a": 1})
    assert canonical_pieces(data) == [canonical_dumps(data)]
    assert canonical_pieces([1, 2]) == [canonical_dumps([1, 2])]


@settings(max_examples=examples(200, 3000), deadline=None)
@given(data=st.dictionaries(_TEXT, _VALUES, max_size=4))
def test_integers_past_64_bits_are_written_exactly_wherever_they_are(data: Any) -> None:
    """Sums over many events may pass 64 bits (specification section 8): orjson
    refuses them, and only the parts holding one are rewritten. The bytes read
    back as the same values, as Python's own JSON writer writes them."""
    import json

    written = canonical_dumps(data)
    assert json.loads(written) == data
    assert written == (
        json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    ).encode("utf-8", "surrogatepass")
