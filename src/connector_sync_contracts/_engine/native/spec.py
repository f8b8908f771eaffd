"""The compiled accelerator's spec: derived from the models and tables, committed as JSON.

``_native`` knows no event type, field or transition by name. Its *spec* is
derived here from the same field plans ``screen`` builds from the pydantic
models and from the tables in ``contract``, and committed as ``spec.json``
so the command line can configure the compiled screen without building the
models. ``make schema-check`` fails when the committed copy differs from
the derivation; ``make regen`` refreshes it.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from ...contract.catalog import (
    CONNECTOR_RECONNECTED,
    CONNECTOR_TARGET_STATES,
    EVENT_FAMILIES,
    SYNC_OUTCOMES,
    Family,
)
from ...contract.lifecycle import (
    ALLOWED_TRANSITIONS,
    HEALTH_STATUS_TARGETS,
    OBSERVATION_STATES,
    TERMINAL_OUTCOMES,
    ConnectorState,
    HealthStatus,
    SyncOutcome,
)
from ...contract.rules import SEMANTIC_RULES
from ...models.envelope import Event
from ...models.payloads import PAYLOAD_MODELS
from ...reducing.facts import LinkFact
from ..screen import _derive_plans, _FieldPlan

__all__ = ["derive_spec", "render_spec"]

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


def _field(plan: _FieldPlan, role: int) -> tuple[Any, ...]:
    bounds = plan.bounds
    if plan.kind == "int":
        lo, hi = bounds.get("ge", -_INT64), bounds.get("le", _INT64 - 1)
    else:
        lo, hi = bounds.get("min_length", 0), bounds.get("max_length", -1)
    if plan.kind == "float" and set(bounds) - {"ge"}:
        raise TypeError(f"no compiled check for float bounds {bounds} of {plan.name}")
    check = None
    if plan.kind in ("str", "url") and plan.pattern is not None:
        check = {"pattern": plan.pattern[0], "max_length": plan.pattern[1]}
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


def derive_spec() -> tuple[Any, ...]:
    """The compiled screen's spec, derived from the field plans and the tables."""
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
        tuple(sorted(_STATES.index(t) for t in ALLOWED_TRANSITIONS[current]))
        for current in (None, *_STATES)
    )
    return (
        env,
        tuple(types),
        allowed,
        tuple(sorted(_STATES.index(s) for s in OBSERVATION_STATES)),
        tuple(_STATES.index(HEALTH_STATUS_TARGETS[h]) for h in _HEALTH),
        (_STATES.index(ConnectorState.HEALTHY), _STATES.index(ConnectorState.RECONNECTED)),
        tuple(sorted(_OUTCOMES.index(o) for o in TERMINAL_OUTCOMES)),
        (
            len(_OUTCOMES),
            _OUTCOMES.index(SyncOutcome.RETRY_SCHEDULED),
            _OUTCOMES.index(SyncOutcome.REPLAY_COMPLETED),
        ),
    )


def render_spec() -> str:
    """The text of ``_native_spec.json``: the derived spec as indented JSON."""
    return orjson.dumps(derive_spec(), option=orjson.OPT_INDENT_2).decode() + "\n"


# Envelope fields the compiled screen reads by role must exist in the model.
assert set(_ENVELOPE_ROLES) <= set(Event.model_fields)
