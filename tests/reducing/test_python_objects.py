"""A mapping holding Python objects gets one verdict from every entry point (section 8).

``validate_event``, ``replay()`` under either engine, and ``Event(...)``
read a mapping through the same input layer: ``datetime`` and ``UUID``
objects (what ``model_dump()`` gives back) stand in a field for the model
of that field to judge; any other object JSON cannot carry (``Decimal``,
``bytes``, a ``set``, a ``date``) makes the event invalid wherever it is,
unknown fields included.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final

import pytest
from pydantic import ValidationError

from connector_sync_contracts import Event, replay, validate_event
from tests.support.engines import ENGINES, Engine, engine
from tests.support.factories import PROJECT_UUID, envelope

UTC: Final = timezone.utc

# (where, value, whether the event is valid)
CASES: Final[dict[str, tuple[tuple[str, ...], object, bool]]] = {
    "timestamp-utc": (("timestamp",), datetime(2026, 3, 1, 10, tzinfo=UTC), True),
    "timestamp-offset": (
        ("timestamp",),
        datetime(2026, 3, 1, 3, tzinfo=timezone(timedelta(hours=-7))),
        True,
    ),
    # RFC 3339 writes whole minutes: no text carries this offset, so no mapping does.
    "timestamp-offset-with-seconds": (
        ("timestamp",),
        datetime(2026, 3, 1, 3, tzinfo=timezone(timedelta(seconds=3208))),
        False,
    ),
    "timestamp-naive": (("timestamp",), datetime(2026, 3, 1, 10), False),
    "timestamp-before-year-1": (
        ("timestamp",),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        False,
    ),
    "recorded_at": (("payload", "recorded_at"), datetime(2026, 3, 1, tzinfo=UTC), True),
    "project_uuid": (("project_uuid",), uuid.UUID(PROJECT_UUID), True),
    "payload-project_uuid": (("payload", "project_uuid"), uuid.UUID(PROJECT_UUID), True),
    "datetime-for-a-string": (("node_id",), datetime(2026, 3, 1, tzinfo=UTC), False),
    "uuid-for-a-string": (("aggregate_id",), uuid.UUID(PROJECT_UUID), False),
    "decimal-for-a-number": (("payload", "latency_ms"), Decimal("12.5"), False),
    "decimal-unknown": (("x",), Decimal("1"), False),
    "set-unknown": (("x",), {1, 2}, False),
    "bytes-unknown": (("payload", "x"), b"ab", False),
    "date-unknown": (("x",), date(2026, 1, 1), False),
    "tuple-unknown": (("x",), (1, "two", None), True),
}


def _item(where: tuple[str, ...], value: object) -> dict[str, Any]:
    item = envelope("ConnectorHealthChecked", seq=2)
    target = item
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return item


def _applied(result_json: bytes) -> bool:
    data = json.loads(result_json)
    return data["event_count"] == 2 and not data["anomalies"]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("which", ENGINES)
def test_validate_event_and_replay_give_one_verdict(name: str, which: Engine) -> None:
    where, value, valid = CASES[name]
    item = _item(where, value)
    assert validate_event(item).valid is valid
    with engine(which):
        result = replay([envelope("ConnectorProvisioned", seq=1), item])
    assert _applied(result.to_json()) is valid
    if not valid:
        [anomaly] = result.anomalies
        assert anomaly.kind == "malformed_envelope"
        assert anomaly.event_id == item["event_id"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_event_is_built_from_the_mapping_exactly_when_it_validates(name: str) -> None:
    # (Event leaves the payload's fields to the payload models, but not what JSON lacks.)
    where, value, valid = CASES[name]
    item = _item(where, value)
    if valid:
        Event.model_validate(item)
    else:
        with pytest.raises(ValidationError):
            Event.model_validate(item)
