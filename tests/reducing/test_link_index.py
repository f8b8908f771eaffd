"""``reduce_external_links``, the link family's entry point (docs/specification.md section 5).

The link index rules themselves are the shared rule suite's ``LinkRules``
(``tests/reducing/rules``), which every engine runs. Here: what is
particular to this entry point.
"""

from __future__ import annotations

from connector_sync_contracts import (
    CONNECTOR_PROVISIONED,
    EXTERNAL_REFERENCE_LINKED,
    reduce_external_links,
    replay,
)
from tests.support.factories import EventLog


def test_link_index_ignores_other_families() -> None:
    log = EventLog()
    log.add(CONNECTOR_PROVISIONED)
    log.add(EXTERNAL_REFERENCE_LINKED)
    index = reduce_external_links(log.events)
    assert (index.event_count, index.ignored_event_count) == (2, 1)
    assert index.links == replay(log.events).external_links.links
