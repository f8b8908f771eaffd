"""Whole-log replay, dedup by event_id, canonical JSON and ``Projection`` (sections 2, 6)."""

from __future__ import annotations

import json
from typing import Any, Final

import pytest

from connector_sync_contracts import (
    CONNECTOR_DEGRADED,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    CONNECTOR_RECONNECTED,
    CONNECTOR_REVOKED,
    CONTRACT_VERSION,
    EXTERNAL_REFERENCE_LINKED,
    SYNC_DEAD_LETTERED,
    SYNC_INGEST_ACCEPTED,
    SYNC_REPLAY_COMPLETED,
    SYNC_RETRY_SCHEDULED,
    ConnectorState,
    Event,
    Projection,
    reduce_connector_events,
    reduce_external_links,
    reduce_sync_events,
    replay,
)
from tests.support.factories import EventLog, envelope, payload_for, ulid

SECTION_6_KEYS: Final = {
    "contract_version",
    "event_count",
    "duplicates_dropped",
    "ignored_event_count",
    "connectors",
    "sync",
    "external_links",
    "anomalies",
}
LOG_KEYS: Final = {"transition_log", "outcome_log", "deliveries"}


def a_day() -> list[dict[str, Any]]:
    """Two connectors, deliveries with retries, a dead letter and a replay, links."""
    log = EventLog()
    gh = {"connector_id": "conn-github-1"}
    jira = {"connector_id": "conn-jira-1", "provider": "jira", "connector_type": "polling"}
    log.add(CONNECTOR_PROVISIONED, **gh)
    log.add(CONNECTOR_PROVISIONED, **jira)
    log.add(CONNECTOR_HEALTH_CHECKED, **gh)
    log.add(CONNECTOR_HEALTH_CHECKED, **jira)
    log.add(SYNC_RETRY_SCHEDULED, **gh, delivery_id="d1", retry_attempt=1)
    log.add(SYNC_RETRY_SCHEDULED, **gh, delivery_id="d1", retry_attempt=2)
    log.add(SYNC_INGEST_ACCEPTED, **gh, delivery_id="d1", ingested_count=12)
    log.add(CONNECTOR_HEALTH_CHECKED, **gh)
    log.add(CONNECTOR_HEALTH_CHECKED, **jira, health_status="unreachable")
    log.add(SYNC_RETRY_SCHEDULED, connector_id="conn-jira-1", delivery_id="d2")
    log.add(SYNC_DEAD_LETTERED, connector_id="conn-jira-1", delivery_id="d2")
    log.add(CONNECTOR_RECONNECTED, **jira, previous_state="degraded")
    log.add(SYNC_REPLAY_COMPLETED, connector_id="conn-jira-1", delivery_id="d2")
    log.add(EXTERNAL_REFERENCE_LINKED, **gh)
    log.add(CONNECTOR_REVOKED, **gh)
    return log.events


def test_replay_json_has_exactly_the_section_6_keys() -> None:
    data = json.loads(replay(a_day()).to_json())
    assert set(data) == SECTION_6_KEYS
    assert data["contract_version"] == CONTRACT_VERSION == "2.7.0"
    assert sorted(data["connectors"]) == ["conn-github-1", "conn-jira-1"]
    assert sorted(data["sync"]) == ["conn-github-1", "conn-jira-1"]


def test_replay_of_a_day() -> None:
    result = replay(a_day())
    assert (result.event_count, result.duplicates_dropped, result.ignored_event_count) == (15, 0, 0)
    assert result.anomalies == ()
    gh, jira = result.connectors["conn-github-1"], result.connectors["conn-jira-1"]
    assert (gh.current_state, jira.current_state) == (
        ConnectorState.REVOKED,
        ConnectorState.RECONNECTED,
    )
    assert gh.anomalies == jira.anomalies == ()
    assert result.sync["conn-github-1"].ingested_items == 12
    assert result.sync["conn-jira-1"].replayed_items == 4
    assert len(result.external_links.links) == 1


