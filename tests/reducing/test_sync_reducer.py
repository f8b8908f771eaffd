"""Sync delivery reducer: the per-delivery lifecycle of FR-007 (docs/specification.md section 4).

A delivery key is (delivery_id, source_event_fingerprint): retries, then one
terminal outcome. A retried delivery's final outcome counts; true duplicates
do not.
"""

from __future__ import annotations

from typing import Any, Final

import pytest

from connector_sync_contracts import (
    CONNECTOR_PROVISIONED,
    SYNC_DEAD_LETTERED,
    SYNC_INGEST_ACCEPTED,
    SYNC_INGEST_REJECTED,
    SYNC_OUTCOMES,
    SYNC_REPLAY_COMPLETED,
    SYNC_RETRY_SCHEDULED,
    TERMINAL_OUTCOMES,
    DeliveryState,
    ReducedSyncState,
    SyncOutcome,
    reduce_sync_events,
    replay,
)
from tests.support.factories import EventLog, envelope, iso, payload_for

CID: Final = "conn-github-1"

TERMINAL_TYPES: Final = sorted(t for t, o in SYNC_OUTCOMES.items() if o in TERMINAL_OUTCOMES)


def reduce_one(log: EventLog) -> ReducedSyncState:
    return reduce_sync_events(log.events).sync[CID]


def kinds(state: ReducedSyncState) -> list[str]:
    return [a.kind for a in state.anomalies]


def counts(**nonzero: int) -> dict[SyncOutcome, int]:
    """Outcome counts with every outcome present, zeros included."""
    return {outcome: nonzero.get(outcome.value, 0) for outcome in SyncOutcome}


def ids(*events: dict[str, Any]) -> list[str]:
    return [e["event_id"] for e in events]


def test_terminal_outcomes_are_the_contracts() -> None:
    assert {
        SyncOutcome.ACCEPTED,
        SyncOutcome.REJECTED,
        SyncOutcome.DEAD_LETTERED,
    } == TERMINAL_OUTCOMES


# --------------------------------------------------------------------------- lifecycles


def test_two_retries_then_a_dead_letter() -> None:
    log = EventLog()
    r1 = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1, max_retries=2)
    r2 = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2, max_retries=2)
    dead = log.add(SYNC_DEAD_LETTERED, total_attempts=3)
    state = reduce_one(log)
    assert state.outcome_counts == counts(retry_scheduled=2, dead_lettered=1)
    assert state.pending_retries == 0
    assert state.anomalies == ()
    assert state.outcome_log == (
        (r1["event_id"], SyncOutcome.RETRY_SCHEDULED, "dlv-0001"),
        (r2["event_id"], SyncOutcome.RETRY_SCHEDULED, "dlv-0001"),
        (dead["event_id"], SyncOutcome.DEAD_LETTERED, "dlv-0001"),
    )
    assert state.deliveries == (
        DeliveryState(
            delivery_id="dlv-0001",
            source_event_fingerprint="sha256:9f2c1e",
            status=SyncOutcome.DEAD_LETTERED,
            attempts=3,
            last_event_id=dead["event_id"],
        ),
    )


def test_retry_then_accepted_counts_the_ingested_items() -> None:
    log = EventLog()
    log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
    accepted = log.add(SYNC_INGEST_ACCEPTED, ingested_count=7)
    state = reduce_one(log)
    assert state.outcome_counts == counts(retry_scheduled=1, accepted=1)
    assert state.ingested_items == 7
    assert state.pending_retries == 0
    assert state.anomalies == ()
    assert state.deliveries is not None
    [delivery] = state.deliveries
    assert (delivery.status, delivery.attempts, delivery.last_event_id) == (
        SyncOutcome.ACCEPTED,
        2,
        accepted["event_id"],
    )


def test_a_still_retrying_key_is_pending() -> None:
    log = EventLog()
    log.add(SYNC_RETRY_SCHEDULED, delivery_id="dlv-a", retry_attempt=1)
    log.add(SYNC_RETRY_SCHEDULED, delivery_id="dlv-a", retry_attempt=2)
    log.add(SYNC_RETRY_SCHEDULED, delivery_id="dlv-b", retry_attempt=1)
    log.add(SYNC_INGEST_ACCEPTED, delivery_id="dlv-b")
    log.add(SYNC_INGEST_ACCEPTED, delivery_id="dlv-c")
    state = reduce_one(log)
    assert state.pending_retries == 1
    assert state.outcome_counts == counts(retry_scheduled=3, accepted=2)
    assert state.deliveries is not None
    assert [(d.delivery_id, d.status) for d in state.deliveries] == [
        ("dlv-a", SyncOutcome.RETRY_SCHEDULED),
        ("dlv-b", SyncOutcome.ACCEPTED),
        ("dlv-c", SyncOutcome.ACCEPTED),
    ]


