"""Replay laws on the conformance streams (FR-009).

For the connector reducer, the sync reducer, the link index and whole-log
``replay``, on each committed replay stream: the output is unchanged by any
permutation of the input, by exact duplicates (only ``duplicates_dropped``
counts them), and by other connectors' events interleaved with the stream
(the original connectors' states and links are unchanged).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts import (
    reduce_connector_events,
    reduce_external_links,
    reduce_sync_events,
    replay,
)
from connector_sync_contracts.conformance import Fixture, load_manifest
from tests.support.soak import SOAK

EXAMPLES: Final = 400 if SOAK else 50
"""Hypothesis examples per (stream, reducer, law)."""

STREAMS: Final = load_manifest().select(expected_result="replay")
Envelope = dict[str, Any]


def _replay(events: list[Envelope]) -> dict[str, Any]:
    return replay(events).to_dict()


def _connectors(events: list[Envelope]) -> dict[str, Any]:
    return reduce_connector_events(events).to_dict()


def _sync(events: list[Envelope]) -> dict[str, Any]:
    return reduce_sync_events(events).to_dict()


def _links(events: list[Envelope]) -> dict[str, Any]:
    return reduce_external_links(events).to_dict()


REDUCERS: Final[dict[str, Callable[[list[Envelope]], dict[str, Any]]]] = {
    "replay": _replay,
    "reduce_connector_events": _connectors,
    "reduce_sync_events": _sync,
    "reduce_external_links": _links,
}
CASES: Final = [(stream, name) for stream in STREAMS for name in REDUCERS]
CASE_IDS: Final = [f"{stream.id}-{name}" for stream, name in CASES]

_settings = settings(max_examples=EXAMPLES, deadline=None)


def _without_duplicate_count(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key != "duplicates_dropped"}


@pytest.mark.parametrize(("stream", "reducer"), CASES, ids=CASE_IDS)
@_settings
@given(data=st.data())
def test_output_is_unchanged_by_permutations(
    stream: Fixture, reducer: str, data: st.DataObject
) -> None:
    events = stream.events()
    shuffled = data.draw(st.permutations(events), label="permutation")
    assert REDUCERS[reducer](shuffled) == REDUCERS[reducer](events)


@pytest.mark.parametrize(("stream", "reducer"), CASES, ids=CASE_IDS)
@_settings
@given(data=st.data())
def test_output_is_unchanged_by_exact_duplicates(
    stream: Fixture, reducer: str, data: st.DataObject
) -> None:
    events = stream.events()
    extra = data.draw(st.lists(st.sampled_from(events), min_size=1, max_size=8), label="copies")
    mixed = data.draw(st.permutations([*events, *(copy.deepcopy(e) for e in extra)]))
    before, after = REDUCERS[reducer](events), REDUCERS[reducer](mixed)
    assert _without_duplicate_count(after) == _without_duplicate_count(before)
    assert after["duplicates_dropped"] == before["duplicates_dropped"] + len(extra)


# --------------------------------------------------------------- interleaving


def _other_id(event_id: str) -> str:
    # A distinct, still valid id: ULIDs get another prefix, UUIDs another first digit.
    if len(event_id) == 26:
        return "7" + event_id[1:]
    return ("f" if event_id[0] != "f" else "e") + event_id[1:]


def _relabel(event: Envelope, clock_shift: int) -> Envelope:
    """The same event, as if another connector (with its own ids and keys) had emitted it."""
    other = copy.deepcopy(event)
    other["event_id"] = _other_id(other["event_id"])
    other["lamport_clock"] = max(0, other["lamport_clock"] + clock_shift)
    payload = other["payload"]
    for key in (
        "connector_id",
        "delivery_id",
        "link_id",
        "external_ref_id",
        "internal_aggregate_id",
    ):
        if isinstance(payload.get(key), str):
            payload[key] = "other-" + payload[key]
    return other


def _connector_ids(events: list[Envelope]) -> set[str]:
    return {e["payload"]["connector_id"] for e in events if "connector_id" in e["payload"]}


def _own_part(reducer: str, result: dict[str, Any], ids: set[str]) -> Any:
    """What the original stream's connectors own in a result."""
    if reducer == "reduce_external_links":
        links = result["links"]
        reverse = result["reverse_index"]
    elif reducer == "replay":
        links = result["external_links"]["links"]
        reverse = result["external_links"]["reverse_index"]
    else:
        links, reverse = [], []
    return {
        "connectors": {k: v for k, v in result.get("connectors", {}).items() if k in ids},
        "sync": {k: v for k, v in result.get("sync", {}).items() if k in ids},
        "links": [link for link in links if link["connector_id"] in ids],
        "reverse_index": [
            entry for entry in reverse if not entry["internal_aggregate_id"].startswith("other-")
        ],
    }


@pytest.mark.parametrize(("stream", "reducer"), CASES, ids=CASE_IDS)
@_settings
@given(data=st.data())
def test_other_connectors_events_do_not_change_a_connectors_output(
    stream: Fixture, reducer: str, data: st.DataObject
) -> None:
    events = stream.events()
    ids = _connector_ids(events)
    shift = data.draw(st.integers(-5, 5), label="clock shift")
    others = [_relabel(event, shift) for event in events]
    others = data.draw(st.lists(st.sampled_from(others), unique_by=lambda e: e["event_id"]))
    merged = data.draw(st.permutations([*events, *others]), label="interleaving")
    alone = REDUCERS[reducer](events)
    together = REDUCERS[reducer](merged)
    assert _own_part(reducer, together, ids) == _own_part(reducer, alone, ids)


def test_relabelled_events_really_belong_to_other_connectors() -> None:
    # Guards the interleaving law: the relabelled stream is disjoint from the original.
    for stream in STREAMS:
        events = stream.events()
        others = [_relabel(event, 0) for event in events]
        assert not {e["event_id"] for e in events} & {e["event_id"] for e in others}
        assert not _connector_ids(events) & _connector_ids(others)
        assert json.dumps(_replay(others)) != json.dumps(_replay(events))
