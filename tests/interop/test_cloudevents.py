"""CloudEvents 1.0 mapping: lossless round trips, the SDK's own JSON format, every fixture."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Final
from uuid import UUID

import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts import (
    CONNECTOR_HEALTH_CHECKED,
    CONTRACT_VERSION,
    PAYLOAD_MODELS,
    CloudEventMappingError,
    CloudEventsSDKMissingError,
    Event,
    canonical_json,
    replay,
    validate_event,
)
from connector_sync_contracts.conformance import Fixture, load_manifest
from connector_sync_contracts.interop.cloudevents import (
    ATTRIBUTE_MAP,
    build_source,
    build_type,
    envelope_from_cloudevent_dict,
    from_cloudevent,
    from_structured_json,
    parse_source,
    parse_type,
    to_cloudevent,
    to_cloudevent_dict,
    to_structured_json,
)
from connector_sync_contracts.schemas import schema_id
from tests.support.schema_strategies import valid_documents

CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Any text JSON can carry as a string (lone surrogates cannot be encoded as UTF-8).
CHARS: Final = st.characters(codec="utf-8")
TEXT: Final = st.text(CHARS, max_size=12)
NON_EMPTY: Final = st.text(CHARS, min_size=1, max_size=12)
JSON_SCALARS: Final = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT | st.floats(-1e9, 1e9)
)
JSON_VALUES: Final = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def event_ids(draw: st.DrawFn) -> str:
    """A ULID or UUID in any accepted spelling (the envelope normalizes it)."""
    if draw(st.booleans()):
        text = "".join(draw(st.lists(st.sampled_from(CROCKFORD), min_size=26, max_size=26)))
        return text.lower() if draw(st.booleans()) else text
    value = draw(st.uuids())
    text = str(value) if draw(st.booleans()) else value.hex
    return text.upper() if draw(st.booleans()) else text


@st.composite
def timestamps(draw: st.DrawFn) -> datetime:
    """An aware datetime in any offset, with or without microseconds."""
    moment = draw(
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
    ).replace(tzinfo=timezone.utc)
    offset = timezone(timedelta(minutes=draw(st.integers(-23 * 60, 23 * 60))))
    return moment.astimezone(offset)


@st.composite
def events(draw: st.DrawFn) -> Event:
    """An envelope of any event type: the contract's eleven (valid payload) or another one."""
    if draw(st.integers(0, 5)) > 0:
        event_type = draw(st.sampled_from(sorted(PAYLOAD_MODELS)))
        payload = draw(valid_documents(event_type))
    else:
        # Types beyond the contract ride along too; dots and version-like tails included.
        event_type = draw(NON_EMPTY | st.sampled_from(["Mission.Created", "X.v1.2.3", "a:b/c"]))
        payload = draw(st.dictionaries(TEXT, JSON_VALUES, max_size=4))
    return Event(
        event_id=draw(event_ids()),
        event_type=event_type,
        aggregate_id=draw(NON_EMPTY),
        payload=payload,
        timestamp=draw(timestamps()),
        node_id=draw(NON_EMPTY | st.sampled_from(["node:a", "n/1?x#y", "100%", "é ü"])),
        lamport_clock=draw(st.integers(0, 2**63 - 1)),
        project_uuid=draw(st.uuids()),
        correlation_id=draw(event_ids()),
        causation_id=draw(st.none() | event_ids()),
        build_id=draw(st.none() | TEXT | st.just(":build:")),
        project_slug=draw(st.none() | TEXT),
        schema_version=draw(st.none() | st.sampled_from(["2.7.0", "0.0.1", "10.20.30"])),
        data_tier=draw(st.integers(0, 4)),
    )


@given(events())
def test_structured_json_round_trip_is_lossless(event: Event) -> None:
    data = to_structured_json(event)
    back = from_structured_json(data)
    assert back == event
    assert canonical_json(back) == canonical_json(event)
    assert to_structured_json(back) == data


@given(events())
def test_sdk_round_trip_is_lossless(event: Event) -> None:
    ce = to_cloudevent(event)
    assert isinstance(ce, CloudEvent)
    assert from_cloudevent(ce) == event
    # Through the SDK's own structured JSON format, both ways.
    wire = JSONFormat().write(ce)
    assert json.loads(wire) == json.loads(to_structured_json(event))
    assert from_cloudevent(JSONFormat().read(None, wire)) == event
    assert from_structured_json(wire) == event