@pytest.mark.parametrize("event_type", TERMINAL_TYPES)
def test_first_terminal_outcome_without_retries_is_applied(event_type: str) -> None:
    log = EventLog()
    event = log.add(event_type)
    state = reduce_one(log)
    outcome = SYNC_OUTCOMES[event_type]
    assert state.outcome_counts == counts(**{outcome.value: 1})
    assert state.anomalies == ()
    assert state.ingested_items == (3 if outcome is SyncOutcome.ACCEPTED else 0)
    assert state.outcome_log == ((event["event_id"], outcome, "dlv-0001"),)


def test_one_delivery_id_with_two_fingerprints_is_two_deliveries() -> None:
    log = EventLog()
    log.add(SYNC_INGEST_ACCEPTED, source_event_fingerprint="sha256:bbb", ingested_count=2)
    log.add(SYNC_INGEST_ACCEPTED, source_event_fingerprint="sha256:aaa", ingested_count=5)
    state = reduce_one(log)
    assert state.anomalies == ()
    assert state.ingested_items == 7
    assert state.deliveries is not None
    # Ordered by key, not by arrival.
    assert [d.source_event_fingerprint for d in state.deliveries] == ["sha256:aaa", "sha256:bbb"]


# --------------------------------------------------------------------------- anomalies


@pytest.mark.parametrize("event_type", TERMINAL_TYPES)
def test_same_terminal_outcome_again_is_a_duplicate_delivery(event_type: str) -> None:
    log = EventLog()
    first = log.add(event_type)
    again = log.add(event_type)
    state = reduce_one(log)
    assert kinds(state) == ["duplicate_delivery"]
    assert state.anomalies[0].event_id == again["event_id"]
    outcome = SYNC_OUTCOMES[event_type]
    assert state.outcome_counts == counts(**{outcome.value: 1})
    assert state.ingested_items == (3 if outcome is SyncOutcome.ACCEPTED else 0)
    assert state.deliveries is not None
    assert state.deliveries[0].last_event_id == first["event_id"]


@pytest.mark.parametrize(
    ("first_type", "then_type"),
    [(a, b) for a in TERMINAL_TYPES for b in TERMINAL_TYPES if a != b],
)
def test_another_terminal_outcome_is_a_conflicting_outcome(first_type: str, then_type: str) -> None:
    log = EventLog()
    log.add(first_type)
    conflict = log.add(then_type)
    state = reduce_one(log)
    assert kinds(state) == ["conflicting_outcome"]
    assert state.anomalies[0].event_id == conflict["event_id"]
    assert state.outcome_counts == counts(**{SYNC_OUTCOMES[first_type].value: 1})
    assert state.deliveries is not None
    assert state.deliveries[0].status is SYNC_OUTCOMES[first_type]


def test_same_retry_attempt_again_is_a_duplicate_delivery() -> None:
    log = EventLog()
    log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
    again = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
    state = reduce_one(log)
    assert kinds(state) == ["duplicate_delivery"]
    assert state.anomalies[0].event_id == again["event_id"]
    assert state.outcome_counts == counts(retry_scheduled=1)
    assert state.pending_retries == 1


def test_lower_retry_attempt_is_regressed() -> None:
    log = EventLog()
    log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2)
    lower = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
    state = reduce_one(log)
    assert kinds(state) == ["retry_attempt_regressed"]
    assert state.anomalies[0].event_id == lower["event_id"]
    assert state.outcome_counts == counts(retry_scheduled=1)
    assert state.deliveries is not None
    assert state.deliveries[0].attempts == 1


def test_skipped_retry_numbers_are_fine() -> None:
    log = EventLog()
    log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
    log.add(SYNC_RETRY_SCHEDULED, retry_attempt=3)
    state = reduce_one(log)
    assert state.anomalies == ()
    assert state.outcome_counts == counts(retry_scheduled=2)


@pytest.mark.parametrize("event_type", TERMINAL_TYPES)
def test_retry_after_a_terminal_outcome_is_skipped(event_type: str) -> None:
    log = EventLog()
    log.add(event_type)
    late = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
    state = reduce_one(log)
    assert kinds(state) == ["retry_after_terminal"]
    assert state.anomalies[0].event_id == late["event_id"]
    assert state.outcome_counts == counts(**{SYNC_OUTCOMES[event_type].value: 1})
    assert state.pending_retries == 0


def test_retry_over_budget_is_recorded_and_applied() -> None:
    log = EventLog()
    log.add(SYNC_RETRY_SCHEDULED, retry_attempt=3, max_retries=3)
    over = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=4, max_retries=3)
    state = reduce_one(log)
    assert kinds(state) == ["retry_budget_exceeded"]
    assert state.anomalies[0].event_id == over["event_id"]
    assert state.outcome_counts == counts(retry_scheduled=2)
    assert state.deliveries is not None
    assert state.deliveries[0].last_event_id == over["event_id"]


