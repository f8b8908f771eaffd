"""``reduce_connector_events``, the connector family's entry point (specification section 3).

The connector rules themselves (the transition matrix, observations,
reconnect loops, identity, semantic rules) are the shared rule suite's
``ConnectorRules`` (``tests/reducing/rules``), which every engine runs. Here:
what is particular to this entry point, and the matrix's own construction.
"""

from __future__ import annotations

from typing import Final

from connector_sync_contracts import (
    CONNECTOR_PROVISIONED,
    SYNC_INGEST_ACCEPTED,
    ConnectorState,
    reduce_connector_events,
    replay,
)
from tests.reducing.rules.connector import DRIVERS, MATRIX, path_to
from tests.support.factories import EventLog

CID: Final = "conn-github-1"


def test_every_state_is_reachable_and_targeted_by_the_matrix() -> None:
    for state in ConnectorState:
        assert path_to(state)[-1] is state
        assert any(d.target is state for d in DRIVERS)
    # Every (current state or none) x every driving event.
    assert len(MATRIX) == (len(ConnectorState) + 1) * len(DRIVERS)


def test_connector_reducer_ignores_other_families() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED, connector_id=CID)
    log.add(SYNC_INGEST_ACCEPTED, connector_id=CID)
    result = reduce_connector_events(log.events)
    assert result.event_count == 2
    assert result.ignored_event_count == 1
    assert result.connectors[CID].event_count == 1
    assert result.connectors == replay(log.events).connectors


def test_empty_log_gives_empty_projection() -> None:
    result = reduce_connector_events([])
    assert result.connectors == {}
    assert (result.event_count, result.duplicates_dropped, result.ignored_event_count) == (0, 0, 0)