@given(events())
def test_attributes_follow_the_documented_mapping(event: Event) -> None:
    data = to_cloudevent_dict(event)
    assert data["specversion"] == "1.0"
    assert data["id"] == event.event_id
    assert data["type"] == f"dev.connector-sync-contracts.{event.event_type}.v{CONTRACT_VERSION}"
    assert data["subject"] == event.aggregate_id
    assert data["time"].endswith("Z")
    assert parse_source(data["source"]) == (event.node_id, event.build_id)
    assert data["correlationid"] == event.correlation_id
    assert data.get("causationid") == event.causation_id
    assert data["lamportclock"] == str(event.lamport_clock)
    assert data["projectuuid"] == str(event.project_uuid)
    assert data["datatier"] == event.data_tier
    assert data["datacontenttype"] == "application/json"
    assert data["data"] == event.payload
    if event.event_type in PAYLOAD_MODELS:
        assert data["dataschema"] == schema_id(event.event_type)
    else:
        assert "dataschema" not in data
    connector_id = event.payload.get("connector_id")
    if isinstance(connector_id, str) and connector_id:
        assert data["partitionkey"] == connector_id
    else:
        assert "partitionkey" not in data
    extensions = set(data) - {
        "specversion",
        "id",
        "type",
        "source",
        "subject",
        "time",
        "datacontenttype",
        "dataschema",
        "data",
    }
    assert all(name.isascii() and name.isalnum() and name.islower() for name in extensions)
    assert all(len(name) <= 20 for name in extensions)


def test_every_envelope_field_has_an_attribute() -> None:
    assert set(ATTRIBUTE_MAP) == set(Event.model_fields)


def test_sdk_never_fills_id_or_time() -> None:
    event = Event.model_validate(_valid_fixtures()[0].load())
    first, second = to_cloudevent(event), to_cloudevent(event)
    assert first.get_id() == second.get_id() == event.event_id
    assert first.get_time() == second.get_time() == event.timestamp


def test_type_and_source_schemes_are_reversible() -> None:
    assert build_type("ConnectorProvisioned") == (
        f"dev.connector-sync-contracts.ConnectorProvisioned.v{CONTRACT_VERSION}"
    )
    assert parse_type("dev.connector-sync-contracts.X.v1.2.3.v2.8.0") == ("X.v1.2.3", "2.8.0")
    for node, build in [("n", None), ("n", ""), ("a:b", ":build:x"), ("100% é", "b/1")]:
        source = build_source(node, build)
        assert source.startswith("urn:connector-sync:node:")
        assert parse_source(source) == (node, build)
    assert build_source("node-a", "b1") == "urn:connector-sync:node:node-a:build:b1"
    for bad in ["http://x", "urn:connector-sync:node:a:b", "urn:connector-sync:node:%ff"]:
        with pytest.raises(ValueError, match="source"):
            parse_source(bad)


# ------------------------------------------------------------------ fixtures


def _valid_fixtures() -> list[Fixture]:
    return [f for f in load_manifest().fixtures if f.expected_result == "valid"]


def _single_fixtures() -> list[Fixture]:
    return [f for f in load_manifest().fixtures if f.expected_result != "replay"]


def _replay_fixtures() -> list[Fixture]:
    return [f for f in load_manifest().fixtures if f.expected_result == "replay"]


def _round_trip(envelope: dict[str, Any]) -> Event:
    event = Event.model_validate(envelope)
    back = from_structured_json(to_structured_json(event))
    assert back == event
    assert from_cloudevent(to_cloudevent(event)) == event
    return back


@pytest.mark.parametrize("fixture", _single_fixtures(), ids=lambda f: f.id)
def test_every_fixture_survives_a_round_trip(fixture: Fixture) -> None:
    envelope = fixture.load()
    try:
        Event.model_validate(envelope)
    except ValueError:
        # Only fixtures whose envelope itself is broken cannot become an Event.
        assert fixture.fixture_type == "envelope"
        assert fixture.expected_result == "invalid"
        pytest.skip("the envelope itself is invalid: there is no Event to carry")
    back = _round_trip(envelope)
    round_tripped = json.loads(canonical_json(back))
    # Same verdict and same codes: the payload crosses untouched.
    assert validate_event(round_tripped).codes == validate_event(envelope).codes
    if not fixture.strict:
        assert validate_event(round_tripped).valid == (fixture.expected_result == "valid")


