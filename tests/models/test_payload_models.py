"""Payload rules of every family model (FR-002, FR-004, FR-005; docs/specification.md sections 3-5).

Cases are generated from ``PAYLOAD_MODELS`` and each model's ``model_fields``
so a new field or model is covered without editing this file; the contract's
own field lists and bounds are pinned separately so that a field that
silently becomes optional, or a bound that drifts, fails here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Final
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError

from connector_sync_contracts import (
    CONNECTOR_DEGRADED,
    CONNECTOR_EVENT_TYPES,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    CONNECTOR_RECONNECTED,
    CONNECTOR_REVOKED,
    EXTERNAL_REFERENCE_LINKED,
    PAYLOAD_MODELS,
    SYNC_DEAD_LETTERED,
    SYNC_EVENT_TYPES,
    SYNC_INGEST_ACCEPTED,
    SYNC_INGEST_REJECTED,
    SYNC_REPLAY_COMPLETED,
    SYNC_RETRY_SCHEDULED,
    ConnectorHealthCheckedPayload,
)
from tests.support.factories import (
    PROJECT_UUID,
    filled_from_model,
    payload_for,
    required_fields,
    without,
)

INT64_MAX: Final = 2**63 - 1
EVENT_TYPES: Final = sorted(PAYLOAD_MODELS)

Errors = list[tuple[tuple[int | str, ...], str]]


def model_of(event_type: str) -> type[BaseModel]:
    return PAYLOAD_MODELS[event_type]


def errors_of(event_type: str, data: Any) -> Errors:
    """(loc, type) of every error ``data`` raises; fails the test when it is valid."""
    with pytest.raises(ValidationError) as caught:
        model_of(event_type).model_validate(data)
    return [(tuple(err["loc"]), err["type"]) for err in caught.value.errors()]


def fields_where(predicate: Callable[[Any], bool]) -> list[Any]:
    """pytest params (event_type, field) for every model field whose annotation matches."""
    return [
        pytest.param(event_type, name, id=f"{event_type}.{name}")
        for event_type in EVENT_TYPES
        for name, info in model_of(event_type).model_fields.items()
        if predicate(info.annotation)
    ]


def _is_enum(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Enum)


URL_FIELDS: Final = {"endpoint_url", "external_ref_url"}
STR_FIELDS: Final = fields_where(lambda a: a is str)
DATETIME_FIELDS: Final = fields_where(lambda a: a is datetime)
INT_FIELDS: Final = fields_where(lambda a: a is int)
NUMBER_FIELDS: Final = fields_where(lambda a: a in (int, float))
ENUM_FIELDS: Final = fields_where(_is_enum)
UUID_FIELDS: Final = fields_where(lambda a: a is UUID)
# URL fields are strings too, with their own rules (tested at the end).
NON_EMPTY_STR_FIELDS: Final = [p for p in STR_FIELDS if p.values[1] not in URL_FIELDS]
URL_FIELD_PARAMS: Final = [p for p in STR_FIELDS if p.values[1] in URL_FIELDS]
REQUIRED: Final = [
    pytest.param(event_type, name, id=f"{event_type}.{name}")
    for event_type in EVENT_TYPES
    for name in required_fields(model_of(event_type))
]

# --------------------------------------------------------------------------- the contract's lists

CONNECTOR_COMMON: Final = {
    "connector_id",
    "connector_type",
    "provider",
    "mission_id",
    "actor_id",
    "project_uuid",
    "actor_type",
    "endpoint_url",
    "recorded_at",
}
SYNC_COMMON: Final = {
    "delivery_id",
    "source_event_fingerprint",
    "connector_id",
    "mission_id",
    "recorded_at",
}
CONTRACT_REQUIRED: Final[dict[str, set[str]]] = {
    CONNECTOR_PROVISIONED: CONNECTOR_COMMON,
    CONNECTOR_HEALTH_CHECKED: CONNECTOR_COMMON | {"health_status", "latency_ms"},
    CONNECTOR_DEGRADED: CONNECTOR_COMMON | {"degradation_reason", "last_healthy_at"},
    CONNECTOR_REVOKED: CONNECTOR_COMMON | {"revocation_reason"},
    CONNECTOR_RECONNECTED: CONNECTOR_COMMON | {"previous_state", "reconnect_strategy"},
    SYNC_INGEST_ACCEPTED: SYNC_COMMON | {"ingest_batch_id", "ingested_count"},
    SYNC_INGEST_REJECTED: SYNC_COMMON | {"rejection_reason", "rejected_payload_ref"},
    SYNC_RETRY_SCHEDULED: SYNC_COMMON | {"retry_attempt", "max_retries", "next_retry_at"},
    SYNC_DEAD_LETTERED: SYNC_COMMON | {"failure_reason", "total_attempts", "dead_letter_ref"},
    SYNC_REPLAY_COMPLETED: SYNC_COMMON | {"replay_id", "replay_source", "replayed_count"},
    EXTERNAL_REFERENCE_LINKED: {
        "link_id",
        "connector_id",
        "external_provider",
        "external_ref_type",
        "external_ref_id",
        "external_ref_url",
        "internal_aggregate_type",
        "internal_aggregate_id",
        "mission_id",
        "linked_by",
        "recorded_at",
    },
}
"""Required fields per event type, as docs/specification.md sections 3-5 list them."""

INT_LOWER_BOUNDS: Final[dict[tuple[str, str], int]] = {
    (SYNC_INGEST_ACCEPTED, "ingested_count"): 1,
    (SYNC_RETRY_SCHEDULED, "retry_attempt"): 1,
    (SYNC_RETRY_SCHEDULED, "max_retries"): 1,
    (SYNC_DEAD_LETTERED, "total_attempts"): 1,
    (SYNC_REPLAY_COMPLETED, "replayed_count"): 0,
}
"""Integer fields and their lower bound (specification section 4; upper bound: int64)."""


def test_every_event_type_has_a_model() -> None:
    assert set(PAYLOAD_MODELS) == CONNECTOR_EVENT_TYPES | SYNC_EVENT_TYPES | {
        EXTERNAL_REFERENCE_LINKED
    }


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_required_fields_are_the_contracts(event_type: str) -> None:
    model = model_of(event_type)
    assert set(required_fields(model)) == CONTRACT_REQUIRED[event_type]
    # A field beyond the contract's list is an optional one a 2.x minor added:
    # it defaults to None, so a line written without it means what it meant.
    for name, info in model.model_fields.items():
        if name not in CONTRACT_REQUIRED[event_type]:
            assert not info.is_required(), name
            assert info.default is None, name


def test_integer_fields_are_the_contracts() -> None:
    assert {tuple(p.values) for p in INT_FIELDS} == set(INT_LOWER_BOUNDS)


# --------------------------------------------------------------------------- valid data


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_builder_payload_is_valid(event_type: str) -> None:
    # Every negative test below changes one field of this payload, so it must be valid.
    model = model_of(event_type).model_validate(payload_for(event_type))
    assert model.model_dump()["mission_id"] == "mission-042"


@pytest.mark.parametrize("event_type", sorted(CONNECTOR_EVENT_TYPES | SYNC_EVENT_TYPES))
def test_a_payload_filled_from_its_model_alone_is_valid(event_type: str) -> None:
    # What an event type added to the catalogue gets from the factories before it has
    # a case of its own: the property and rule tests then build its events at once.
    model_of(event_type).model_validate(filled_from_model(event_type))


@pytest.mark.parametrize(("event_type", "field"), REQUIRED)
def test_missing_required_field_is_rejected(event_type: str, field: str) -> None:
    data = without(payload_for(event_type), field)
    assert errors_of(event_type, data) == [((field,), "missing")]


@pytest.mark.parametrize(("event_type", "field"), REQUIRED)
def test_null_required_field_is_rejected(event_type: str, field: str) -> None:
    data = payload_for(event_type) | {field: None}
    assert [loc for loc, _ in errors_of(event_type, data)] == [(field,)]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_violation_is_reported_not_only_the_first(event_type: str) -> None:
    data = without(payload_for(event_type), "mission_id", "recorded_at")
    assert sorted(errors_of(event_type, data)) == [
        (("mission_id",), "missing"),
        (("recorded_at",), "missing"),
    ]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_unknown_fields_are_ignored(event_type: str) -> None:
    model = model_of(event_type).model_validate(
        payload_for(event_type, surprise="extra", nested={"a": 1})
    )
    dumped = model.model_dump()
    assert "surprise" not in dumped
    assert "nested" not in dumped
    assert dumped == model_of(event_type).model_validate(payload_for(event_type)).model_dump()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_payload_models_are_frozen(event_type: str) -> None:
    model = model_of(event_type).model_validate(payload_for(event_type))
    with pytest.raises(ValidationError, match="frozen"):
        model.mission_id = "another"  # type: ignore[attr-defined]
    assert model.model_dump()["mission_id"] == "mission-042"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_payload_must_be_an_object(event_type: str) -> None:
    assert errors_of(event_type, [payload_for(event_type)]) == [((), "model_type")]


# --------------------------------------------------------------------------- strings


@pytest.mark.parametrize(("event_type", "field"), NON_EMPTY_STR_FIELDS)
def test_empty_string_is_rejected(event_type: str, field: str) -> None:
    assert errors_of(event_type, payload_for(event_type) | {field: ""}) == [
        ((field,), "string_too_short")
    ]


@pytest.mark.parametrize(("event_type", "field"), NON_EMPTY_STR_FIELDS)
def test_one_character_string_is_accepted(event_type: str, field: str) -> None:
    model = model_of(event_type).model_validate(payload_for(event_type) | {field: "x"})
    assert getattr(model, field) == "x"


@pytest.mark.parametrize(("event_type", "field"), STR_FIELDS)
@pytest.mark.parametrize("number", [7, 7.5, True])
def test_number_or_boolean_where_a_string_belongs_is_rejected(
    event_type: str, field: str, number: object
) -> None:
    assert errors_of(event_type, payload_for(event_type) | {field: number}) == [
        ((field,), "string_type")
    ]


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(("event_type", "field"), INT_FIELDS)
def test_integer_lower_bound(event_type: str, field: str) -> None:
    low = INT_LOWER_BOUNDS[(event_type, field)]
    model = model_of(event_type).model_validate(payload_for(event_type) | {field: low})
    assert getattr(model, field) == low
    assert errors_of(event_type, payload_for(event_type) | {field: low - 1}) == [
        ((field,), "greater_than_equal")
    ]


@pytest.mark.parametrize(("event_type", "field"), INT_FIELDS)
def test_integer_upper_bound_is_int64(event_type: str, field: str) -> None:
    model = model_of(event_type).model_validate(payload_for(event_type) | {field: INT64_MAX})
    assert getattr(model, field) == INT64_MAX
    assert errors_of(event_type, payload_for(event_type) | {field: INT64_MAX + 1}) == [
        ((field,), "less_than_equal")
    ]


@pytest.mark.parametrize(("event_type", "field"), INT_FIELDS)
def test_float_where_an_integer_belongs_is_rejected(event_type: str, field: str) -> None:
    assert errors_of(event_type, payload_for(event_type) | {field: 2.0}) == [((field,), "int_type")]


@pytest.mark.parametrize(("event_type", "field"), NUMBER_FIELDS)
@pytest.mark.parametrize("flag", [True, False])
def test_boolean_where_a_number_belongs_is_rejected(
    event_type: str, field: str, flag: bool
) -> None:
    [(loc, kind)] = errors_of(event_type, payload_for(event_type) | {field: flag})
    assert loc == (field,)
    assert kind in {"int_type", "float_type"}


@pytest.mark.parametrize(("event_type", "field"), NUMBER_FIELDS)
@pytest.mark.parametrize("text", ["3", "3.5", ""])
def test_string_where_a_number_belongs_is_rejected(event_type: str, field: str, text: str) -> None:
    [(loc, kind)] = errors_of(event_type, payload_for(event_type) | {field: text})
    assert loc == (field,)
    assert kind in {"int_type", "float_type"}


@pytest.mark.parametrize("latency", [0, 0.0, 1, 42.5, 1e9])
def test_latency_accepts_finite_non_negative_numbers(latency: float) -> None:
    model = ConnectorHealthCheckedPayload.model_validate(
        payload_for(CONNECTOR_HEALTH_CHECKED, latency_ms=latency)
    )
    assert model.latency_ms == latency


@pytest.mark.parametrize(
    ("latency", "kind"),
    [
        (-0.001, "greater_than_equal"),
        (-1, "greater_than_equal"),
        (math.inf, "finite_number"),
        (-math.inf, "finite_number"),
        (math.nan, "finite_number"),
    ],
)
def test_latency_rejects_negative_and_non_finite(latency: float, kind: str) -> None:
    data = payload_for(CONNECTOR_HEALTH_CHECKED, latency_ms=latency)
    assert errors_of(CONNECTOR_HEALTH_CHECKED, data) == [(("latency_ms",), kind)]


# --------------------------------------------------------------------------- enums and UUIDs


@pytest.mark.parametrize(("event_type", "field"), ENUM_FIELDS)
def test_enum_fields_accept_every_value_and_nothing_else(event_type: str, field: str) -> None:
    enum = model_of(event_type).model_fields[field].annotation
    assert isinstance(enum, type)
    assert issubclass(enum, Enum)
    for member in enum:
        model = model_of(event_type).model_validate(payload_for(event_type) | {field: member.value})
        assert getattr(model, field) is member
    for bad in ["bogus", member.value.upper(), 1]:
        assert errors_of(event_type, payload_for(event_type) | {field: bad}) == [((field,), "enum")]


@pytest.mark.parametrize(("event_type", "field"), UUID_FIELDS)
@pytest.mark.parametrize(
    "spelling", [PROJECT_UUID, PROJECT_UUID.upper(), PROJECT_UUID.replace("-", "").upper()]
)
def test_uuid_spellings_parse_to_one_uuid(event_type: str, field: str, spelling: str) -> None:
    model = model_of(event_type).model_validate(payload_for(event_type) | {field: spelling})
    assert getattr(model, field) == UUID(PROJECT_UUID)
    assert str(getattr(model, field)) == PROJECT_UUID


@pytest.mark.parametrize(("event_type", "field"), UUID_FIELDS)
@pytest.mark.parametrize(
    "bad",
    [
        "not-a-uuid",
        "",
        PROJECT_UUID[:-1],
        "{" + PROJECT_UUID + "}",
        "urn:uuid:" + PROJECT_UUID,
        12345,
    ],
)
def test_malformed_uuid_is_rejected(event_type: str, field: str, bad: object) -> None:
    [(loc, _)] = errors_of(event_type, payload_for(event_type) | {field: bad})
    assert loc == (field,)


# --------------------------------------------------------------------------- datetimes


@pytest.mark.parametrize(("event_type", "field"), DATETIME_FIELDS)
@pytest.mark.parametrize(
    "naive", ["2026-11-25T10:00:00", "2026-11-25T10:00:00.123456", datetime(2026, 11, 25, 10)]
)
def test_naive_timestamp_is_rejected(event_type: str, field: str, naive: object) -> None:
    [(loc, _)] = errors_of(event_type, payload_for(event_type) | {field: naive})
    assert loc == (field,)


SECONDS_OFFSETS: Final = {
    "+00:00:30": timedelta(seconds=30),
    "+00:19:32": timedelta(minutes=19, seconds=32),  # Amsterdam's mean time, before 1937
    "-05:00:01": -timedelta(hours=5, seconds=1),
    "+01:00:00.000001": timedelta(hours=1, microseconds=1),
}
"""Offsets a ``datetime`` can carry and RFC 3339 cannot write, by how the message shows them."""


@pytest.mark.parametrize(("event_type", "field"), DATETIME_FIELDS)
@pytest.mark.parametrize("shown", SECONDS_OFFSETS)
def test_an_offset_rfc_3339_cannot_write_is_rejected(
    event_type: str, field: str, shown: str
) -> None:
    """RFC 3339 writes an offset in whole minutes: a datetime whose offset has
    seconds could only be written as another instant, so it is not taken."""
    value = datetime(2026, 11, 24, 1, tzinfo=timezone(SECONDS_OFFSETS[shown]))
    with pytest.raises(ValidationError) as caught:
        model_of(event_type).model_validate(payload_for(event_type) | {field: value})
    [error] = caught.value.errors()
    assert (error["loc"], error["type"]) == ((field,), "timezone_aware")
    assert (
        f"must carry a UTC offset of whole minutes, as RFC 3339 writes one (this one is {shown})"
        in error["msg"]
    )


@pytest.mark.parametrize(("event_type", "field"), DATETIME_FIELDS)
@pytest.mark.parametrize(
    "bad",
    [
        1764064800,
        1764064800.0,
        True,
        "",
        "yesterday",
        "2026-11-25",
        "2026-11-25 10:00:00Z",
        "2026-02-30T10:00:00Z",
        "2026-11-25T10:00:00.1234567890Z",
    ],
)
def test_non_rfc3339_timestamp_is_rejected(event_type: str, field: str, bad: object) -> None:
    [(loc, _)] = errors_of(event_type, payload_for(event_type) | {field: bad})
    assert loc == (field,)


@pytest.mark.parametrize(("event_type", "field"), DATETIME_FIELDS)
@pytest.mark.parametrize(
    "spelling",
    [
        "2026-11-25T13:00:00+05:00",
        "2026-11-25T08:00:00Z",
        "2026-11-25T03:00:00-05:00",
        datetime(2026, 11, 25, 13, tzinfo=timezone(timedelta(hours=5))),
    ],
)
def test_offset_timestamp_is_normalized_to_utc(
    event_type: str, field: str, spelling: object
) -> None:
    model = model_of(event_type).model_validate(payload_for(event_type) | {field: spelling})
    value = getattr(model, field)
    assert value == datetime(2026, 11, 25, 8, tzinfo=timezone.utc)
    assert value.utcoffset() == timedelta(0)
    assert value.hour == 8


# --------------------------------------------------------------------------- URLs

GOOD_URLS: Final = [
    "https://api.github.com/repos/acme/api/hooks/7",
    "http://jira.internal:8080/rest/api/2",
    "HTTPS://Slack.COM/api",
    "https://hooks.example.com",
    "https://hooks.example.com/?q=1#frag",
    "https://example.com/path/with@sign",
    "http://[2001:db8::1]:443/x",
    "http://10.0.0.7/hook",
]
BAD_URLS: Final = [
    "https://user:token@github.com/hooks",
    "https://user@github.com/hooks",
    "https://user:1234@github.com",
    "https://:token@github.com",
    "https://@github.com",
    "ftp://github.com/hooks",
    "file:///etc/passwd",
    "ws://github.com/socket",
    "mailto:ops@example.com",
    "github.com/hooks",
    "//github.com/hooks",
    "https://",
    "https:///path-without-host",
    "https://:443/",
    "https:github.com",
    "https://git hub.com",
    "https://github.com/\n",
    "",
]


@pytest.mark.parametrize(("event_type", "field"), URL_FIELD_PARAMS)
@pytest.mark.parametrize("url", GOOD_URLS)
def test_absolute_http_urls_are_accepted(event_type: str, field: str, url: str) -> None:
    model = model_of(event_type).model_validate(payload_for(event_type) | {field: url})
    assert getattr(model, field) == url


@pytest.mark.parametrize(("event_type", "field"), URL_FIELD_PARAMS)
@pytest.mark.parametrize("url", BAD_URLS)
def test_credentials_schemes_and_missing_hosts_are_rejected(
    event_type: str, field: str, url: str
) -> None:
    [(loc, _)] = errors_of(event_type, payload_for(event_type) | {field: url})
    assert loc == (field,)


def _url_of_length(length: int) -> str:
    head = "https://hooks.example.com/"
    return head + "a" * (length - len(head))


@pytest.mark.parametrize(("event_type", "field"), URL_FIELD_PARAMS)
def test_url_length_limit_is_2048(event_type: str, field: str) -> None:
    longest = _url_of_length(2048)
    assert len(longest) == 2048
    model = model_of(event_type).model_validate(payload_for(event_type) | {field: longest})
    assert getattr(model, field) == longest
    too_long = _url_of_length(2049)
    assert errors_of(event_type, payload_for(event_type) | {field: too_long}) == [
        ((field,), "string_too_long")
    ]
