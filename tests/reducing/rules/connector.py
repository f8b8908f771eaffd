"""Connector lifecycle rules (FR-006; specification sections 3 and 8), for every engine.

The transition matrix covers every (current state, driving event) pair:
the state is reached through allowed transitions, then every event (and
every health status) is applied to it. The expected outcome of each cell
comes from the tables of specification section 3, written out here
(``SPEC_TRANSITIONS``, ``SPEC_OBSERVATIONS``, ``SPEC_TARGETS``,
``SPEC_HEALTH_TARGETS``), not from the package's own tables: a table
changed in the code must fail the matrix, not move its expectations.
``test_the_contract_tables_are_the_specifications`` holds the two equal.
"""

from __future__ import annotations

import json
import math
from collections import deque
from datetime import datetime
from typing import Any, Final, NamedTuple

import pytest

from connector_sync_contracts import (
    ALLOWED_TRANSITIONS,
    CONNECTOR_DEGRADED,
    CONNECTOR_EVENT_TYPES,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    CONNECTOR_RECONNECTED,
    CONNECTOR_REVOKED,
    DEFAULT_MAX_RECONNECT_CYCLES,
    ConnectorState,
    HealthStatus,
    ReducedConnectorState,
)
from connector_sync_contracts.contract.catalog import CONNECTOR_TARGET_STATES
from connector_sync_contracts.contract.lifecycle import HEALTH_STATUS_TARGETS, OBSERVATION_STATES
from tests.reducing.rules.base import RuleCase
from tests.support.factories import EventLog, envelope, iso, payload_for

__all__ = [
    "CID",
    "DRIVERS",
    "MATRIX",
    "SPEC_HEALTH_TARGETS",
    "SPEC_OBSERVATIONS",
    "SPEC_TARGETS",
    "SPEC_TRANSITIONS",
    "ConnectorRules",
    "Driver",
    "path_to",
    "recorded",
]

CID: Final = "conn-github-1"
"""The connector every single-connector log is about (the factories' default)."""

S = ConnectorState

SPEC_TRANSITIONS: Final[dict[ConnectorState | None, frozenset[ConnectorState]]] = {
    None: frozenset({S.PROVISIONED}),
    S.PROVISIONED: frozenset({S.HEALTHY, S.DEGRADED, S.REVOKED}),
    S.HEALTHY: frozenset({S.DEGRADED, S.REVOKED}),
    S.DEGRADED: frozenset({S.HEALTHY, S.REVOKED, S.RECONNECTED}),
    S.REVOKED: frozenset({S.RECONNECTED}),
    S.RECONNECTED: frozenset({S.HEALTHY, S.DEGRADED, S.REVOKED}),
}
"""Section 3, "Allowed transitions (FR-006)": current state -> allowed targets."""

SPEC_OBSERVATIONS: Final = frozenset({S.HEALTHY, S.DEGRADED})
"""Section 3: healthy -> healthy and degraded -> degraded are observations."""

SPEC_TARGETS: Final[dict[str, ConnectorState]] = {
    CONNECTOR_PROVISIONED: S.PROVISIONED,
    CONNECTOR_DEGRADED: S.DEGRADED,
    CONNECTOR_REVOKED: S.REVOKED,
    CONNECTOR_RECONNECTED: S.RECONNECTED,
}
"""Section 3, "Target state of an event" (the health check's depends on its status)."""

SPEC_HEALTH_TARGETS: Final[dict[HealthStatus, ConnectorState]] = {
    HealthStatus.HEALTHY: S.HEALTHY,
    HealthStatus.DEGRADED: S.DEGRADED,
    HealthStatus.UNREACHABLE: S.DEGRADED,
}
"""Section 3: a health check targets healthy only when its status is healthy."""


class Driver(NamedTuple):
    """An event that moves a connector to ``target``."""

    event_type: str
    fields: dict[str, Any]
    target: ConnectorState

    @property
    def label(self) -> str:
        """The event type, with its health status when it has one."""
        status = self.fields.get("health_status")
        return f"{self.event_type}({status})" if status else self.event_type