@pytest.mark.parametrize("fixture", _replay_fixtures(), ids=lambda f: f.id)
def test_replay_streams_keep_their_golden_output(fixture: Fixture) -> None:
    carried = [_round_trip(envelope) for envelope in fixture.events()]
    assert replay(carried).to_json() == fixture.golden_bytes()


@pytest.mark.parametrize(
    ("source", "offset", "what"),
    [
        ("urn:connector-sync:node:%zz", 24, "'%' without two hex digits"),
        ("urn:connector-sync:node:a%2", 25, "'%' without two hex digits"),
        ("urn:connector-sync:node:a%:build:b", 25, "'%' without two hex digits"),
        ("urn:connector-sync:node:a b", 25, "' '"),
        ("urn:connector-sync:node:n:build:{b}", 32, "'{'"),
        ("urn:connector-sync:node:a|b", 25, "'|'"),
        ("urn:connector-sync:node:a\x85", 25, "'\\x85'"),
        ("urn:connector-sync:node:n:build:\x9f", 32, "'\\x9f'"),
    ],
)
def test_a_source_that_is_no_uri_is_refused(source: str, offset: int, what: str) -> None:
    """RFC 3986 allows no ``%`` without two hex digits and no space: read as is, ``%zz``
    and ``%25zz`` (or ``a b`` and ``a%20b``) would name one node."""
    with pytest.raises(ValueError, match="source") as info:
        parse_source(source)
    assert str(info.value) == (
        f"source {source!r} is not a URI: {what} at offset {offset}"
        " (percent-encode it: '%' as %25, a space as %20)"
    )


def test_a_source_with_escapes_or_non_ascii_text_is_read() -> None:
    assert parse_source("urn:connector-sync:node:%25zz:build:%20") == ("%zz", " ")
    assert parse_source("urn:connector-sync:node:édge-€") == ("édge-€", None)


# ------------------------------------------------------------------ errors


def _structured() -> dict[str, Any]:
    return to_cloudevent_dict(Event.model_validate(_valid_fixtures()[0].load()))


def _codes(data: object) -> dict[str, str]:
    with pytest.raises(CloudEventMappingError) as info:
        envelope_from_cloudevent_dict(data)
    assert isinstance(info.value, ValueError)
    return {problem.path: problem.code for problem in info.value.violations}


def test_every_problem_is_reported_at_once() -> None:
    data = _structured()
    for name in ("id", "subject", "time", "correlationid", "projectuuid", "lamportclock", "data"):
        del data[name]
    data["specversion"] = "0.3"
    data["type"] = "com.example.Other"
    data["source"] = "https://example.com/producer"
    assert _codes(data) == {
        "$.id": "missing_attribute",
        "$.subject": "missing_attribute",
        "$.time": "missing_attribute",
        "$.correlationid": "missing_attribute",
        "$.projectuuid": "missing_attribute",
        "$.lamportclock": "missing_attribute",
        "$.data": "missing_attribute",
        "$.specversion": "unsupported_specversion",
        "$.type": "unknown_type",
        "$.source": "invalid_source",
    }


def test_an_envelope_is_told_apart_from_a_cloudevent_lacking_attributes() -> None:
    envelope = {"event_type": "ConnectorProvisioned", "payload": {}, "event_id": "x"}
    assert _codes(envelope) == {"$": "looks_like_envelope"}
    # With a specversion it is a CloudEvent: its own problems are listed.
    codes = _codes(envelope | {"specversion": "1.0"})
    assert "looks_like_envelope" not in codes.values()
    assert codes["$.data"] == "missing_attribute"
    # Half an envelope is no envelope either: the attributes it lacks are listed.
    assert "looks_like_envelope" not in _codes({"event_type": "ConnectorProvisioned"}).values()
    assert "looks_like_envelope" not in _codes({"payload": {}}).values()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"type": "dev.connector-sync-contracts.ConnectorProvisioned.v3.0.0"},
            "incompatible_version",
        ),
        ({"datacontenttype": "application/xml"}, "unsupported_datacontenttype"),
        ({"lamportclock": "0x10"}, "attribute_type"),
        ({"lamportclock": 1.5}, "attribute_type"),
        ({"datatier": True}, "attribute_type"),
        ({"id": 7}, "attribute_type"),
    ],
)
def test_single_problems(change: dict[str, Any], expected: str) -> None:
    data = _structured() | change
    assert set(_codes(data).values()) == {expected}


