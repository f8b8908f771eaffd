"""The compiled core's spec: derived from the models and the contract's tables, committed as JSON.

``_native`` knows no event type, payload field, state or outcome by name:
everything it checks and folds by comes from this spec, keyed by name (no
positional codes), with a ``format`` number the extension checks when it
loads. The spec is derived here from the pydantic models (what each field
accepts), the catalogue (families, targets, outcomes, the roles of fields),
the lifecycle tables and the semantic rules, and committed as ``spec.json``
so the command line configures the compiled core without building the
models. ``make schema-check`` fails when the committed copy differs from
the derivation; ``make regen`` refreshes it.
"""

from __future__ import annotations

import types
import typing
from enum import Enum
from typing import Annotated, Any, Final, Union

import annotated_types
import orjson
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ...contract.catalog import CATALOG, Family
from ...contract.lifecycle import (
    ALLOWED_TRANSITIONS,
    HEALTH_STATUS_TARGETS,
    OBSERVATION_STATES,
    TERMINAL_OUTCOMES,
    ConnectorState,
    SyncOutcome,
)
from ...contract.limits import INT_RANGE, MAX_DEPTH
from ...contract.patterns import ULID_ALPHABET
from ...contract.rules import SEMANTIC_RULES
from ...contract.version import CONTRACT_VERSION
from ...models import fields as model_fields
from ...models.envelope import Event
from ...models.payloads import PAYLOAD_MODELS
from ...reducing.anomalies import SEMANTIC_ANOMALY

__all__ = ["SPEC_FORMAT", "derive_spec", "field_rule", "render_spec"]

SPEC_FORMAT: Final = 2
"""Version of the spec's layout; ``_native`` refuses a spec of another format."""

_ENVELOPE_ROLES: Final = {
    "event_id": "event_id",
    "event_type": "event_type",
    "timestamp": "timestamp",
    "lamport_clock": "lamport_clock",
    "project_uuid": "project_uuid",
    "payload": "payload",
}
"""Envelope fields the compiled core reads (the rest it only checks)."""


def field_rule(name: str, info: FieldInfo, role: str = "") -> dict[str, Any]:
    """What one model field accepts, as the compiled core checks it.

    ``kind`` is one of event_id, uuid, datetime, str, enum, int, float,
    bool, object, or defer (no compiled check: Python decides a line that
    gives the field a value); bounds are the model's own (string lengths in
    characters).
    """
    annotation: Any = info.annotation
    metadata: list[Any] = list(info.metadata)
    nullable = False
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable, annotation = True, args[0]
    if typing.get_origin(annotation) is Annotated:
        base, *extra = typing.get_args(annotation)
        for item in extra:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        annotation = base
    validators = {getattr(m, "func", None) for m in metadata}
    rule: dict[str, Any] = {"name": name, "role": role, "nullable": nullable}
    rule["optional"] = not info.is_required()
    for m in metadata:
        if isinstance(m, annotated_types.MinLen):
            rule["min_length"] = m.min_length
        elif isinstance(m, annotated_types.MaxLen):
            rule["max_length"] = m.max_length
        elif isinstance(m, annotated_types.Ge):
            rule["minimum"] = m.ge
        elif isinstance(m, annotated_types.Le):
            rule["maximum"] = m.le
        elif getattr(m, "pattern", None):
            rule["pattern"] = m.pattern
    if model_fields._check_event_id in validators:
        rule["kind"] = "event_id"
    elif model_fields._check_uuid in validators:
        rule["kind"] = "uuid"
    elif model_fields._check_datetime in validators:
        rule["kind"] = "datetime"
    elif checked := [v for v in validators if isinstance(v, model_fields._PatternCheck)]:
        # A string whose pattern a validator of its own checks (and words).
        rule["kind"] = "str"
        rule["pattern"] = checked[0].pattern
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        rule["kind"] = "enum"
        rule["values"] = [member.value for member in annotation]
    elif annotation is bool:
        rule["kind"] = "bool"
    elif annotation is str:
        rule["kind"] = "str"
    elif annotation is int:
        rule["kind"] = "int"
    elif annotation is float:
        rule["kind"] = "float"
    elif typing.get_origin(annotation) is dict or annotation is dict:
        rule["kind"] = "object"
    else:
        # A type the core has no check for: a line giving this field a value
        # is decided by the models (slower, never wrong). Add a kind here and
        # in the core to keep such lines on the compiled path.
        rule["kind"] = "defer"
    if rule["kind"] == "float" and set(rule) & {"maximum", "pattern", "min_length"}:
        raise TypeError(f"no compiled check for the bounds of float field {name}")
    return rule


def _fields(model: type[BaseModel], roles: typing.Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        field_rule(name, info, roles.get(name, "")) for name, info in model.model_fields.items()
    ]


def _event_type(recipe: Any) -> dict[str, Any]:
    model = PAYLOAD_MODELS[recipe.event_type]
    roles = dict(recipe.roles)
    if "project_uuid" in model.model_fields:
        # Not a fact attribute: compared with the envelope's, in strict mode only.
        roles["project_uuid"] = "project_uuid"
    rules = [
        {"code": rule.code, "earlier": rule.earlier, "later": rule.later}
        for rule in SEMANTIC_RULES
        if rule.event_type == recipe.event_type
    ]
    for rule in rules:
        for side in ("earlier", "later"):
            kind = field_rule(rule[side], model.model_fields[rule[side]])["kind"]
            if kind not in ("int", "datetime"):
                raise TypeError(f"no compiled comparison for rule {rule['code']} ({kind})")
    return {
        "name": recipe.event_type,
        "family": recipe.family.value,
        "target": recipe.target.value if recipe.target is not None else None,
        "outcome": recipe.outcome.value if recipe.outcome is not None else None,
        "fields": _fields(model, roles),
        "rules": rules,
    }


def derive_spec() -> dict[str, Any]:
    """The compiled core's spec, derived from the models and the contract's tables."""
    states = [state.value for state in ConnectorState]
    return {
        "format": SPEC_FORMAT,
        "contract_version": CONTRACT_VERSION,
        "limits": {"max_depth": MAX_DEPTH, "int_min": INT_RANGE[0], "int_max": INT_RANGE[1]},
        "ulid_alphabet": ULID_ALPHABET,
        "envelope": _fields(Event, _ENVELOPE_ROLES),
        "families": [family.value for family in Family],
        "event_types": [_event_type(recipe) for recipe in CATALOG],
        "states": states,
        "transitions": {
            (current.value if current is not None else ""): sorted(t.value for t in targets)
            for current, targets in ALLOWED_TRANSITIONS.items()
        },
        "observations": sorted(state.value for state in OBSERVATION_STATES),
        "health_targets": {
            status.value: state.value for status, state in HEALTH_STATUS_TARGETS.items()
        },
        "healthy_state": ConnectorState.HEALTHY.value,
        "reconnected_state": ConnectorState.RECONNECTED.value,
        "outcomes": [outcome.value for outcome in SyncOutcome],
        "terminal_outcomes": sorted(outcome.value for outcome in TERMINAL_OUTCOMES),
        "retry_outcome": SyncOutcome.RETRY_SCHEDULED.value,
        "replay_outcome": SyncOutcome.REPLAY_COMPLETED.value,
        "budget_rules": sorted(SEMANTIC_ANOMALY),
    }


def render_spec() -> str:
    """The text of ``spec.json``: the derived spec as indented JSON with sorted keys."""
    return (
        orjson.dumps(derive_spec(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
        + "\n"
    )
