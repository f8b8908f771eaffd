"""``replay``'s result forms, the family entry points and ``Projection`` (sections 2, 6).

The whole-log and dedup rules themselves are the shared rule suite's
``ReplayRules`` and ``DedupRules`` (``tests/reducing/rules``), which every
engine runs. Here: the canonical JSON, inputs of either kind, the family
entry points against ``replay``, results without logs, and the incremental
``Projection``'s own behaviour.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Final

from connector_sync_contracts import (
    CONNECTOR_PROVISIONED,
    Event,
    Projection,
    reduce_connector_events,
    reduce_external_links,
    reduce_sync_events,
    replay,
)
from tests.reducing.rules.replay import a_day
from tests.support.factories import envelope

LOG_KEYS: Final = {"transition_log", "outcome_log", "deliveries"}


def test_to_json_is_canonical() -> None:
    raw = replay(a_day()).to_json()
    assert raw.endswith(b"}\n")
    again = json.dumps(json.loads(raw), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert raw.decode() == again
    assert replay(a_day()).to_json() == raw


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


def test_projection_apply_over_sorted_input_equals_replay() -> None:
    projection = Projection()
    for event in a_day():
        projection.apply(event)
    assert projection.result().to_json() == replay(a_day()).to_json()


def test_a_copied_projection_goes_on_apart_from_its_original() -> None:
    # Found by an outside tester: copy.copy shared the fold's state, and the original
    # then counted every later event as a duplicate of the copy's.
    events = a_day()
    half = len(events) // 2
    original = Projection()
    for event in events[:half]:
        original.apply(event)
    for make in (copy.copy, copy.deepcopy):
        checkpoint = make(original)
        for event in events[half:]:
            checkpoint.apply(event)
        assert checkpoint.result().to_json() == replay(events).to_json()
    assert original.result().to_json() == replay(events[:half]).to_json()
    for event in events[half:]:
        original.apply(event)
    assert original.result().to_json() == replay(events).to_json()


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