@pytest.mark.parametrize("name", ["id", "type", "source", "specversion", "datacontenttype"])
@pytest.mark.parametrize(("given", "shown"), [(7, "7"), (None, "null"), ({"a": 1}, '{"a": 1}')])
def test_a_string_attribute_of_another_type_is_named_with_its_value(
    name: str, given: object, shown: str
) -> None:
    with pytest.raises(CloudEventMappingError) as info:
        envelope_from_cloudevent_dict(_structured() | {name: given})
    [problem] = info.value.violations
    assert (problem.path, problem.code) == (f"$.{name}", "attribute_type")
    assert problem.message == f"{name!r} must be a string, got {shown}"


@pytest.mark.parametrize("written", ["07", "00", "+7", " 7", "7 "])
def test_a_counter_written_as_no_plain_decimal_is_named_with_the_rule(written: str) -> None:
    """``"07"`` is a decimal string, yet refused: the message says which form is taken
    (digits without a sign, spaces or a leading zero) and what was found."""
    with pytest.raises(CloudEventMappingError) as info:
        envelope_from_cloudevent_dict(_structured() | {"lamportclock": written})
    [problem] = info.value.violations
    assert (problem.path, problem.code) == ("$.lamportclock", "attribute_type")
    assert "without a sign, spaces or a leading zero" in problem.message
    assert problem.message.endswith(f"got {json.dumps(written)}")
    assert (
        envelope_from_cloudevent_dict(_structured() | {"lamportclock": "7"})["lamport_clock"] == 7
    )


def test_base64_data_and_non_objects_are_refused() -> None:
    data = _structured()
    del data["data"]
    data["data_base64"] = "e30="
    assert _codes(data) == {"$.data_base64": "unsupported_data_encoding"}
    # Both at once is no CloudEvent (the JSON format allows one of them).
    both = _structured() | {"data_base64": "e30="}
    assert _codes(both) == {"$.data_base64": "unsupported_data_encoding"}
    assert _codes([data]) == {"$": "not_an_object"}
    with pytest.raises(CloudEventMappingError, match="invalid_json"):
        from_structured_json(b"{not json")


@pytest.mark.parametrize(
    "media_type",
    [
        "application/json",
        "Application/JSON",
        "APPLICATION/JSON; charset=utf-8",
        "text/json",
        "application/cloudevents+JSON",
    ],
)
def test_a_json_media_type_is_accepted_in_any_letter_case(media_type: str) -> None:
    """Media types are case-insensitive (RFC 6838), as producers write them."""
    data = _structured() | {"datacontenttype": media_type}
    assert from_structured_json(json.dumps(data)) == from_structured_json(json.dumps(_structured()))