def _drivers() -> list[Driver]:
    found = [Driver(event_type, {}, target) for event_type, target in SPEC_TARGETS.items()]
    found += [
        Driver(CONNECTOR_HEALTH_CHECKED, {"health_status": status.value}, target)
        for status, target in SPEC_HEALTH_TARGETS.items()
    ]
    return sorted(found, key=lambda d: (d.target.value, d.label))


DRIVERS: Final = _drivers()
"""Every event (and health status) that targets a state, from the specification's tables."""


def path_to(state: ConnectorState | None) -> list[ConnectorState]:
    """Shortest sequence of allowed transitions from nothing to ``state`` (BFS on the table)."""
    paths: dict[ConnectorState | None, list[ConnectorState]] = {None: []}
    queue: deque[ConnectorState | None] = deque([None])
    while queue:
        current = queue.popleft()
        for target in sorted(SPEC_TRANSITIONS[current], key=lambda s: s.value):
            if target not in paths:
                paths[target] = [*paths[current], target]
                queue.append(target)
    return paths[state]


def _driver_for(target: ConnectorState) -> Driver:
    return next(d for d in DRIVERS if d.target is target)


def _add(log: EventLog, driver: Driver, current: ConnectorState | None) -> dict[str, Any]:
    fields = dict(driver.fields)
    if driver.event_type == CONNECTOR_RECONNECTED and current is not None:
        fields["previous_state"] = current.value
    return log.add(driver.event_type, connector_id=CID, **fields)


def _walk(log: EventLog, path: list[ConnectorState]) -> None:
    current: ConnectorState | None = None
    for target in path:
        _add(log, _driver_for(target), current)
        current = target


def kinds(state: ReducedConnectorState) -> list[str]:
    """The kinds of a connector's anomalies, in fold order."""
    return [a.kind for a in state.anomalies]


def recorded(event: dict[str, Any]) -> datetime:
    """The ``recorded_at`` of a built event, as an aware datetime."""
    return datetime.fromisoformat(event["payload"]["recorded_at"].replace("Z", "+00:00"))


MATRIX: Final = [
    pytest.param(current, driver, id=f"{current.value if current else 'none'}->{driver.label}")
    for current in [None, *ConnectorState]
    for driver in DRIVERS
]
"""Every (current state, driving event) pair."""


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


