"""One violation per problem, in one message style (issue 13, items 2 and 5).

The model and schema layers check the same rules, so they find the same
problems; ``validate_event`` reports each problem once, in the model's
words, and ``found_by`` keeps both layers as its source. Every message that
can name the offending value does, shortened like pydantic shortens it, and
a replay's ``malformed_*`` anomaly describes a broken field with exactly
the words ``validate_event`` uses.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts import (
    CONNECTOR_HEALTH_CHECKED,
    ConnectorProvisionedPayload,
    Layer,
    replay,
    validate_event,
)
from connector_sync_contracts.validation import messages
from connector_sync_contracts.validation.messages import shown_value
from tests.support.factories import connector_payload, envelope, required_fields


def test_ten_missing_fields_are_ten_violations_each_found_by_both_layers() -> None:
    required = required_fields(ConnectorProvisionedPayload)
    assert len(required) >= 9
    result = validate_event({}, "ConnectorProvisioned")
    assert [v.path for v in result.violations] == sorted(f"$.{name}" for name in required)
    for violation in result.violations:
        assert violation.code == "required"
        assert violation.layer is Layer.MODEL
        assert violation.found_by == (Layer.MODEL, Layer.SCHEMA)
        assert violation.message == "Field required"
    # Each layer still answers for what it found.
    assert result.by_layer(Layer.SCHEMA) == result.violations
    assert result.by_layer(Layer.MODEL) == result.violations


def test_no_two_violations_share_a_path_and_a_code() -> None:
    event = envelope(CONNECTOR_HEALTH_CHECKED, connector_payload(CONNECTOR_HEALTH_CHECKED))
    event.update(lamport_clock="7", node_id="", timestamp="yesterday")
    event["payload"].update(latency_ms="fast", health_status="fine", connector_id=None)
    result = validate_event(event)
    keys = [(v.path, v.code) for v in result.violations]
    assert len(keys) == len(set(keys)) == 6
    assert {v.found_by for v in result.violations} == {(Layer.MODEL, Layer.SCHEMA)}


def test_a_violation_names_the_offending_value() -> None:
    event = envelope(CONNECTOR_HEALTH_CHECKED, connector_payload(CONNECTOR_HEALTH_CHECKED))
    event["lamport_clock"] = "7"
    event["payload"].update(latency_ms="fast", health_status="fine")
    shown = {str(v) for v in validate_event(event).violations}
    assert shown == {
        '$.lamport_clock: type: Input should be a valid integer, got "7"',
        '$.payload.latency_ms: type: Input should be a valid number, got "fast"',
        "$.payload.health_status: enum: Input should be 'healthy', 'degraded' or "
        "'unreachable', got \"fine\"",
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("fast", '"fast"'),
        (12, "12"),
        (None, "null"),
        (True, "true"),
        ({"a": [1, 2]}, '{"a": [1, 2]}'),
        ("x" * 80, '"' + "x" * 23 + "..." + "x" * 22 + '"'),
        ("https://deploy:s3cret@hooks.example.com/in", '"https://***@hooks.example.com/in"'),
        ("\ud800", '"\\ud800"'),
    ],
)
def test_values_are_shown_as_json_shortened_and_without_credentials(value: Any, shown: str) -> None:
    assert shown_value(value) == shown
    assert len(shown) <= 50


@pytest.mark.parametrize(
    "secret",
    ["s3cret", "p@ss", "pa/ss", "p#ss", "p?ss", 'p"ss', "p@ss/w#o?rd@x", "tok%40en"],
)
def test_credentials_in_a_rejected_url_are_never_repeated(secret: str) -> None:
    # A producer that glues URLs together may leave @ / # ? in a password unescaped:
    # the user-info runs to the last @ of the URL, and all of it is masked.
    url = f"https://deploy:{secret}@hooks.example.com/in"
    result = validate_event(connector_payload(endpoint_url=url), "ConnectorProvisioned")
    [violation] = result.violations
    assert "deploy" not in violation.message
    assert violation.message.endswith('got "https://***@hooks.example.com/in"')


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("see http://x.example/p and bob@corp.example", None),  # the URL ends at the space
        (
            "https://a:b@c.example y https://d:e@f.example",
            '"https://***@c.example y https://***@f.example"',
        ),
        ("https://u:p@h.example?next=https://a:b@c.example", '"https://***@c.example"'),
        ("://a:b@c.example", None),  # no scheme, no URL
        ("https://@h.example", None),  # nothing to mask
    ],
)
def test_only_the_user_info_of_urls_is_masked(value: str, shown: str | None) -> None:
    assert shown_value(value) == (shown if shown is not None else f'"{value}"')


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a." * 40_000 + "@", '"a.a.a.a.a.a.a.a.a.a.a.a....a.a.a.a.a.a.a.a.a.a.@"'),
        ("a://" * 20_000 + " @", '"a://a://a://a://a://a:/...a://a://a://a://a:// @"'),
        ("x://" + "a@" * 40_000 + " ", '"x://***@ "'),
    ],
)
def test_a_long_value_with_many_dots_and_at_signs_is_shown(value: str, shown: str) -> None:
    # The first two made the masking pattern backtrack over the whole value
    # (quadratic: 55 s for the first at 160 kB); now each is read once.
    assert shown_value(value) == shown


def test_a_malformed_payload_anomaly_reads_like_validate_event() -> None:
    event = envelope(
        CONNECTOR_HEALTH_CHECKED, connector_payload(CONNECTOR_HEALTH_CHECKED, latency_ms="fast")
    )
    [violation] = validate_event(event).violations
    state = replay([event]).connectors[event["payload"]["connector_id"]]
    [anomaly] = state.anomalies
    assert anomaly.kind == "malformed_payload"
    assert anomaly.message == str(violation)
    assert anomaly.message.startswith("$.payload.latency_ms: type: ")


def test_a_malformed_envelope_anomaly_reads_like_validate_event() -> None:
    event = envelope(CONNECTOR_HEALTH_CHECKED, connector_payload(CONNECTOR_HEALTH_CHECKED))
    event["lamport_clock"] = True
    [violation] = validate_event(event).violations
    [anomaly] = replay([event]).anomalies
    assert anomaly.kind == "malformed_envelope"
    assert (
        anomaly.message
        == str(violation)
        == ("$.lamport_clock: type: Input should be a valid integer, got true")
    )


def test_a_cloudevent_read_as_an_envelope_says_so_once() -> None:
    from connector_sync_contracts import Event
    from connector_sync_contracts.interop.cloudevents import to_cloudevent_dict

    event = envelope(CONNECTOR_HEALTH_CHECKED, connector_payload(CONNECTOR_HEALTH_CHECKED))
    cloudevent = to_cloudevent_dict(Event.model_validate(event))
    result = validate_event(cloudevent)
    assert [(v.path, v.code) for v in result.violations] == [("$", "looks_like_cloudevent")]
    assert "use --input-format cloudevents" in result.violations[0].message
    # replay() says the same in its malformed_envelope anomaly.
    [anomaly] = replay([cloudevent]).anomalies
    assert anomaly.message == str(result.violations[0])
    # A payload that happens to hold a specversion field is still just a payload.
    payload = {**connector_payload(), "specversion": "1.0"}
    assert validate_event(payload, "ConnectorProvisioned").valid


def _only(result: Any) -> tuple[str, str, str]:
    [violation] = result.violations
    return violation.path, violation.code, violation.message


def test_json_errors_are_located_by_column_in_a_line_and_by_line_in_a_document() -> None:
    # A JSONL line is one line of JSON: "line 1" after the file's line number
    # would read as a contradiction. A document of several lines keeps both.
    assert _only(validate_event(b'{"a" 1}')) == (
        "$",
        "invalid_json",
        "not valid JSON: Expecting ':' delimiter at column 6",
    )
    assert _only(validate_event('{\n"a" 1}'))[2].endswith("at line 2 column 5")


def test_a_byte_order_mark_is_named_in_words_any_producer_understands() -> None:
    line = b"\xef\xbb\xbf" + b'{"event_id": "x"}'
    path, code, message = _only(validate_event(line))
    assert (path, code) == ("$", "invalid_json")
    assert message == (
        "not valid JSON: starts with a UTF-8 byte order mark (write UTF-8 without one)"
    )
    assert "utf-8-sig" not in message


def test_a_version_and_an_overlong_url_are_described_by_what_is_wanted() -> None:
    result = validate_event(envelope(CONNECTOR_HEALTH_CHECKED) | {"schema_version": "2.7"})
    assert _only(result) == (
        "$.schema_version",
        "pattern",
        'must be a version MAJOR.MINOR.PATCH (semantic versioning), e.g. 2.7.0, got "2.7"',
    )
    url = "https://example.com/" + "a" * 2090
    result = validate_event(connector_payload(endpoint_url=url), "ConnectorProvisioned")
    path, code, message = _only(result)
    assert (path, code) == ("$.endpoint_url", "max_length")
    # The value is shown cut short, so the message says how long it was.
    assert message.startswith("String should have at most 2048 characters, not 2,110, got ")


@pytest.mark.parametrize("value", ["2026-02-30T00:00:00Z", "2026-04-31T10:00:00+02:00"])
def test_a_date_that_does_not_exist_is_not_offered_a_bare_date(value: str) -> None:
    # The pattern refuses a bare date, so "a valid datetime or date" (pydantic's
    # words) would send a producer the wrong way.
    result = validate_event(envelope(CONNECTOR_HEALTH_CHECKED) | {"timestamp": value})
    assert _only(result) == (
        "$.timestamp",
        "format",
        f'Input should be a valid datetime, day value is outside expected range, got "{value}"',
    )


_TEXT = st.text(
    st.sampled_from(
        [
            '"',
            "\\",
            "\x7f",
            "\x00",
            "\n",
            "\u00e9",
            "\u2028",
            "\ud800",
            "@",
            ":",
            "/",
            "a",
            "Z",
            "0",
            " ",
        ]
    )
) | st.text(max_size=70)


@given(
    st.one_of(
        _TEXT,
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        st.lists(_TEXT, max_size=3),
        st.sampled_from(
            ["https://user:token@host/x", "HTTP://a@b", "x" * 60, "2026-11-24T10:00:00Z"]
        ),
    )
)
def test_a_value_is_shown_as_its_json_text_says(value: object) -> None:
    """The short cuts for plain integers and text write what json.dumps writes."""
    assert shown_value(value) == messages._shown(messages._as_json(value))
