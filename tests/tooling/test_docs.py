"""Generated docs/contracts.md: not stale, and its diagrams are the reducers' own tables."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from typing import Final

import pytest

from connector_sync_contracts import (
    ALLOWED_TRANSITIONS,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_RECONNECTED,
    PAYLOAD_MODELS,
    SYNC_OUTCOMES,
    TERMINAL_OUTCOMES,
    ConnectorState,
    reduce_connector_events,
)
from connector_sync_contracts._tooling.docs import (
    OBSERVATION_LABEL,
    delivery_rules,
    field_rows,
)
from connector_sync_contracts.contract.lifecycle import OBSERVATION_STATES
from connector_sync_contracts.schemas import generate_schema
from tests.support.factories import EventLog

PAGE: Final = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"
EDGE: Final = re.compile(r"^\s*(\[\*\]|\w+) --> (\[\*\]|\w+)(?: : (.*))?$")
START: Final = "[*]"
RETRY_EVENT: Final = next(t for t, o in SYNC_OUTCOMES.items() if o.value == "retry_scheduled")

Edge = tuple[str, str, str]


def _blocks(text: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", text, re.DOTALL)


def _edges(block: str) -> list[Edge]:
    edges = []
    for line in block.splitlines():
        match = EDGE.match(line)
        if match:
            edges.append((match[1], match[2], match[3] or ""))
    return edges


def _connector_edges() -> list[Edge]:
    return _edges(_blocks(PAGE.read_text(encoding="utf-8"))[0])


def _delivery_edges() -> list[Edge]:
    return _edges(_blocks(PAGE.read_text(encoding="utf-8"))[1])


def _name(state: ConnectorState | None) -> str:
    return START if state is None else state.value


def test_connector_diagram_has_exactly_the_reducer_transitions() -> None:
    edges = _connector_edges()
    transitions = {(a, b) for a, b, label in edges if not label.startswith(OBSERVATION_LABEL)}
    expected = {
        (_name(current), target.value)
        for current, targets in ALLOWED_TRANSITIONS.items()
        for target in targets
    }
    assert transitions == expected
    # Each transition is drawn once, and nothing else is drawn.
    assert len([e for e in edges if not e[2].startswith(OBSERVATION_LABEL)]) == len(expected)


def test_observations_are_drawn_as_distinct_self_loops() -> None:
    loops = {(a, b) for a, b, label in _connector_edges() if label.startswith(OBSERVATION_LABEL)}
    assert loops == {(state.value, state.value) for state in OBSERVATION_STATES}
    block = _blocks(PAGE.read_text(encoding="utf-8"))[0]
    observed = ", ".join(sorted(state.value for state in OBSERVATION_STATES))
    assert re.search(r"^\s*classDef observed ", block, re.MULTILINE)
    classed = re.search(r"^\s*class (.+) observed$", block, re.MULTILINE)
    assert classed is not None
    assert ", ".join(sorted(classed[1].split(", "))) == observed


def _labelled_events(label: str) -> list[tuple[str, str | None]]:
    """(event type, health status or None) named by an edge label."""
    found: list[tuple[str, str | None]] = []
    for name, statuses in re.findall(r"(\w+)(?:\(([^)]*)\))?", label.removeprefix("observation")):
        if statuses:
            found += [(name, status.strip()) for status in statuses.split(",")]
        else:
            found.append((name, None))
    return found


def _path_to(state: str, edges: list[Edge]) -> list[Edge]:
    """Shortest list of transition edges from the start to ``state``."""
    queue: deque[tuple[str, list[Edge]]] = deque([(START, [])])
    seen = {START}
    while queue:
        here, path = queue.popleft()
        if here == state:
            return path
        for edge in edges:
            if edge[0] == here and edge[1] not in seen:
                seen.add(edge[1])
                queue.append((edge[1], [*path, edge]))
    raise AssertionError(f"{state} unreachable in the diagram")


def test_every_connector_edge_label_is_what_the_reducer_does() -> None:
    edges = _connector_edges()
    transitions = [e for e in edges if not e[2].startswith(OBSERVATION_LABEL)]
    checked = 0
    for source, target, label in edges:
        for event_type, status in _labelled_events(label):
            log = EventLog()
            state: str = START
            for _, step_target, step_label in _path_to(source, transitions):
                step_type, step_status = _labelled_events(step_label)[0]
                _add(log, step_type, step_status, state)
                state = step_target
            _add(log, event_type, status, state)
            result = reduce_connector_events(log.events).connectors["c1"]
            assert result.current_state is not None
            assert result.current_state.value == target, (source, target, event_type, status)
            kinds = {anomaly.kind for anomaly in result.anomalies}
            assert "invalid_transition" not in kinds
            applied = len(result.transition_log or ())
            # A transition adds to the log; an observation does not.
            assert applied == len(_path_to(source, transitions)) + (source != target)
            checked += 1
    assert checked >= len(transitions)


def _add(log: EventLog, event_type: str, status: str | None, current: str) -> None:
    fields: dict[str, object] = {"connector_id": "c1"}
    if event_type == CONNECTOR_HEALTH_CHECKED:
        fields["health_status"] = status
    if event_type == CONNECTOR_RECONNECTED:
        fields["previous_state"] = current
    log.add(event_type, **fields)


def test_delivery_diagram_is_retries_then_one_terminal_outcome() -> None:
    retry = RETRY_EVENT
    terminal_events = {t: o.value for t, o in SYNC_OUTCOMES.items() if o in TERMINAL_OUTCOMES}
    expected = {
        (START, "retry_scheduled", retry),
        ("retry_scheduled", "retry_scheduled", f"{retry}(higher retry_attempt)"),
    }
    for event_type, outcome in terminal_events.items():
        expected |= {
            (START, outcome, event_type),
            ("retry_scheduled", outcome, event_type),
            (outcome, START, ""),
        }
    assert set(_delivery_edges()) == expected


def test_delivery_rules_match_the_contract() -> None:
    rules = {(state, event): verdict for state, event, verdict in delivery_rules()}
    for state in ("accepted", "rejected", "dead_lettered"):
        for event, outcome in SYNC_OUTCOMES.items():
            if outcome in TERMINAL_OUTCOMES:
                same = outcome.value == state
                kind = "duplicate_delivery" if same else "conflicting_outcome"
                assert rules[(state, event)] == f"skipped: `{kind}`"
    retrying = "retry_scheduled (attempt 2)"
    assert rules[(retrying, "SyncRetryScheduled (attempt 3)")] == "applied -> retry_scheduled"
    assert rules[(retrying, "SyncRetryScheduled (attempt 2)")] == "skipped: `duplicate_delivery`"
    assert rules[(retrying, "SyncRetryScheduled (attempt 1)")] == (
        "skipped: `retry_attempt_regressed`"
    )
    assert rules[("accepted", "SyncRetryScheduled (attempt 3)")] == (
        "skipped: `retry_after_terminal`"
    )
    assert rules[("replay_completed (new key)", "SyncReplayCompleted")] == (
        "skipped: `duplicate_delivery`"
    )
    # Every drawn edge is an applied event in the reducer's own table.
    for source, target, label in _delivery_edges():
        if target == START:
            continue
        state = "new key" if source == START else "retry_scheduled (attempt 2)"
        event = label.split("(")[0]
        if event == RETRY_EVENT:
            event += " (attempt 3)"
        assert rules[(state, event)] == f"applied -> {target}"


@pytest.mark.parametrize("name", ["Event", *sorted(PAYLOAD_MODELS)])
def test_field_tables_list_every_field_with_its_description(name: str) -> None:
    schema = generate_schema(name)
    rows = field_rows(name)
    assert [row[0] for row in rows] == list(schema["properties"])
    for field, type_, required, constraint, description in rows:
        assert required == ("yes" if field in schema["required"] else "no")
        assert description
        assert type_
        assert constraint
    text = PAGE.read_text(encoding="utf-8")
    section = f"### {name}" if name != "Event" else "## Envelope (`Event`)"
    assert section in text
