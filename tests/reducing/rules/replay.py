"""Whole-log replay rules (specification sections 6 and 8), for every engine.

The section 6 form of a mixed log, the counts, the events of other
families, and the envelopes that fail validation or break the input limits
(``malformed_envelope``, stream-level, skipped).
"""

from __future__ import annotations

import json
from typing import Any, Final

import pytest

from connector_sync_contracts import (
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
)
from tests.reducing.rules.base import RuleCase
from tests.support.factories import EventLog, envelope, payload_for, ulid

__all__ = ["SECTION_6_KEYS", "ReplayRules", "a_day"]

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
"""The top-level keys of the replay JSON form."""


def a_day() -> list[dict[str, Any]]:
    """Two connectors, deliveries with retries, a dead letter and a replay, links (15 events)."""
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


def _nested(levels: int) -> dict[str, Any]:
    """A valid envelope whose unknown payload field makes the line ``levels`` levels deep.

    The envelope is level 1, its payload level 2 and ``x_newer_field`` level 3.
    """
    event = envelope(SYNC_INGEST_ACCEPTED, payload_for(SYNC_INGEST_ACCEPTED))
    deep: dict[str, Any] = {}
    event["payload"]["x_newer_field"] = deep
    for _ in range(levels - 3):
        deep["d"] = {}
        deep = deep["d"]
    return event


