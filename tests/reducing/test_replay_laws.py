"""Laws of replay that must hold for every log (FR-009; docs/specification.md sections 2, 6).

- permutation invariance: any order of the same events gives the same bytes;
- duplicate invariance: adding exact copies changes only ``duplicates_dropped``;
- partition independence: other connectors' events leave a connector's state alone;
- batch == incremental: ``Projection.apply`` over sorted input equals ``replay``,
  also when differing copies of one event_id share its sort key.

Example counts come from the Hypothesis profile loaded in ``tests/conftest.py``
(``CSC_SOAK=1`` for many more).
"""

from __future__ import annotations

import json
import warnings
from typing import Any, Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts import (
    CONNECTOR_PROVISIONED,
    Event,
    OutOfOrderWarning,
    Projection,
    canonical_json,
    replay,
    sort_key,
)
from connector_sync_contracts.contract.catalog import EVENT_FAMILIES, Family
from tests.support.factories import envelope, payload_for, ulid
from tests.support.strategies import CONNECTOR_IDS, broken_envelopes, logs

Log = list[dict[str, Any]]
SYNC_SKIPS: Final = {
    "malformed_payload",
    "duplicate_delivery",
    "conflicting_outcome",
    "retry_attempt_regressed",
    "retry_after_terminal",
}
"""Anomaly kinds that mean a sync event was skipped (docs/specification.md section 4)."""


def _replay_order(events: Log) -> Log:
    """Replay order, with the dedup winner first among copies of one event_id."""
    keyed = [(Event.model_validate(e), e) for e in events]
    keyed.sort(key=lambda pair: (pair[0].sort_key, canonical_json(pair[0])))
    return [e for _, e in keyed]


@given(
    log=logs(),
    broken=st.lists(broken_envelopes(), max_size=3),
    data=st.data(),
)
def test_any_permutation_gives_identical_bytes(log: Log, broken: Log, data: st.DataObject) -> None:
    events = log + broken
    expected = replay(events).to_json()
    shuffled = data.draw(st.permutations(events), label="shuffled")
    assert replay(shuffled).to_json() == expected
    assert replay(shuffled).to_json(include_logs=False) == replay(events).to_json(
        include_logs=False
    )


@given(log=logs(min_size=1), data=st.data())
def test_exact_duplicates_change_only_duplicates_dropped(log: Log, data: st.DataObject) -> None:
    copies = data.draw(st.lists(st.sampled_from(log), min_size=1, max_size=10), label="copies")
    mixed = data.draw(st.permutations(log + copies), label="mixed")
    before = json.loads(replay(log).to_json())
    after = json.loads(replay(mixed).to_json())
    assert after.pop("duplicates_dropped") == before.pop("duplicates_dropped") + len(copies)
    assert after == before


@given(
    connectors=st.sets(st.sampled_from(CONNECTOR_IDS), min_size=1, max_size=3).map(sorted),
    data=st.data(),
)
def test_other_connectors_events_leave_a_connectors_state_alone(
    connectors: list[str], data: st.DataObject
) -> None:
    mine = tuple(connectors)
    others = tuple(c for c in CONNECTOR_IDS if c not in mine)
    own = data.draw(logs(mine, id_base=0, max_size=30), label="own")
    foreign = data.draw(logs(others, id_base=1000, max_size=30), label="foreign")
    merged = data.draw(st.permutations(own + foreign), label="merged")
    alone, together = replay(own), replay(merged)
    for cid in mine:
        assert together.connectors.get(cid) == alone.connectors.get(cid)
        assert together.sync.get(cid) == alone.sync.get(cid)
    # The foreign log never mentions these connectors, not even malformed.
    assert set(replay(foreign).connectors).isdisjoint(mine)
    assert set(replay(foreign).sync).isdisjoint(mine)


@given(log=logs(), broken=st.lists(broken_envelopes(), max_size=2), broken_last=st.booleans())
def test_incremental_apply_over_sorted_input_equals_batch(
    log: Log, broken: Log, broken_last: bool
) -> None:
    """Invalid envelopes (no replay order: ``sort_key`` refuses them) may come before
    or after the sorted valid ones, as the README says."""
    projection = Projection()
    ordered = _replay_order(log)
    for event in [*ordered, *broken] if broken_last else [*broken, *ordered]:
        projection.apply(event)
    assert projection.result().to_json() == replay([*log, *broken]).to_json()


