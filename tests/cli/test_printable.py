"""``printable``: text from a log, made safe to print on a terminal, changed only where it must be.

Every control or direction-changing character becomes its escape (and a
newline too, unless the text is lines joined by newlines); lone surrogates
are escaped; any other text comes back as it is. The quick check on bytes
must agree with the character rule for every text.
"""

from __future__ import annotations

import re
from typing import Final

from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts.cli.common import printable

_RULE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_RULE_LINES: Final = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]"
)
_SURROGATE: Final = re.compile("[\ud800-\udfff]")

_NEAR: Final = st.sampled_from(
    ["\x1b", "\n", "\r", "\x7f", "\x85", "\u00a0", "\u00b0", "\u200e", "\u2014", "\u2028",
     "\u202e", "\u2069", "\u206a", "\ud800", "\udfff", "\ud7a3", "\ue000", "é", "東", "🚀", "a"]
)  # fmt: skip
_TEXT: Final = st.lists(_NEAR | st.characters(), max_size=30).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=_TEXT, lines=st.booleans())
def test_printable_escapes_exactly_what_the_rule_names(text: str, lines: bool) -> None:
    rule = _RULE_LINES if lines else _RULE
    shown = printable(text, lines=lines)
    assert not rule.search(shown)
    assert not _SURROGATE.search(shown)
    shown.encode("utf-8")  # always printable as UTF-8
    if not rule.search(text) and not _SURROGATE.search(text):
        assert shown == text
    else:
        assert shown != text
    assert ("\n" in shown) == (lines and "\n" in text)
