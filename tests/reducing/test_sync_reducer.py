"""``reduce_sync_events``, the sync family's entry point (docs/specification.md section 4).

The delivery rules themselves are the shared rule suite's ``SyncRules``
(``tests/reducing/rules``), which every engine runs. Here: what is
particular to this entry point.
"""

from __future__ import annotations

from typing import Final

from connector_sync_contracts import (
    CONNECTOR_PROVISIONED,
    SYNC_INGEST_ACCEPTED,
    SYNC_RETRY_SCHEDULED,
    reduce_sync_events,
    replay,
)
from tests.support.factories import EventLog

CID: Final = "conn-github-1"


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