@st.composite
def logs_with_tied_copies(draw: st.DrawFn) -> Log:
    """A log in which some events have differing copies with their very sort key.

    Each twin keeps the event_id, lamport_clock and timestamp and changes
    the node_id, or names another connector: only the canonical JSON tells
    which copy ``replay`` keeps. Shuffled, so twins come in any order.
    """
    log = draw(logs())
    twins = []
    for event in log:
        if draw(st.integers(0, 3)) == 0:
            twin = {**event, "payload": dict(event["payload"])}
            if "connector_id" in twin["payload"] and draw(st.booleans()):
                others = [c for c in CONNECTOR_IDS if c != twin["payload"]["connector_id"]]
                twin["payload"]["connector_id"] = draw(st.sampled_from(others))
            else:
                twin["node_id"] = draw(st.sampled_from(["node-x", "node-0"]))
            twins.append(twin)
    return draw(st.permutations([*log, *twins]))


@given(log=logs_with_tied_copies())
def test_incremental_apply_sorted_by_sort_key_alone_equals_batch(log: Log) -> None:
    """Copies of one event_id with one sort key arrive together, in any order among
    themselves: the projection folds the copy ``replay`` keeps, and says nothing."""
    projection = Projection()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for event in sorted(log, key=sort_key):  # stable: twins keep their drawn order
            projection.apply(event)
    assert projection.out_of_order == 0
    assert projection.result().to_json() == replay(log).to_json()


def _ties(cid: str, node: str) -> dict[str, Any]:
    return envelope(
        CONNECTOR_PROVISIONED,
        event_id=ulid(7),
        aggregate_id=cid,
        lamport_clock=1,
        node_id=node,
        payload=payload_for(CONNECTOR_PROVISIONED, connector_id=cid),
    )


@pytest.mark.parametrize("first", ["c-b", "c-a"])
def test_tied_copies_in_either_order_fold_the_copy_replay_keeps(first: str) -> None:
    """Two copies of one event naming different connectors, one sort key (the outside
    sweep's case): whichever arrives first, the projection is replay()'s."""
    copies = [_ties("c-b", "n"), _ties("c-a", "n")]
    if first == "c-a":
        copies.reverse()
    projection = Projection()
    for event in copies:
        projection.apply(event)
    assert repr(projection) == "Projection(1 event, 1 connector, 0 out of order)"
    assert projection.result() == replay(copies)
    assert list(projection.result().connectors) == list(replay(copies).connectors)


def test_a_copy_replay_keeps_after_the_result_was_asked_for_is_out_of_order() -> None:
    """``result()`` folds the event applied last; a copy that replay() would keep
    instead, coming after that, is counted and warned about, not folded silently."""
    projection = Projection()
    projection.apply(_ties("c-b", "n"))
    assert list(projection.result().connectors) == ["c-b"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        projection.apply(_ties("c-a", "n"))
    assert [w.category for w in caught] == [OutOfOrderWarning]
    assert "replay() keeps" in str(caught[0].message)
    assert caught[0].filename == __file__
    assert projection.out_of_order == 1
    # A copy it would not keep changes nothing and is not out of order.
    projection.apply(_ties("c-c", "n"))
    assert projection.out_of_order == 1


def test_an_out_of_order_event_raised_as_an_error_is_applied_all_the_same() -> None:
    """Where warnings are errors (``-W error``, pytest's ``filterwarnings = error``), the
    warning comes once the event is applied: it was counted and never folded, and
    applying it again was dropped as its own duplicate."""
    provisioned = envelope(CONNECTOR_PROVISIONED, seq=1)
    later = envelope("ConnectorHealthChecked", seq=2)
    expected = Projection()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfOrderWarning)
        for event in (later, provisioned, provisioned):
            expected.apply(event)
    projection = Projection()
    projection.apply(later)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfOrderWarning)
        with pytest.raises(OutOfOrderWarning, match="arrived after"):
            projection.apply(provisioned)
        projection.apply(provisioned)  # again: a copy of an event already applied
    assert projection.out_of_order == 1
    assert projection.result() == expected.result()
    assert projection.result().duplicates_dropped == 1
    [state] = projection.result().connectors.values()
    assert state.current_state is not None


def _family_count(log: Log, family: Family) -> int:
    """Events of ``family`` whose payload names a connector (the rest are stream-level)."""
    return sum(
        1
        for e in log
        if EVENT_FAMILIES.get(e["event_type"]) is family
        and isinstance(e["payload"].get("connector_id"), str)
        and e["payload"]["connector_id"]
    )


@given(log=logs(conflicting_ids=False))
def test_every_event_is_counted_once(log: Log) -> None:
    result = replay(log)
    assert (result.event_count, result.duplicates_dropped) == (len(log), 0)
    assert result.ignored_event_count == sum(e["event_type"] not in EVENT_FAMILIES for e in log)
    assert sum(c.event_count for c in result.connectors.values()) == _family_count(
        log, Family.CONNECTOR
    )
    applied = sum(sum(s.outcome_counts.values()) for s in result.sync.values())
    skipped = sum(a.kind in SYNC_SKIPS for s in result.sync.values() for a in s.anomalies)
    # Each sync event is applied, or skipped with exactly one skip anomaly.
    assert applied + skipped == _family_count(log, Family.SYNC)
