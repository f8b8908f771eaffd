"""The compiled URL check is the URL rule (contract/patterns.py's URL_PATTERN), byte for byte.

The core checks ``endpoint_url`` and ``external_ref_url`` with ``url_ok``
(scan.c) instead of calling the regex for every new string; links carry
a new URL on nearly every line. It must accept exactly what
``full_match(URL_PATTERN)`` accepts: drawn from the pattern itself, from
its pieces recombined and mutated, and from the examples of each of its
parts (scheme, bracketed host, port range, path characters).
"""

from __future__ import annotations

import re
from typing import Final

from hypothesis import example, given, settings
from hypothesis import strategies as st

from connector_sync_contracts._engine import native
from connector_sync_contracts.contract.patterns import URL_PATTERN, full_match
from tests.support.engines import needs_native

pytestmark = needs_native

_URL: Final = re.compile(URL_PATTERN)

_PIECES: Final = (
    "http", "https", "HtTpS", "htt", "httpss", "://", ":/", "//", "[", "]", "[::1]", "[1.2:ab]",
    "[g]", "[]", "example.com", "é.com", "a", "@", "user:pw@", ":", ":0", ":80", ":0000",
    ":00080", ":9999", ":10000", ":65535", ":65536", ":99999", ":123456", "/", "?", "#", "/p?q#f",
    "\\", " ", "\t", "\n", "\x00", "\x7f", "\x85", "\xa0", "\ud800", "ü", "%20", ".", "-",
)  # fmt: skip
"""What URLs are made of, right and wrong, in every part of the pattern."""


def _check(value: str) -> str | None:
    check = native.url_check()
    assert check is not None
    return check(value)


def _agrees(value: str) -> None:
    assert (_check(value) is not None) == full_match(_URL, value), repr(value)


@given(st.from_regex(_URL, fullmatch=True))
def test_every_url_the_pattern_draws_is_accepted(value: str) -> None:
    assert _check(value) == value or value.endswith("\n")
    _agrees(value)


@example("http://[::1]:65535/x")
@example("http://[]/")
@example("https://host:65536")
@example("https://host:00080")
@example("https://host:123456")
@example("https://host:12345")
@example("httpss://host")
@example("http://user:token@host/")
@example("http://user@host/")
@example("http://host/a b")
@example("http://host\n")
@example("http://ho\\st")
@example("HTTPS://é.com/ü?\ud800")
@settings(max_examples=500)
@given(st.lists(st.sampled_from(_PIECES), max_size=8).map("".join))
def test_pieces_of_urls_are_judged_as_the_pattern_judges_them(value: str) -> None:
    _agrees(value)


@given(st.text(alphabet=st.sampled_from("hHtTpPsS:/[]@?#\\.0123456789aFgz \t\n\x7f\x00é\ud800")))
def test_any_text_is_judged_as_the_pattern_judges_it(value: str) -> None:
    _agrees(value)


def test_the_core_runs_the_compiled_check_for_url_fields() -> None:
    make_check = native._PYTHON_PARTS["make_check"]
    assert make_check(URL_PATTERN, 2048) is native.url_check()
    assert make_check(r"^a$", None) is not native.url_check()
