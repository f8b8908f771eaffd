"""The library's objects read well: in ``str()``, ``repr()``, f-strings and JSON.

Issue 13, item 9: what a user sees printing an enum, a result or a
projection in a REPL or a log line is short and in the contract's words.
"""

from __future__ import annotations

import json
import random
import warnings
from enum import Enum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Final

import pytest

from connector_sync_contracts import (
    ActorType,
    ConnectorState,
    ContractViolationError,
    Event,
    Family,
    HealthStatus,
    Layer,
    OutOfOrderWarning,
    Projection,
    ReconnectStrategy,
    SyncOutcome,
    canonical_json,
    reduce_connector_events,
    reduce_external_links,
    reduce_sync_events,
    replay,
    sort_key,
    validate_event,
)
from connector_sync_contracts.validation import Violation

VALUE_ENUMS: tuple[type[Enum], ...] = (
    ActorType,
    ConnectorState,
    Family,
    HealthStatus,
    Layer,
    ReconnectStrategy,
    SyncOutcome,
)


@pytest.mark.parametrize("enum", VALUE_ENUMS, ids=lambda e: e.__name__)
def test_str_and_format_of_every_public_enum_is_its_value(enum: type[Enum]) -> None:
    for member in enum:
        assert str(member) == member.value
        assert f"{member}" == member.value
        assert f"{member:>20}" == f"{member.value:>20}"
        assert "%s" % member == member.value  # noqa: UP031 - the old style reads the same
        # repr still names the member, for debugging.
        assert repr(member).startswith(f"<{enum.__name__}.{member.name}:")
        # Still a str: compares equal to, and hashes like, its value.
        assert member == member.value
        assert hash(member) == hash(member.value)


def test_a_state_reads_as_it_is_written_in_events() -> None:
    assert f"connector is {ConnectorState.HEALTHY}" == "connector is healthy"
    assert str(HealthStatus.UNREACHABLE) == "unreachable"


# ------------------------------------------------------------------ results and projections

EXAMPLE: Final = resources.files("connector_sync_contracts") / "examples" / "example_day.jsonl"


@cache
def _day() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines())


def test_results_have_a_short_repr_and_str() -> None:
    result = replay(_day())
    assert repr(result) == "ReplayResult(48 events, 3 connectors, 3 links, 0 anomalies)"
    assert str(result) == "48 events, 3 connectors, 3 links, 0 anomalies"
    state = result.connectors["gh-acme-app"]
    assert repr(state) == (
        "ReducedConnectorState(gh-acme-app: healthy, health healthy, 9 events, 0 anomalies)"
    )
    assert str(state) == "gh-acme-app: healthy, health healthy, 9 events, 0 anomalies"
    sync = result.sync["jira-acme-cloud"]
    assert str(sync).startswith("jira-acme-cloud: 1 accepted, 0 rejected, 4 retry_scheduled")
    assert repr(reduce_connector_events(_day())).startswith("ConnectorProjection(48 events, ")
    assert repr(reduce_sync_events(_day())).startswith("SyncProjection(48 events, ")
    assert repr(reduce_external_links(_day())) == "LinkIndex(48 events, 3 links, 0 anomalies)"
    for shown in (repr(result), str(result), repr(state), repr(sync)):
        assert len(shown) < 200
        assert "ConnectorState." not in shown


def test_a_repr_counts_anomalies_at_every_level() -> None:
    events = [dict(e) for e in _day()]
    events.append({**events[0], "event_id": "01M85DMC6XTSJEHA2JKW1NXYZZ", "lamport_clock": 999})
    events.append({"event_id": 5})
    result = replay(events)
    total = len(result.anomalies) + sum(len(s.anomalies) for s in result.connectors.values())
    total += sum(len(s.anomalies) for s in result.sync.values())
    assert total >= 2
    assert repr(result).endswith(f", {total} anomalies)")


