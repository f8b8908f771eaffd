"""Connector lifecycle reducer (FR-006; docs/specification.md section 3).

The transition matrix is generated from the registry tables: every
(current state, target state) pair, reached through an allowed path and then
driven by every event that targets that state.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any, Final, NamedTuple

import pytest

from connector_sync_contracts import (
    ALLOWED_TRANSITIONS,
    CONNECTOR_DEGRADED,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    CONNECTOR_RECONNECTED,
    CONNECTOR_REVOKED,
    DEFAULT_MAX_RECONNECT_CYCLES,
    SYNC_INGEST_ACCEPTED,
    ConnectorState,
    HealthStatus,
    ReducedConnectorState,
    reduce_connector_events,
    replay,
)
from connector_sync_contracts.contract.catalog import CONNECTOR_TARGET_STATES
from connector_sync_contracts.contract.lifecycle import HEALTH_STATUS_TARGETS, OBSERVATION_STATES
from tests.support.factories import EventLog, envelope, iso, payload_for

CID: Final = "conn-github-1"
S = ConnectorState


class Driver(NamedTuple):
    """An event that moves a connector to ``target``."""

    event_type: str
    fields: dict[str, Any]
    target: ConnectorState

    @property
    def label(self) -> str:
        status = self.fields.get("health_status")
        return f"{self.event_type}({status})" if status else self.event_type


def _drivers() -> list[Driver]:
    found = [
        Driver(event_type, {}, target) for event_type, target in CONNECTOR_TARGET_STATES.items()
    ]
    found += [
        Driver(CONNECTOR_HEALTH_CHECKED, {"health_status": status.value}, target)
        for status, target in HEALTH_STATUS_TARGETS.items()
    ]
    return sorted(found, key=lambda d: (d.target.value, d.label))


DRIVERS: Final = _drivers()


def _path_to(state: ConnectorState | None) -> list[ConnectorState]:
    """Shortest sequence of allowed transitions from nothing to ``state`` (BFS on the table)."""
    paths: dict[ConnectorState | None, list[ConnectorState]] = {None: []}
    queue: deque[ConnectorState | None] = deque([None])
    while queue:
        current = queue.popleft()
        for target in sorted(ALLOWED_TRANSITIONS[current], key=lambda s: s.value):
            if target not in paths:
                paths[target] = [*paths[current], target]
                queue.append(target)
    return paths[state]


def _driver_for(target: ConnectorState) -> Driver:
    return next(d for d in DRIVERS if d.target is target)


def add(log: EventLog, driver: Driver, current: ConnectorState | None) -> dict[str, Any]:
    fields = dict(driver.fields)
    if driver.event_type == CONNECTOR_RECONNECTED and current is not None:
        fields["previous_state"] = current.value
    return log.add(driver.event_type, connector_id=CID, **fields)


def walk(log: EventLog, path: list[ConnectorState]) -> None:
    current: ConnectorState | None = None
    for target in path:
        add(log, _driver_for(target), current)
        current = target


def reduce_one(log: EventLog, **kwargs: Any) -> ReducedConnectorState:
    return reduce_connector_events(log.events, **kwargs).connectors[CID]


def kinds(state: ReducedConnectorState) -> list[str]:
    return [a.kind for a in state.anomalies]


def recorded(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["payload"]["recorded_at"].replace("Z", "+00:00"))


MATRIX: Final = [
    pytest.param(current, driver, id=f"{current.value if current else 'none'}->{driver.label}")
    for current in [None, *ConnectorState]
    for driver in DRIVERS
]


# --------------------------------------------------------------------------- the tables


def test_transition_table_is_fr006() -> None:
    assert dict(ALLOWED_TRANSITIONS) == {
        None: {S.PROVISIONED},
        S.PROVISIONED: {S.HEALTHY, S.DEGRADED, S.REVOKED},
        S.HEALTHY: {S.DEGRADED, S.REVOKED},
        S.DEGRADED: {S.HEALTHY, S.REVOKED, S.RECONNECTED},
        S.REVOKED: {S.RECONNECTED},
        S.RECONNECTED: {S.HEALTHY, S.DEGRADED, S.REVOKED},
    }
    assert {S.HEALTHY, S.DEGRADED} == OBSERVATION_STATES


def test_a_failing_health_check_never_targets_healthy() -> None:
    assert dict(HEALTH_STATUS_TARGETS) == {
        HealthStatus.HEALTHY: S.HEALTHY,
        HealthStatus.DEGRADED: S.DEGRADED,
        HealthStatus.UNREACHABLE: S.DEGRADED,
    }


def test_every_state_is_reachable_and_targeted() -> None:
    for state in ConnectorState:
        assert _path_to(state)[-1] is state
        assert any(d.target is state for d in DRIVERS)


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize(("current", "driver"), MATRIX)
def test_transition_matrix(current: ConnectorState | None, driver: Driver) -> None:
    log = EventLog()
    path = _path_to(current) if current is not None else []
    walk(log, path)
    before = reduce_one(log) if path else None
    assert before is None or (before.current_state is current and before.anomalies == ())

    last = add(log, driver, current)
    after = reduce_one(log)
    log_before = [(e["event_id"], t) for e, t in zip(log.events[: len(path)], path, strict=True)]
    assert after.event_count == len(path) + 1

    if current is driver.target and driver.target in OBSERVATION_STATES:
        # An observation: no transition, no anomaly, health fields updated.
        assert after.current_state is current
        assert after.anomalies == ()
        assert after.transition_log == tuple(log_before)
        assert before is not None
        assert after.last_transition_at == before.last_transition_at
    elif driver.target in ALLOWED_TRANSITIONS[current]:
        assert after.current_state is driver.target
        assert after.anomalies == ()
        assert after.transition_log == (*log_before, (last["event_id"], driver.target))
        assert after.last_transition_at == recorded(last)
    else:
        assert kinds(after) == ["invalid_transition"]
        assert after.anomalies[0].event_id == last["event_id"]
        assert after.current_state is current
        assert after.transition_log == tuple(log_before)
        assert after.last_transition_at == (before.last_transition_at if before else None)

    applied = after.current_state is driver.target
    if driver.event_type == CONNECTOR_HEALTH_CHECKED and applied:
        assert after.last_health_check_at == recorded(last)
        assert after.last_health_status == HealthStatus(driver.fields["health_status"])
        assert after.last_latency_ms == last["payload"]["latency_ms"]
    elif driver.event_type == CONNECTOR_HEALTH_CHECKED:
        # A rejected health check does not overwrite the health fields.
        assert after.last_health_check_at is None
        assert after.last_health_status is None


def test_invalid_transition_message_names_both_states() -> None:
    log = EventLog()
    log.add(CONNECTOR_REVOKED, connector_id=CID)
    [anomaly] = reduce_one(log).anomalies
    assert anomaly.kind == "invalid_transition"
    assert "none" in anomaly.message
    assert "revoked" in anomaly.message


# --------------------------------------------------------------------------- health checks


def test_unreachable_health_check_after_provisioning_ends_degraded() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    check = log.add(
        CONNECTOR_HEALTH_CHECKED, connector_id=CID, health_status="unreachable", latency_ms=0
    )
    state = reduce_one(log)
    assert state.current_state is S.DEGRADED
    assert state.last_health_status is HealthStatus.UNREACHABLE
    assert state.last_latency_ms == 0
    assert state.transition_log is not None
    assert state.transition_log[-1] == (check["event_id"], S.DEGRADED)
    assert state.anomalies == ()


def test_ten_periodic_healthy_checks_raise_no_anomaly() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    checks = [
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, latency_ms=10.0 + n) for n in range(10)
    ]
    state = reduce_one(log)
    assert state.anomalies == ()
    assert state.current_state is S.HEALTHY
    assert state.event_count == 11
    # Only the first check is a transition; the other nine are observations.
    assert state.transition_log == (
        (log.events[0]["event_id"], S.PROVISIONED),
        (checks[0]["event_id"], S.HEALTHY),
    )
    assert state.last_transition_at == recorded(checks[0])
    assert state.last_health_check_at == recorded(checks[-1])
    assert state.last_latency_ms == 19.0


@pytest.mark.parametrize("status", ["degraded", "unreachable"])
def test_repeated_failing_checks_are_observations(status: str) -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    log.add(CONNECTOR_DEGRADED, connector_id=CID)
    checks = [
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, health_status=status, latency_ms=n)
        for n in range(3)
    ]
    state = reduce_one(log)
    assert state.anomalies == ()
    assert state.current_state is S.DEGRADED
    assert state.transition_log is not None
    assert len(state.transition_log) == 2
    assert state.last_health_check_at == recorded(checks[-1])
    assert state.last_health_status is HealthStatus(status)


# --------------------------------------------------------------------------- anomalies


@pytest.mark.parametrize(
    ("payload_fields", "field"),
    [
        ({"latency_ms": -1}, "latency_ms"),
        ({"health_status": "sleeping"}, "health_status"),
        ({"endpoint_url": "https://user:token@api.github.com"}, "endpoint_url"),
        ({"recorded_at": "2026-11-25T08:00:00"}, "recorded_at"),
    ],
)
def test_malformed_payload_is_an_anomaly_on_its_connector(
    payload_fields: dict[str, Any], field: str
) -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    bad = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, **payload_fields)
    log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID)
    result = reduce_connector_events(log.events)
    state = result.connectors[CID]
    assert kinds(state) == ["malformed_payload"]
    assert state.anomalies[0].event_id == bad["event_id"]
    assert f"payload.{field}" in state.anomalies[0].message
    # Skipped, but counted; the following valid check still applies.
    assert state.event_count == 3
    assert state.current_state is S.HEALTHY
    assert result.anomalies == ()


def test_malformed_payload_never_echoes_credentials() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, endpoint_url="https://bot:s3cr3t-t0ken@api.github.com/x")
    result = replay(log.events)
    assert kinds(result.connectors[CID]) == ["malformed_payload"]
    assert b"s3cr3t-t0ken" not in result.to_json()


@pytest.mark.parametrize("connector_id", ["<missing>", "", 42, None, ["c1"]])
def test_malformed_payload_without_readable_connector_is_stream_level(
    connector_id: object,
) -> None:
    payload = payload_for(CONNECTOR_PROVISIONED, at=1)
    if connector_id == "<missing>":
        del payload["connector_id"]
    else:
        payload["connector_id"] = connector_id
    good = envelope(
        CONNECTOR_PROVISIONED, payload_for(CONNECTOR_PROVISIONED, connector_id="conn-ok")
    )
    bad = envelope(CONNECTOR_PROVISIONED, payload, seq=2)
    result = reduce_connector_events([good, bad])
    assert list(result.connectors) == ["conn-ok"]
    assert result.connectors["conn-ok"].anomalies == ()
    [anomaly] = result.anomalies
    assert anomaly.kind == "malformed_payload"
    assert anomaly.event_id == bad["event_id"]
    assert "connector_id" in anomaly.message


def test_previous_state_mismatch_is_recorded_and_applied() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    log.add(CONNECTOR_DEGRADED, connector_id=CID)
    reconnect = log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="revoked")
    state = reduce_one(log)
    assert kinds(state) == ["previous_state_mismatch"]
    assert state.anomalies[0].event_id == reconnect["event_id"]
    assert state.current_state is S.RECONNECTED
    assert state.transition_log is not None
    assert state.transition_log[-1] == (reconnect["event_id"], S.RECONNECTED)


def test_matching_previous_state_is_not_an_anomaly() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    log.add(CONNECTOR_REVOKED, connector_id=CID)
    log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="revoked")
    state = reduce_one(log)
    assert state.anomalies == ()
    assert state.current_state is S.RECONNECTED


def _reconnect_cycles(log: EventLog, cycles: int) -> list[dict[str, Any]]:
    """Provision, then ``cycles`` times degrade and reconnect without ever being healthy."""
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    reconnects = []
    for _ in range(cycles):
        log.add(CONNECTOR_DEGRADED, connector_id=CID)
        reconnects.append(
            log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="degraded")
        )
    return reconnects


def test_reconnect_loop_default_limit_is_three() -> None:
    assert DEFAULT_MAX_RECONNECT_CYCLES == 3
    log = EventLog()
    _reconnect_cycles(log, 3)
    assert reduce_one(log).anomalies == ()
    log = EventLog()
    reconnects = _reconnect_cycles(log, 5)
    state = reduce_one(log)
    assert kinds(state) == ["reconnect_loop", "reconnect_loop"]
    assert [a.event_id for a in state.anomalies] == [e["event_id"] for e in reconnects[3:]]
    # Still applied.
    assert state.current_state is S.RECONNECTED
    assert state.transition_log is not None
    assert state.transition_log[-1] == (reconnects[-1]["event_id"], S.RECONNECTED)


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_reconnect_loop_custom_limit(limit: int) -> None:
    log = EventLog()
    reconnects = _reconnect_cycles(log, limit + 2)
    expected = [e["event_id"] for e in reconnects[limit:]]
    by_connector = reduce_one(log, max_reconnect_cycles=limit)
    by_replay = replay(log.events, max_reconnect_cycles=limit).connectors[CID]
    for state in (by_connector, by_replay):
        assert kinds(state) == ["reconnect_loop"] * 2
        assert [a.event_id for a in state.anomalies] == expected


def test_reaching_healthy_resets_the_reconnect_count() -> None:
    log = EventLog()
    _reconnect_cycles(log, 3)
    log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID)
    for _ in range(3):
        log.add(CONNECTOR_DEGRADED, connector_id=CID)
        log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="degraded")
    assert reduce_one(log).anomalies == ()


def test_revoked_reconnect_cycles_count_too() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    for _ in range(4):
        log.add(CONNECTOR_REVOKED, connector_id=CID)
        log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="revoked")
    assert kinds(reduce_one(log)) == ["reconnect_loop"]


@pytest.mark.parametrize(
    "change", [{"provider": "jira"}, {"connector_type": "polling"}, {"provider": "GitHub"}]
)
def test_identity_changed_keeps_the_first_values(change: dict[str, Any]) -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    odd = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, **change)
    state = reduce_one(log)
    assert kinds(state) == ["identity_changed"]
    assert state.anomalies[0].event_id == odd["event_id"]
    assert (state.provider, state.connector_type) == ("github", "webhook")
    assert state.current_state is S.HEALTHY


def test_identity_comes_from_the_first_accepted_event() -> None:
    # A stray event that is not applied (a health check before provisioning)
    # must not decide who the connector is.
    log = EventLog()
    stray = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, provider="jira")
    log.add(CONNECTOR_PROVISIONED, connector_id=CID, provider="github", mission_id="m-real")
    state = reduce_one(log)
    assert kinds(state) == ["invalid_transition"]
    assert state.anomalies[0].event_id == stray["event_id"]
    assert (state.provider, state.connector_type, state.mission_id) == (
        "github",
        "webhook",
        "m-real",
    )


def test_identity_is_null_when_nothing_was_accepted() -> None:
    log = EventLog()
    log.add(CONNECTOR_REVOKED, connector_id=CID)
    state = reduce_one(log)
    assert state.current_state is None
    assert (state.provider, state.connector_type, state.mission_id) == (None, None, None)


def test_semantic_violation_is_recorded_and_applied() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    degraded = log.add(CONNECTOR_DEGRADED, connector_id=CID, last_healthy_at=iso(60))
    state = reduce_one(log)
    assert kinds(state) == ["semantic_violation"]
    assert state.anomalies[0].event_id == degraded["event_id"]
    assert "last_healthy_at" in state.anomalies[0].message
    assert state.current_state is S.DEGRADED


def test_last_healthy_at_equal_to_recorded_at_is_fine() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    log.add(CONNECTOR_DEGRADED, connector_id=CID, last_healthy_at=iso(2))
    assert reduce_one(log).anomalies == ()


# --------------------------------------------------------------------------- partitioning


def test_connectors_in_one_log_have_independent_states() -> None:
    log = EventLog()
    b = {"connector_id": "conn-b", "provider": "jira"}
    a = {"connector_id": "conn-a", "provider": "github"}
    log.add(CONNECTOR_PROVISIONED, **b)
    log.add(CONNECTOR_PROVISIONED, **a)
    log.add(CONNECTOR_HEALTH_CHECKED, **a)
    log.add(CONNECTOR_HEALTH_CHECKED, **b, health_status="unreachable")
    log.add(CONNECTOR_REVOKED, **a)
    log.add(CONNECTOR_RECONNECTED, **b, previous_state="degraded")
    log.add(CONNECTOR_PROVISIONED, connector_id="conn-c", provider="slack")
    result = reduce_connector_events(log.events)
    assert list(result.connectors) == ["conn-a", "conn-b", "conn-c"]
    sa, sb, sc = (result.connectors[k] for k in ("conn-a", "conn-b", "conn-c"))
    assert (sa.current_state, sb.current_state, sc.current_state) == (
        S.REVOKED,
        S.RECONNECTED,
        S.PROVISIONED,
    )
    assert (sa.provider, sb.provider, sc.provider) == ("github", "jira", "slack")
    assert (sa.event_count, sb.event_count, sc.event_count) == (3, 3, 1)
    assert sa.anomalies == sb.anomalies == sc.anomalies == ()
    assert sa.transition_log is not None
    assert sb.transition_log is not None
    assert [s for _, s in sa.transition_log] == [S.PROVISIONED, S.HEALTHY, S.REVOKED]
    assert [s for _, s in sb.transition_log] == [S.PROVISIONED, S.DEGRADED, S.RECONNECTED]


def test_connector_reducer_ignores_other_families() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    log.add(SYNC_INGEST_ACCEPTED, connector_id=CID)
    result = reduce_connector_events(log.events)
    assert result.event_count == 2
    assert result.ignored_event_count == 1
    assert result.connectors[CID].event_count == 1


def test_empty_log_gives_empty_projection() -> None:
    result = reduce_connector_events([])
    assert result.connectors == {}
    assert (result.event_count, result.duplicates_dropped, result.ignored_event_count) == (0, 0, 0)
