"""The optional compiled accelerator (``_native.c``), configured from the contract's own tables.

``_native`` knows no event type, field or transition by name. This module
derives its *spec* from the same field plans ``_fast`` builds from the
pydantic models, and from the tables in ``registry``, so the compiled screen
and the Python paths read one definition of the contract.

The extension is optional: when it was not built (no C compiler where the
package was installed) or ``CONNECTOR_SYNC_PURE_PYTHON=1`` is set, ``scanner()``
returns ``None`` and the CLI uses the pure-Python paths, which give the same
results more slowly.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, Protocol

from ._fast import EPOCH, MICROSECOND, _derive_plans, _FieldPlan
from ._reduce import ConnectorAcc, ConnectorFact, LinkFact, SyncAcc, SyncFact, _Delivery
from .connector import CONNECTOR_RECONNECTED, ConnectorState, HealthStatus
from .envelope import Event
from .registry import (
    ALLOWED_TRANSITIONS,
    CONNECTOR_TARGET_STATES,
    EVENT_FAMILIES,
    HEALTH_STATUS_TARGETS,
    OBSERVATION_STATES,
    PAYLOAD_MODELS,
    SEMANTIC_RULES,
    SYNC_OUTCOMES,
    TERMINAL_OUTCOMES,
    Family,
)
from .sync import SyncOutcome

try:  # pragma: no cover - depends on how the package was installed
    from . import _native  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _native = None

__all__ = [
    "PURE_PYTHON_ENV",
    "Scanner",
    "connector_data",
    "engine",
    "no_gc",
    "scanner",
    "sync_data",
]

PURE_PYTHON_ENV: Final = "CONNECTOR_SYNC_PURE_PYTHON"
"""Set to ``1`` to use the pure-Python paths even when the extension is built."""

_STATES: Final = tuple(ConnectorState)
_HEALTH: Final = tuple(HealthStatus)
_OUTCOMES: Final = tuple(SyncOutcome)
_EVENT_TYPES: Final = tuple(PAYLOAD_MODELS)
_KINDS: Final = {
    "event_id": 0,
    "uuid": 1,
    "datetime": 2,
    "str": 3,
    "url": 3,
    "enum": 4,
    "int": 5,
    "float": 6,
}
_ROLES: Final = {
    name: code
    for code, name in enumerate(
        (
            "connector_id",
            "connector_type",
            "provider",
            "mission_id",
            "recorded_at",
            "health_status",
            "latency_ms",
            "previous_state",
            "delivery_id",
            "source_event_fingerprint",
            "retry_attempt",
            "max_retries",
            "ingested_count",
            "replayed_count",
            "project_uuid",
        ),
        start=1,
    )
}
_ENVELOPE_ROLES: Final = {
    "event_id": 16,
    "timestamp": 17,
    "lamport_clock": 18,
    "project_uuid": 19,
    "event_type": 20,
    "payload": 21,
}
_INT64: Final = 2**63


class Scanner(Protocol):
    """The compiled scanner's interface (see ``_native.c``)."""

    def scan(
        self, block: bytes | memoryview, keep: bool, limit: int, /
    ) -> tuple[int, list[tuple[int, int, int]]]:
        """Check a block of whole lines; return the line count and the deferred lines."""

    def probe(self, line: bytes, /) -> tuple[str, int, int, Any] | None:
        """(event_id, lamport, instant_us, fact) of an accepted line, or None."""

    def offer(
        self,
        event_id: str,
        lamport: int,
        instant_us: int,
        ident: int,
        fact: Any,
        connector_id: str | None,
        dedup: bool,
        /,
    ) -> None:
        """Keep a record built by the Python path."""

    def settle(self) -> tuple[list[str], int]:
        """Event ids with differing copies (removed) and identical copies dropped."""

    def start_fold(self) -> int:
        """Sort records into per-connector groups; return the number of records kept."""

    def next_group(self, keep_logs: bool, max_cycles: int, /) -> tuple[Any, ...] | None:
        """The next group: folded here, or facts for the Python fold; None at the end."""