def test_validation_result_repr_str_and_json() -> None:
    result = validate_event({"lamport_clock": "1"}, "ConnectorProvisioned")
    assert repr(result) == (
        "ValidationResult(valid=False, kind='payload', event_type='ConnectorProvisioned', "
        f"violations={len(result.violations)})"
    )
    lines = str(result).splitlines()
    assert (
        lines[0] == f"invalid payload (ConnectorProvisioned): {len(result.violations)} violations"
    )
    assert lines[1:] == [f"  {violation}" for violation in result.violations]
    assert lines[1] == "  $.actor_id: required: Field required"
    assert str(validate_event(_day()[0])) == f"valid envelope ({_day()[0]['event_type']})"
    data = result.to_json()
    assert data.endswith(b"\n")
    assert json.loads(data) == result.to_dict()
    assert data == json.dumps(result.to_dict(), sort_keys=True, indent=2).encode() + b"\n"


def test_sort_key_accepts_mappings_as_replay_does() -> None:
    mappings = list(_day())
    random.Random(3).shuffle(mappings)
    events = [Event.model_validate(m) for m in mappings]
    by_mapping = [Event.model_validate(m).event_id for m in sorted(mappings, key=sort_key)]
    assert by_mapping == [e.event_id for e in sorted(events, key=sort_key)]
    # Instants, not strings: 13:00+05:00 is earlier than 09:00Z.
    base = dict(_day()[0])
    east = {**base, "lamport_clock": 1, "timestamp": "2026-11-25T13:00:00+05:00"}
    west = {**base, "lamport_clock": 1, "timestamp": "2026-11-25T09:00:00Z"}
    assert sort_key(east) < sort_key(west)
    assert sort_key(east) == sort_key(Event.model_validate(east))


def test_sort_key_of_a_mapping_that_is_no_envelope_says_why() -> None:
    with pytest.raises(ContractViolationError, match=r"\$\.lamport_clock: type: ") as info:
        sort_key({**_day()[0], "lamport_clock": "7"})
    assert isinstance(info.value, ValueError)
    violations = info.value.violations
    assert all(isinstance(v, Violation) for v in violations)
    assert [v.code for v in violations if isinstance(v, Violation)] == ["type"]


def test_canonical_json_takes_a_mapping_as_sort_key_does() -> None:
    mapping = dict(_day()[0])
    assert canonical_json(mapping) == canonical_json(Event.model_validate(mapping))
    with pytest.raises(ContractViolationError, match=r"\$\.lamport_clock: type: "):
        canonical_json({**mapping, "lamport_clock": "7"})


def test_a_read_only_payload_is_the_object_it_stands_for_in_every_entry_point() -> None:
    # Found by an outside run: Event() and sort_key refused a payload given as a
    # read-only mapping view, while validate_event and replay() took it.
    mapping = dict(_day()[0])
    viewed = {**mapping, "payload": MappingProxyType(dict(mapping["payload"]))}
    assert validate_event(viewed).valid
    assert Event.model_validate(viewed) == Event.model_validate(mapping)
    assert sort_key(viewed) == sort_key(mapping)
    assert canonical_json(viewed) == canonical_json(mapping)
    assert replay([viewed]) == replay([mapping])


def test_a_projection_fed_out_of_order_says_so() -> None:
    events = list(_day())
    in_order = Projection()
    for event in events:
        in_order.apply(event)
    assert in_order.out_of_order == 0
    assert repr(in_order) == "Projection(48 events, 3 connectors, 0 out of order)"
    shuffled = Projection()
    moved = [*events[10:], *events[:10]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for event in moved:
            shuffled.apply(event)
    # Once per projection, then only counted.
    assert [w.category for w in caught] == [OutOfOrderWarning]
    assert "sorts later" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the caller's apply()
    assert shuffled.out_of_order == 10
    assert repr(shuffled).endswith(", 10 out of order)")
    # Duplicates of applied events are not out of order: they change nothing.
    again = Projection()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for event in [*events, events[3]]:
            again.apply(event)
    assert again.out_of_order == 0
