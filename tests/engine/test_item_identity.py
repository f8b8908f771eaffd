"""Copies given as mappings or Events: two are one content exactly when canonical JSON says so.

The compiled core gives an item an identity from what it reads (objects.c)
and lets Python settle copies whose identities differ; so an identity may
tell apart more than canonical JSON does, never less. A payload's datetime
object is written in canonical JSON with its own UTC offset: one instant
at two offsets is two contents (found by an outside differential run, in
which the compiled core dropped such a copy as identical). A zero offset
is written ``Z``, as ``model_dump(mode="json")`` writes it, so an Event and
its documented wire form are one content.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts import (
    CONNECTOR_PROVISIONED,
    Event,
    ReplayResult,
    canonical_json,
    replay,
)
from tests.support.engines import ENGINES, Engine, engine, needs_native
from tests.support.factories import envelope
from tests.support.soak import examples

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
        # A zero offset is written Z, as model_dump(mode="json") writes it.
        (_UTC, "2026-11-24T01:00:00Z", True),
        (_UTC, "2026-11-24T01:00:00+00:00", False),
        (_UTC.astimezone(_PLUS_5), "2026-11-24T06:00:00+05:00", True),
    ],
    ids=[
        "other-offset",
        "same-offset-other-zone",
        "a-microsecond",
        "its-text",
        "other-text",
        "its-text-at-an-offset",
    ],
)
def test_a_payload_datetime_object_is_its_text_with_its_offset(
    name: Engine, as_events: bool, first: object, second: object, identical: bool
) -> None:
    result = _replay(name, _copies(first, second, as_events))
    assert result.event_count == 1
    assert result.duplicates_dropped == (1 if identical else 0)
    assert [a.kind for a in result.anomalies] == ([] if identical else ["conflicting_duplicate"])


@pytest.mark.parametrize("name", ENGINES)
def test_an_event_and_its_json_dump_are_one_content(name: Engine) -> None:
    event = envelope(CONNECTOR_PROVISIONED, seq=1)
    made = Event.model_validate(event | {"payload": event["payload"] | {"recorded_at": _UTC}})
    wire = made.model_dump(mode="json")  # what COMPATIBILITY tells a producer to store
    assert wire["payload"]["recorded_at"] == "2026-11-24T01:00:00Z"
    for copies in ([made, wire], [wire, made]):
        result = _replay(name, copies)
        assert (result.event_count, result.duplicates_dropped) == (1, 1)
        assert result.anomalies == ()
    assert canonical_json(made) == canonical_json(wire)


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_ZONES = (timezone.utc, _PLUS_5, timezone(timedelta(hours=-3, minutes=-30)))
_INSTANTS = st.one_of(
    st.sampled_from([_UTC.astimezone(zone) for zone in _ZONES]),  # one instant, three offsets
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(_ZONES),
    ),
    st.sampled_from(
        ["2026-11-24T01:00:00Z", "2026-11-24T01:00:00+00:00", "2026-11-24T06:00:00+05:00"]
    ),
)


def _reordered(value: Any, reverse: bool) -> Any:
    """``value`` with the keys of every object in reverse order when ``reverse``."""
    if reverse and isinstance(value, dict):
        return {key: _reordered(item, reverse) for key, item in reversed(value.items())}
    return value


@needs_native
@settings(max_examples=examples(200, 3000), deadline=None)
@given(
    pool=st.lists(_VALUES, min_size=1, max_size=2),
    picks=st.lists(
        st.tuples(st.integers(0, 1), _INSTANTS, st.booleans(), st.booleans()),
        min_size=2,
        max_size=3,
    ),
    as_events=st.booleans(),
)
def test_the_compiled_core_settles_item_copies_as_the_python_engine(
    pool: list[Any], picks: list[tuple[int, object, bool, bool]], as_events: bool
) -> None:
    """Copies of one event differing anywhere in their payload (values drawn from a
    small pool, so that copies often agree but for one member), as mappings or
    Events, the envelope's UUID a string or an object, keys in either order: the
    compiled core may tell more copies apart than canonical JSON, never fewer, and
    settles them as the models do, so the two engines give the same bytes."""
    event = envelope(CONNECTOR_PROVISIONED, seq=1)
    project = UUID(event["project_uuid"])
    items: list[Any] = [
        _reordered(
            event
            | {
                "payload": event["payload"]
                | {"recorded_at": at, "x_extra": pool[index % len(pool)]}
            }
            | ({"project_uuid": project} if as_object else {}),
            reverse,
        )
        for index, at, as_object, reverse in picks
    ]
    if as_events:
        items = [Event.model_validate(item) for item in items]
    assert _replay("compiled", items).to_json() == _replay("python", items).to_json()


@pytest.mark.parametrize("as_events", [False, True], ids=["mappings", "events"])
@pytest.mark.parametrize("name", ENGINES)
def test_copies_in_another_key_order_are_one_content(name: Engine, as_events: bool) -> None:
    # The compiled core gives them different identities (it reads keys in order)
    # and settles them without the models, as a line is settled: same result.
    event = envelope(CONNECTOR_PROVISIONED, seq=1)
    event["payload"]["x_extra"] = {"b": [1, 2.5, None], "a": "\u00e9"}
    items: list[Any] = [event, _reordered(event, True)]
    assert list(items[0]) != list(items[1])
    if as_events:
        items = [Event.model_validate(item) for item in items]
    result = _replay(name, items)
    assert (result.event_count, result.duplicates_dropped) == (1, 1)
    assert result.anomalies == ()
    assert result.to_json() == _replay(name, [items[0], items[0]]).to_json()
