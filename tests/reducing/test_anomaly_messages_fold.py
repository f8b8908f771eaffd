"""Anomaly messages the compiled fold keeps are the builders' own, for every event.

The compiled fold asks ``from_native`` for the message of a kind in
``SHARED_MESSAGE_KINDS`` once per parameters and keeps it (a log can repeat
one on every other line), for at most 4,096 parameters. Whatever it kept or
did not keep, each anomaly must be exactly what its builder makes for that
event, and the replay must be what the pure-Python engine gives.
"""

from __future__ import annotations

from typing import Any, Final

import pytest

from connector_sync_contracts import replay
from connector_sync_contracts.reducing.anomalies import NATIVE_ANOMALIES, SHARED_MESSAGE_KINDS
from tests.support.engines import ENGINES, Engine, engine
from tests.support.factories import envelope, payload_for

_TYPES: Final = 4_500
"""Distinct connector types a connector is seen with: more than the fold keeps messages for."""


def _log() -> list[dict[str, Any]]:
    """One connector seen with 4,500 other types, each twice; ten never provisioned."""
    events: list[dict[str, Any]] = []
    seq = 0

    def add(event_type: str, connector_id: str, **fields: Any) -> None:
        nonlocal seq
        seq += 1
        payload = payload_for(event_type, at=seq, connector_id=connector_id, **fields)
        events.append(envelope(event_type, payload, seq=seq, aggregate_id=connector_id))

    add("ConnectorProvisioned", "c-main")
    for round_ in range(2):
        for k in range(_TYPES):
            add("ConnectorHealthChecked", "c-main", connector_type=f"type-{k}")
        if round_ == 0:
            for n in range(10):
                add("ConnectorHealthChecked", f"c-lost-{n}")
    return events


@pytest.mark.parametrize("name", ENGINES)
def test_every_anomaly_is_its_builders_own(name: Engine) -> None:
    events = _log()
    with engine(name):
        data = replay(events).to_dict()
    made = [
        *data["connectors"]["c-main"]["anomalies"],
        *(data["connectors"][f"c-lost-{n}"]["anomalies"][0] for n in range(10)),
    ]
    assert {item["kind"] for item in made} == {"identity_changed", "invalid_transition"}
    assert {item["kind"] for item in made} <= SHARED_MESSAGE_KINDS
    by_id = {event["event_id"]: event for event in events}
    for item in made:
        payload = by_id[item["event_id"]]["payload"]
        params: tuple[str | None, ...]
        if item["kind"] == "identity_changed":
            params = (payload["provider"], payload["connector_type"], "github", "webhook")
        else:
            params = ("ConnectorHealthChecked", None, "healthy")
        assert item == NATIVE_ANOMALIES[item["kind"]](item["event_id"], *params)
        assert list(item) == ["kind", "event_id", "message"]
    assert len(made) == 2 * _TYPES + 10


def test_the_engines_give_the_same_replay() -> None:
    events = _log()
    with engine("python"):
        expected = replay(events).to_json()
    for name in ("compiled", "python"):
        with engine(name):
            assert replay(events).to_json() == expected
