"""``validate_event`` of JSON text, a mapping or an ``Event`` that the compiled core takes whole.

A service checks each event it takes from a queue with ``validate_event``;
the model and schema layers cost about 0.2-0.5 ms an event. When the
compiled core is built, JSON text (``bytes`` or ``str``) that it takes
whole as a valid envelope, an envelope ``dict`` and an ``Event`` it takes
are answered from that verdict, in microseconds (strict: when strict adds
nothing to say either).
The answer must be the layers' own: these tests compare the two on every
line of generated logs and the conformance kit, varied the ways producers
write them (escapes, non-ASCII, unknown fields, another UUID spelling,
broken rules, invalid values), as text, as the mapping parsed from it and
as the Event made of it, strict and not; and on Events made without
validation (``model_construct``) that break the envelope's rules.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts import Event, Layer, validate_event
from connector_sync_contracts._engine import native
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.conformance import load_manifest
from connector_sync_contracts.validation import layers

_LINES = list(generate_lines(GeneratorOptions(events=400, connectors=6, invalid=40, seed=5)))


def _fixture_texts() -> list[bytes]:
    """Each fixture as written (pretty JSON; a stream's lines) and compact."""
    texts = []
    for fixture in load_manifest().fixtures:
        raw = fixture.read_bytes()
        written = raw.splitlines() if fixture.expected_result == "replay" else [raw]
        for text in written:
            texts.append(text)
            with contextlib.suppress(ValueError):  # a fixture that is not JSON stays as is
                texts.append(json.dumps(json.loads(text), ensure_ascii=False).encode())
    return texts


_FIXTURES = _fixture_texts()

needs_native = pytest.mark.skipif(native.scanner() is None, reason="the compiled core is not built")


def _same_as_the_layers(data: object, strict: bool) -> None:
    assert validate_event(data, strict=strict) == layers._validated(data, None, strict)


def _object(raw: bytes) -> object:
    """The JSON value of ``raw`` as ``json.loads`` reads it (None: not one JSON text)."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _event(data: object) -> Event | None:
    """The Event a service would make of ``data`` (None: the model refuses it)."""
    try:
        return Event.model_validate(data)
    except ValueError:
        return None


def _every_form_gets_the_layers_answer(raw: bytes, strict: bool) -> None:
    """The text, the mapping parsed from it and the Event made of that."""
    _same_as_the_layers(raw, strict)
    parsed = _object(raw)
    _same_as_the_layers(parsed, strict)
    event = _event(parsed)
    if event is not None:
        _same_as_the_layers(event, strict)


@pytest.mark.parametrize("strict", [False, True], ids=["plain", "strict"])
def test_every_generated_line_and_fixture_gets_the_layers_answer(strict: bool) -> None:
    for raw in [*_LINES, *_FIXTURES]:
        _every_form_gets_the_layers_answer(raw, strict)
        _same_as_the_layers(raw.decode(), strict)


def _vary(event: dict[str, Any], how: str) -> bytes:
    payload = event.get("payload")
    if how == "ascii escapes":
        return json.dumps(event, ensure_ascii=True).encode()
    if how == "non-ascii" and isinstance(payload, dict):
        payload["connector_id"] = "東京-\u00e9"
    elif how == "unknown fields" and isinstance(payload, dict):
        event["trace"] = {"span": [1, 2.5, None]}
        payload["tier"] = "gold"
    elif how == "other uuid spelling" and isinstance(payload, dict) and "project_uuid" in payload:
        payload["project_uuid"] = str(payload["project_uuid"]).upper().replace("-", "")
    elif how == "another project" and isinstance(payload, dict) and "project_uuid" in payload:
        payload["project_uuid"] = "0b6c2a49-1f3e-4d5a-9c7b-2e8f4a6d1c03"
    elif how == "empty id" and isinstance(payload, dict):
        payload["connector_id"] = ""
    elif how == "clock as text":
        event["lamport_clock"] = str(event.get("lamport_clock"))
    elif how == "two lines":
        return json.dumps(event).encode() + b"\n" + json.dumps(event).encode()
    elif how == "trailing newline":
        return json.dumps(event).encode() + b"\n"
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


_HOW = [
    "as is",
    "ascii escapes",
    "non-ascii",
    "unknown fields",
    "other uuid spelling",
    "another project",
    "empty id",
    "clock as text",
    "two lines",
    "trailing newline",
]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_LINES), st.sampled_from(_HOW), st.booleans())
def test_varied_lines_get_the_layers_answer(raw: bytes, how: str, strict: bool) -> None:
    try:
        event = json.loads(raw)
    except ValueError:
        event = None
    varied = _vary(event, how) if isinstance(event, dict) else raw
    _every_form_gets_the_layers_answer(varied, strict)


_VALID_EVENT = next(
    event
    for raw in _LINES
    if (event := _event(_object(raw))) is not None and validate_event(event).valid
)

_UNCHECKED: dict[str, dict[str, Any]] = {
    "negative clock": {"lamport_clock": -1},
    "empty id": {"event_id": ""},
    "naive timestamp": {"timestamp": _VALID_EVENT.timestamp.replace(tzinfo=None)},
    "timestamp as text": {"timestamp": "2026-11-24T01:00:00+01:00"},
    "unknown type": {"event_type": "SomethingElse"},
    "payload emptied": {"payload": {}},
    "payload not a dict": {"payload": ["x"]},
    "payload with a set": {"payload": {**_VALID_EVENT.payload, "tags": {"a"}}},
    "payload with an unknown field": {"payload": {**_VALID_EVENT.payload, "tier": "gold"}},
    "uuid as text": {"project_uuid": str(_VALID_EVENT.project_uuid).upper()},
    "another project": {"project_uuid": "0b6c2a49-1f3e-4d5a-9c7b-2e8f4a6d1c03"},
}


@pytest.mark.parametrize("strict", [False, True], ids=["plain", "strict"])
@pytest.mark.parametrize("how", sorted(_UNCHECKED))
def test_an_event_made_without_validation_gets_the_layers_answer(how: str, strict: bool) -> None:
    """An Event is judged as a whole, envelope included: ``model_construct`` skips the model."""
    fields = {**_VALID_EVENT.model_dump(), **_UNCHECKED[how]}
    _same_as_the_layers(Event.model_construct(**fields), strict)


@needs_native
def test_a_valid_line_is_answered_by_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    def layers_ran(*args: object) -> None:
        raise AssertionError("the layers validated a line the core takes whole")

    valid = next(raw for raw in _LINES if validate_event(raw, strict=True).valid)
    parsed = json.loads(valid)
    monkeypatch.setattr(layers, "_validated", layers_ran)
    # The text, the mapping parsed from it and the Event made of it, strict and not.
    for data in (valid, parsed, Event.model_validate(parsed)):
        for strict in (False, True):
            result = validate_event(data, strict=strict)
            assert result.valid
            assert result.kind == "envelope"
            assert (Layer.STRICT in result.layers) is strict
        with pytest.raises(AssertionError, match="the layers validated"):
            validate_event(data, parsed["event_type"])  # given a type: the layers
    # Strict, with something to say: the layers word it.
    with pytest.raises(AssertionError, match="the layers validated"):
        validate_event({**parsed, "trace": "x"}, strict=True)


def test_with_the_core_switched_off_the_layers_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    valid = next(raw for raw in _LINES if validate_event(raw).valid)
    calls: list[object] = []
    validated = layers._validated

    def counted(*args: Any) -> Any:
        calls.append(args)
        return validated(*args)

    monkeypatch.setattr(layers, "_validated", counted)
    monkeypatch.setenv(native.PURE_PYTHON_ENV, "1")
    assert validate_event(valid).valid
    assert validate_event(json.loads(valid)).valid
    assert validate_event(Event.model_validate_json(valid)).valid
    assert validate_event(json.loads(valid), strict=True).valid
    assert len(calls) == 4
