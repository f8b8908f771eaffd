"""Field rules added after review: nanosecond timestamps and URL port range."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from connector_sync_contracts import ConnectorProvisionedPayload, validate_event
from tests.support.factories import connector_payload


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("2026-11-25T10:15:30.1234567Z", 123456),
        ("2026-11-25T10:15:30.123456789Z", 123456),
        ("2026-11-25T10:15:30.999999999+00:00", 999999),
    ],
)
def test_nanosecond_timestamps_are_accepted_and_truncated_to_microseconds(
    text: str, micros: int
) -> None:
    payload = ConnectorProvisionedPayload.model_validate(connector_payload(recorded_at=text))
    assert payload.recorded_at == datetime(2026, 11, 25, 10, 15, 30, micros, tzinfo=timezone.utc)
    assert validate_event(connector_payload(recorded_at=text), "ConnectorProvisioned").valid


def test_ten_fraction_digits_are_rejected_by_every_layer() -> None:
    text = "2026-11-25T10:15:30.1234567890Z"
    with pytest.raises(ValidationError):
        ConnectorProvisionedPayload.model_validate(connector_payload(recorded_at=text))
    result = validate_event(connector_payload(recorded_at=text), "ConnectorProvisioned")
    assert not result.valid
    assert {layer.value for v in result.violations for layer in v.found_by} >= {"model", "schema"}


@pytest.mark.parametrize("port", ["0", "80", "8080", "65535"])
def test_ports_in_range_are_accepted(port: str) -> None:
    url = f"https://hooks.example.com:{port}/in"
    assert validate_event(connector_payload(endpoint_url=url), "ConnectorProvisioned").valid


@pytest.mark.parametrize("port", ["65536", "99999", "100000"])
def test_ports_out_of_range_are_rejected(port: str) -> None:
    url = f"https://hooks.example.com:{port}/in"
    result = validate_event(connector_payload(endpoint_url=url), "ConnectorProvisioned")
    assert result.codes == {"pattern"}
