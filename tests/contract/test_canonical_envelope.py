"""Settling copies compares canonical JSON; a line's bytes written without the model are the same.

Replay settles copies of one event_id whose bytes differ by their canonical
JSON (specification section 2). The compiled engine writes it from the
line's object (``line_canonical_json``) instead of building the ``Event``;
if the two forms differed, a re-serialized copy could count as a conflict,
or a conflict be won by another copy, in one engine only.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts import Event, canonical_json
from connector_sync_contracts._engine.modelpath import instant_us
from connector_sync_contracts._engine.native import instant_us as instant_us_of
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.contract.canonical import (
    ENVELOPE_DEFAULTS,
    ENVELOPE_REQUIRED,
    instant_text,
    line_canonical_json,
)
from connector_sync_contracts.contract.patterns import format_instant
from connector_sync_contracts.io import parse_line
from connector_sync_contracts.reducing.facts import EPOCH
from tests.support.engines import native_scanner
from tests.support.soak import examples
from tests.support.variants import VALID_VARIANTS

_LINES = [
    line
    for line in generate_lines(GeneratorOptions(events=300, connectors=6, seed=5))
    if b"event_id" in line
]
_OPTIONAL = tuple(ENVELOPE_DEFAULTS)


def _spell_id(value: str, how: int) -> str:
    """Another spelling of an identifier the contract takes as the same one."""
    if len(value) == 26:
        return value.lower() if how % 2 else value
    digits = value.replace("-", "")
    return [value.upper(), digits, digits.upper(), value][how % 4]


def _spell_time(value: str, offset_minutes: int, digits: int, lower: bool) -> str:
    """The same instant at another UTC offset with ``digits`` fraction digits (padded)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}{'123'}"[:digits]
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text += "Z" if offset_minutes == 0 and digits % 2 else f"{sign}{hours:02d}:{minutes:02d}"
    return text.replace("T", "t").replace("Z", "z") if lower else text


@st.composite
def _lines(draw: st.DrawFn) -> bytes:
    envelope: dict[str, Any] = json.loads(draw(st.sampled_from(_LINES)))
    if envelope.get("causation_id") is None and draw(st.booleans()):
        envelope["causation_id"] = envelope["correlation_id"]
    for name in ("event_id", "correlation_id", "causation_id", "project_uuid"):
        if isinstance(envelope.get(name), str):
            envelope[name] = _spell_id(envelope[name], draw(st.integers(0, 3)))
    envelope["timestamp"] = _spell_time(
        envelope["timestamp"],
        draw(st.sampled_from([0, 60, -150, 330, 23 * 60 + 59, -(23 * 60 + 59)])),
        draw(st.integers(0, 9)),
        draw(st.booleans()),
    )
    for name in _OPTIONAL:
        how = draw(st.integers(0, 2))
        if how == 0:
            envelope.pop(name, None)
        elif how == 1 and name != "data_tier":
            envelope[name] = None
    items = list(envelope.items())
    draw(st.randoms(use_true_random=False)).shuffle(items)
    envelope = dict(items)
    variant = draw(st.sampled_from(sorted(VALID_VARIANTS)))
    rng = random.Random(draw(st.integers(0, 2**32)))
    return VALID_VARIANTS[variant](envelope, rng).encode()


@settings(max_examples=examples(300, 3000), deadline=None)
@given(_lines())
def test_a_lines_canonical_json_is_its_events(raw: bytes) -> None:
    parsed = parse_line(raw)
    assert isinstance(parsed, dict), parsed
    event = Event.model_validate(parsed)
    at = instant_us(event)
    assert line_canonical_json(orjson.loads(raw), event.event_id, at) == canonical_json(event)
    scanner = native_scanner()
    if scanner is not None:
        took = scanner.probe(raw, False)
        assert took is not None, "the core takes every valid line whole"
        assert (took[0], took[1], took[2]) == (event.event_id, event.lamport_clock, at)


def test_the_field_lists_are_the_envelope_models() -> None:
    fields = Event.model_fields
    assert set(ENVELOPE_REQUIRED) == {name for name, info in fields.items() if info.is_required()}
    assert dict(ENVELOPE_DEFAULTS) == {
        name: info.default for name, info in fields.items() if not info.is_required()
    }


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(1, 1, 2, tzinfo=timezone.utc), "0001-01-02T00:00:00Z"),
        (
            datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=5))),
            "0999-01-01T22:04:05.000006Z",
        ),
        (
            datetime(2026, 11, 30, 23, 59, 59, 120000, tzinfo=timezone.utc),
            "2026-11-30T23:59:59.120000Z",
        ),
    ],
)
def test_an_instant_is_written_with_a_four_digit_year(moment: datetime, text: str) -> None:
    """RFC 3339 writes four year digits; ``strftime`` wrote year 999 as ``999`` on Linux."""
    assert format_instant(moment) == text
    assert instant_text(instant_us_of(moment)) == text


_FIRST_US: Final = instant_us_of(datetime(1, 1, 1, tzinfo=timezone.utc))
_LAST_US: Final = instant_us_of(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc))


@settings(max_examples=examples(500, 5000), deadline=None)
@given(st.one_of(st.integers(_FIRST_US, _LAST_US), st.sampled_from([_FIRST_US, _LAST_US, 0, -1])))
def test_an_instant_in_microseconds_is_written_as_its_datetime(us: int) -> None:
    """``instant_text`` (a line's timestamp in its canonical JSON) writes what
    ``format_instant`` writes for the same instant: whole seconds without a fraction."""
    assert instant_text(us) == format_instant(EPOCH + timedelta(microseconds=us))
