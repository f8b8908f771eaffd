"""A malformed copy never replaces a valid event (specification section 2, refinement 2.7.x).

Among differing copies of one event_id, a copy whose payload is valid always
beats a copy whose payload is malformed; the (sort key, canonical JSON) rule
decides only among copies of equal validity. So adding a malformed copy of a
valid event, with any ordering key, in any position, changes the projection
only by the ``conflicting_duplicate`` anomaly that reports it, whichever
entry point replays the log: ``replay()``, the incremental ``Projection``, or
the command line under either engine.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from connector_sync_contracts import Event, Projection, canonical_json, replay
from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts.contract.catalog import EVENT_FAMILIES
from connector_sync_contracts.io import Source
from tests.support.engines import ENGINES, Engine, engine
from tests.support.strategies import logs

Log = list[dict[str, Any]]


def _break(payload: dict[str, Any], how: int) -> dict[str, Any]:
    broken = dict(payload)
    if how == 0:
        broken.pop("connector_id", None)  # required everywhere: the payload is malformed
        broken["mission_id"] = None
    elif how == 1:
        broken["recorded_at"] = "yesterday"
    else:
        broken["mission_id"] = 42
    return broken


@st.composite
def logs_with_a_malformed_copy(draw: st.DrawFn) -> tuple[Log, dict[str, Any]]:
    """A log with at least one valid family event, and a malformed copy of one of them."""
    log = draw(logs(min_size=1, conflicting_ids=False))
    valid = [
        e
        for e in log
        if e["event_type"] in EVENT_FAMILIES
        and replay([e]).anomalies == ()
        and not any(
            a.kind == "malformed_payload"
            for part in (replay([e]).connectors, replay([e]).sync)
            for state in part.values()
            for a in state.anomalies
        )
    ]
    # A malformed copy of a malformed event competes on equal terms (the smaller
    # sort key wins), which is not what these tests are about.
    assume(valid)
    target = draw(st.sampled_from(valid))
    copy = json.loads(json.dumps(target))
    copy["payload"] = _break(copy["payload"], draw(st.integers(0, 2)))
    # Any ordering key: often one that sorts before the valid copy.
    copy["lamport_clock"] = draw(st.integers(0, target["lamport_clock"] + 2))
    return log, copy


def _without_the_conflict(data: dict[str, Any], event_id: str) -> dict[str, Any]:
    anomalies = [
        a
        for a in data["anomalies"]
        if not (a["kind"] == "conflicting_duplicate" and a["event_id"] == event_id)
    ]
    assert len(anomalies) == len(data["anomalies"]) - 1
    return {**data, "anomalies": anomalies}


@given(case=logs_with_a_malformed_copy(), data=st.data())
def test_a_malformed_copy_changes_nothing_but_the_conflict_anomaly(
    case: tuple[Log, dict[str, Any]], data: st.DataObject
) -> None:
    log, copy = case
    event_id = Event.model_validate(copy).event_id
    expected = replay(log).to_dict()
    mixed = data.draw(st.permutations([*log, copy]), label="mixed")
    assert _without_the_conflict(replay(mixed).to_dict(), event_id) == expected


@given(case=logs_with_a_malformed_copy())
def test_incremental_projection_lets_the_valid_copy_win_too(
    case: tuple[Log, dict[str, Any]],
) -> None:
    log, copy = case
    event_id = Event.model_validate(copy).event_id
    ordered = sorted(
        ((Event.model_validate(e), e) for e in [*log, copy]),
        key=lambda pair: (pair[0].sort_key, canonical_json(pair[0])),
    )
    projection = Projection()
    for _, item in ordered:
        projection.apply(item)
    assert _without_the_conflict(projection.result().to_dict(), event_id) == (replay(log).to_dict())


@pytest.mark.parametrize("engine_name", ENGINES)
@settings(max_examples=40)
@given(case=logs_with_a_malformed_copy(), data=st.data())
def test_the_command_line_keeps_the_valid_copy_in_every_engine(
    tmp_path_factory: pytest.TempPathFactory,
    engine_name: Engine,
    case: tuple[Log, dict[str, Any]],
    data: st.DataObject,
) -> None:
    log, copy = case
    mixed = data.draw(st.permutations([*log, copy]), label="mixed")
    path = tmp_path_factory.mktemp("dedup") / "log.jsonl"
    path.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in mixed))
    source = Source(str(path))
    try:
        with engine(engine_name):
            result, _ = replay_sources([source], on_problem=lambda *_: None)
    finally:
        source.close()
    assert result.to_json() == replay(mixed).to_json()
