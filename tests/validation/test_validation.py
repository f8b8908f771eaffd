"""``validate_event`` behaviour at the edges (FR-008; contract section 7).

Input handling (JSON text and bytes, duplicate keys, NaN, encodings, what
is not JSON), envelope/payload detection, the semantic and strict layers,
result types, and that bad data never raises.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts import (
    VIOLATION_CODES,
    ConnectorProvisionedPayload,
    Event,
    Layer,
    ValidationResult,
    Violation,
    validate_event,
)
from connector_sync_contracts.io import read_line
from connector_sync_contracts.validation import json_path
from tests.support.schema_strategies import sample_document

PROJECT: Final = "0b5c3f5e-6d0a-4c56-9a53-2f7e4f1c9d10"


def envelope(**fields: Any) -> dict[str, Any]:
    """A valid ConnectorProvisioned envelope with ``fields`` replaced."""
    data = sample_document("Event")
    data["event_type"] = "ConnectorProvisioned"
    data["payload"] = sample_document("ConnectorProvisioned")
    data.update(fields)
    return data


def pairs(result: ValidationResult) -> set[tuple[str, str, str]]:
    """(layer, path, code) of every finding: a violation two layers found counts for both."""
    return {(layer.value, v.path, v.code) for v in result.violations for layer in v.found_by}


# ----------------------------------------------------------------- JSON input


def test_valid_envelope_as_mapping_text_and_bytes() -> None:
    data = envelope()
    for form in (
        data,
        json.dumps(data),
        json.dumps(data).encode(),
        bytearray(json.dumps(data), "utf-8"),
    ):
        result = validate_event(form)
        assert result.valid, result.violations
        assert result.kind == "envelope"
        assert result.event_type == "ConnectorProvisioned"
        assert result.layers == (Layer.INPUT, Layer.MODEL, Layer.SCHEMA, Layer.SEMANTIC)


def test_duplicate_keys_are_violations_and_stop_before_the_model() -> None:
    text = json.dumps(envelope())[:-1] + ', "lamport_clock": 999}'
    text = text.replace('"connector_id": "x"', '"connector_id": "x", "connector_id": ""')
    result = validate_event(text)
    assert pairs(result) == {
        ("input", "$.lamport_clock", "duplicate_key"),
        ("input", "$.payload.connector_id", "duplicate_key"),
    }
    assert result.layers == (Layer.INPUT,)
    assert result.kind is None


def test_a_nul_byte_is_named_with_its_byte_offset_as_the_command_line_names_it() -> None:
    text = json.dumps(envelope(node_id="nodé-a"), ensure_ascii=False).replace("é-", "é\x00-")
    offset = text.encode().index(b"\x00")
    for form in (text, text.encode()):
        [found] = validate_event(form).violations
        assert (found.path, found.code, found.message) == (
            "$",
            "nul_byte",
            f"NUL byte at offset {offset}",
        )
    line = text.encode()
    [problem] = read_line(line, 3)[1]
    assert (problem.line, problem.field, problem.code, problem.message) == (
        3,
        found.path,
        found.code,
        found.message,
    )


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_not_json(literal: str) -> None:
    payload = json.dumps(sample_document("ConnectorHealthChecked"))
    text = payload.replace('"latency_ms": 12.5', f'"latency_ms": {literal}')
    result = validate_event(text, "ConnectorHealthChecked")
    assert pairs(result) == {("input", "$.latency_ms", "non_finite_number")}


def test_numbers_beyond_the_double_and_64_bit_ranges_are_rejected_before_the_layers() -> None:
    payload = json.dumps(sample_document("ConnectorHealthChecked"))
    for number, code in (
        ("1e400", "non_finite_number"),
        ("1" + "0" * 400, "integer_out_of_range"),
        ("18446744073709551616", "integer_out_of_range"),
    ):
        text = payload.replace('"latency_ms": 12.5', f'"latency_ms": {number}')
        result = validate_event(text, "ConnectorHealthChecked")
        assert pairs(result) == {("input", "$.latency_ms", code)}


def test_an_integer_literal_too_long_to_convert_is_out_of_range() -> None:
    result = validate_event('{"lamport_clock": ' + "9" * 5000 + "}")
    assert pairs(result) == {("input", "$.lamport_clock", "integer_out_of_range")}


def test_nesting_deeper_than_64_levels_is_rejected_wherever_it_is() -> None:
    deep = "[" * 65 + "]" * 65
    result = validate_event('{"unknown": ' + deep + "}")
    assert result.codes == {"too_deep"}
    assert validate_event('{"unknown": ' + "[" * 63 + "]" * 63 + "}").codes != {"too_deep"}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xff\xfe{}", "invalid_utf8"),
        (b'{"event_type": "\xc3\x28"}', "invalid_utf8"),
        ('{"a": "\\ud800"}', "invalid_unicode"),
        ("\ufeff{}", "invalid_json"),
        ("", "invalid_json"),
        ("{", "invalid_json"),
        ("{'a': 1}", "invalid_json"),
        ("[" * 100_000, "too_deep"),
        ("[]", "not_an_object"),
        ('"text"', "not_an_object"),
        ("42", "not_an_object"),
        ("null", "not_an_object"),
        (None, "not_an_object"),
        (42, "not_an_object"),
        ([envelope()], "not_an_object"),
    ],
)
def test_input_that_is_not_a_json_object(data: object, code: str) -> None:
    result = validate_event(data)
    assert not result.valid
    assert result.codes == {code}
    assert result.layers == (Layer.INPUT,)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("42", "number"),
        ("NaN", "number"),
        ("-Infinity", "number"),
        ("123456789012345678901234567890", "number"),
        ('"text"', "string"),
        ("[1]", "array"),
        ("true", "boolean"),
        ("null", "null"),
    ],
)
def test_a_line_that_is_no_object_says_what_it_is_in_json_terms(text: str, kind: str) -> None:
    # Found by an outside run: NaN and long integers were named by an internal class.
    [violation] = validate_event(text).violations
    assert violation.message == f"expected a JSON object, got {kind}"


def test_invalid_json_message_says_where() -> None:
    [violation] = validate_event('{"a": 1,\n "b": }').violations
    assert violation.path == "$"
    assert "line 2" in violation.message


def test_python_values_that_are_not_json() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    data = envelope(node_id=b"node-a")
    data["payload"][1] = "int key"
    data["payload"]["blob"] = b"raw"
    data["payload"]["amount"] = Decimal("1.5")
    data["payload"]["tags"] = {"a"}
    assert pairs(validate_event(data)) == {
        ("input", "$.node_id", "not_json"),
        ("input", "$.payload", "not_json"),
        ("input", "$.payload.blob", "not_json"),
        ("input", "$.payload.amount", "not_json"),
        ("input", "$.payload.tags", "not_json"),
    }
    assert validate_event(cyclic).codes == {"not_json"}
    assert validate_event({"x": float("nan")}).codes == {"non_finite_number"}
    assert validate_event({"x": 2**64}).codes == {"integer_out_of_range"}


def test_datetime_and_uuid_objects_are_judged_by_the_field_they_stand_in() -> None:
    # What model_dump() gives back validates as the JSON it came from.
    event = Event.model_validate(envelope())
    assert validate_event(event.model_dump()).valid
    assert validate_event(envelope(timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc))).valid
    assert validate_event(envelope(project_uuid=UUID(PROJECT))).valid
    wrong_place = validate_event(envelope(node_id=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    assert pairs(wrong_place) == {("model", "$.node_id", "type")}
    naive = validate_event(envelope(timestamp=datetime(2026, 1, 1)))
    # One problem, named once (found by an outside run: the schema's "pattern" of the
    # datetime's text, with its raw regex, came as a second one).
    [problem] = naive.violations
    assert (problem.path, problem.code) == ("$.timestamp", "format")
    assert problem.found_by == (Layer.MODEL, Layer.SCHEMA)
    assert "UTC offset" in problem.message
    assert not naive.valid


def test_model_instances_are_validated_as_their_json() -> None:
    payload = ConnectorProvisionedPayload.model_validate(sample_document("ConnectorProvisioned"))
    result = validate_event(payload)
    assert result.valid
    assert result.event_type == "ConnectorProvisioned"
    assert validate_event(Event.model_validate(envelope())).valid


# ----------------------------------------------------- envelope or payload


def test_a_bare_payload_needs_its_event_type() -> None:
    payload = sample_document("SyncIngestAccepted")
    assert validate_event(payload).codes == {"event_type_required"}
    assert validate_event(payload, "SyncIngestAccepted").valid
    assert validate_event(payload, "SyncIngestAccepted").kind == "payload"


def test_an_envelope_without_event_type_and_payload_is_told_what_it_lacks() -> None:
    # Read as a line is read: not taken for a bare payload (it has an event_id, a
    # timestamp, ...), so the answer names the two fields, as the command line does.
    partial = {
        key: value for key, value in envelope().items() if key not in ("event_type", "payload")
    }
    for item in (partial, json.dumps(partial).encode()):
        result = validate_event(item)
        assert {(v.path, v.code) for v in result.violations} == {
            ("$.event_type", "required"),
            ("$.payload", "required"),
        }
        assert result.kind == "envelope"


def test_unknown_event_types() -> None:
    assert pairs(validate_event({"a": 1}, "ConnectorExploded")) == {
        ("input", "$", "unknown_event_type")
    }
    result = validate_event(envelope(event_type="ConnectorExploded"))
    assert pairs(result) == {("input", "$.event_type", "unknown_event_type")}
    assert result.layers == (Layer.INPUT, Layer.MODEL, Layer.SCHEMA)


@pytest.mark.parametrize(("given", "shown"), [(5, "5"), (["a"], '["a"]'), (None, None)])
def test_an_event_type_argument_that_is_no_string_is_named_by_its_value(
    given: object, shown: str | None
) -> None:
    result = validate_event({"connector_id": "x"}, given)  # type: ignore[arg-type]
    if shown is None:  # no event type given: a payload needs one
        assert result.codes == {"event_type_required"}
        return
    [problem] = result.violations
    assert problem.code == "unknown_event_type"
    assert problem.message == f"no payload model for event type {shown}: an event type is a string"


def test_event_type_argument_must_match_the_envelope() -> None:
    result = validate_event(envelope(), "SyncIngestAccepted")
    assert pairs(result) == {("input", "$.event_type", "event_type_mismatch")}
    assert validate_event(envelope(), "ConnectorProvisioned").valid


def test_a_wrong_typed_envelope_is_reported_not_raised() -> None:
    result = validate_event(envelope(event_type=7, payload="none", lamport_clock=True))
    assert pairs(result) == {
        (layer, path, "type")
        for layer in ("model", "schema")
        for path in ("$.event_type", "$.payload", "$.lamport_clock")
    }


def test_envelope_and_payload_violations_are_all_reported_with_paths() -> None:
    data = envelope(lamport_clock=-1)
    data["payload"]["endpoint_url"] = "https://user:token@example.com/"
    del data["payload"]["provider"]
    assert pairs(validate_event(data)) == {
        (layer, path, code)
        for layer in ("model", "schema")
        for path, code in (
            ("$.lamport_clock", "minimum"),
            ("$.payload.endpoint_url", "pattern"),
            ("$.payload.provider", "required"),
        )
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", "01ARZ3NDEKTSV4RRFFQ69G5FAV\n"),
        ("correlation_id", PROJECT + "\n"),
        ("project_uuid", PROJECT.replace("-", "") + "\n"),
        ("timestamp", "2026-11-25T10:15:30Z\n"),
        ("schema_version", "2.7.0\n"),
    ],
)
def test_a_final_newline_never_passes_a_pattern(field: str, value: str) -> None:
    # Python's '$' matches before a final newline; ECMA-262's does not.
    assert pairs(validate_event(envelope(**{field: value}))) == {
        ("model", f"$.{field}", "pattern"),
        ("schema", f"$.{field}", "pattern"),
    }


@pytest.mark.parametrize("value", ["2016-12-31T23:59:60Z", "2016-12-31t23:59:60.25+01:00"])
def test_a_leap_second_is_refused_saying_why(value: str) -> None:
    """A leap second is an RFC 3339 date-time: the refusal says what is not taken."""
    [problem] = validate_event(envelope(timestamp=value)).violations
    assert (problem.path, problem.code) == ("$.timestamp", "pattern")
    assert "a leap second (second 60) is not taken" in problem.message
    assert problem.message.endswith(f'got "{value}"')
    other = validate_event(envelope(timestamp="2016-12-31T23:59:61Z")).violations
    assert "leap second" not in other[0].message  # not a leap second: the plain rule


@pytest.mark.parametrize(
    "value",
    [
        "0000-12-31T23:30:00-01:00",  # year 1 in UTC, year 0 as written
        "9999-12-31T23:30:00-01:00",  # year 10000 in UTC
        "0001-01-01T00:30:00+01:00",  # year 0 in UTC
    ],
)
def test_a_date_time_in_years_0001_9999_both_as_written_and_in_utc(value: str) -> None:
    """COMPATIBILITY.md and the schemas' ``$comment``: the date as written and its UTC
    instant must both fall within years 0001-9999; both layers say ``format``."""
    assert pairs(validate_event(envelope(timestamp=value))) == {
        ("model", "$.timestamp", "format"),
        ("schema", "$.timestamp", "format"),
    }


# ------------------------------------------------------ semantic and strict


def test_semantic_rules_run_only_when_the_payload_passed_the_model() -> None:
    payload = sample_document("SyncRetryScheduled") | {"retry_attempt": 5, "max_retries": 2}
    assert pairs(validate_event(payload, "SyncRetryScheduled")) == {
        ("semantic", "$.retry_attempt", "retry_attempt_exceeds_max_retries")
    }
    payload["delivery_id"] = ""
    result = validate_event(payload, "SyncRetryScheduled")
    assert Layer.SEMANTIC not in result.layers
    assert result.codes == {"min_length"}


def test_every_semantic_rule_has_its_code() -> None:
    degraded = sample_document("ConnectorDegraded") | {
        "recorded_at": "2026-11-25T10:00:00Z",
        "last_healthy_at": "2026-11-25T10:00:01Z",
    }
    retry = sample_document("SyncRetryScheduled") | {
        "recorded_at": "2026-11-25T10:00:00+01:00",
        "next_retry_at": "2026-11-25T08:59:59Z",
        "retry_attempt": 4,
        "max_retries": 3,
    }
    assert validate_event(degraded, "ConnectorDegraded").codes == {"last_healthy_after_recorded"}
    assert validate_event(retry, "SyncRetryScheduled").codes == {
        "next_retry_before_recorded",
        "retry_attempt_exceeds_max_retries",
    }
    # Each says the two values, as the payload writes them (an outside run: the
    # messages named the fields, not what was wrong with them).
    assert {v.code: v.message for v in validate_event(retry, "SyncRetryScheduled").violations} == {
        "next_retry_before_recorded": "next_retry_at must not be before recorded_at, got "
        'next_retry_at "2026-11-25T08:59:59Z" and recorded_at "2026-11-25T10:00:00+01:00"',
        "retry_attempt_exceeds_max_retries": "retry_attempt must not exceed max_retries, got "
        "retry_attempt 4 and max_retries 3",
    }
    [degraded_problem] = validate_event(degraded, "ConnectorDegraded").violations
    assert degraded_problem.message == (
        "last_healthy_at must not be after recorded_at, got last_healthy_at "
        '"2026-11-25T10:00:01Z" and recorded_at "2026-11-25T10:00:00Z"'
    )
    # Instants, not strings: 10:00+01:00 is 09:00Z.
    retry["next_retry_at"] = "2026-11-25T09:00:00Z"
    retry["retry_attempt"] = 3
    assert validate_event(retry, "SyncRetryScheduled").valid


def test_strict_mode_reports_unknown_fields_and_project_mismatch() -> None:
    data = envelope(tenant="acme")
    data["payload"]["x_hint"] = 1
    data["payload"]["project_uuid"] = "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"
    assert validate_event(data).valid
    result = validate_event(data, strict=True)
    assert pairs(result) == {
        ("strict", "$.tenant", "unknown_field"),
        ("strict", "$.payload.x_hint", "unknown_field"),
        ("strict", "$.payload.project_uuid", "project_uuid_mismatch"),
    }
    assert Layer.STRICT in result.layers


@pytest.mark.parametrize(
    ("event_type", "broken", "also"),
    [
        ("ConnectorProvisioned", {"lamport_clock": "x"}, ("model", "$.lamport_clock", "type")),
        (
            "ConnectorProvisioned",
            {"payload.actor_type": "x"},
            ("model", "$.payload.actor_type", "enum"),
        ),
        (
            "ConnectorDegraded",
            {"payload.last_healthy_at": "2030-01-01T00:00:00Z"},
            ("semantic", "$.payload.last_healthy_at", "last_healthy_after_recorded"),
        ),
    ],
    ids=["envelope-invalid", "payload-invalid", "semantic-rule"],
)
def test_strict_mode_reports_the_project_mismatch_beside_other_problems(
    event_type: str, broken: dict[str, Any], also: tuple[str, str, str]
) -> None:
    # Every problem of a line is reported at once: a mismatch was left out when
    # the envelope or the payload had another problem.
    data = envelope(event_type=event_type, payload=sample_document(event_type))
    data["payload"]["project_uuid"] = "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"
    for key, value in broken.items():
        holder, name = (data["payload"], key[8:]) if key.startswith("payload.") else (data, key)
        holder[name] = value
    found = pairs(validate_event(data, strict=True))
    assert ("strict", "$.payload.project_uuid", "project_uuid_mismatch") in found
    assert also in found
    # Only when both values are UUIDs: a bad one is its own problem, not a mismatch.
    data["payload"]["project_uuid"] = "not-a-uuid"
    codes = {code for _, _, code in pairs(validate_event(data, strict=True))}
    assert "project_uuid_mismatch" not in codes


def test_strict_mode_compares_uuids_not_spellings() -> None:
    data = envelope(project_uuid=PROJECT.upper())
    data["payload"]["project_uuid"] = PROJECT.replace("-", "")
    assert validate_event(data, strict=True).valid


def test_unknown_field_names_that_are_not_identifiers_use_brackets() -> None:
    payload = sample_document("SyncIngestAccepted") | {"odd key": 1}
    [violation] = validate_event(payload, "SyncIngestAccepted", strict=True).violations
    assert violation.path == '$["odd key"]'
    assert json_path(["payload", "items", 0]) == "$.payload.items[0]"


# ---------------------------------------------------------------- result types


def test_results_are_frozen_sorted_and_json_ready() -> None:
    data = envelope(lamport_clock=-1, node_id="")
    result = validate_event(data)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.valid = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.violations[0].code = "x"  # type: ignore[misc]
    order = [(list(Layer).index(v.layer), v.path, v.code, v.message) for v in result.violations]
    assert order == sorted(order)
    assert json.loads(json.dumps(result.to_dict()))["violations"][0]["layer"] == "model"
    assert result.by_layer("schema") == result.by_layer(Layer.SCHEMA)
    assert all(isinstance(v, Violation) for v in result.violations)
    assert validate_event(data) == result


def test_every_reported_code_is_in_the_published_vocabulary() -> None:
    assert {"required", "type", "pattern", "format", "duplicate_key"} <= VIOLATION_CODES


# ------------------------------------------------------------- never raises

_python_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(),
        st.binary(max_size=4),
        st.datetimes(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(), st.text(), _python_values), event_type=st.none() | st.text())
def test_bad_data_never_raises(data: object, event_type: str | None) -> None:
    result = validate_event(data, event_type)
    assert isinstance(result, ValidationResult)
    assert {v.code for v in result.violations} <= VIOLATION_CODES


@settings(max_examples=100, deadline=None)
@given(
    field=st.sampled_from(sorted(sample_document("Event"))),
    value=_python_values,
    strict=st.booleans(),
)
def test_any_value_in_any_envelope_field_never_raises(
    field: str, value: object, strict: bool
) -> None:
    data = envelope(**{field: value})
    result = validate_event(data, strict=strict)
    assert result.valid == (not result.violations)
    assert {v.code for v in result.violations} <= VIOLATION_CODES


@pytest.mark.parametrize(
    ("value", "digits"),
    [("2026-11-24T00:06:00.1234567890Z", 10), ("2026-11-24t00:06:00.0000000000001-03:30", 13)],
)
def test_a_fraction_of_more_than_nine_digits_is_refused_saying_why(value: str, digits: int) -> None:
    """RFC 3339 allows any number of fraction digits; the contract takes nanoseconds."""
    [problem] = validate_event(envelope(timestamp=value)).violations
    assert (problem.path, problem.code) == ("$.timestamp", "pattern")
    assert f"a fraction has at most nine digits (nanoseconds), not {digits}" in problem.message
    # Not a date-time once shortened (an hour 25): the plain rule.
    other = validate_event(envelope(timestamp="2026-11-24T25:06:00.1234567890Z")).violations
    assert "fraction" not in other[0].message