class ReplayRules(RuleCase):
    """Section 6: one call reduces a mixed log; section 8: input limits hold everywhere."""

    def test_replay_json_has_exactly_the_section_6_keys(self) -> None:
        data = json.loads(self.replay_log(a_day()).to_json())
        assert set(data) == SECTION_6_KEYS
        assert data["contract_version"] == CONTRACT_VERSION == "2.7.0"
        assert sorted(data["connectors"]) == ["conn-github-1", "conn-jira-1"]
        assert sorted(data["sync"]) == ["conn-github-1", "conn-jira-1"]

    def test_replay_of_a_day(self) -> None:
        result = self.replay_log(a_day())
        assert (result.event_count, result.duplicates_dropped, result.ignored_event_count) == (
            15,
            0,
            0,
        )
        assert result.anomalies == ()
        gh, jira = result.connectors["conn-github-1"], result.connectors["conn-jira-1"]
        assert (gh.current_state, jira.current_state) == (
            ConnectorState.REVOKED,
            ConnectorState.RECONNECTED,
        )
        assert (gh.event_count, jira.event_count) == (4, 4)
        assert gh.anomalies == jira.anomalies == ()
        assert result.sync["conn-github-1"].ingested_items == 12
        assert result.sync["conn-jira-1"].replayed_items == 4
        assert len(result.external_links.links) == 1

    def test_other_event_types_are_counted_and_ignored(self) -> None:
        events = [*a_day(), envelope("MissionCreated", {"mission_id": "m"}, seq=99)]
        result = self.replay_log(events)
        assert (result.event_count, result.ignored_event_count) == (16, 1)
        assert result.anomalies == ()
        assert result.connectors == self.replay_log(a_day()).connectors

    @pytest.mark.parametrize(
        "broken",
        [
            {"event_id": "not-an-id"},
            {"timestamp": "2026-11-25T08:00:00"},
            {"lamport_clock": True},
            {"payload": []},
        ],
    )
    def test_malformed_envelope_is_a_stream_level_anomaly(self, broken: dict[str, Any]) -> None:
        bad = envelope(CONNECTOR_HEALTH_CHECKED, seq=50) | broken
        result = self.replay_log([*a_day(), bad])
        [anomaly] = result.anomalies
        assert anomaly.kind == "malformed_envelope"
        assert anomaly.event_id == bad["event_id"]
        assert result.event_count == 15
        assert result.connectors == self.replay_log(a_day()).connectors

    def test_a_malformed_envelope_names_its_event_id_in_normal_spelling(self) -> None:
        """Its anomaly names the event as every other event_id of a projection does (a
        lower-case ULID, a 32-hex upper-case UUID): the same broken event sent in two
        spellings gives one projection. An id that is neither is kept as written."""
        uuid = "6F1C2B9E4A7D4E219D3B8C5A7E2F1B05"
        broken = [
            envelope(CONNECTOR_HEALTH_CHECKED, seq=50, event_id=ulid(50).lower())
            | {"lamport_clock": "7"},
            envelope(CONNECTOR_HEALTH_CHECKED, seq=51, event_id=uuid) | {"lamport_clock": -1},
        ]
        result = self.replay_log([*a_day(), *broken])
        assert sorted(a.event_id or "" for a in result.anomalies) == sorted(
            [ulid(50), "6f1c2b9e-4a7d-4e21-9d3b-8c5a7e2f1b05"]
        )

    def test_stream_anomalies_are_ordered_by_kind_event_id_message(self) -> None:
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
            result = self.replay_log(order)
            assert [(a.kind, a.event_id) for a in result.anomalies] == expected
            assert result.event_count == 2

    def test_an_integer_beyond_a_fields_bound_is_a_malformed_payload(self) -> None:
        # Within the input limits (at most 2**64 - 1) but above a count's 2**63 - 1.
        big = envelope(
            SYNC_INGEST_ACCEPTED, payload_for(SYNC_INGEST_ACCEPTED, ingested_count=2**64 - 1)
        )
        result = self.replay_log([big])
        assert [a.kind for a in result.sync["conn-github-1"].anomalies] == ["malformed_payload"]
        assert result.sync["conn-github-1"].ingested_items == 0
        twice = self.replay_log([big, big])
        assert (twice.event_count, twice.duplicates_dropped) == (1, 1)

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
        self, value: object, code: str
    ) -> None:
        # Section 8: also inside unknown fields, and as the CLI says of the line.
        for where in ("payload", "envelope"):
            event = envelope(SYNC_INGEST_ACCEPTED, payload_for(SYNC_INGEST_ACCEPTED))
            holder = event["payload"] if where == "payload" else event
            holder["x_newer_field"] = {"list": [1, value]}
            result = self.replay_log([event])
            assert result.sync == {}
            path = (
                "$.payload.x_newer_field.list[1]"
                if where == "payload"
                else "$.x_newer_field.list[1]"
            )
            # The envelope still names its event: the anomaly says which one was dropped.
            assert [(a.kind, a.event_id) for a in result.anomalies] == [
                ("malformed_envelope", event["event_id"])
            ]
            assert result.anomalies[0].message.startswith(f"{path}: {code}: ")

    @pytest.mark.parametrize("levels", [65, 66])
    def test_nesting_deeper_than_64_levels_makes_the_envelope_malformed(self, levels: int) -> None:
        nested = _nested(levels)
        result = self.replay_log([nested])
        assert [(a.kind, a.event_id) for a in result.anomalies] == [
            ("malformed_envelope", nested["event_id"])
        ]
        assert result.anomalies[0].message.startswith("$: too_deep: ")
        assert result.sync == {}

    def test_nesting_of_exactly_64_levels_is_fine(self) -> None:
        result = self.replay_log([_nested(64)])
        assert result.anomalies == ()
        assert result.sync["conn-github-1"].ingested_items == 3

    def test_lamport_clock_bounds(self) -> None:
        # Section 2: lamport_clock >= 0; section 8: at most 2**63 - 1. The largest
        # clock sorts last (the health check's timestamp is the earlier one); one
        # past either bound is a malformed envelope.
        first = envelope(CONNECTOR_PROVISIONED, seq=4, lamport_clock=0)
        top = envelope(CONNECTOR_HEALTH_CHECKED, seq=3, lamport_clock=2**63 - 1)
        result = self.replay_log([first, top])
        assert result.anomalies == ()
        assert result.connectors["conn-github-1"].current_state is ConnectorState.HEALTHY
        for clock in (-1, 2**63):
            bad = envelope(CONNECTOR_PROVISIONED, seq=5, lamport_clock=clock)
            result = self.replay_log([bad])
            assert [(a.kind, a.event_id) for a in result.anomalies] == [
                ("malformed_envelope", bad["event_id"])
            ], clock
            assert (result.event_count, result.connectors) == (0, {})

    def test_state_field_names_are_the_contracts(self) -> None:
        data = json.loads(self.replay_log(a_day()).to_json())
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
