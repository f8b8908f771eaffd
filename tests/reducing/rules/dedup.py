"""Deduplication by event_id and replay order (specification sections 2 and 8), for every engine.

Identical copies of an event are dropped and counted. Among differing
copies a copy whose payload is valid always beats a malformed one, and the
smallest (sort key, canonical JSON) decides among copies of equal validity;
the event_id gets one ``conflicting_duplicate`` anomaly. Replay order is
(lamport_clock, UTC instant, event_id), so the result does not depend on
the order of the input.

These rules are about input that is *not* in replay order, so the
incremental engine does not run them: ``Projection.apply`` folds events as
they arrive, and is documented to equal batch replay only for input in
replay order (its own tests, ``tests/reducing/test_dedup_rule.py`` and
``test_replay.py``, cover that case).
"""

from __future__ import annotations

import json
import struct
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from connector_sync_contracts import (
    CONNECTOR_DEGRADED,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    CONNECTOR_REVOKED,
    ConnectorState,
    Event,
    replay,
)
from connector_sync_contracts.contract.catalog import EVENT_FAMILIES
from tests.reducing.rules.base import RuleCase
from tests.reducing.rules.replay import a_day
from tests.support.factories import envelope, payload_for, ulid
from tests.support.soak import examples
from tests.support.strategies import logs

__all__ = [
    "UNKNOWN_TYPE",
    "DedupRules",
    "Log",
    "break_payload",
    "logs_with_a_malformed_copy",
    "without_conflict",
]

Log = list[dict[str, Any]]
"""A log as envelope mappings."""

CID = "conn-github-1"

UNKNOWN_TYPE = "ConnectorPaused"
"""An event type with no payload model in this version (a newer 2.x may add it)."""


def break_payload(payload: dict[str, Any], how: int) -> dict[str, Any]:
    """A copy of a valid payload that fails validation in one of three ways."""
    broken = dict(payload)
    if how == 0:
        broken.pop("connector_id", None)  # required everywhere: the payload is malformed
        broken["mission_id"] = None
    elif how == 1:
        broken["recorded_at"] = "yesterday"
    else:
        broken["mission_id"] = 42
    return broken


def _clean(event: dict[str, Any]) -> bool:
    """Whether a family event replays alone with a valid payload (no malformed_payload)."""
    if event["event_type"] not in EVENT_FAMILIES:
        return False
    result = replay([event])
    found = [
        *result.anomalies,
        *result.external_links.link_anomalies,
        *(
            a
            for part in (result.connectors, result.sync)
            for s in part.values()
            for a in s.anomalies
        ),
    ]
    return not any(a.kind in ("malformed_payload", "malformed_envelope") for a in found)


@st.composite
def logs_with_a_malformed_copy(draw: st.DrawFn) -> tuple[Log, dict[str, Any]]:
    """A log with at least one valid family event, and a copy of one of them that is not
    known valid: its payload malformed, or its event type one with no payload model."""
    log = draw(logs(min_size=1, conflicting_ids=False))
    valid = [e for e in log if _clean(e)]
    # The law is about a malformed copy of a *valid* event: two malformed copies are
    # settled by sort key, and the projection then shows the winner's message.
    assume(valid)
    target = draw(st.sampled_from(valid))
    copy = json.loads(json.dumps(target))
    how = draw(st.integers(0, 3))
    if how == 3:
        copy["event_type"] = UNKNOWN_TYPE
    else:
        copy["payload"] = break_payload(copy["payload"], how)
    # Any ordering key: often one that sorts before the valid copy.
    copy["lamport_clock"] = draw(st.integers(0, target["lamport_clock"] + 2))
    return log, copy


def without_conflict(data: dict[str, Any], event_id: str) -> dict[str, Any]:
    """``data`` (a result's ``to_dict``) without the one conflict anomaly of ``event_id``."""
    anomalies = [
        a
        for a in data["anomalies"]
        if not (a["kind"] == "conflicting_duplicate" and a["event_id"] == event_id)
    ]
    assert len(anomalies) == len(data["anomalies"]) - 1
    return {**data, "anomalies": anomalies}