def test_optional_attributes_and_other_producers_integers() -> None:
    data = _structured()
    for name in ("datatier", "causationid", "projectslug", "schemaversion", "dataschema"):
        data.pop(name, None)
    data["lamportclock"] = 42  # a producer that writes a JSON integer
    data["partitionkey"] = "ignored: derived, never read back"
    data["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    event = from_structured_json(json.dumps(data))
    assert event.lamport_clock == 42
    assert event.data_tier == 0
    assert event.causation_id is None
    assert event.project_slug is None


def test_envelope_rules_are_reported_with_cloudevents_paths() -> None:
    data = _structured()
    data["lamportclock"] = -1  # an integer, so the envelope rule (>= 0) reports it
    data["correlationid"] = "not-an-id"
    data["data"] = [1]
    with pytest.raises(CloudEventMappingError) as info:
        from_structured_json(json.dumps(data))
    paths = {problem.path for problem in info.value.violations}
    assert paths == {"$.lamportclock", "$.correlationid", "$.data"}
    data = _structured()
    data["time"] = "2026-11-25T09:00:00"
    with pytest.raises(CloudEventMappingError) as info:
        from_structured_json(json.dumps(data))
    assert [problem.path for problem in info.value.violations] == ["$.time"]


class _LegacyEvent:
    """Any object with get_attributes/get_data, as the SDK's legacy v1 API has."""

    def __init__(self, attributes: dict[str, Any], data: Any) -> None:
        self.attributes = attributes
        self.data = data

    def get_attributes(self) -> dict[str, Any]:
        return self.attributes

    def get_data(self) -> Any:
        return self.data


def test_from_cloudevent_takes_data_as_json_text_and_rejects_naive_time() -> None:
    event = Event.model_validate(_valid_fixtures()[0].load())
    attributes = dict(to_cloudevent(event).get_attributes())
    as_bytes = CloudEvent(dict(attributes), json.dumps(event.payload).encode())
    assert from_cloudevent(as_bytes) == event
    assert from_cloudevent(_LegacyEvent(attributes, json.dumps(event.payload))) == event
    text_time = attributes | {"time": "2026-11-25T10:00:00+01:00"}
    assert from_cloudevent(_LegacyEvent(text_time, event.payload)) == event
    naive = attributes | {"time": datetime(2026, 11, 25, 9)}
    with pytest.raises(
        CloudEventMappingError, match=r"\$\.time: format: time must carry a UTC offset"
    ):
        from_cloudevent(_LegacyEvent(naive, event.payload))
    with pytest.raises(CloudEventMappingError, match="invalid_json"):
        from_cloudevent(_LegacyEvent(attributes, b"{"))


def test_unknown_payload_shape_is_carried_not_judged() -> None:
    # The mapping carries payloads; judging them is validate_event's job.
    envelope = _valid_fixtures()[0].load()
    envelope["event_type"] = CONNECTOR_HEALTH_CHECKED
    event = _round_trip(envelope)
    assert not validate_event(json.loads(canonical_json(event))).valid


def test_project_uuid_is_carried_as_text() -> None:
    data = _structured()
    assert (
        UUID(data["projectuuid"]) == Event.model_validate(_valid_fixtures()[0].load()).project_uuid
    )


def test_module_works_without_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    event = Event.model_validate(_valid_fixtures()[0].load())
    monkeypatch.setitem(sys.modules, "cloudevents.core.v1.event", None)
    assert from_structured_json(to_structured_json(event)) == event
    with pytest.raises(
        CloudEventsSDKMissingError, match=r"connector-sync-contracts\[cloudevents\]"
    ):
        to_cloudevent(event)
    assert issubclass(CloudEventsSDKMissingError, ImportError)


@pytest.mark.parametrize("attribute", ["lamportclock", "datatier"])
@pytest.mark.parametrize("digits", [21, 4_301])
def test_a_counter_of_too_many_digits_is_out_of_range_not_a_crash(
    attribute: str, digits: int
) -> None:
    # 4,301 digits made int() raise its own ValueError (a traceback in the CLI).
    text = json.dumps(_structured() | {attribute: "1" * digits})
    with pytest.raises(CloudEventMappingError) as info:
        from_structured_json(text)
    assert [(p.path, p.code) for p in info.value.violations] == [
        (f"$.{attribute}", "integer_out_of_range")
    ]


@pytest.mark.parametrize(
    ("spelled", "path", "code"),
    [
        ('"id":"01M85E4TB00000000000000FEY","id":', "$.id", "duplicate_key"),
        ('"x":1,"x":2,"id":', "$.x", "duplicate_key"),
        ('"x":"\\ud800","id":', "$.x", "invalid_unicode"),
        ('"x":100000000000000000000000,"id":', "$.x", "integer_out_of_range"),
        ('"x":NaN,"id":', "$.x", "non_finite_number"),
    ],
    ids=["repeated-id", "repeated-extension", "lone-surrogate", "big-integer", "nan"],
)
def test_structured_json_is_read_within_the_input_limits(
    spelled: str, path: str, code: str
) -> None:
    """Section 8's limits hold in every entry point, unknown fields included: the last
    of two ``id`` keys was taken, and an extension broke any limit unseen."""
    text = json.dumps(_structured())
    assert text.count('"id": ') == 1
    with pytest.raises(CloudEventMappingError) as info:
        from_structured_json(text.replace('"id": ', spelled, 1))
    assert (path, code) in [(p.path, p.code) for p in info.value.violations]


def test_sdk_data_as_json_bytes_is_read_within_the_input_limits() -> None:
    ce = to_cloudevent(from_structured_json(json.dumps(_structured())))
    attributes = ce.get_attributes()

    class Raw:
        def get_attributes(self) -> dict[str, Any]:
            return dict(attributes)

        def get_data(self) -> bytes:
            return b'{"provider": "jira", "provider": "gitlab"}'

    with pytest.raises(CloudEventMappingError) as info:
        from_cloudevent(Raw())
    assert [(p.path, p.code) for p in info.value.violations] == [
        ("$.data.provider", "duplicate_key")
    ]
