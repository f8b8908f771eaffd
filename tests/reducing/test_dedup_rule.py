"""A malformed copy never replaces a valid event (specification section 2, refinement 2.7.x).

Among differing copies of one event_id, a copy whose payload is valid always
beats a copy whose payload is malformed; the (sort key, canonical JSON) rule
decides only among copies of equal validity. So adding a malformed copy of a
valid event, with any ordering key, in any position, changes the projection
only by the ``conflicting_duplicate`` anomaly that reports it. The shared
rule suite (``rules/dedup.py``) checks that law in every batch engine; here
the incremental ``Projection`` fed in replay order, and the command line
against ``replay()`` of the same shuffled log.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts import Event, Projection, canonical_json, replay
from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts.io import Source
from tests.reducing.rules.dedup import (
    UNKNOWN_TYPE,
    Log,
    logs_with_a_malformed_copy,
    without_conflict,
)
from tests.support.engines import ENGINES, Engine, engine
from tests.support.factories import envelope, payload_for


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
    assert without_conflict(projection.result().to_dict(), event_id) == (replay(log).to_dict())


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


def test_a_replaced_copy_of_no_family_is_no_longer_ignored() -> None:
    """Fed to ``Projection`` first, a copy of an event type with no payload model is
    counted as ignored; the valid copy that replaces it takes that count back."""
    valid = envelope("ConnectorProvisioned")
    other = valid | {"event_type": UNKNOWN_TYPE}
    projection = Projection()
    for item in (other, valid):
        projection.apply(item)
    batch = replay([valid, other])
    assert batch.ignored_event_count == 0
    assert projection.result().to_json() == batch.to_json()


@pytest.mark.parametrize("event_type", ["ConnectorProvisioned", "SyncIngestAccepted"])
def test_a_replaced_malformed_copy_leaves_no_trace_of_its_connector(event_type: str) -> None:
    """The malformed copy names another connector than the valid one that replaces it.

    Fed to ``Projection`` first, the malformed copy creates its connector's
    state; once the valid copy replaces it, that state must go, as
    ``replay()`` never creates it.
    """
    valid = envelope(event_type, payload_for(event_type, connector_id="conn-github-1"))
    malformed = envelope(
        event_type, payload_for(event_type, connector_id="conn-a-other", recorded_at="soon")
    )
    projection = Projection()
    for item in (malformed, valid):
        projection.apply(item)
    batch = replay([valid, malformed])
    assert "conn-a-other" not in {*batch.connectors, *batch.sync}
    assert projection.result().to_json() == batch.to_json()