def test_to_json_is_canonical() -> None:
    raw = replay(a_day()).to_json()
    assert raw.endswith(b"}\n")
    again = json.dumps(json.loads(raw), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert raw.decode() == again
    assert replay(a_day()).to_json() == raw


def test_reversed_input_gives_identical_bytes() -> None:
    events = a_day()
    assert replay(reversed(events)).to_json() == replay(events).to_json()


def test_events_and_mappings_are_interchangeable() -> None:
    events = a_day()
    mixed: list[Event | dict[str, Any]] = [
        Event.model_validate(e) if i % 2 else e for i, e in enumerate(events)
    ]
    assert replay(mixed).to_json() == replay(events).to_json()
    assert replay(iter(events)).to_json() == replay(events).to_json()


def test_family_reducers_agree_with_replay() -> None:
    events = a_day()
    result = replay(events)
    assert reduce_connector_events(events).connectors == result.connectors
    assert reduce_sync_events(events).sync == result.sync
    assert reduce_external_links(events).links == result.external_links.links


def test_other_event_types_are_counted_and_ignored() -> None:
    events = [*a_day(), envelope("MissionCreated", {"mission_id": "m"}, seq=99)]
    result = replay(events)
    assert (result.event_count, result.ignored_event_count) == (16, 1)
    assert result.anomalies == ()
    assert result.connectors == replay(a_day()).connectors


@pytest.mark.parametrize(
    "broken",
    [
        {"event_id": "not-an-id"},
        {"timestamp": "2026-11-25T08:00:00"},
        {"lamport_clock": True},
        {"payload": []},
    ],
)
def test_malformed_envelope_is_a_stream_level_anomaly(broken: dict[str, Any]) -> None:
    bad = envelope(CONNECTOR_HEALTH_CHECKED, seq=50) | broken
    result = replay([*a_day(), bad])
    [anomaly] = result.anomalies
    assert anomaly.kind == "malformed_envelope"
    assert anomaly.event_id == bad["event_id"]
    assert result.event_count == 15
    assert result.connectors == replay(a_day()).connectors


def test_stream_anomalies_are_ordered_by_kind_event_id_message() -> None:
    events = [
        envelope(CONNECTOR_PROVISIONED, {"no": "connector"}, seq=3),
        envelope(CONNECTOR_PROVISIONED, seq=2) | {"timestamp": "bad"},
        envelope(SYNC_INGEST_ACCEPTED, {"no": "connector"}, seq=1),
        envelope(CONNECTOR_PROVISIONED, seq=4) | {"timestamp": "bad"},
    ]
    expected = [
        ("malformed_envelope", ulid(2)),
        ("malformed_envelope", ulid(4)),
        ("malformed_payload", ulid(1)),
        ("malformed_payload", ulid(3)),
    ]
    for order in (events, events[::-1]):
        assert [(a.kind, a.event_id) for a in replay(order).anomalies] == expected


def test_an_integer_beyond_a_fields_bound_is_a_malformed_payload() -> None:
    # Within the input limits (at most 2**64 - 1) but above a count's 2**63 - 1.
    big = envelope(
        SYNC_INGEST_ACCEPTED, payload_for(SYNC_INGEST_ACCEPTED, ingested_count=2**64 - 1)
    )
    result = replay([big])
    assert [a.kind for a in result.sync["conn-github-1"].anomalies] == ["malformed_payload"]
    assert replay([big, big]).duplicates_dropped == 1


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (2**64, "integer_out_of_range"),
        (-(2**63) - 1, "integer_out_of_range"),
        (float("nan"), "non_finite_number"),
        (float("-inf"), "non_finite_number"),
        ("\ud800", "invalid_unicode"),
    ],
)
def test_a_value_beyond_the_input_limits_makes_the_whole_envelope_malformed(
    value: object, code: str
) -> None:
    # Specification section 8: also inside unknown fields, and as the CLI says of the line.
    for where in ("payload", "envelope"):
        event = envelope(SYNC_INGEST_ACCEPTED, payload_for(SYNC_INGEST_ACCEPTED))
        holder = event["payload"] if where == "payload" else event
        holder["x_newer_field"] = {"list": [1, value]}
        result = replay([event])
        assert result.sync == {}
        path = (
            "$.payload.x_newer_field.list[1]" if where == "payload" else "$.x_newer_field.list[1]"
        )
        assert [(a.kind, a.event_id) for a in result.anomalies] == [("malformed_envelope", None)]
        assert result.anomalies[0].message.startswith(f"{path}: {code}: ")


