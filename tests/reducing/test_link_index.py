"""``reduce_external_links``, the link family's entry point (docs/specification.md section 5).

The link index rules themselves are the shared rule suite's ``LinkRules``
(``tests/reducing/rules``), which every engine runs. Here: what is
particular to this entry point.
"""

from __future__ import annotations

import pytest

from connector_sync_contracts import (
    CONNECTOR_PROVISIONED,
    EXTERNAL_REFERENCE_LINKED,
    SYNC_INGEST_ACCEPTED,
    reduce_connector_events,
    reduce_external_links,
    reduce_sync_events,
    replay,
)
from tests.support.engines import Engine, engine, needs_native
from tests.support.factories import EventLog


def test_link_index_ignores_other_families() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED)
    log.add(EXTERNAL_REFERENCE_LINKED)
    index = reduce_external_links(log.events)
    assert (index.event_count, index.ignored_event_count) == (2, 1)
    assert index.links == replay(log.events).external_links.links


@pytest.mark.parametrize("name", ["python", pytest.param("compiled", marks=needs_native)])
def test_each_family_reducer_counts_the_other_families_as_ignored(name: Engine) -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED)
    log.add(SYNC_INGEST_ACCEPTED)
    log.add(EXTERNAL_REFERENCE_LINKED, external_ref_id="acme/api#1", link_id="link-1")
    log.add(EXTERNAL_REFERENCE_LINKED, external_ref_id="acme/api#2", link_id="link-1")
    log.add(EXTERNAL_REFERENCE_LINKED, external_ref_url="https://u:p@github.com")
    with engine(name):
        connectors = reduce_connector_events(log.events)
        syncs = reduce_sync_events(log.events)
        index = reduce_external_links(log.events)
    # Links, valid or malformed, are other families' events here: no anomaly.
    assert (connectors.event_count, connectors.ignored_event_count) == (5, 4)
    assert [c.anomalies for c in connectors.connectors.values()] == [()]
    assert (syncs.event_count, syncs.ignored_event_count) == (5, 4)
    assert (index.event_count, index.ignored_event_count) == (5, 2)
    assert [a.kind for a in index.link_anomalies] == ["link_id_reused", "malformed_payload"]