class DedupRules(RuleCase):
    """Section 2: dedup by event_id and replay order, whatever the order of the input."""

    # ----------------------------------------------------------------------- identical copies

    def test_identical_duplicates_are_dropped_and_counted(self) -> None:
        events = a_day()
        result = self.replay_log([*events, events[0], events[3], events[3]])
        assert result.duplicates_dropped == 3
        assert result.event_count == 15
        assert result.anomalies == ()
        assert result.connectors == self.replay_log(events).connectors
        assert result.sync == self.replay_log(events).sync

    def test_duplicates_in_another_spelling_are_identical(self) -> None:
        event = envelope(CONNECTOR_PROVISIONED, seq=1)
        respelled = event | {
            "event_id": event["event_id"].lower(),
            "timestamp": "2026-11-25T13:01:00+05:00",
            "project_uuid": event["project_uuid"].upper().replace("-", ""),
        }
        result = self.replay_log([event, respelled])
        assert (result.event_count, result.duplicates_dropped) == (1, 1)
        assert result.anomalies == ()

    def test_unknown_envelope_fields_and_defaults_are_not_content(self) -> None:
        """The normalized content is the envelope's known fields (absent optional ones at
        their defaults) and the payload as sent: a newer producer's envelope field
        does not make a copy differ, an unknown payload field does."""
        event = envelope(CONNECTOR_PROVISIONED, seq=1) | {
            "causation_id": None,
            "build_id": None,
            "data_tier": 0,
        }
        respelled = {k: v for k, v in event.items() if k not in ("build_id", "data_tier")}
        respelled |= {"x_trace": {"span": "s-1"}}
        result = self.replay_log([event, respelled])
        assert (result.event_count, result.duplicates_dropped) == (1, 1)
        assert result.anomalies == ()
        newer = event | {"payload": event["payload"] | {"x_labels": {"team": "a"}}}
        result = self.replay_log([event, newer])
        assert (result.event_count, result.duplicates_dropped) == (1, 0)
        assert [(a.kind, a.event_id) for a in result.anomalies] == [
            ("conflicting_duplicate", event["event_id"])
        ]

    def test_time_past_the_microsecond_is_one_copy_in_the_envelope_not_in_the_payload(
        self,
    ) -> None:
        """Section 8, time precision: the envelope's timestamp is content as an instant
        kept to the microsecond; a payload is content as sent, so a date-time in it
        spelled otherwise makes a conflicting copy (its rules read the same instant)."""
        event = envelope(CONNECTOR_PROVISIONED, seq=1)
        later = event["timestamp"].replace("Z", ".0000001Z")  # 100 ns later
        assert later.endswith(":00.0000001Z")
        result = self.replay_log([event, event | {"timestamp": later}])
        assert (result.event_count, result.duplicates_dropped) == (1, 1)
        assert result.anomalies == ()
        recorded = event["payload"]["recorded_at"]
        respelled = recorded.replace("Z", "+00:00")
        assert respelled != recorded
        copy = event | {"payload": event["payload"] | {"recorded_at": respelled}}
        result = self.replay_log([event, copy])
        assert (result.event_count, result.duplicates_dropped) == (1, 0)
        assert [(a.kind, a.event_id) for a in result.anomalies] == [
            ("conflicting_duplicate", event["event_id"])
        ]
        assert result.connectors == self.replay_log([event]).connectors

    def test_copies_whose_values_differ_in_kind_are_conflicting_copies(self) -> None:
        """A ``false`` and a number are different content, whatever follows them.

        The pair below once shared an identity when given as mappings or Events
        on the compiled core: it encoded ``false`` as one tag byte that also
        began a number's nine, and the number's eight bytes spell the start of
        the string after ``false`` (found by a review of that encoding).
        """
        tail = "hello"
        text = "abcdeA" + "s" + chr(len(tail)) + tail
        (number,) = struct.unpack("<d", b"s" + bytes([len(text)]) + text[:6].encode())
        event = envelope(CONNECTOR_PROVISIONED, seq=1)
        first = event | {"payload": event["payload"] | {"x_probe": [False, text]}}
        second = event | {"payload": event["payload"] | {"x_probe": [number, tail]}}
        result = self.replay_log([first, second])
        assert (result.event_count, result.duplicates_dropped) == (1, 0)
        assert [(a.kind, a.event_id) for a in result.anomalies] == [
            ("conflicting_duplicate", event["event_id"])
        ]

    # ----------------------------------------------------------------------- differing copies

    def test_differing_duplicates_keep_the_smallest_canonical_json(self) -> None:
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
            result = self.replay_log([provisioned, *copies])
            state = result.connectors[CID]
            assert state.current_state is ConnectorState.DEGRADED
            assert [(a.kind, a.event_id) for a in result.anomalies] == [
                ("conflicting_duplicate", healthy["event_id"])
            ]
            assert (result.event_count, result.duplicates_dropped) == (2, 0)
            outputs.add(result.to_json())
        assert len(outputs) == 1

    def test_differing_duplicates_keep_the_smallest_sort_key(self) -> None:
        provisioned = envelope(CONNECTOR_PROVISIONED, seq=1)
        # Same event_id; the copy with the smaller lamport clock wins wherever it is.
        early = envelope(CONNECTOR_DEGRADED, seq=5, event_id=ulid(9), lamport_clock=2)
        late = envelope(CONNECTOR_REVOKED, seq=5, event_id=ulid(9), lamport_clock=7)
        for order in ([provisioned, late, early], [early, provisioned, late]):
            result = self.replay_log(order)
            state = result.connectors[CID]
            assert state.current_state is ConnectorState.DEGRADED
            assert [a.kind for a in result.anomalies] == ["conflicting_duplicate"]

    def test_differing_duplicates_with_equal_clocks_keep_the_earliest_instant(self) -> None:
        provisioned = envelope(CONNECTOR_PROVISIONED, seq=1)
        # Same event_id and clock; 09:10+05:00 (04:10Z) is earlier than 08:05Z.
        later = envelope(CONNECTOR_REVOKED, seq=5, timestamp="2026-11-25T08:05:00Z")
        earlier = envelope(CONNECTOR_DEGRADED, seq=5, timestamp="2026-11-25T09:10:00+05:00")
        for order in ([provisioned, later, earlier], [earlier, provisioned, later]):
            result = self.replay_log(order)
            state = result.connectors[CID]
            assert state.current_state is ConnectorState.DEGRADED
            assert [(a.kind, a.event_id) for a in result.anomalies] == [
                ("conflicting_duplicate", ulid(5))
            ]

    def test_identical_and_differing_copies_are_counted_apart(self) -> None:
        provisioned = envelope(CONNECTOR_PROVISIONED, seq=1)
        variant = provisioned | {"node_id": "node-z"}
        for order in (
            [provisioned, provisioned, variant],
            [variant, provisioned, provisioned],
            [provisioned, variant, provisioned, variant],
        ):
            result = self.replay_log(order)
            assert result.event_count == 1
            assert result.duplicates_dropped == len(order) - 2
            [conflict] = result.anomalies
            assert (conflict.kind, conflict.event_id) == ("conflicting_duplicate", ulid(1))
            assert conflict.message.startswith("2 different contents share this event_id")

    def test_three_differing_copies_are_one_conflict_of_three(self) -> None:
        provisioned = envelope(CONNECTOR_PROVISIONED, seq=1)
        copies = [provisioned | {"node_id": node} for node in ("node-z", "node-b", "node-a")]
        result = self.replay_log([*copies, copies[0]])
        assert (result.event_count, result.duplicates_dropped) == (1, 1)
        [conflict] = result.anomalies
        assert conflict.message.startswith("3 different contents share this event_id")

    # ----------------------------------------------------------------------- validity first

    def test_a_valid_copy_beats_a_malformed_copy_with_a_smaller_sort_key(self) -> None:
        provisioned = envelope(CONNECTOR_PROVISIONED, seq=2)
        broken = provisioned | {
            "payload": break_payload(provisioned["payload"], 1),
            "lamport_clock": 0,
        }
        check = envelope(CONNECTOR_HEALTH_CHECKED, seq=3)
        for order in ([broken, provisioned, check], [check, provisioned, broken]):
            result = self.replay_log(order)
            state = result.connectors[CID]
            assert state.anomalies == ()
            assert state.current_state is ConnectorState.HEALTHY
            assert state.event_count == 2
            assert [(a.kind, a.event_id) for a in result.anomalies] == [
                ("conflicting_duplicate", ulid(2))
            ]
            assert (result.event_count, result.duplicates_dropped) == (2, 0)

    def test_a_valid_copy_beats_a_copy_of_an_event_type_with_no_model(self) -> None:
        """Such a copy is a valid envelope the reducers ignore, and the gate rejects
        (``unknown_event_type``): its payload is not known valid, so it never
        removes a valid event, whatever its sort key."""
        provisioned = envelope(CONNECTOR_PROVISIONED, seq=2)
        other = provisioned | {"event_type": UNKNOWN_TYPE, "lamport_clock": 0}
        check = envelope(CONNECTOR_HEALTH_CHECKED, seq=3)
        for order in ([other, provisioned, check], [check, provisioned, other]):
            result = self.replay_log(order)
            state = result.connectors[CID]
            assert state.current_state is ConnectorState.HEALTHY
            assert state.event_count == 2
            assert result.ignored_event_count == 0
            assert [(a.kind, a.event_id) for a in result.anomalies] == [
                ("conflicting_duplicate", ulid(2))
            ]
            assert (result.event_count, result.duplicates_dropped) == (2, 0)

    def test_a_malformed_copy_and_one_with_no_model_are_settled_by_sort_key(self) -> None:
        provisioned = envelope(CONNECTOR_PROVISIONED, seq=2)
        broken = provisioned | {"payload": break_payload(provisioned["payload"], 1)}
        other = provisioned | {"event_type": UNKNOWN_TYPE}
        for clocks, ignored in (((1, 2), 0), ((2, 1), 1)):
            pair = [broken | {"lamport_clock": clocks[0]}, other | {"lamport_clock": clocks[1]}]
            for order in (pair, pair[::-1]):
                result = self.replay_log(order)
                assert result.ignored_event_count == ignored
                assert (CID in result.connectors) is (ignored == 0)
                assert [a.kind for a in result.anomalies] == ["conflicting_duplicate"]

    def test_among_malformed_copies_the_smallest_sort_key_wins(self) -> None:
        provisioned = envelope(CONNECTOR_PROVISIONED, seq=2)
        late = provisioned | {"payload": break_payload(provisioned["payload"], 1)}
        early = provisioned | {
            "payload": break_payload(provisioned["payload"], 2),
            "lamport_clock": 1,
        }
        for order in ([late, early], [early, late]):
            result = self.replay_log(order)
            [malformed] = result.connectors[CID].anomalies
            assert malformed.kind == "malformed_payload"
            assert "payload.mission_id" in malformed.message
            assert "recorded_at" not in malformed.message
            assert [a.kind for a in result.anomalies] == ["conflicting_duplicate"]

    @settings(
        max_examples=examples(30, 1000),
        # The same law runs in every engine's subclass: one test, several executors.
        suppress_health_check=[HealthCheck.differing_executors, HealthCheck.too_slow],
        deadline=None,
    )
    @given(case=logs_with_a_malformed_copy(), data=st.data())
    def test_a_malformed_copy_changes_nothing_but_the_conflict_anomaly(
        self, case: tuple[Log, dict[str, Any]], data: st.DataObject
    ) -> None:
        log, copy = case
        event_id = Event.model_validate(copy).event_id
        expected = self.replay_log(log).to_dict()
        mixed = data.draw(st.permutations([*log, copy]), label="mixed")
        assert without_conflict(self.replay_log(mixed).to_dict(), event_id) == expected

    # ----------------------------------------------------------------------- replay order

    def test_reversed_input_gives_identical_bytes(self) -> None:
        events = a_day()
        assert self.replay_log(events[::-1]).to_json() == self.replay_log(events).to_json()

    def test_replay_orders_by_instant_not_by_timestamp_text(self) -> None:
        # Same clock. As text "…09:00:00Z" sorts first; as instants 13:00+05:00 is 08:00Z,
        # so provisioning comes first and the health check is a valid transition.
        check = envelope(CONNECTOR_HEALTH_CHECKED, seq=1, timestamp="2026-11-25T09:00:00Z")
        provision = envelope(
            CONNECTOR_PROVISIONED, seq=2, lamport_clock=1, timestamp="2026-11-25T13:00:00+05:00"
        )
        for order in ([check, provision], [provision, check]):
            state = self.replay_log(order).connectors[CID]
            assert state.anomalies == ()
            assert state.current_state is ConnectorState.HEALTHY

    def test_replay_orders_by_lamport_clock_before_time(self) -> None:
        # The health check has the earlier timestamp but the later clock.
        provision = envelope(CONNECTOR_PROVISIONED, seq=5, lamport_clock=1)
        check = envelope(CONNECTOR_HEALTH_CHECKED, seq=1, lamport_clock=2)
        for order in ([check, provision], [provision, check]):
            state = self.replay_log(order).connectors[CID]
            assert state.anomalies == ()
            assert state.current_state is ConnectorState.HEALTHY

    def test_replay_orders_by_event_id_when_clock_and_instant_tie(self) -> None:
        provision = envelope(CONNECTOR_PROVISIONED, seq=1, event_id=ulid(40))
        check = envelope(CONNECTOR_HEALTH_CHECKED, seq=1, event_id=ulid(41))
        for order in ([check, provision], [provision, check]):
            state = self.replay_log(order).connectors[CID]
            assert state.anomalies == ()
            assert state.current_state is ConnectorState.HEALTHY