def test_skipped_retry_is_not_reported_as_an_applied_budget_overrun() -> None:
    # Each skipped copy of an over-budget retry is one skip, not a second overrun.
    log = EventLog()
    log.add(SYNC_RETRY_SCHEDULED, retry_attempt=4, max_retries=3)
    again = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=4, max_retries=3)
    log.add(SYNC_DEAD_LETTERED)
    late = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=5, max_retries=3)
    state = reduce_one(log)
    assert kinds(state) == ["retry_budget_exceeded", "duplicate_delivery", "retry_after_terminal"]
    assert [a.event_id for a in state.anomalies[1:]] == ids(again, late)


def test_replay_completed_applies_once_per_key() -> None:
    log = EventLog()
    log.add(SYNC_DEAD_LETTERED)
    log.add(SYNC_REPLAY_COMPLETED, replayed_count=4)
    again = log.add(SYNC_REPLAY_COMPLETED, replayed_count=4)
    log.add(SYNC_REPLAY_COMPLETED, delivery_id="dlv-other", replayed_count=0)
    state = reduce_one(log)
    assert kinds(state) == ["duplicate_delivery"]
    assert state.anomalies[0].event_id == again["event_id"]
    assert state.replayed_items == 4
    assert state.outcome_counts == counts(dead_lettered=1, replay_completed=2)


def test_semantic_violation_is_recorded_and_applied() -> None:
    log = EventLog()
    retry = log.add(SYNC_RETRY_SCHEDULED, next_retry_at=iso(-10))
    state = reduce_one(log)
    assert kinds(state) == ["semantic_violation"]
    assert state.anomalies[0].event_id == retry["event_id"]
    assert "next_retry_at" in state.anomalies[0].message
    assert state.outcome_counts == counts(retry_scheduled=1)


def test_next_retry_at_equal_to_recorded_at_is_fine() -> None:
    log = EventLog()
    log.add(SYNC_RETRY_SCHEDULED, next_retry_at=iso(1))
    assert reduce_one(log).anomalies == ()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ingested_count": 0}, "ingested_count"),
        ({"ingested_count": True}, "ingested_count"),
        ({"delivery_id": ""}, "delivery_id"),
        ({"recorded_at": "2026-11-25T08:00:00"}, "recorded_at"),
    ],
)
def test_malformed_payload_is_an_anomaly_on_its_connector(
    fields: dict[str, Any], field: str
) -> None:
    log = EventLog()
    bad = log.add(SYNC_INGEST_ACCEPTED, **fields)
    log.add(SYNC_INGEST_ACCEPTED, delivery_id="dlv-ok")
    result = reduce_sync_events(log.events)
    state = result.sync[CID]
    assert kinds(state) == ["malformed_payload"]
    assert state.anomalies[0].event_id == bad["event_id"]
    assert f"payload.{field}" in state.anomalies[0].message
    assert state.outcome_counts == counts(accepted=1)
    assert result.anomalies == ()


@pytest.mark.parametrize("connector_id", ["", 7, None])
def test_malformed_payload_without_readable_connector_is_stream_level(
    connector_id: object,
) -> None:
    bad = envelope(
        SYNC_INGEST_ACCEPTED, payload_for(SYNC_INGEST_ACCEPTED) | {"connector_id": connector_id}
    )
    result = reduce_sync_events([bad])
    assert result.sync == {}
    assert [(a.kind, a.event_id) for a in result.anomalies] == [
        ("malformed_payload", bad["event_id"])
    ]


# --------------------------------------------------------------------------- partitioning


def test_connectors_have_independent_delivery_states() -> None:
    log = EventLog()
    # The same delivery key on two connectors is two deliveries.
    log.add(SYNC_RETRY_SCHEDULED, connector_id="conn-b")
    log.add(SYNC_INGEST_ACCEPTED, connector_id="conn-a", ingested_count=2)
    log.add(SYNC_INGEST_ACCEPTED, connector_id="conn-b", ingested_count=5)
    log.add(SYNC_INGEST_REJECTED, connector_id="conn-c")
    result = reduce_sync_events(log.events)
    assert list(result.sync) == ["conn-a", "conn-b", "conn-c"]
    a, b, c = (result.sync[k] for k in ("conn-a", "conn-b", "conn-c"))
    assert (a.ingested_items, b.ingested_items, c.ingested_items) == (2, 5, 0)
    assert a.outcome_counts == counts(accepted=1)
    assert b.outcome_counts == counts(retry_scheduled=1, accepted=1)
    assert c.outcome_counts == counts(rejected=1)
    assert a.anomalies == b.anomalies == c.anomalies == ()


def test_sync_reducer_ignores_other_families() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED)
    log.add(SYNC_INGEST_ACCEPTED)
    result = reduce_sync_events(log.events)
    assert (result.event_count, result.ignored_event_count) == (2, 1)
    assert list(result.sync) == [CID]


def test_whole_log_replay_agrees_with_the_sync_reducer() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED)
    log.add(SYNC_RETRY_SCHEDULED)
    log.add(SYNC_INGEST_ACCEPTED)
    assert replay(log.events).sync == reduce_sync_events(log.events).sync
