"""Copies given as mappings or Events: two are one content exactly when canonical JSON says so.

The compiled core gives an item an identity from what it reads (objects.c)
and lets Python settle copies whose identities differ; so an identity may
tell apart more than canonical JSON does, never less. A payload's datetime
object is written in canonical JSON with its own UTC offset: one instant
at two offsets is two contents (found by an outside differential run, in
which the compiled core dropped such a copy as identical).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from connector_sync_contracts import CONNECTOR_PROVISIONED, Event, ReplayResult, replay
from tests.support.engines import ENGINES, Engine, engine
from tests.support.factories import envelope

_UTC = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
_PLUS_5 = timezone(timedelta(hours=5))


def _copies(first: object, second: object, as_events: bool) -> list[Any]:
    event = envelope(CONNECTOR_PROVISIONED, seq=1)
    copies = [event | {"payload": event["payload"] | {"recorded_at": at}} for at in (first, second)]
    return [Event.model_validate(copy) for copy in copies] if as_events else copies


def _replay(name: Engine, items: list[Any]) -> ReplayResult:
    with engine(name):
        return replay(items)


@pytest.mark.parametrize("as_events", [False, True], ids=["mappings", "events"])
@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize(
    ("first", "second", "identical"),
    [
        (_UTC, _UTC.astimezone(_PLUS_5), False),
        (_UTC.astimezone(_PLUS_5), _UTC.astimezone(timezone(timedelta(hours=5), "PKT")), True),
        (_UTC, _UTC.replace(microsecond=1), False),
        (_UTC, "2026-11-24T01:00:00+00:00", True),
        (_UTC, "2026-11-24T01:00:00Z", False),
    ],
    ids=["other-offset", "same-offset-other-zone", "a-microsecond", "its-text", "other-text"],
)
def test_a_payload_datetime_object_is_its_text_with_its_offset(
    name: Engine, as_events: bool, first: object, second: object, identical: bool
) -> None:
    result = _replay(name, _copies(first, second, as_events))
    assert result.event_count == 1
    assert result.duplicates_dropped == (1 if identical else 0)
    assert [a.kind for a in result.anomalies] == ([] if identical else ["conflicting_duplicate"])