def test_nesting_deeper_than_64_levels_makes_the_envelope_malformed() -> None:
    event = envelope(SYNC_INGEST_ACCEPTED, payload_for(SYNC_INGEST_ACCEPTED))
    deep: dict[str, object] = {}
    event["payload"]["x_newer_field"] = deep
    for _ in range(63):
        deep["d"] = {}
        deep = deep["d"]  # type: ignore[assignment]
    assert [a.kind for a in replay([event]).anomalies] == ["malformed_envelope"]


# --------------------------------------------------------------------------- dedup


def test_identical_duplicates_are_dropped_and_counted() -> None:
    events = a_day()
    result = replay([*events, events[0], events[3], events[3]])
    assert result.duplicates_dropped == 3
    assert result.event_count == 15
    assert result.anomalies == ()
    assert result.connectors == replay(events).connectors


def test_duplicates_in_another_spelling_are_identical() -> None:
    event = envelope(CONNECTOR_PROVISIONED, seq=1)
    respelled = event | {
        "event_id": event["event_id"].lower(),
        "timestamp": "2026-11-25T13:01:00+05:00",
        "project_uuid": event["project_uuid"].upper().replace("-", ""),
    }
    result = replay([event, respelled])
    assert (result.event_count, result.duplicates_dropped) == (1, 1)
    assert result.anomalies == ()


def test_differing_duplicates_keep_the_smallest_canonical_json() -> None:
    # Same event_id and sort key; the canonical JSON of the copies first differs
    # at payload.health_status, and "degraded" < "healthy": the degraded copy wins.
    provisioned = envelope(CONNECTOR_PROVISIONED, seq=1)
    healthy = envelope(CONNECTOR_HEALTH_CHECKED, seq=2)
    degraded = envelope(
        CONNECTOR_HEALTH_CHECKED,
        payload_for(CONNECTOR_HEALTH_CHECKED, at=2, health_status="degraded"),
        seq=2,
    )
    outputs = set()
    for copies in ([healthy, degraded], [degraded, healthy]):
        result = replay([provisioned, *copies])
        state = result.connectors["conn-github-1"]
        assert state.current_state is ConnectorState.DEGRADED
        assert [(a.kind, a.event_id) for a in result.anomalies] == [
            ("conflicting_duplicate", healthy["event_id"])
        ]
        assert (result.event_count, result.duplicates_dropped) == (2, 0)
        outputs.add(result.to_json())
    assert len(outputs) == 1


def test_differing_duplicates_keep_the_smallest_sort_key() -> None:
    provisioned = envelope(CONNECTOR_PROVISIONED, seq=1)
    # Same event_id; the copy with the smaller lamport clock wins wherever it is.
    early = envelope(CONNECTOR_DEGRADED, seq=5, event_id=ulid(9), lamport_clock=2)
    late = envelope(CONNECTOR_REVOKED, seq=5, event_id=ulid(9), lamport_clock=7)
    for order in ([provisioned, late, early], [early, provisioned, late]):
        result = replay(order)
        assert result.connectors["conn-github-1"].current_state is ConnectorState.DEGRADED
        assert [a.kind for a in result.anomalies] == ["conflicting_duplicate"]


def test_identical_and_differing_copies_are_counted_apart() -> None:
    provisioned = envelope(CONNECTOR_PROVISIONED, seq=1)
    variant = provisioned | {"node_id": "node-z"}
    for order in (
        [provisioned, provisioned, variant],
        [variant, provisioned, provisioned],
        [provisioned, variant, provisioned, variant],
    ):
        result = replay(order)
        assert result.event_count == 1
        assert result.duplicates_dropped == len(order) - 2
        assert [a.kind for a in result.anomalies] == ["conflicting_duplicate"]


# --------------------------------------------------------------------------- logs


def _has_log_keys(data: object) -> bool:
    if isinstance(data, dict):
        return bool(LOG_KEYS & data.keys()) or any(_has_log_keys(v) for v in data.values())
    if isinstance(data, list):
        return any(_has_log_keys(v) for v in data)
    return False