class ConnectorRules(RuleCase):
    """Section 3: the connector state machine, its observations and its anomalies."""

    def one(self, log: EventLog, **kwargs: Any) -> ReducedConnectorState:
        """The state of connector ``CID`` after replaying ``log`` with this engine."""
        return self.replay_log(log.events, **kwargs).connectors[CID]

    # ----------------------------------------------------------------------- the matrix

    def test_the_contract_tables_are_the_specifications(self) -> None:
        assert dict(ALLOWED_TRANSITIONS) == SPEC_TRANSITIONS
        assert OBSERVATION_STATES == SPEC_OBSERVATIONS
        assert dict(HEALTH_STATUS_TARGETS) == SPEC_HEALTH_TARGETS
        assert dict(CONNECTOR_TARGET_STATES) == SPEC_TARGETS
        assert set(SPEC_TARGETS) | {CONNECTOR_HEALTH_CHECKED} == CONNECTOR_EVENT_TYPES

    @pytest.mark.parametrize(("current", "driver"), MATRIX)
    def test_transition_matrix(self, current: ConnectorState | None, driver: Driver) -> None:
        log = EventLog()
        path = path_to(current) if current is not None else []
        _walk(log, path)
        before = self.one(log) if path else None
        assert before is None or (before.current_state is current and before.anomalies == ())

        last = _add(log, driver, current)
        after = self.one(log)
        log_before = [
            (e["event_id"], t) for e, t in zip(log.events[: len(path)], path, strict=True)
        ]
        assert after.event_count == len(path) + 1

        if current is driver.target and driver.target in SPEC_OBSERVATIONS:
            # An observation: no transition, no anomaly, health fields updated.
            assert after.current_state is current
            assert after.anomalies == ()
            assert after.transition_log == tuple(log_before)
            assert before is not None
            assert after.last_transition_at == before.last_transition_at
        elif driver.target in SPEC_TRANSITIONS[current]:
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
            assert after.last_latency_ms is None

    def test_invalid_transition_message_names_both_states(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_REVOKED, connector_id=CID)
        [anomaly] = self.one(log).anomalies
        assert anomaly.kind == "invalid_transition"
        assert anomaly.message == "ConnectorRevoked cannot move none -> revoked; not applied"

    def test_an_invalid_transition_from_a_state_names_it(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        bad = log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="provisioned")
        [anomaly] = self.one(log).anomalies
        assert (anomaly.kind, anomaly.event_id) == ("invalid_transition", bad["event_id"])
        assert anomaly.message == (
            "ConnectorReconnected cannot move provisioned -> reconnected; not applied"
        )

    # ----------------------------------------------------------------------- health checks

    def test_unreachable_health_check_after_provisioning_ends_degraded(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        check = log.add(
            CONNECTOR_HEALTH_CHECKED, connector_id=CID, health_status="unreachable", latency_ms=0
        )
        state = self.one(log)
        assert state.current_state is S.DEGRADED
        assert state.last_health_status is HealthStatus.UNREACHABLE
        assert state.last_latency_ms == 0
        assert state.transition_log is not None
        assert state.transition_log[-1] == (check["event_id"], S.DEGRADED)
        assert state.anomalies == ()

    def test_ten_periodic_healthy_checks_raise_no_anomaly(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        checks = [
            log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, latency_ms=10.0 + n)
            for n in range(10)
        ]
        state = self.one(log)
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
    def test_repeated_failing_checks_are_observations(self, status: str) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        log.add(CONNECTOR_DEGRADED, connector_id=CID)
        checks = [
            log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, health_status=status, latency_ms=n)
            for n in range(3)
        ]
        state = self.one(log)
        assert state.anomalies == ()
        assert state.current_state is S.DEGRADED
        assert state.transition_log is not None
        assert len(state.transition_log) == 2
        assert state.last_health_check_at == recorded(checks[-1])
        assert state.last_health_status is HealthStatus(status)
        assert state.last_latency_ms == 2

    def test_a_degraded_event_keeps_the_last_health_check(self) -> None:
        # Only a health check carries a status: other events leave the health fields alone.
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        check = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, latency_ms=7.5)
        degraded = log.add(CONNECTOR_DEGRADED, connector_id=CID)
        state = self.one(log)
        assert state.current_state is S.DEGRADED
        assert state.last_transition_at == recorded(degraded)
        assert state.last_health_check_at == recorded(check)
        assert state.last_health_status is HealthStatus.HEALTHY
        assert state.last_latency_ms == 7.5

    def test_a_negative_zero_latency_is_written_as_zero(self) -> None:
        # Section 8: a number whose value is zero is 0.0 in every output, never -0.0.
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, latency_ms=-0.0)
        result = self.replay_log(log.events)
        latency = result.connectors[CID].last_latency_ms
        assert latency == 0.0
        assert latency is not None
        assert math.copysign(1.0, latency) == 1.0
        assert b"-0.0" not in result.to_json()
        assert json.loads(result.to_json())["connectors"][CID]["last_latency_ms"] == 0.0

    # ----------------------------------------------------------------------- malformed payloads

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
        self, payload_fields: dict[str, Any], field: str
    ) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        bad = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, **payload_fields)
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID)
        result = self.replay_log(log.events)
        state = result.connectors[CID]
        assert kinds(state) == ["malformed_payload"]
        assert state.anomalies[0].event_id == bad["event_id"]
        assert f"payload.{field}" in state.anomalies[0].message
        # Skipped, but counted; the following valid check still applies.
        assert state.event_count == 3
        assert state.current_state is S.HEALTHY
        assert result.anomalies == ()

    def test_malformed_payload_never_echoes_credentials(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, endpoint_url="https://bot:s3cr3t-t0ken@api.github.com/x")
        result = self.replay_log(log.events)
        assert kinds(result.connectors[CID]) == ["malformed_payload"]
        assert b"s3cr3t-t0ken" not in result.to_json()

    @pytest.mark.parametrize("connector_id", ["<missing>", "", 42, None, ["c1"]])
    def test_malformed_payload_without_readable_connector_is_stream_level(
        self, connector_id: object
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
        result = self.replay_log([good, bad])
        assert list(result.connectors) == ["conn-ok"]
        assert result.connectors["conn-ok"].anomalies == ()
        [anomaly] = result.anomalies
        assert anomaly.kind == "malformed_payload"
        assert anomaly.event_id == bad["event_id"]
        assert "connector_id" in anomaly.message

    # ----------------------------------------------------------------------- reconnects

    def test_previous_state_mismatch_is_recorded_and_applied(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        log.add(CONNECTOR_DEGRADED, connector_id=CID)
        reconnect = log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="revoked")
        state = self.one(log)
        assert kinds(state) == ["previous_state_mismatch"]
        assert state.anomalies[0].event_id == reconnect["event_id"]
        assert state.anomalies[0].message == (
            "previous_state revoked but the connector was degraded; applied"
        )
        assert state.current_state is S.RECONNECTED
        assert state.transition_log is not None
        assert state.transition_log[-1] == (reconnect["event_id"], S.RECONNECTED)
        assert state.last_transition_at == recorded(reconnect)

    def test_matching_previous_state_is_not_an_anomaly(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        log.add(CONNECTOR_REVOKED, connector_id=CID)
        log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="revoked")
        state = self.one(log)
        assert state.anomalies == ()
        assert state.current_state is S.RECONNECTED

    def test_reconnect_loop_default_limit_is_three(self) -> None:
        assert DEFAULT_MAX_RECONNECT_CYCLES == 3
        log = EventLog()
        _reconnect_cycles(log, 3)
        assert self.one(log).anomalies == ()
        log = EventLog()
        reconnects = _reconnect_cycles(log, 5)
        state = self.one(log)
        assert kinds(state) == ["reconnect_loop", "reconnect_loop"]
        assert [a.event_id for a in state.anomalies] == [e["event_id"] for e in reconnects[3:]]
        assert [a.message for a in state.anomalies] == [
            "4 reconnects without reaching healthy (limit 3); applied",
            "5 reconnects without reaching healthy (limit 3); applied",
        ]
        # Still applied.
        assert state.current_state is S.RECONNECTED
        assert state.transition_log is not None
        assert state.transition_log[-1] == (reconnects[-1]["event_id"], S.RECONNECTED)

    @pytest.mark.parametrize("limit", [0, 1, 2, 5])
    def test_reconnect_limit_exactly_reached_is_fine_and_one_over_is_a_loop(
        self, limit: int
    ) -> None:
        log = EventLog()
        _reconnect_cycles(log, limit)
        assert self.one(log, max_reconnect_cycles=limit).anomalies == ()
        log = EventLog()
        reconnects = _reconnect_cycles(log, limit + 1)
        [loop] = self.one(log, max_reconnect_cycles=limit).anomalies
        assert (loop.kind, loop.event_id) == ("reconnect_loop", reconnects[-1]["event_id"])
        assert loop.message == (
            f"{limit + 1} reconnects without reaching healthy (limit {limit}); applied"
        )

    @pytest.mark.parametrize("limit", [1, 2, 5])
    def test_reconnect_loop_custom_limit(self, limit: int) -> None:
        log = EventLog()
        reconnects = _reconnect_cycles(log, limit + 2)
        state = self.one(log, max_reconnect_cycles=limit)
        assert kinds(state) == ["reconnect_loop"] * 2
        assert [a.event_id for a in state.anomalies] == [e["event_id"] for e in reconnects[limit:]]

    def test_reaching_healthy_resets_the_reconnect_count(self) -> None:
        log = EventLog()
        _reconnect_cycles(log, 3)
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID)
        for _ in range(3):
            log.add(CONNECTOR_DEGRADED, connector_id=CID)
            log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="degraded")
        assert self.one(log).anomalies == ()

    def test_a_failing_health_check_does_not_reset_the_reconnect_count(self) -> None:
        # Only reaching healthy resets it; an unreachable check targets degraded.
        log = EventLog()
        _reconnect_cycles(log, 3)
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, health_status="unreachable")
        last = log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="degraded")
        [loop] = self.one(log).anomalies
        assert (loop.kind, loop.event_id) == ("reconnect_loop", last["event_id"])

    def test_a_reconnect_that_is_not_applied_does_not_count(self) -> None:
        # Three applied reconnects, then reconnects from a state that does not
        # allow one (provisioned): invalid transitions, not entries into reconnected.
        log = EventLog()
        _reconnect_cycles(log, 3)
        log.add(CONNECTOR_REVOKED, connector_id=CID)
        log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="revoked")
        assert kinds(self.one(log)) == ["reconnect_loop"]
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        for _ in range(4):
            log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="provisioned")
        assert kinds(self.one(log)) == ["invalid_transition"] * 4

    def test_a_loop_is_reported_on_every_reconnect_over_the_limit(self) -> None:
        log = EventLog()
        reconnects = _reconnect_cycles(log, 4)
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID)
        log.add(CONNECTOR_DEGRADED, connector_id=CID)
        again = log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="degraded")
        state = self.one(log)
        # The fourth is a loop; after healthy the count starts again at one.
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("reconnect_loop", reconnects[3]["event_id"])
        ]
        assert state.transition_log is not None
        assert state.transition_log[-1] == (again["event_id"], S.RECONNECTED)

    def test_revoked_reconnect_cycles_count_too(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        for _ in range(4):
            log.add(CONNECTOR_REVOKED, connector_id=CID)
            log.add(CONNECTOR_RECONNECTED, connector_id=CID, previous_state="revoked")
        assert kinds(self.one(log)) == ["reconnect_loop"]

    # ----------------------------------------------------------------------- identity

    @pytest.mark.parametrize(
        "change", [{"provider": "jira"}, {"connector_type": "polling"}, {"provider": "GitHub"}]
    )
    def test_identity_changed_keeps_the_first_values(self, change: dict[str, Any]) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        odd = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, **change)
        state = self.one(log)
        assert kinds(state) == ["identity_changed"]
        assert state.anomalies[0].event_id == odd["event_id"]
        provider = change.get("provider", "github")
        ctype = change.get("connector_type", "webhook")
        assert state.anomalies[0].message == (
            f"provider/connector_type {provider}/{ctype} differs "
            "from the first accepted github/webhook; first values kept"
        )
        assert (state.provider, state.connector_type) == ("github", "webhook")
        # The event itself is applied.
        assert state.current_state is S.HEALTHY

    def test_provider_and_connector_type_both_changed_is_one_anomaly(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        odd = log.add(CONNECTOR_DEGRADED, connector_id=CID, provider="jira", connector_type="poll")
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("identity_changed", odd["event_id"])
        ]
        assert state.anomalies[0].message == (
            "provider/connector_type jira/poll differs "
            "from the first accepted github/webhook; first values kept"
        )
        assert state.current_state is S.DEGRADED

    def test_identity_is_compared_with_the_first_values_not_the_last_event(self) -> None:
        # Section 3: "differs from the first accepted event". Back to the first
        # values is no change; each event that differs is its own anomaly.
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        first = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, connector_type="polling")
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID)
        second = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, connector_type="polling")
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("identity_changed", first["event_id"]),
            ("identity_changed", second["event_id"]),
        ]
        assert (state.provider, state.connector_type) == ("github", "webhook")

    def test_identity_changed_on_an_invalid_transition_is_recorded_too(self) -> None:
        # The identity rule looks at every event of the connector, applied or not,
        # and comes before the transition's own anomaly.
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        odd = log.add(CONNECTOR_RECONNECTED, connector_id=CID, provider="jira")
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("identity_changed", odd["event_id"]),
            ("invalid_transition", odd["event_id"]),
        ]
        assert state.current_state is S.PROVISIONED

    def test_identity_changed_on_an_observation_is_recorded_too(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID)
        odd = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, connector_type="polling")
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("identity_changed", odd["event_id"])
        ]
        assert state.last_health_check_at == recorded(odd)

    @pytest.mark.parametrize(
        "change",
        [
            {"mission_id": "mission-other"},
            {"actor_id": "someone-else"},
            {"actor_type": "human"},
            {"endpoint_url": "https://api.github.com/other"},
            {"project_uuid": "11111111-2222-4333-8444-555555555555"},
        ],
        ids=lambda change: next(iter(change)),
    )
    def test_only_provider_and_connector_type_are_identity(self, change: dict[str, Any]) -> None:
        # Section 3: identity_changed is about provider or connector_type; the
        # other fields may change from event to event, and the first mission is kept.
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, **change)
        state = self.one(log)
        assert state.anomalies == ()
        assert state.current_state is S.HEALTHY
        assert state.mission_id == "mission-042"

    def test_identity_comes_from_the_first_accepted_event(self) -> None:
        # A stray event that is not applied (a health check before provisioning)
        # must not decide who the connector is.
        log = EventLog()
        stray = log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, provider="jira")
        log.add(CONNECTOR_PROVISIONED, connector_id=CID, provider="github", mission_id="m-real")
        log.add(CONNECTOR_HEALTH_CHECKED, connector_id=CID, mission_id="m-later")
        state = self.one(log)
        assert kinds(state) == ["invalid_transition"]
        assert state.anomalies[0].event_id == stray["event_id"]
        assert (state.provider, state.connector_type, state.mission_id) == (
            "github",
            "webhook",
            "m-real",
        )

    def test_identity_is_null_when_nothing_was_accepted(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_REVOKED, connector_id=CID)
        state = self.one(log)
        assert state.current_state is None
        assert (state.provider, state.connector_type, state.mission_id) == (None, None, None)
        assert state.last_transition_at is None

    # ----------------------------------------------------------------------- semantic rules

    def test_semantic_violation_is_recorded_and_applied(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        degraded = log.add(CONNECTOR_DEGRADED, connector_id=CID, last_healthy_at=iso(60))
        state = self.one(log)
        assert kinds(state) == ["semantic_violation"]
        assert state.anomalies[0].event_id == degraded["event_id"]
        assert "last_healthy_at" in state.anomalies[0].message
        assert state.current_state is S.DEGRADED

    def test_a_semantic_violation_is_recorded_on_an_invalid_transition_too(self) -> None:
        # As the identity rule: the event's content is judged whether or not its
        # transition is applied, before the transition's own anomaly.
        log = EventLog()
        odd = log.add(CONNECTOR_DEGRADED, connector_id=CID, last_healthy_at=iso(60))
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("semantic_violation", odd["event_id"]),
            ("invalid_transition", odd["event_id"]),
        ]
        assert state.current_state is None

    def test_last_healthy_at_equal_to_recorded_at_is_fine(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        log.add(CONNECTOR_DEGRADED, connector_id=CID, last_healthy_at=iso(2))
        assert self.one(log).anomalies == ()

    def test_last_healthy_at_one_second_after_recorded_at_is_a_violation(self) -> None:
        log = EventLog()
        log.add(CONNECTOR_PROVISIONED, connector_id=CID)
        log.add(CONNECTOR_DEGRADED, connector_id=CID, last_healthy_at="2026-11-25T08:02:01Z")
        assert kinds(self.one(log)) == ["semantic_violation"]

    # ----------------------------------------------------------------------- partitioning

    def test_connectors_in_one_log_have_independent_states(self) -> None:
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
        result = self.replay_log(log.events)
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
