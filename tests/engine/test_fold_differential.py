"""The compiled fold and the Python steps agree on any sequence of facts.

The rule tests (``tests/reducing/rules``) pin each rule on chosen logs; this
law closes the gaps between them. Hypothesis writes adversarial fact
sequences straight into both folds, without the JSON or model layers in
between: connectors whose provider or type changes, every target and health
status in any order, reconnects naming any previous state, broken semantic
rules, delivery keys from a tiny pool so that retries repeat, regress and
follow terminal outcomes, counts near 2^63, negative zero latencies,
malformed facts, and reconnect limits from 0 to 4. The Python ``Engine``
folds the facts in order; the compiled core is offered the same facts as
records in the same replay order and folds them in C. The whole-log result
data must be equal, logs included and left out.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts._engine import native
from connector_sync_contracts._engine.runner import fold_compiled
from connector_sync_contracts.contract.catalog import (
    ALL_FAMILIES,
    CONNECTOR_EVENT_TYPES,
    SYNC_OUTCOMES,
    Family,
    connector_target,
)
from connector_sync_contracts.contract.lifecycle import ConnectorState, HealthStatus
from connector_sync_contracts.contract.rules import SEMANTIC_RULES
from connector_sync_contracts.reducing.facts import ConnectorFact, Fact, MalformedFact, SyncFact
from connector_sync_contracts.reducing.fold import Engine
from tests.support.engines import needs_native
from tests.support.soak import examples

pytestmark = needs_native

_BASE = datetime(2026, 11, 25, tzinfo=timezone.utc)
_CONNECTORS = ("c-1", "c-2")
_RULES = {
    rule.event_type: tuple(r.code for r in SEMANTIC_RULES if r.event_type == rule.event_type)
    for rule in SEMANTIC_RULES
}


@st.composite
def connector_facts(draw: st.DrawFn, event_id: str) -> Fact:
    event_type = draw(st.sampled_from(sorted(CONNECTOR_EVENT_TYPES)))
    health = None
    latency = None
    if event_type == "ConnectorHealthChecked":
        health = draw(st.sampled_from(list(HealthStatus)))
        latency = draw(st.sampled_from([0.0, -0.0, 1.5, 250.0, 1e300]))
    previous = None
    if event_type == "ConnectorReconnected":
        previous = draw(st.sampled_from(list(ConnectorState)))
    rules = _RULES.get(event_type, ())
    broken = tuple(code for code in rules if draw(st.booleans()))
    return ConnectorFact(
        event_id=event_id,
        event_type=event_type,
        connector_id=draw(st.sampled_from(_CONNECTORS)),
        connector_type=draw(st.sampled_from(["webhook", "webhook", "poll"])),
        provider=draw(st.sampled_from(["github", "github", "jira", ""])),
        mission_id=draw(st.sampled_from(["m-1", "m-2"])),
        recorded_at=_BASE + timedelta(seconds=draw(st.integers(0, 10**6))),
        target=connector_target(event_type, health),
        health_status=health,
        latency_ms=latency,
        previous_state=previous,
        broken_rules=broken,
    )


@st.composite
def sync_facts(draw: st.DrawFn, event_id: str) -> Fact:
    event_type = draw(st.sampled_from(sorted(SYNC_OUTCOMES)))
    outcome = SYNC_OUTCOMES[event_type]
    rules = _RULES.get(event_type, ())
    broken = tuple(code for code in rules if draw(st.booleans()))
    count = draw(st.sampled_from([0, 1, 7, 2**62, 2**63 - 1]))
    return SyncFact(
        event_id=event_id,
        connector_id=draw(st.sampled_from(_CONNECTORS)),
        outcome=outcome,
        delivery_id=draw(st.sampled_from(["d-1", "d-2", ""])),
        fingerprint=draw(st.sampled_from(["sha256:a", "sha256:b"])),
        retry_attempt=draw(st.integers(0, 4)) if event_type == "SyncRetryScheduled" else 0,
        max_retries=draw(st.integers(0, 3)) if event_type == "SyncRetryScheduled" else 0,
        ingested_count=count if event_type == "SyncIngestAccepted" else 0,
        replayed_count=count if event_type == "SyncReplayCompleted" else 0,
        broken_rules=broken,
    )


@st.composite
def malformed_facts(draw: st.DrawFn, event_id: str) -> Fact:
    return MalformedFact(
        event_id=event_id,
        family=draw(st.sampled_from([Family.CONNECTOR, Family.SYNC])),
        connector_id=draw(st.sampled_from([*_CONNECTORS, None])),
        message="payload.recorded_at: bad",
    )


@st.composite
def fact_sequences(draw: st.DrawFn) -> list[Fact]:
    count = draw(st.integers(1, 40))
    facts = []
    for n in range(count):
        event_id = f"E{n:025d}"
        kind = draw(
            st.sampled_from(
                [connector_facts, connector_facts, sync_facts, sync_facts, malformed_facts]
            )
        )
        facts.append(draw(kind(event_id)))
    return facts


def _python(facts: list[Fact], keep_logs: bool, cycles: int) -> dict[str, Any]:
    engine = Engine(ALL_FAMILIES, keep_logs=keep_logs, max_reconnect_cycles=cycles)
    for fact in facts:
        engine.fold(fact)
    return engine.result_data(event_count=len(facts), duplicates_dropped=0, stream_anomalies=[])


def _compiled(facts: list[Fact], keep_logs: bool, cycles: int) -> dict[str, Any]:
    scanner = native.scanner(weak_bits=3)
    assert scanner is not None
    for n, fact in enumerate(facts):
        kind, values = native.record_values(fact)
        scanner.offer(fact.event_id, n, 0, n, 0, n + 1, True, kind, values)
    ids, dropped = scanner.settle()
    assert (ids, dropped) == ([], 0)
    engine = Engine(ALL_FAMILIES, keep_logs=keep_logs, max_reconnect_cycles=cycles)
    return fold_compiled(engine, scanner, [], 0, {}).result_data()


@settings(max_examples=examples(400, 20000), deadline=None)
@given(fact_sequences(), st.booleans(), st.integers(0, 4))
def test_the_compiled_fold_equals_the_python_steps(
    facts: list[Fact], keep_logs: bool, cycles: int
) -> None:
    assert _compiled(facts, keep_logs, cycles) == _python(facts, keep_logs, cycles)