def _field(plan: _FieldPlan, role: int) -> tuple[Any, ...]:
    bounds = plan.bounds
    if plan.kind == "int":
        lo, hi = bounds.get("ge", -_INT64), bounds.get("le", _INT64 - 1)
    else:
        lo, hi = bounds.get("min_length", 0), bounds.get("max_length", -1)
    if plan.kind == "float" and set(bounds) - {"ge"}:
        raise TypeError(f"no compiled check for float bounds {bounds} of {plan.name}")
    check = plan.check if plan.kind in ("str", "url") else None
    return (
        plan.name,
        _KINDS[plan.kind],
        role,
        plan.nullable,
        plan.optional,
        lo,
        hi,
        float(bounds["ge"]) if plan.kind == "float" and "ge" in bounds else None,
        check,
        plan.values,
    )


def _payload_role(plan: _FieldPlan, family: Family) -> int:
    role = _ROLES.get(plan.name, 0)
    expected: dict[str, tuple[str, ...]] = {
        "health_status": tuple(member.value for member in _HEALTH),
        "previous_state": tuple(member.value for member in _STATES),
    }
    if plan.name in expected and plan.values != expected[plan.name]:
        raise TypeError(f"{plan.name} values differ from {expected[plan.name]}")
    if family is Family.LINK:
        return 0
    return role


def _spec() -> tuple[Any, ...]:
    envelope_plans, payload_plans = _derive_plans()
    env = (
        *(_field(plan, _ENVELOPE_ROLES.get(plan.name, 0)) for plan in envelope_plans),
        # The payload is parsed with the fields of its event type.
        (
            "payload",
            _KINDS["str"],
            _ENVELOPE_ROLES["payload"],
            False,
            False,
            0,
            -1,
            None,
            None,
            None,
        ),
    )
    types = []
    for event_type in _EVENT_TYPES:
        family = EVENT_FAMILIES[event_type]
        plans = payload_plans[event_type]
        names = [plan.name for plan in plans]
        rules = []
        for rule in SEMANTIC_RULES:
            if rule.event_type != event_type:
                continue
            a, b = names.index(rule.earlier), names.index(rule.later)
            if {plans[a].kind, plans[b].kind} - {"int", "datetime"}:
                raise TypeError(f"no compiled comparison for rule {rule.code}")
            rules.append((a, b))
        has_health = "health_status" in names
        target = -1
        if family is Family.LINK:
            # Link facts are built from every payload value in field order.
            link_fields = [f for f in LinkFact.__struct_fields__ if f != "event_id"]
            if names != link_fields or {p.kind for p in plans} - {"str", "url", "datetime"}:
                raise TypeError(f"{event_type} payload does not match LinkFact")
        if family is Family.CONNECTOR and not has_health:
            target = _STATES.index(CONNECTOR_TARGET_STATES[event_type])
        outcome = _OUTCOMES.index(SYNC_OUTCOMES[event_type]) if family is Family.SYNC else -1
        types.append(
            (
                event_type,
                (Family.CONNECTOR, Family.SYNC, Family.LINK).index(family),
                target,
                outcome,
                event_type == CONNECTOR_RECONNECTED,
                has_health,
                tuple(_field(plan, _payload_role(plan, family)) for plan in plans),
                tuple(rules),
            )
        )
    allowed = tuple(
        tuple(_STATES.index(t) for t in ALLOWED_TRANSITIONS[current])
        for current in (None, *_STATES)
    )
    return (
        env,
        tuple(types),
        allowed,
        tuple(_STATES.index(s) for s in OBSERVATION_STATES),
        tuple(_STATES.index(HEALTH_STATUS_TARGETS[h]) for h in _HEALTH),
        (_STATES.index(ConnectorState.HEALTHY), _STATES.index(ConnectorState.RECONNECTED)),
        tuple(_OUTCOMES.index(o) for o in TERMINAL_OUTCOMES),
        (
            len(_OUTCOMES),
            _OUTCOMES.index(SyncOutcome.RETRY_SCHEDULED),
            _OUTCOMES.index(SyncOutcome.REPLAY_COMPLETED),
        ),
    )


def _from_us(us: int) -> datetime:
    return EPOCH + us * MICROSECOND


