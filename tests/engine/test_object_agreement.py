"""``replay()`` of Python objects: the compiled core and pure Python tell the same story.

The core reads mappings and ``Event`` objects itself (``objects.c``) and
takes only values JSON carries exactly; anything else goes to the models.
The law: for any list of items, ``replay()`` with the compiled core equals
``replay()`` in pure Python, byte for byte. Items are envelopes drawn from
the schemas (valid, and mutated), mixed with the Python values a service
might hand over: datetime and UUID objects where the models take them and
where they do not, tuples, subclasses of str, int, dict and float, NaN,
infinities, integers past 64 bits, lone surrogates, deep nesting, booleans
for integers, ``Event`` objects and copies of the same event with other
content.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import json
import sys
import threading
import uuid
import warnings
from collections import OrderedDict
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connector_sync_contracts import (
    Event,
    Projection,
    reduce_connector_events,
    reduce_external_links,
    reduce_sync_events,
    replay,
    sort_key,
    validate_event,
)
from connector_sync_contracts.schemas import ENVELOPE_SCHEMA
from connector_sync_contracts.validation.layers import _validated
from tests.support.engines import engine, needs_native, order_and_identity
from tests.support.schema_strategies import mutated_documents, valid_documents
from tests.support.soak import examples

pytestmark = needs_native


class _Str(str):
    pass


class _Int(int):
    pass


class _Float(float):
    pass


class _Color(str, enum.Enum):
    HEALTHY = "healthy"


def _as_datetime(text: object, tz: timezone | None) -> object:
    if not isinstance(text, str):
        return text
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return text
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 has no UTC datetime: keep the text
        return text


_SECONDS_OFFSET = timezone(timedelta(minutes=19, seconds=32))
"""An offset with seconds (Amsterdam's mean time): RFC 3339 cannot write it."""


def _as_uuid(text: object) -> object:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return text


_TWISTS = (
    "none",
    "timestamp-datetime-utc",
    "timestamp-datetime-offset",
    "timestamp-datetime-naive",
    "timestamp-datetime-offset-seconds",
    "recorded_at-datetime",
    "recorded_at-datetime-offset-seconds",
    "project_uuid-object",
    "payload-uuid-object",
    "node_id-datetime",
    "str-subclass",
    "int-subclass",
    "float-subclass",
    "enum-member",
    "ordered-dict",
    "payload-ordered-dict",
    "tuple-extra",
    "nan-extra",
    "inf-latency",
    "big-int-extra",
    "huge-int-extra",
    "surrogate",
    "bool-lamport",
    "float-lamport",
    "deep-extra",
    "key-not-str",
)


def _twist(doc: dict[str, Any], how: str) -> Any:
    """``doc`` with one kind of Python value put in (where it fits)."""
    doc = copy.deepcopy(doc)
    payload: dict[Any, Any] = doc["payload"] if isinstance(doc.get("payload"), dict) else {}
    if how == "timestamp-datetime-utc":
        doc["timestamp"] = _as_datetime(doc.get("timestamp"), timezone.utc)
    elif how == "timestamp-datetime-offset":
        doc["timestamp"] = _as_datetime(doc.get("timestamp"), timezone(timedelta(hours=-7)))
    elif how == "timestamp-datetime-naive":
        doc["timestamp"] = _as_datetime(doc.get("timestamp"), None)
    elif how == "timestamp-datetime-offset-seconds":
        doc["timestamp"] = _as_datetime(doc.get("timestamp"), _SECONDS_OFFSET)
    elif how == "recorded_at-datetime" and "recorded_at" in payload:
        payload["recorded_at"] = _as_datetime(payload["recorded_at"], timezone.utc)
    elif how == "recorded_at-datetime-offset-seconds" and "recorded_at" in payload:
        payload["recorded_at"] = _as_datetime(payload["recorded_at"], _SECONDS_OFFSET)
    elif how == "project_uuid-object":
        doc["project_uuid"] = _as_uuid(doc.get("project_uuid"))
    elif how == "payload-uuid-object" and "project_uuid" in payload:
        payload["project_uuid"] = _as_uuid(payload["project_uuid"])
    elif how == "node_id-datetime":
        doc["node_id"] = datetime(2026, 1, 1, tzinfo=timezone.utc)
    elif how == "str-subclass":
        doc["aggregate_id"] = _Str(doc.get("aggregate_id", "x"))
    elif how == "int-subclass" and isinstance(doc.get("lamport_clock"), int):
        doc["lamport_clock"] = _Int(doc["lamport_clock"])
    elif how == "float-subclass" and isinstance(payload.get("latency_ms"), float):
        payload["latency_ms"] = _Float(payload["latency_ms"])
    elif how == "enum-member" and payload.get("health_status") == "healthy":
        payload["health_status"] = _Color.HEALTHY
    elif how == "ordered-dict":
        return OrderedDict(doc)
    elif how == "payload-ordered-dict" and payload:
        doc["payload"] = OrderedDict(payload)
    elif how == "tuple-extra":
        payload["x_tuple"] = (1, "two", None)
    elif how == "nan-extra":
        payload["x_nan"] = float("nan")
    elif how == "inf-latency":
        payload["latency_ms"] = float("inf")
    elif how == "big-int-extra":
        payload["x_big"] = 2**64 - 1
    elif how == "huge-int-extra":
        payload["x_huge"] = 2**64
    elif how == "surrogate":
        doc["node_id"] = "node-\ud800"
    elif how == "bool-lamport":
        doc["lamport_clock"] = True
    elif how == "float-lamport" and isinstance(doc.get("lamport_clock"), int):
        doc["lamport_clock"] = float(doc["lamport_clock"])
    elif how == "deep-extra":
        deep: Any = 1
        for _ in range(70):
            deep = [deep]
        payload["x_deep"] = deep
    elif how == "key-not-str":
        payload[7] = "seven"
    return doc


@st.composite
def items(draw: st.DrawFn) -> list[Any]:
    """A small batch of envelopes: valid and mutated, twisted, as Events, with copies."""
    docs = draw(
        st.lists(
            st.one_of(valid_documents(ENVELOPE_SCHEMA), mutated_documents(ENVELOPE_SCHEMA)),
            min_size=1,
            max_size=8,
        )
    )
    out: list[Any] = []
    for doc in docs:
        item = _twist(doc, draw(st.sampled_from(_TWISTS)))
        if draw(st.integers(0, 3)) == 0 and isinstance(item, dict):
            with contextlib.suppress(ValidationError, TypeError, ValueError):
                item = Event.model_validate(item)
        out.append(item)
        if draw(st.integers(0, 4)) == 0:
            out.append(copy.deepcopy(item))  # an identical copy
    return out


def _both(function: Any, batch: list[Any]) -> tuple[bytes, bytes]:
    with engine("compiled"):
        compiled = function(copy.deepcopy(batch)).to_json()
    with engine("python"):
        python = function(copy.deepcopy(batch)).to_json()
    return compiled, python


@settings(
    max_examples=examples(150, 3000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(items())
def test_replay_of_objects_is_the_same_with_and_without_the_core(batch: list[Any]) -> None:
    compiled, python = _both(replay, batch)
    assert compiled == python


@pytest.mark.parametrize(
    "function", [reduce_connector_events, reduce_sync_events, reduce_external_links]
)
@settings(max_examples=examples(30, 500), deadline=None)
@given(batch=items())
def test_each_reducer_is_the_same_with_and_without_the_core(
    function: Any, batch: list[Any]
) -> None:
    compiled, python = _both(function, batch)
    assert compiled == python


def _provisioned(event_id: str, timestamp: str, **payload: Any) -> dict[str, Any]:
    """A valid ConnectorProvisioned envelope of connector c1 at lamport 1."""
    return {
        "event_id": event_id,
        "event_type": "ConnectorProvisioned",
        "aggregate_id": "c1",
        "payload": {
            "connector_id": "c1",
            "connector_type": "webhook",
            "provider": "github",
            "mission_id": "m1",
            "project_uuid": "6f1c2b9e-4a7d-4e21-9d3b-8c5a7e2f1b04",
            "actor_id": "a",
            "actor_type": "service",
            "endpoint_url": "https://h.example/x",
            "recorded_at": "2026-11-24T01:00:00Z",
            **payload,
        },
        "timestamp": timestamp,
        "node_id": "n1",
        "lamport_clock": 1,
        "project_uuid": "6f1c2b9e-4a7d-4e21-9d3b-8c5a7e2f1b04",
        "correlation_id": event_id,
    }


@pytest.mark.parametrize("field", ["timestamp", "recorded_at"])
def test_a_datetime_whose_offset_has_seconds_is_refused_by_both(field: str) -> None:
    """Seconds in a UTC offset make the core leave the item to the models, which
    refuse it: the same result, and the event is not applied."""
    doc = _provisioned("01M85H26M00000000000000002", "2026-11-24T01:00:00Z")
    assert replay([doc]).connectors["c1"].current_state == "provisioned"
    where = doc["payload"] if field == "recorded_at" else doc
    where[field] = datetime(2026, 11, 24, 1, tzinfo=_SECONDS_OFFSET)
    compiled, python = _both(replay, [doc])
    assert compiled == python
    with engine("compiled"):
        result = replay([doc])
    state = result.connectors.get("c1")  # a malformed payload still names its connector
    assert state is None or state.current_state is None
    assert "whole minutes" in compiled.decode()


def _applied(batch: list[Any]) -> tuple[bytes, int, list[str]]:
    """``Projection.apply`` of each item in the order given, then ``result()``: its
    JSON, the events folded out of replay order, and the warnings raised."""
    projection = Projection()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for item in batch:
            projection.apply(item)
        result = projection.result().to_json()
    return result, projection.out_of_order, [str(w.message) for w in caught]


@st.composite
def applied_items(draw: st.DrawFn) -> list[Any]:
    """``items()``, some of them followed by a copy in the other form (the mapping of
    an Event, or the Event of a mapping), in any order."""
    batch = draw(items())
    out: list[Any] = []
    for item in batch:
        out.append(item)
        if draw(st.integers(0, 3)) == 0:
            with contextlib.suppress(ValidationError, TypeError, ValueError):
                out.append(
                    item.model_dump(mode="json")
                    if isinstance(item, Event)
                    else Event.model_validate(copy.deepcopy(item))
                )
    return draw(st.permutations(out))


@settings(
    max_examples=examples(150, 3000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(applied_items())
def test_projection_is_the_same_with_and_without_the_core(batch: list[Any]) -> None:
    """The core decides the items it takes as the models would: the same result, the
    same events out of order, the same warnings, whatever the order and the form."""
    with engine("compiled"):
        compiled = _applied(copy.deepcopy(batch))
    with engine("python"):
        python = _applied(copy.deepcopy(batch))
    assert compiled == python


_FORMS = ("mapping", "event")


def _in_form(doc: dict[str, Any], form: str) -> Any:
    return Event.model_validate(doc) if form == "event" else doc


@pytest.mark.parametrize("first", _FORMS)
@pytest.mark.parametrize("second", _FORMS)
@pytest.mark.parametrize("swapped", [False, True])
def test_projection_breaks_a_tie_of_copies_by_canonical_json(
    first: str, second: str, swapped: bool
) -> None:
    """Two differing copies of one event with one sort key (the timestamp written in
    two offsets): replay() keeps the smaller canonical JSON, and so does a
    Projection in either engine, whichever copy and form comes first."""
    eid = "01M85H26M00000000000000007"
    # The copies differ in what the projection shows: which one was kept tells.
    a = _provisioned(eid, "2026-11-24T01:00:00.000001Z", mission_id="m-a")
    b = _provisioned(eid, "2026-11-24T02:00:00.000001+01:00", mission_id="m-b")
    batch = [_in_form(a, first), _in_form(b, second)]
    if swapped:
        batch.reverse()
    expected = replay(copy.deepcopy(batch)).to_json()
    with engine("compiled"):
        compiled = _applied(copy.deepcopy(batch))
    with engine("python"):
        python = _applied(copy.deepcopy(batch))
    assert compiled == python
    assert compiled[0] == expected
    assert b'"conflicting_duplicate"' in expected
    assert json.loads(expected)["connectors"]["c1"]["mission_id"] == "m-a"  # sorts first


@pytest.mark.parametrize("early_form", _FORMS)
@pytest.mark.parametrize("late_form", _FORMS)
def test_projection_orders_events_a_microsecond_apart(early_form: str, late_form: str) -> None:
    """Events with one lamport_clock, a microsecond apart (one written with an
    offset; the later one has the smaller event_id): applied in replay order
    none is out of order, the other way round one is, in either form."""
    early = _provisioned("01M85H26M00000000000000009", "2026-11-24T02:00:00.000001+01:00")
    late = _provisioned("01M85H26M00000000000000008", "2026-11-24T01:00:00.000002Z")
    for name in ("compiled", "python"):
        with engine(name):
            first, second = _in_form(early, early_form), _in_form(late, late_form)
            in_order = _applied([first, second])
            first, second = _in_form(early, early_form), _in_form(late, late_form)
            reversed_ = _applied([second, first])
        assert in_order[1] == 0, name
        assert reversed_[1] == 1, name


class _Reentrant(tzinfo):
    """UTC, whose first ``utcoffset`` applies another item to a projection: Python
    code the core runs while it reads an item calls the core again."""

    def __init__(self, projection: Projection, item: dict[str, Any]) -> None:
        self.projection = projection
        self.item: dict[str, Any] | None = item

    def utcoffset(self, dt: datetime | None) -> timedelta:
        item, self.item = self.item, None
        if item is not None:
            self.projection.apply(item)
        return timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "UTC"


def test_an_item_applied_while_another_is_read_is_decided_alike() -> None:
    """The inner item is left to the models; the outcome is pure Python's."""
    results = []
    for name in ("compiled", "python"):
        with engine(name):
            projection = Projection()
            inner = _provisioned("01M85H26M00000000000000011", "2026-11-24T01:00:00Z")
            outer = _provisioned("01M85H26M00000000000000012", "2026-11-24T01:00:01Z")
            outer["timestamp"] = datetime(
                2026, 11, 24, 1, 0, 1, tzinfo=_Reentrant(projection, inner)
            )
            projection.apply(outer)
            results.append((projection.result().to_json(), projection.out_of_order))
    assert results[0] == results[1]
    assert results[0][1] == 0


@settings(
    max_examples=examples(150, 3000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(items())
def test_validate_event_of_a_mapping_is_the_layers_answer(batch: list[Any]) -> None:
    """The core answers ``validate_event`` of an envelope dict or Event it takes;
    the answer is the layers' own, whatever Python values the item holds, strict
    and not."""
    for item in batch:
        for strict in (False, True):
            assert validate_event(item, strict=strict) == _validated(item, None, strict)


@settings(
    max_examples=examples(150, 3000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(items())
def test_sort_key_and_canonical_json_of_a_mapping_are_the_models(batch: list[Any]) -> None:
    """A mapping the core takes is ordered and written from its reading, not the
    models': the key, the bytes and every error are theirs all the same."""
    for item in batch:
        assert order_and_identity(item) == order_and_identity(item, "python")


_VALID = Event.model_validate(_provisioned("01M85H26M00000000000000031", "2026-11-24T01:00:00Z"))

_CONSTRUCTED: dict[str, dict[str, Any]] = {
    "as validated": {},
    "lower-case ULID": {"event_id": _VALID.event_id.lower()},
    "upper-case UUID": {"event_id": "0D86606E-256E-4A8B-BF9F-40A6993A99F6"},
    "UUID without hyphens": {"event_id": "0d86606e256e4a8bbf9f40a6993a99f6"},
    "braced UUID": {"event_id": "{0d86606e-256e-4a8b-bf9f-40a6993a99f6}"},
    "float clock": {"lamport_clock": 1.0},
    "timestamp as text": {"timestamp": "2026-11-24T01:00:00Z"},
    "timestamp at an offset": {
        "timestamp": datetime(2026, 11, 24, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    },
}


def _outcome(call: Any) -> Any:
    """A call's result as JSON, or the error it raised (type and message)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic's serializer warns of such fields
        try:
            return call().to_json()
        except Exception as exc:  # an error is an outcome compared here
            return type(exc), str(exc)


@pytest.mark.parametrize("how", sorted(_CONSTRUCTED))
def test_an_event_made_with_model_construct_is_folded_as_pure_python_folds_it(how: str) -> None:
    """Such an Event is outside the contract, yet both engines fold it alike: the core
    reads an Event only when it holds what validating makes, else Python takes it as
    it is (or, when the compiled fold cannot hold it, folds the whole call)."""
    made = Event.model_construct(**{**_VALID.model_dump(), **_CONSTRUCTED[how]})
    other = Event.model_validate(_provisioned("01M85H26M00000000000000032", "2026-11-24T01:00:01Z"))
    calls = {
        "replay one": lambda: replay([made]),
        "replay with others": lambda: replay([other, made, other]),
        "reduce": lambda: reduce_connector_events([made, other]),
    }

    def applied() -> Any:
        projection = Projection()
        projection.apply(made)
        return projection.result()

    calls["Projection.apply"] = applied
    for name, call in calls.items():
        with engine("python"):
            expected = _outcome(call)
        assert _outcome(call) == expected, name


class _Lying(str):
    """An event_id whose own methods name another event than the text it holds."""

    def upper(self) -> str:
        return "01M85H26M00000000000000099"

    def lower(self) -> str:
        return "01m85h26m00000000000000099"


def test_an_event_id_of_a_str_subclass_is_read_as_its_text() -> None:
    """The models read the text a str subclass holds; every engine and step (the
    copies' settling included) reads it so, whatever its methods say."""
    base = _provisioned("01m85h26m00000000000000041", "2026-11-24T01:00:00Z")
    lying = {**base, "event_id": _Lying(base["event_id"])}
    for batch in ([lying, base], [base, lying], [lying, base, base], [lying, lying]):
        with engine("python"):
            expected = replay(batch).to_json()
        assert replay(batch).to_json() == expected


def test_a_timestamp_with_fold_keeps_it_in_the_sort_key() -> None:
    """``fold=1`` names the same UTC instant; the key keeps the object's attribute
    as the models do."""
    item = _provisioned("01M85H26M00000000000000021", "2026-11-24T01:00:00Z")
    item["timestamp"] = datetime(2026, 11, 24, 1, 0, 0, fold=1, tzinfo=timezone.utc)
    assert order_and_identity(item) == order_and_identity(item, "python")
    assert sort_key(item)[1].fold == 1


class _Meddling(tzinfo):
    """UTC, whose ``utcoffset`` changes the mapping being read: it replaces the
    payload (freeing the dict read before it), drops a key and rewrites a string."""

    def __init__(self, item: dict[str, Any]) -> None:
        self.item = item

    def utcoffset(self, dt: datetime | None) -> timedelta:
        self.item["payload"] = {"replaced": "x" * 50}
        self.item.pop("node_id", None)
        self.item["aggregate_id"] = "y" * 40
        return timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "UTC"


def _meddled(where: str) -> dict[str, Any]:
    item = _provisioned("01M85H26M00000000000000013", "2026-11-24T01:00:00Z")
    moment = datetime(2026, 11, 24, 1, tzinfo=_Meddling(item))
    if where == "timestamp":
        item["timestamp"] = moment
    elif where == "recorded_at":
        item["payload"]["recorded_at"] = moment
    else:
        item["payload"]["x_seen"] = [1, {"at": moment}]
    return item


@pytest.mark.parametrize("where", ["timestamp", "recorded_at", "unknown field"])
def test_a_tzinfo_that_changes_the_mapping_leaves_it_to_the_models(where: str) -> None:
    """The core reads no datetime whose offset is Python code (it crashed when that
    code freed the payload being read): every entry point answers as pure Python."""

    def applied() -> bytes:
        projection = Projection()
        projection.apply(_meddled(where))
        return projection.result().to_json()

    def outcome(call: Any) -> object:
        try:
            return call()
        except Exception as exc:  # the models may refuse a dict that changes as it is read
            return (type(exc).__name__, str(exc))

    outcomes = []
    for name in ("compiled", "python"):
        with engine(name):
            outcomes.append(
                (
                    outcome(lambda: replay([_meddled(where)]).to_json()),
                    outcome(lambda: validate_event(_meddled(where))),
                    outcome(applied),
                )
            )
    assert outcomes[0] == outcomes[1]


def test_a_mapping_changed_by_another_thread_meanwhile_does_not_crash_the_core() -> None:
    """A pattern check may run Python code, where another thread may run: one that
    rebinds the mapping's payload then could free the dict being read. The core
    reads such an item again from private copies; whichever payload it saw,
    every call answers. A list of them is read ahead (its items' dicts fetched
    a few places early): what is read ahead is held, so it cannot be freed."""
    base = _provisioned("01M85H26M00000000000000014", "2026-11-24T01:00:00Z")
    base["schema_version"] = "2.7.0"  # after the payload: its pattern is checked in Python
    item = copy.deepcopy(base)
    stop = threading.Event()

    def rebind() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            item["payload"] = {**base["payload"], "mission_id": f"m-{count % 50}"}

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: inside the core's checks too
    other = threading.Thread(target=rebind, daemon=True)
    other.start()
    try:
        with engine("compiled"):
            for _ in range(300):
                projection = Projection()  # a new scanner: its checks run Python code again
                projection.apply(item)
                assert (projection.result().connectors["c1"].mission_id or "").startswith("m")
                assert replay([item]).event_count == 1
                assert replay([item] * 12).event_count == 1
                assert validate_event(item).valid
    finally:
        stop.set()
        other.join()
        sys.setswitchinterval(interval)
