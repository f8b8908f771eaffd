"""Sync delivery rules: the per-delivery lifecycle of FR-007 (specification sections 4 and 8).

A delivery key is (delivery_id, source_event_fingerprint): retries, then one
terminal outcome. A retried delivery's final outcome counts; true duplicates
do not. The expected values are the delivery-rule table of section 4.
"""

from __future__ import annotations

import json
from typing import Any, Final

import pytest

from connector_sync_contracts import (
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
)
from tests.reducing.rules.base import RuleCase
from tests.support.factories import EventLog, envelope, iso, payload_for

__all__ = ["SPEC_OUTCOMES", "SPEC_TERMINAL", "TERMINAL_TYPES", "SyncRules", "counts"]

CID: Final = "conn-github-1"
INT64_MAX: Final = 2**63 - 1

SPEC_OUTCOMES: Final = {
    SYNC_INGEST_ACCEPTED: SyncOutcome.ACCEPTED,
    SYNC_INGEST_REJECTED: SyncOutcome.REJECTED,
    SYNC_RETRY_SCHEDULED: SyncOutcome.RETRY_SCHEDULED,
    SYNC_DEAD_LETTERED: SyncOutcome.DEAD_LETTERED,
    SYNC_REPLAY_COMPLETED: SyncOutcome.REPLAY_COMPLETED,
}
"""Section 4: the outcome each sync event records (written out, not read from the code)."""

SPEC_TERMINAL: Final = frozenset(
    {SyncOutcome.ACCEPTED, SyncOutcome.REJECTED, SyncOutcome.DEAD_LETTERED}
)
"""Section 4: "accepted / rejected / dead_lettered are terminal"."""

TERMINAL_TYPES: Final = sorted(t for t, o in SPEC_OUTCOMES.items() if o in SPEC_TERMINAL)
"""The event types whose outcome is terminal (accepted, rejected, dead-lettered)."""


def kinds(state: ReducedSyncState) -> list[str]:
    """The kinds of a connector's delivery anomalies, in fold order."""
    return [a.kind for a in state.anomalies]


def counts(**nonzero: int) -> dict[SyncOutcome, int]:
    """Outcome counts with every outcome present, zeros included."""
    return {outcome: nonzero.get(outcome.value, 0) for outcome in SyncOutcome}


def ids(*events: dict[str, Any]) -> list[str]:
    """The event ids of built events."""
    return [e["event_id"] for e in events]


def _skipped(why: str) -> str:
    return f"delivery dlv-0001 (sha256:9f2c1e): {why}; skipped"


