"""Reading a partition's lines again for a few event ids rules lines out without parsing them.

``_engine_calls.may_name`` may say False only for a line whose event_id, as
``line_event_id`` reads it (the engine's own reading), is not wanted: else
an anomaly would be listed on the wrong line of a spilled replay.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts.contract.patterns import event_id_key, normal_event_id
from connector_sync_contracts.scale._engine_calls import line_event_id, may_name
from tests.support.soak import examples

_ULIDS = ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "01BX5ZZKBKACTAV9WEVGEMMVRZ", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"]
_UUIDS = ["6513270e-269e-4d37-b2a7-4de452e6b438", "00000000-0000-4000-8000-000000000000"]


@st.composite
def _spellings(draw: st.DrawFn) -> str:
    """An event id as a producer may write it: any case, a UUID with or without hyphens."""
    value = draw(st.sampled_from(_ULIDS + _UUIDS))
    if draw(st.booleans()):
        value = value.lower() if draw(st.booleans()) else value.upper()
    if "-" in value and draw(st.booleans()):
        value = value.replace("-", "")
    return value


_IDS = _spellings() | st.text(max_size=30)
_OTHER = st.none() | st.integers() | st.text(max_size=8)


@st.composite
def _lines(draw: st.DrawFn) -> bytes:
    """A line: an envelope whose event_id may be missing, not a string, nested,
    written twice, escaped, spaced; or any of those cut short."""
    envelope: dict[str, Any] = {"event_type": "ConnectorProvisioned", "payload": {}}
    if draw(st.booleans()):
        envelope["event_id"] = draw(_IDS | _OTHER)
    if draw(st.booleans()):
        envelope["payload"]["event_id"] = draw(_IDS)
    if draw(st.booleans()):
        envelope["note"] = draw(st.sampled_from(["a/b", "é", "event_id", '"event_id":"x"']))
    text = json.dumps(envelope, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace("/", "\\/")
    if draw(st.booleans()):
        text = text.replace(": ", draw(st.sampled_from([":", " :\t", ":\n", ":\f"])))
    if draw(st.booleans()):  # a second event_id key: the last one is the one read
        text = text[:-1] + f', "event_id": {json.dumps(draw(_IDS))}}}'
    if draw(st.booleans()) and '"event_id"' in text:  # one of the keys itself escaped
        at = text.find('"event_id"') if draw(st.booleans()) else text.rfind('"event_id"')
        text = text[:at] + '"event\\u005fid"' + text[at + len('"event_id"') :]
    raw = text.encode()
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


@settings(max_examples=examples(500, 20000), deadline=None)
@given(raw=_lines(), wanted=st.sets(_spellings() | st.text(max_size=26), max_size=4))
def test_a_line_ruled_out_names_no_wanted_event_id(raw: bytes, wanted: set[str]) -> None:
    normal = {n for value in wanted if (n := normal_event_id(value)) is not None}
    keys = {event_id_key(value).encode() for value in normal}
    if line_event_id(raw) in normal:
        assert may_name(raw, keys), raw


def test_a_plain_line_is_ruled_out_by_its_id_alone() -> None:
    """The usual line (no escape, one event_id) is not parsed when its id is not wanted."""
    line = json.dumps({"event_id": _ULIDS[0].lower(), "payload": {}}).encode()
    assert not may_name(line, {event_id_key(_ULIDS[1]).encode()})
    assert may_name(line, {event_id_key(_ULIDS[0]).encode()})
    assert line_event_id(line) == _ULIDS[0]


def test_the_key_read_last_is_the_one_that_counts() -> None:
    """A duplicate key is read last-wins, and may be escaped or nested: such a
    line is parsed, whatever its first plain event_id says."""
    first, last = _ULIDS[0], _ULIDS[1]
    escaped = f'{{"event_id": "{first}", "event\\u005fid": "{last}"}}'.encode()
    nested = f'{{"payload": {{"event_id": "{first}"}}, "event_id": "{last}"}}'.encode()
    twice = f'{{"event_id": "{first}", "event_id": "{last}"}}'.encode()
    for line in (escaped, nested, twice):
        assert line_event_id(line) == last, line
        assert may_name(line, {event_id_key(last).encode()}), line
