"""The ``Event`` envelope: strict JSON types, ids, time and replay order (section 2)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Final
from uuid import UUID

import pytest
from pydantic import ValidationError

from connector_sync_contracts import (
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    ContractViolationError,
    Event,
    canonical_json,
    replay,
    sort_key,
    validate_event,
)
from tests.support.factories import PROJECT_UUID, envelope, required_fields, ulid, without

INT64_MAX: Final = 2**63 - 1
ID_FIELDS: Final = ["event_id", "correlation_id", "causation_id"]
NON_EMPTY_FIELDS: Final = ["event_type", "aggregate_id", "node_id"]
ULID_LOWER: Final = "01jd3x7k5q8r9s0t1v2w3x4y5z"
UUID_UPPER: Final = "0B5C3F5E-6D0A-4C56-9A53-2F7E4F1C9D10"


def errors_of(data: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    """(loc, type) of every error ``data`` raises; fails the test when it is valid."""
    with pytest.raises(ValidationError) as caught:
        Event.model_validate(data)
    return [(tuple(err["loc"]), err["type"]) for err in caught.value.errors()]


def event(**overrides: Any) -> Event:
    return Event.model_validate(envelope(CONNECTOR_PROVISIONED, **overrides))


def test_builder_envelope_is_valid() -> None:
    built = event()
    assert built.event_type == CONNECTOR_PROVISIONED
    assert built.lamport_clock == 1


def test_required_fields_are_the_contracts() -> None:
    assert set(required_fields(Event)) == {
        "event_id",
        "event_type",
        "aggregate_id",
        "payload",
        "timestamp",
        "node_id",
        "lamport_clock",
        "project_uuid",
        "correlation_id",
    }


@pytest.mark.parametrize("field", required_fields(Event))
def test_missing_required_field_is_rejected(field: str) -> None:
    assert errors_of(without(envelope(CONNECTOR_PROVISIONED), field)) == [((field,), "missing")]


def test_optional_fields_have_their_defaults() -> None:
    data = without(
        envelope(CONNECTOR_PROVISIONED),
        "causation_id",
        "build_id",
        "project_slug",
        "schema_version",
        "data_tier",
    )
    built = Event.model_validate(data)
    assert (built.causation_id, built.build_id, built.project_slug, built.schema_version) == (
        None,
        None,
        None,
        None,
    )
    assert built.data_tier == 0


def test_unknown_fields_are_ignored() -> None:
    built = event(specversion="1.0", traceparent="00-abc")
    assert "specversion" not in built.model_dump()
    assert canonical_json(built) == canonical_json(event())


def test_event_is_frozen() -> None:
    built = event()
    with pytest.raises(ValidationError, match="frozen"):
        built.lamport_clock = 99  # type: ignore[misc]
    assert built.lamport_clock == 1


def test_model_copy_with_an_update_validates_it() -> None:
    # pydantic's model_copy(update=...) does not validate, and replay() takes an
    # Event as validated: a copy stamped with an unnormalized id was folded
    # under that id, and one with a negative clock was folded at all.
    built = event()
    copy = built.model_copy(update={"event_id": UUID_UPPER, "lamport_clock": 7})
    assert copy.event_id == UUID_UPPER.lower()
    assert copy.lamport_clock == 7
    assert copy == Event.model_validate(
        {**built.model_dump(), "event_id": UUID_UPPER.lower(), "lamport_clock": 7}
    )
    assert replay([copy, json.loads(copy.model_dump_json())]).duplicates_dropped == 1
    for bad in ({"lamport_clock": -5}, {"lamport_clock": "7"}, {"event_id": "not-an-id"}):
        with pytest.raises(ValidationError):
            built.model_copy(update=bad)
    with pytest.raises(ValidationError, match="timezone"):
        built.model_copy(update={"timestamp": datetime(2026, 1, 1)})  # naive
    # Without an update it is pydantic's copy: the same values, validated already.
    assert built.model_copy() == built
    assert built.model_copy(deep=True).payload is not built.payload


# --------------------------------------------------------------------------- strict JSON types


@pytest.mark.parametrize("field", NON_EMPTY_FIELDS)
def test_empty_string_is_rejected(field: str) -> None:
    assert errors_of(envelope(CONNECTOR_PROVISIONED) | {field: ""}) == [
        ((field,), "string_too_short")
    ]


@pytest.mark.parametrize(
    "field", [*NON_EMPTY_FIELDS, *ID_FIELDS, "build_id", "project_slug", "schema_version"]
)
@pytest.mark.parametrize("number", [7, 7.5, True])
def test_number_where_a_string_belongs_is_rejected(field: str, number: object) -> None:
    [(loc, kind)] = errors_of(envelope(CONNECTOR_PROVISIONED) | {field: number})
    assert loc[0] == field
    assert kind == "string_type"


@pytest.mark.parametrize("field", ["lamport_clock", "data_tier"])
@pytest.mark.parametrize("bad", [True, False, "1", 1.0, None])
def test_only_integers_are_integers(field: str, bad: object) -> None:
    [(loc, _)] = errors_of(envelope(CONNECTOR_PROVISIONED) | {field: bad})
    assert loc == (field,)


@pytest.mark.parametrize(
    ("value", "valid"), [(0, True), (INT64_MAX, True), (-1, False), (INT64_MAX + 1, False)]
)
def test_lamport_clock_bounds(value: int, valid: bool) -> None:
    if valid:
        assert event(lamport_clock=value).lamport_clock == value
    else:
        [(loc, _)] = errors_of(envelope(CONNECTOR_PROVISIONED, lamport_clock=value))
        assert loc == ("lamport_clock",)


@pytest.mark.parametrize("tier", [0, 1, 2, 3, 4])
def test_data_tier_accepts_0_to_4(tier: int) -> None:
    assert event(data_tier=tier).data_tier == tier


@pytest.mark.parametrize(("tier", "kind"), [(-1, "greater_than_equal"), (5, "less_than_equal")])
def test_data_tier_rejects_outside_0_to_4(tier: int, kind: str) -> None:
    assert errors_of(envelope(CONNECTOR_PROVISIONED, data_tier=tier)) == [(("data_tier",), kind)]


@pytest.mark.parametrize("bad", [[], "{}", None, 3, [["connector_id", "c1"]]])
def test_payload_must_be_a_json_object(bad: object) -> None:
    [(loc, _)] = errors_of(envelope(CONNECTOR_PROVISIONED, payload=bad))
    assert loc == ("payload",)


def test_payload_content_is_not_validated_by_the_envelope() -> None:
    # The family model validates the payload (in the reducers and validate_event).
    assert event(payload={"anything": [1, 2]}).payload == {"anything": [1, 2]}


@pytest.mark.parametrize("version", ["2.7.0", "0.0.1", "10.20.30"])
def test_schema_version_accepts_semver(version: str) -> None:
    assert event(schema_version=version).schema_version == version


@pytest.mark.parametrize("version", ["", "2.7", "v2.7.0", "02.7.0", "2.7.0-rc.1", "2.7.0\n"])
def test_schema_version_rejects_non_semver(version: str) -> None:
    assert errors_of(envelope(CONNECTOR_PROVISIONED, schema_version=version)) == [
        (("schema_version",), "string_pattern_mismatch")
    ]


# --------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize("field", ID_FIELDS)
def test_ulid_is_normalized_to_upper_case(field: str) -> None:
    assert getattr(event(**{field: ULID_LOWER}), field) == ULID_LOWER.upper()


@pytest.mark.parametrize("field", ID_FIELDS)
@pytest.mark.parametrize(
    "spelling", [UUID_UPPER, UUID_UPPER.replace("-", ""), PROJECT_UUID.replace("-", "")]
)
def test_uuid_is_normalized_to_lower_case_hyphenated(field: str, spelling: str) -> None:
    assert getattr(event(**{field: spelling}), field) == PROJECT_UUID


@pytest.mark.parametrize("field", ID_FIELDS)
@pytest.mark.parametrize("letter", ["I", "L", "O", "U", "i", "l", "o", "u"])
def test_ulid_rejects_letters_outside_crockford(field: str, letter: str) -> None:
    bad = ulid(1)[:-1] + letter
    assert len(bad) == 26
    [(loc, _)] = errors_of(envelope(CONNECTOR_PROVISIONED) | {field: bad})
    assert loc[0] == field


@pytest.mark.parametrize("field", ID_FIELDS)
@pytest.mark.parametrize(
    "bad",
    [
        "",
        ulid(1)[:-1],
        ulid(1) + "0",
        ulid(1) + "\n",
        "evt-1",
        "{" + PROJECT_UUID + "}",
        PROJECT_UUID[:-1] + "g",
        PROJECT_UUID.replace("-", "")[:-1],
    ],
)
def test_malformed_identifiers_are_rejected(field: str, bad: str) -> None:
    [(loc, _)] = errors_of(envelope(CONNECTOR_PROVISIONED) | {field: bad})
    assert loc[0] == field


def test_causation_id_may_be_null() -> None:
    assert event(causation_id=None).causation_id is None


@pytest.mark.parametrize(
    "spelling", [PROJECT_UUID, UUID_UPPER, UUID_UPPER.replace("-", ""), UUID(PROJECT_UUID)]
)
def test_project_uuid_parses_every_spelling(spelling: object) -> None:
    assert event(project_uuid=spelling).project_uuid == UUID(PROJECT_UUID)


@pytest.mark.parametrize("bad", ["", "project-1", 42, "urn:uuid:" + PROJECT_UUID])
def test_project_uuid_rejects_non_uuids(bad: object) -> None:
    [(loc, _)] = errors_of(envelope(CONNECTOR_PROVISIONED, project_uuid=bad))
    assert loc == ("project_uuid",)


# --------------------------------------------------------------------------- time and order


@pytest.mark.parametrize("naive", ["2026-11-25T10:00:00", datetime(2026, 11, 25, 10)])
def test_naive_timestamp_is_rejected(naive: object) -> None:
    [(loc, _)] = errors_of(envelope(CONNECTOR_PROVISIONED, timestamp=naive))
    assert loc == ("timestamp",)


@pytest.mark.parametrize("where", ["timestamp", "payload.recorded_at", "payload.x_seen_at"])
def test_a_datetime_whose_offset_has_seconds_is_rejected_anywhere(where: str) -> None:
    """RFC 3339 cannot write it: kept as it is (a payload is a plain dict), it would be
    written as another instant, so the input layer refuses it in any field, known or not
    (an outside run found it taken in a payload field no model defines)."""
    offset = timezone(timedelta(minutes=19, seconds=32))
    data = envelope(CONNECTOR_PROVISIONED)
    *parents, last = where.split(".")
    target = data
    for part in parents:
        target = target[part]
    target[last] = datetime(2026, 11, 25, 10, tzinfo=offset)
    with pytest.raises(ValidationError) as caught:
        Event.model_validate(data)
    [error] = caught.value.errors()
    assert error["type"] == "not_json"
    assert (
        f"$.{where}: a datetime whose UTC offset is not whole minutes (+00:19:32) cannot be"
        " written as RFC 3339 text" in error["msg"]
    )


@pytest.mark.parametrize("bad", [1764064800, True, "2026-11-25", "2026-11-25T10:00:00+0500"])
def test_non_rfc3339_timestamp_is_rejected(bad: object) -> None:
    [(loc, _)] = errors_of(envelope(CONNECTOR_PROVISIONED, timestamp=bad))
    assert loc == ("timestamp",)


def test_offset_timestamp_is_normalized_to_utc() -> None:
    built = event(timestamp="2026-11-25T13:00:00+05:00")
    assert built.timestamp == datetime(2026, 11, 25, 8, tzinfo=timezone.utc)
    assert built.timestamp.utcoffset() == timedelta(0)
    assert built.timestamp.hour == 8


def test_sort_key_is_clock_then_instant_then_id() -> None:
    built = event(lamport_clock=5, timestamp="2026-11-25T13:00:00+05:00", event_id=ULID_LOWER)
    expected = (5, datetime(2026, 11, 25, 8, tzinfo=timezone.utc), ULID_LOWER.upper())
    assert built.sort_key == expected
    assert sort_key(built) == expected


def test_order_compares_instants_not_strings() -> None:
    # As strings "…09:00:00Z" < "…13:00:00+05:00"; as instants 08:00Z < 09:00Z.
    late = event(lamport_clock=1, timestamp="2026-11-25T09:00:00Z", event_id=ulid(1))
    early = event(lamport_clock=1, timestamp="2026-11-25T13:00:00+05:00", event_id=ulid(2))
    assert sorted([late, early], key=sort_key) == [early, late]


def test_lamport_clock_orders_before_time() -> None:
    first = event(lamport_clock=1, timestamp="2026-11-25T23:00:00Z", event_id=ulid(9))
    second = event(lamport_clock=2, timestamp="2026-11-25T01:00:00Z", event_id=ulid(1))
    assert sorted([second, first], key=sort_key) == [first, second]


def test_event_id_breaks_ties() -> None:
    a = event(lamport_clock=1, event_id=ulid(1))
    b = event(lamport_clock=1, event_id=ulid(2))
    assert sorted([b, a], key=sort_key) == [a, b]


def _cyclic() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "path", "code"),
    [
        (2**64, "$.payload.x", "integer_out_of_range"),
        (float("nan"), "$.payload.x", "non_finite_number"),
        ({1: "a"}, "$.payload.x", "not_json"),
        (_cyclic(), "$.payload.x.self", "not_json"),
        (_nested(70), "$", "too_deep"),  # its message names where it went too deep
    ],
)
def test_a_value_past_the_input_limits_is_named_at_its_path(
    value: Any, path: str, code: str
) -> None:
    # Found by an outside tester: sort_key and canonical_json placed these at "$",
    # the path moved into the message, where validate_event placed them right.
    data = envelope(CONNECTOR_PROVISIONED)
    data["payload"]["x"] = value
    [expected] = validate_event(data).violations
    assert (expected.path, expected.code) == (path, code)
    for call, lacks in ((sort_key, "replay order"), (canonical_json, "canonical JSON")):
        with pytest.raises(ContractViolationError) as caught:
            call(data)
        [found] = caught.value.violations
        assert (found.path, found.code, found.message) == (
            expected.path,
            expected.code,
            expected.message,
        )
        assert str(caught.value) == (
            f"not a valid envelope, so it has no {lacks}: "
            f"{found.path}: {found.code}: {found.message}"
        )


# --------------------------------------------------------------------------- canonical form


def test_canonical_json_ignores_spelling_of_ids_and_times() -> None:
    plain = event(event_id=ULID_LOWER.upper(), timestamp="2026-11-25T08:00:00Z")
    respelled = event(
        event_id=ULID_LOWER,
        timestamp="2026-11-25T13:00:00+05:00",
        project_uuid=UUID_UPPER.replace("-", ""),
        correlation_id=envelope(CONNECTOR_PROVISIONED)["correlation_id"].lower(),
    )
    assert canonical_json(plain) == canonical_json(respelled)


def test_canonical_json_ignores_payload_key_order() -> None:
    payload = envelope(CONNECTOR_PROVISIONED)["payload"]
    reordered = dict(reversed(list(payload.items())))
    assert list(reordered) != list(payload)
    assert canonical_json(event(payload=payload)) == canonical_json(event(payload=reordered))


@pytest.mark.parametrize(
    "change",
    [
        {"lamport_clock": 2},
        {"node_id": "node-b"},
        {"data_tier": 3},
        {"payload": {"connector_id": "other"}},
        {"event_type": CONNECTOR_HEALTH_CHECKED},
    ],
)
def test_canonical_json_differs_when_content_differs(change: dict[str, Any]) -> None:
    assert canonical_json(event()) != canonical_json(event(**change))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (b'"node_id":"a","node_id"', "duplicate_key"),
        (b'"x_extra":NaN,"node_id"', "non_finite_number"),
        (b'"x_extra":123456789012345678901,"node_id"', "integer_out_of_range"),
    ],
)
def test_json_text_is_read_with_the_contracts_input_limits(text: bytes, code: str) -> None:
    # Found by an outside run: pydantic's own JSON reading kept the last of repeated
    # keys, so model_validate_json took a line validate_event rejects (section 8).
    line = json.dumps(envelope(CONNECTOR_PROVISIONED, seq=1), separators=(",", ":")).encode()
    assert Event.model_validate_json(line) == Event.model_validate(json.loads(line))
    broken = line.replace(b'"node_id"', text, 1)
    with pytest.raises(ValidationError) as raised:
        Event.model_validate_json(broken)
    assert [error["type"] for error in raised.value.errors()] == [code]
    assert not validate_event(broken).valid