def _connector_fact(
    event_id: str,
    type_index: int,
    connector_id: str,
    connector_type: str,
    provider: str,
    mission_id: str,
    recorded_at: datetime,
    health_index: int,
    latency: float | None,
    previous_index: int,
) -> ConnectorFact:
    event_type = _EVENT_TYPES[type_index]
    health = _HEALTH[health_index] if health_index >= 0 else None
    target = (
        HEALTH_STATUS_TARGETS[health] if health is not None else CONNECTOR_TARGET_STATES[event_type]
    )
    return ConnectorFact(
        event_id,
        event_type,
        connector_id,
        connector_type,
        provider,
        mission_id,
        recorded_at,
        target,
        health,
        latency,
        _STATES[previous_index] if previous_index >= 0 else None,
        (),
    )


_FIELDS_OF: Final = {t: frozenset(m.model_fields) for t, m in PAYLOAD_MODELS.items()}


def _sync_fact(
    event_id: str,
    type_index: int,
    connector_id: str,
    delivery_id: str,
    fingerprint: str,
    retry_attempt: int,
    max_retries: int,
    count: int,
) -> SyncFact:
    event_type = _EVENT_TYPES[type_index]
    fields = _FIELDS_OF[event_type]
    return SyncFact(
        event_id,
        connector_id,
        SYNC_OUTCOMES[event_type],
        delivery_id,
        fingerprint,
        retry_attempt,
        max_retries,
        count if "ingested_count" in fields else 0,
        count if "replayed_count" in fields else 0,
        (),
    )


def _link_fact(event_id: str, type_index: int, values: tuple[Any, ...]) -> LinkFact:
    return LinkFact(event_id, *values)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (restored after).

    A replay allocates many acyclic objects (facts, results); collections
    triggered by their count only cost time. Reference counting still frees
    everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def engine() -> str:
    """Which engine ``validate``/``replay`` use, in words (shown by ``--version``)."""
    if _native is None:
        return "pure Python (the compiled accelerator was not built)"
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        return f"pure Python ({PURE_PYTHON_ENV}=1)"
    return "compiled accelerator"


def scanner() -> Scanner | None:
    """A new compiled scanner, or None when the extension is unavailable or switched off."""
    if _native is None or os.environ.get(PURE_PYTHON_ENV) == "1":
        return None
    made: Scanner = _native.Scanner(_spec(), _connector_fact, _sync_fact, _link_fact, _from_us)
    return made


def connector_data(
    connector_id: str, part: tuple[Any, ...], *, keep_logs: bool, max_cycles: int
) -> dict[str, Any]:
    """The connector state (as plain data) of a group the compiled fold folded."""
    ctype, provider, mission, state, transition, checked, health, latency, events, log = part
    acc = ConnectorAcc(
        connector_id,
        keep_logs,
        max_cycles,
        connector_type=ctype,
        provider=provider,
        mission_id=mission,
        state=_STATES[state] if state >= 0 else None,
        last_transition_at=transition,
        last_health_check_at=checked,
        last_health_status=_HEALTH[health] if health >= 0 else None,
        last_latency_ms=latency,
        event_count=events,
        transition_log=[(eid, _STATES[s]) for eid, s in log] if log is not None else [],
    )
    return acc.data()


def sync_data(connector_id: str, part: tuple[Any, ...], *, keep_logs: bool) -> dict[str, Any]:
    """The delivery state (as plain data) of a group the compiled fold folded."""
    counts, ingested, replayed, pending, log, deliveries = part
    acc = SyncAcc(
        connector_id,
        keep_logs,
        counts=dict(zip(_OUTCOMES, counts, strict=True)),
        ingested_items=ingested,
        replayed_items=replayed,
        known_pending=pending,
    )
    if log is not None:
        acc.outcome_log = [(eid, _OUTCOMES[o], dlv) for eid, o, dlv in log]
    if deliveries is not None:
        acc.deliveries = {
            (dlv, fp): _Delivery(
                status=_OUTCOMES[status],
                terminal=_OUTCOMES[terminal] if terminal >= 0 else None,
                last_retry=last_retry,
                replayed=bool(replayed_flag),
                attempts=attempts,
                last_event_id=last_event_id,
            )
            for dlv, fp, status, terminal, last_retry, replayed_flag, attempts, last_event_id in (
                deliveries
            )
        }
    return acc.data()


# Envelope fields the compiled screen reads by role must exist in the model.
assert set(_ENVELOPE_ROLES) <= set(Event.model_fields)