class SyncRules(RuleCase):
    """Section 4: deliveries, their outcomes, counts and anomalies."""

    def one(self, log: EventLog) -> ReducedSyncState:
        """The delivery state of connector ``CID`` after replaying ``log`` with this engine."""
        return self.replay_log(log.events).sync[CID]

    # ----------------------------------------------------------------------- lifecycles

    def test_the_contract_tables_are_the_specifications(self) -> None:
        assert dict(SYNC_OUTCOMES) == SPEC_OUTCOMES
        assert TERMINAL_OUTCOMES == SPEC_TERMINAL

    def test_two_retries_then_a_dead_letter(self) -> None:
        log = EventLog()
        r1 = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1, max_retries=2)
        r2 = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2, max_retries=2)
        dead = log.add(SYNC_DEAD_LETTERED, total_attempts=3)
        state = self.one(log)
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

    def test_retry_then_accepted_counts_the_ingested_items(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        accepted = log.add(SYNC_INGEST_ACCEPTED, ingested_count=7)
        state = self.one(log)
        assert state.outcome_counts == counts(retry_scheduled=1, accepted=1)
        assert state.ingested_items == 7
        assert state.replayed_items == 0
        assert state.pending_retries == 0
        assert state.anomalies == ()
        assert state.deliveries is not None
        [delivery] = state.deliveries
        assert (delivery.status, delivery.attempts, delivery.last_event_id) == (
            SyncOutcome.ACCEPTED,
            2,
            accepted["event_id"],
        )

    def test_a_still_retrying_key_is_pending(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, delivery_id="dlv-a", retry_attempt=1)
        log.add(SYNC_RETRY_SCHEDULED, delivery_id="dlv-a", retry_attempt=2)
        log.add(SYNC_RETRY_SCHEDULED, delivery_id="dlv-b", retry_attempt=1)
        log.add(SYNC_INGEST_ACCEPTED, delivery_id="dlv-b")
        log.add(SYNC_INGEST_ACCEPTED, delivery_id="dlv-c")
        state = self.one(log)
        assert state.pending_retries == 1
        assert state.outcome_counts == counts(retry_scheduled=3, accepted=2)
        assert state.deliveries is not None
        assert [(d.delivery_id, d.status, d.attempts) for d in state.deliveries] == [
            ("dlv-a", SyncOutcome.RETRY_SCHEDULED, 2),
            ("dlv-b", SyncOutcome.ACCEPTED, 2),
            ("dlv-c", SyncOutcome.ACCEPTED, 1),
        ]

    @pytest.mark.parametrize("event_type", TERMINAL_TYPES)
    def test_first_terminal_outcome_without_retries_is_applied(self, event_type: str) -> None:
        log = EventLog()
        event = log.add(event_type)
        state = self.one(log)
        outcome = SPEC_OUTCOMES[event_type]
        assert state.outcome_counts == counts(**{outcome.value: 1})
        assert state.anomalies == ()
        assert state.ingested_items == (3 if outcome is SyncOutcome.ACCEPTED else 0)
        assert state.outcome_log == ((event["event_id"], outcome, "dlv-0001"),)
        assert state.pending_retries == 0

    def test_one_delivery_id_with_two_fingerprints_is_two_deliveries(self) -> None:
        log = EventLog()
        log.add(SYNC_INGEST_ACCEPTED, source_event_fingerprint="sha256:bbb", ingested_count=2)
        log.add(SYNC_INGEST_ACCEPTED, source_event_fingerprint="sha256:aaa", ingested_count=5)
        state = self.one(log)
        assert state.anomalies == ()
        assert state.ingested_items == 7
        assert state.deliveries is not None
        # Ordered by key, not by arrival.
        assert [d.source_event_fingerprint for d in state.deliveries] == [
            "sha256:aaa",
            "sha256:bbb",
        ]

    def test_one_fingerprint_with_two_delivery_ids_is_two_deliveries(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, delivery_id="dlv-b", retry_attempt=2)
        log.add(SYNC_RETRY_SCHEDULED, delivery_id="dlv-a", retry_attempt=1)
        state = self.one(log)
        assert state.anomalies == ()
        assert state.pending_retries == 2
        assert state.deliveries is not None
        assert [d.delivery_id for d in state.deliveries] == ["dlv-a", "dlv-b"]

    def test_deliveries_are_ordered_as_python_orders_their_keys(self) -> None:
        """By code point, whatever the characters: UTF-8 lengths, astral planes, prefixes."""
        keys = [
            ("dlv-\U0001f600", "sha256:a"),
            ("dlv-\ufffd", "sha256:a"),
            ("dlv-\u4e2d", "sha256:a"),
            ("dlv-\xe9", "sha256:a"),
            ("dlv-\x7f", "sha256:a"),
            ("dlv-z", "sha256:a"),
            ("dlv-", "sha256:b\xe9"),
            ("dlv-", "sha256:b"),
            ("dlv-", "sha256:\U00010000"),
            ("dlv", "sha256:a"),
        ]
        log = EventLog()
        for delivery_id, fingerprint in keys:
            log.add(
                SYNC_INGEST_ACCEPTED,
                delivery_id=delivery_id,
                source_event_fingerprint=fingerprint,
                ingested_count=1,
            )
        state = self.one(log)
        assert state.anomalies == ()
        assert state.deliveries is not None
        assert [(d.delivery_id, d.source_event_fingerprint) for d in state.deliveries] == sorted(
            keys
        )

    @pytest.mark.parametrize(
        "amounts",
        [[INT64_MAX, 1], [INT64_MAX] * 3],
        ids=["to-2^63", "past-2^64"],
    )
    def test_ingested_and_replayed_sums_are_exact_past_2_63(self, amounts: list[int]) -> None:
        # Section 8: sums are exact integers of any size; they never wrap.
        log = EventLog()
        for n, amount in enumerate(amounts):
            log.add(SYNC_INGEST_ACCEPTED, delivery_id=f"dlv-{n}", ingested_count=amount)
            log.add(SYNC_REPLAY_COMPLETED, delivery_id=f"dlv-{n}", replayed_count=amount)
        result = self.replay_log(log.events)
        state = result.sync[CID]
        assert state.anomalies == ()
        assert state.ingested_items == sum(amounts)
        assert state.replayed_items == sum(amounts)
        written = json.loads(result.to_json())["sync"][CID]
        assert (written["ingested_items"], written["replayed_items"]) == (sum(amounts),) * 2

    # ----------------------------------------------------------------------- terminal outcomes

    @pytest.mark.parametrize("event_type", TERMINAL_TYPES)
    def test_same_terminal_outcome_again_is_a_duplicate_delivery(self, event_type: str) -> None:
        log = EventLog()
        first = log.add(event_type)
        again = log.add(event_type)
        state = self.one(log)
        outcome = SPEC_OUTCOMES[event_type]
        assert kinds(state) == ["duplicate_delivery"]
        assert state.anomalies[0].event_id == again["event_id"]
        assert state.anomalies[0].message == _skipped(f"already {outcome.value}")
        assert state.outcome_counts == counts(**{outcome.value: 1})
        assert state.ingested_items == (3 if outcome is SyncOutcome.ACCEPTED else 0)
        assert state.deliveries is not None
        assert state.deliveries[0].last_event_id == first["event_id"]
        assert state.deliveries[0].attempts == 1

    @pytest.mark.parametrize(
        ("first_type", "then_type"),
        [(a, b) for a in TERMINAL_TYPES for b in TERMINAL_TYPES if a != b],
    )
    def test_another_terminal_outcome_is_a_conflicting_outcome(
        self, first_type: str, then_type: str
    ) -> None:
        log = EventLog()
        log.add(first_type)
        conflict = log.add(then_type)
        state = self.one(log)
        first, then = SPEC_OUTCOMES[first_type], SPEC_OUTCOMES[then_type]
        assert kinds(state) == ["conflicting_outcome"]
        assert state.anomalies[0].event_id == conflict["event_id"]
        assert state.anomalies[0].message == _skipped(f"{then.value} after terminal {first.value}")
        assert state.outcome_counts == counts(**{first.value: 1})
        assert state.ingested_items == (3 if first is SyncOutcome.ACCEPTED else 0)
        assert state.deliveries is not None
        assert state.deliveries[0].status is first

    # ----------------------------------------------------------------------- retries

    def test_same_retry_attempt_again_is_a_duplicate_delivery(self) -> None:
        log = EventLog()
        first = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        again = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        state = self.one(log)
        assert kinds(state) == ["duplicate_delivery"]
        assert state.anomalies[0].event_id == again["event_id"]
        assert state.anomalies[0].message == _skipped("retry 1 already seen")
        assert state.outcome_counts == counts(retry_scheduled=1)
        assert state.pending_retries == 1
        assert state.deliveries is not None
        assert (state.deliveries[0].attempts, state.deliveries[0].last_event_id) == (
            1,
            first["event_id"],
        )

    def test_same_retry_attempt_after_a_higher_one_is_regressed_not_duplicate(self) -> None:
        # Only the last attempt seen counts: 1, 2, then 1 again is a regression.
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2)
        lower = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        state = self.one(log)
        assert kinds(state) == ["retry_attempt_regressed"]
        assert state.anomalies[0].event_id == lower["event_id"]

    def test_lower_retry_attempt_is_regressed(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2)
        lower = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        state = self.one(log)
        assert kinds(state) == ["retry_attempt_regressed"]
        assert state.anomalies[0].event_id == lower["event_id"]
        assert state.anomalies[0].message == _skipped("retry 1 after retry 2")
        assert state.outcome_counts == counts(retry_scheduled=1)
        assert state.deliveries is not None
        assert state.deliveries[0].attempts == 1

    def test_retry_attempt_one_higher_than_the_last_is_applied(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        higher = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2)
        state = self.one(log)
        assert state.anomalies == ()
        assert state.outcome_counts == counts(retry_scheduled=2)
        assert state.deliveries is not None
        assert (state.deliveries[0].attempts, state.deliveries[0].last_event_id) == (
            2,
            higher["event_id"],
        )

    def test_skipped_retry_numbers_are_fine(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=3)
        state = self.one(log)
        assert state.anomalies == ()
        assert state.outcome_counts == counts(retry_scheduled=2)

    @pytest.mark.parametrize("event_type", TERMINAL_TYPES)
    def test_retry_after_a_terminal_outcome_is_skipped(self, event_type: str) -> None:
        log = EventLog()
        log.add(event_type)
        late = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        state = self.one(log)
        outcome = SPEC_OUTCOMES[event_type]
        assert kinds(state) == ["retry_after_terminal"]
        assert state.anomalies[0].event_id == late["event_id"]
        assert state.anomalies[0].message == _skipped(f"already {outcome.value}")
        assert state.outcome_counts == counts(**{outcome.value: 1})
        assert state.pending_retries == 0

    def test_retry_attempt_equal_to_max_retries_is_within_budget(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=3, max_retries=3)
        state = self.one(log)
        assert state.anomalies == ()
        assert state.outcome_counts == counts(retry_scheduled=1)

    def test_retry_over_budget_is_recorded_and_applied(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=3, max_retries=3)
        over = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=4, max_retries=3)
        state = self.one(log)
        # Section 8: retry_budget_exceeded only, never also a semantic_violation.
        assert kinds(state) == ["retry_budget_exceeded"]
        assert state.anomalies[0].event_id == over["event_id"]
        assert state.anomalies[0].message.startswith("retry_attempt_exceeds_max_retries: ")
        assert state.anomalies[0].message.endswith("; applied")
        assert state.outcome_counts == counts(retry_scheduled=2)
        assert state.pending_retries == 1
        assert state.deliveries is not None
        assert state.deliveries[0].last_event_id == over["event_id"]
        assert state.deliveries[0].attempts == 2

    def test_an_applied_retry_over_budget_and_too_early_has_both_anomalies(self) -> None:
        log = EventLog()
        retry = log.add(
            SYNC_RETRY_SCHEDULED, retry_attempt=5, max_retries=3, next_retry_at=iso(-10)
        )
        state = self.one(log)
        assert sorted(kinds(state)) == ["retry_budget_exceeded", "semantic_violation"]
        assert {a.event_id for a in state.anomalies} == {retry["event_id"]}
        violation = next(a for a in state.anomalies if a.kind == "semantic_violation")
        assert "next_retry_at" in violation.message
        assert state.outcome_counts == counts(retry_scheduled=1)

    def test_skipped_retry_is_not_reported_as_an_applied_budget_overrun(self) -> None:
        # Each skipped copy of an over-budget retry is one skip, not a second overrun.
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=4, max_retries=3)
        again = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=4, max_retries=3)
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=6, max_retries=3)
        lower = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=5, max_retries=3)
        log.add(SYNC_DEAD_LETTERED)
        late = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=7, max_retries=3)
        state = self.one(log)
        assert kinds(state) == [
            "retry_budget_exceeded",
            "duplicate_delivery",
            "retry_budget_exceeded",
            "retry_attempt_regressed",
            "retry_after_terminal",
        ]
        assert [state.anomalies[k].event_id for k in (1, 3, 4)] == ids(again, lower, late)

    def test_a_skipped_retry_breaking_a_semantic_rule_records_only_its_skip(self) -> None:
        # Section 8: on a skipped retry only the skip's own anomaly is recorded; a
        # semantic_violation goes with an applied event (section 3), as the budget does.
        early = iso(-10)
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2, max_retries=3)
        again = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2, max_retries=3, next_retry_at=early)
        lower = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1, max_retries=3, next_retry_at=early)
        log.add(SYNC_DEAD_LETTERED)
        late = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=3, max_retries=3, next_retry_at=early)
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("duplicate_delivery", again["event_id"]),
            ("retry_attempt_regressed", lower["event_id"]),
            ("retry_after_terminal", late["event_id"]),
        ]

    def test_an_applied_retry_breaking_a_semantic_rule_after_a_skip_records_it(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        again = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1, next_retry_at=iso(-10))
        applied = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2, next_retry_at=iso(-10))
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("duplicate_delivery", again["event_id"]),
            ("semantic_violation", applied["event_id"]),
        ]

    # ----------------------------------------------------------------------- boundaries

    def test_retry_attempts_at_the_largest_count_compare_exactly(self) -> None:
        # Section 8: counts are signed 64-bit, at most 2**63 - 1. The top two
        # values are applied in order, then a copy is a duplicate and the lower
        # one a regression: nothing wraps or saturates.
        log = EventLog()
        low = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=INT64_MAX - 1, max_retries=INT64_MAX)
        top = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=INT64_MAX, max_retries=INT64_MAX)
        again = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=INT64_MAX, max_retries=INT64_MAX)
        lower = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=INT64_MAX - 1, max_retries=INT64_MAX)
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("duplicate_delivery", again["event_id"]),
            ("retry_attempt_regressed", lower["event_id"]),
        ]
        assert [a.message for a in state.anomalies] == [
            _skipped(f"retry {INT64_MAX} already seen"),
            _skipped(f"retry {INT64_MAX - 1} after retry {INT64_MAX}"),
        ]
        assert state.outcome_log is not None
        assert [e for e, _, _ in state.outcome_log] == ids(low, top)
        assert state.pending_retries == 1

    def test_retry_budget_at_the_largest_count(self) -> None:
        log = EventLog()
        log.add(
            SYNC_RETRY_SCHEDULED, delivery_id="d1", retry_attempt=INT64_MAX, max_retries=INT64_MAX
        )
        over = log.add(
            SYNC_RETRY_SCHEDULED,
            delivery_id="d2",
            retry_attempt=INT64_MAX,
            max_retries=INT64_MAX - 1,
        )
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("retry_budget_exceeded", over["event_id"])
        ]

    def test_retry_attempt_one_over_max_retries_is_over_budget(self) -> None:
        log = EventLog()
        over = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=2, max_retries=1)
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("retry_budget_exceeded", over["event_id"])
        ]
        assert state.anomalies[0].message == (
            "retry_attempt_exceeds_max_retries: retry_attempt must not exceed max_retries; applied"
        )

    @pytest.mark.parametrize(
        ("event_type", "field", "lowest"),
        [
            (SYNC_INGEST_ACCEPTED, "ingested_count", 1),
            (SYNC_RETRY_SCHEDULED, "retry_attempt", 1),
            (SYNC_RETRY_SCHEDULED, "max_retries", 1),
            (SYNC_DEAD_LETTERED, "total_attempts", 1),
            (SYNC_REPLAY_COMPLETED, "replayed_count", 0),
        ],
    )
    def test_counts_at_their_bounds_are_valid_and_beyond_them_malformed(
        self, event_type: str, field: str, lowest: int
    ) -> None:
        # Section 4 gives each count's minimum, section 8 the maximum 2**63 - 1.
        # (A retry within its budget: max_retries at the largest count too.)
        budget = {"max_retries": INT64_MAX} if field == "retry_attempt" else {}
        for value in (lowest, INT64_MAX):
            log = EventLog()
            log.add(event_type, **{**budget, field: value})
            state = self.one(log)
            assert state.anomalies == (), value
            assert sum(state.outcome_counts.values()) == 1
        for value in (lowest - 1, INT64_MAX + 1):
            log = EventLog()
            bad = log.add(event_type, **{**budget, field: value})
            state = self.one(log)
            assert [(a.kind, a.event_id) for a in state.anomalies] == [
                ("malformed_payload", bad["event_id"])
            ], value
            assert f"payload.{field}" in state.anomalies[0].message
            assert sum(state.outcome_counts.values()) == 0

    def test_a_replay_of_zero_items_is_applied_and_counted(self) -> None:
        log = EventLog()
        replay_event = log.add(SYNC_REPLAY_COMPLETED, replayed_count=0)
        state = self.one(log)
        assert state.anomalies == ()
        assert state.replayed_items == 0
        assert state.outcome_counts == counts(replay_completed=1)
        assert state.outcome_log == (
            (replay_event["event_id"], SyncOutcome.REPLAY_COMPLETED, "dlv-0001"),
        )

    def test_only_a_retrying_key_is_pending(self) -> None:
        # pending_retries: keys still retrying at the end. A key that only has a
        # replay, or ended after its retries, is not pending.
        log = EventLog()
        log.add(SYNC_REPLAY_COMPLETED, delivery_id="d-replayed")
        log.add(SYNC_RETRY_SCHEDULED, delivery_id="d-ended")
        log.add(SYNC_INGEST_REJECTED, delivery_id="d-ended")
        log.add(SYNC_RETRY_SCHEDULED, delivery_id="d-retrying")
        log.add(SYNC_REPLAY_COMPLETED, delivery_id="d-retrying")
        state = self.one(log)
        assert state.anomalies == ()
        assert state.pending_retries == 1
        assert state.deliveries is not None
        assert [(d.delivery_id, d.status, d.attempts) for d in state.deliveries] == [
            ("d-ended", SyncOutcome.REJECTED, 2),
            ("d-replayed", SyncOutcome.REPLAY_COMPLETED, 0),
            ("d-retrying", SyncOutcome.REPLAY_COMPLETED, 1),
        ]

    def test_a_retry_after_a_replay_is_applied(self) -> None:
        # A replay is not terminal and sets no retry number: retry 1 still applies.
        log = EventLog()
        log.add(SYNC_REPLAY_COMPLETED)
        retry = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        state = self.one(log)
        assert state.anomalies == ()
        assert state.pending_retries == 1
        assert state.deliveries is not None
        assert (state.deliveries[0].status, state.deliveries[0].last_event_id) == (
            SyncOutcome.RETRY_SCHEDULED,
            retry["event_id"],
        )

    def test_a_replay_after_a_terminal_outcome_keeps_the_terminal_outcome(self) -> None:
        # A later replay is applied and becomes the status; the delivery has still
        # ended, so a retry after it is retry_after_terminal naming the terminal outcome.
        log = EventLog()
        log.add(SYNC_INGEST_ACCEPTED, ingested_count=2)
        log.add(SYNC_REPLAY_COMPLETED, replayed_count=2)
        late = log.add(SYNC_RETRY_SCHEDULED, retry_attempt=1)
        again = log.add(SYNC_INGEST_ACCEPTED, ingested_count=2)
        state = self.one(log)
        assert [(a.kind, a.event_id) for a in state.anomalies] == [
            ("retry_after_terminal", late["event_id"]),
            ("duplicate_delivery", again["event_id"]),
        ]
        assert state.anomalies[0].message == _skipped("already accepted")
        assert (state.ingested_items, state.replayed_items) == (2, 2)
        assert state.pending_retries == 0

    # ----------------------------------------------------------------------- replays

    def test_replay_completed_applies_once_per_key(self) -> None:
        log = EventLog()
        log.add(SYNC_DEAD_LETTERED)
        log.add(SYNC_REPLAY_COMPLETED, replayed_count=4)
        again = log.add(SYNC_REPLAY_COMPLETED, replayed_count=4)
        log.add(SYNC_REPLAY_COMPLETED, delivery_id="dlv-other", replayed_count=0)
        state = self.one(log)
        assert kinds(state) == ["duplicate_delivery"]
        assert state.anomalies[0].event_id == again["event_id"]
        assert state.anomalies[0].message == _skipped("replay already completed")
        assert state.replayed_items == 4
        assert state.outcome_counts == counts(dead_lettered=1, replay_completed=2)

    def test_a_terminal_outcome_after_a_replay_is_applied(self) -> None:
        # A replay is not a terminal outcome: the delivery's first terminal event still applies.
        log = EventLog()
        log.add(SYNC_REPLAY_COMPLETED, replayed_count=1)
        accepted = log.add(SYNC_INGEST_ACCEPTED, ingested_count=5)
        state = self.one(log)
        assert state.anomalies == ()
        assert (state.ingested_items, state.replayed_items) == (5, 1)
        assert state.deliveries is not None
        [delivery] = state.deliveries
        assert (delivery.status, delivery.last_event_id) == (
            SyncOutcome.ACCEPTED,
            accepted["event_id"],
        )

    # ----------------------------------------------------------------------- semantic rules

    def test_semantic_violation_is_recorded_and_applied(self) -> None:
        log = EventLog()
        retry = log.add(SYNC_RETRY_SCHEDULED, next_retry_at=iso(-10))
        state = self.one(log)
        assert kinds(state) == ["semantic_violation"]
        assert state.anomalies[0].event_id == retry["event_id"]
        assert "next_retry_at" in state.anomalies[0].message
        assert state.outcome_counts == counts(retry_scheduled=1)

    def test_next_retry_at_equal_to_recorded_at_is_fine(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, next_retry_at=iso(1))
        assert self.one(log).anomalies == ()

    def test_next_retry_at_one_second_before_recorded_at_is_a_violation(self) -> None:
        log = EventLog()
        log.add(SYNC_RETRY_SCHEDULED, next_retry_at="2026-11-25T08:00:59Z")
        assert kinds(self.one(log)) == ["semantic_violation"]

    # ----------------------------------------------------------------------- malformed payloads

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
        self, fields: dict[str, Any], field: str
    ) -> None:
        log = EventLog()
        bad = log.add(SYNC_INGEST_ACCEPTED, **fields)
        log.add(SYNC_INGEST_ACCEPTED, delivery_id="dlv-ok")
        result = self.replay_log(log.events)
        state = result.sync[CID]
        assert kinds(state) == ["malformed_payload"]
        assert state.anomalies[0].event_id == bad["event_id"]
        assert f"payload.{field}" in state.anomalies[0].message
        assert state.outcome_counts == counts(accepted=1)
        assert result.anomalies == ()

    @pytest.mark.parametrize("connector_id", ["", 7, None])
    def test_malformed_payload_without_readable_connector_is_stream_level(
        self, connector_id: object
    ) -> None:
        bad = envelope(
            SYNC_INGEST_ACCEPTED, payload_for(SYNC_INGEST_ACCEPTED) | {"connector_id": connector_id}
        )
        result = self.replay_log([bad])
        assert result.sync == {}
        assert [(a.kind, a.event_id) for a in result.anomalies] == [
            ("malformed_payload", bad["event_id"])
        ]

    # ----------------------------------------------------------------------- partitioning

    def test_connectors_have_independent_delivery_states(self) -> None:
        log = EventLog()
        # The same delivery key on two connectors is two deliveries.
        log.add(SYNC_RETRY_SCHEDULED, connector_id="conn-b")
        log.add(SYNC_INGEST_ACCEPTED, connector_id="conn-a", ingested_count=2)
        log.add(SYNC_INGEST_ACCEPTED, connector_id="conn-b", ingested_count=5)
        log.add(SYNC_INGEST_REJECTED, connector_id="conn-c")
        result = self.replay_log(log.events)
        assert list(result.sync) == ["conn-a", "conn-b", "conn-c"]
        a, b, c = (result.sync[k] for k in ("conn-a", "conn-b", "conn-c"))
        assert (a.ingested_items, b.ingested_items, c.ingested_items) == (2, 5, 0)
        assert a.outcome_counts == counts(accepted=1)
        assert b.outcome_counts == counts(retry_scheduled=1, accepted=1)
        assert c.outcome_counts == counts(rejected=1)
        assert a.anomalies == b.anomalies == c.anomalies == ()