def _strip_logs(data: object) -> object:
    if isinstance(data, dict):
        return {k: _strip_logs(v) for k, v in data.items() if k not in LOG_KEYS}
    if isinstance(data, list):
        return [_strip_logs(v) for v in data]
    return data


def test_to_dict_without_logs_drops_only_the_logs() -> None:
    result = replay(a_day())
    full = result.to_dict()
    slim = result.to_dict(include_logs=False)
    assert _has_log_keys(full)
    assert not _has_log_keys(slim)
    assert slim == _strip_logs(full)
    assert json.loads(result.to_json(include_logs=False)) == slim


def test_projection_without_logs_keeps_everything_else() -> None:
    projection = Projection(include_logs=False)
    for event in a_day():
        projection.apply(event)
    lean = projection.result()
    for state in lean.connectors.values():
        assert state.transition_log is None
    for sync in lean.sync.values():
        assert sync.outcome_log is None
        assert sync.deliveries is None
    full = replay(a_day())
    assert lean.to_json(include_logs=False) == full.to_json(include_logs=False)


def test_per_connector_results_drop_logs_too() -> None:
    result = replay(a_day())
    state = result.connectors["conn-github-1"].to_dict(include_logs=False)
    assert "transition_log" not in state
    assert state["current_state"] == "revoked"
    sync = result.sync["conn-github-1"].to_dict(include_logs=False)
    assert not LOG_KEYS & sync.keys()
    assert sync["ingested_items"] == 12


# --------------------------------------------------------------------------- incremental


def test_projection_apply_over_sorted_input_equals_replay() -> None:
    projection = Projection()
    for event in a_day():
        projection.apply(event)
    assert projection.result().to_json() == replay(a_day()).to_json()


def test_projection_drops_duplicates_as_they_arrive() -> None:
    events = a_day()
    projection = Projection()
    for event in [*events[:3], events[1], *events[3:]]:
        projection.apply(event)
    result = projection.result()
    assert result.duplicates_dropped == 1
    assert result.to_json() == replay([*events, events[1]]).to_json()


def test_projection_records_a_malformed_envelope() -> None:
    projection = Projection()
    projection.apply(envelope(CONNECTOR_PROVISIONED) | {"event_id": 5})
    result = projection.result()
    assert [(a.kind, a.event_id) for a in result.anomalies] == [("malformed_envelope", None)]
    assert result.event_count == 0


# --------------------------------------------------------------------------- shape and order


def test_state_field_names_are_the_contracts() -> None:
    data = json.loads(replay(a_day()).to_json())
    assert set(data["connectors"]["conn-github-1"]) == {
        "connector_id",
        "connector_type",
        "provider",
        "mission_id",
        "current_state",
        "last_transition_at",
        "last_health_check_at",
        "last_health_status",
        "last_latency_ms",
        "event_count",
        "transition_log",
        "anomalies",
    }
    sync = data["sync"]["conn-jira-1"]
    assert set(sync) == {
        "connector_id",
        "outcome_counts",
        "ingested_items",
        "replayed_items",
        "pending_retries",
        "outcome_log",
        "deliveries",
        "anomalies",
    }
    assert sync["outcome_counts"] == {
        "accepted": 0,
        "rejected": 0,
        "retry_scheduled": 1,
        "dead_lettered": 1,
        "replay_completed": 1,
    }
    assert set(sync["deliveries"][0]) == {
        "delivery_id",
        "source_event_fingerprint",
        "status",
        "attempts",
        "last_event_id",
    }
    assert data["connectors"]["conn-jira-1"]["last_transition_at"].endswith("Z")


def test_replay_orders_by_instant_not_by_timestamp_text() -> None:
    # Same clock. As text "…09:00:00Z" sorts first; as instants 13:00+05:00 is 08:00Z,
    # so provisioning comes first and the health check is a valid transition.
    check = envelope(CONNECTOR_HEALTH_CHECKED, seq=1, timestamp="2026-11-25T09:00:00Z")
    provision = envelope(
        CONNECTOR_PROVISIONED, seq=2, lamport_clock=1, timestamp="2026-11-25T13:00:00+05:00"
    )
    for order in ([check, provision], [provision, check]):
        state = replay(order).connectors["conn-github-1"]
        assert state.anomalies == ()
        assert state.current_state is ConnectorState.HEALTHY
