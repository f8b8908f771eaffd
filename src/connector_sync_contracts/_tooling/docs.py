"""Generated reference documentation: ``docs/contracts.md`` (FR-006, FR-007, FR-008).

Everything in the page comes from what the code itself uses, so it cannot
drift from behaviour: the field tables from the JSON Schemas generated from
the models (type, constraint and description of every field), the connector
state diagram from ``ALLOWED_TRANSITIONS``, ``OBSERVATION_STATES``,
``CONNECTOR_TARGET_STATES`` and ``HEALTH_STATUS_TARGETS`` (``contract``),
and the delivery lifecycle from ``SYNC_OUTCOMES`` and ``TERMINAL_OUTCOMES``,
with its rule table computed by running the reducer's own step
(``reducing.steps.sync_step``) on each (state, event) pair.

``make regen`` regenerates the page and ``make schema-check`` fails with a
diff when it is stale (``_tooling.regen``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from ..contract.catalog import (
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_TARGET_STATES,
    EVENT_FAMILIES,
    SYNC_OUTCOMES,
    Family,
)
from ..contract.lifecycle import (
    ALLOWED_TRANSITIONS,
    HEALTH_STATUS_TARGETS,
    OBSERVATION_STATES,
    TERMINAL_OUTCOMES,
    ConnectorState,
    SyncOutcome,
)
from ..contract.limits import INT64_MAX
from ..contract.patterns import (
    DATETIME_PATTERN,
    EVENT_ID_PATTERN,
    SEMVER_PATTERN,
    URL_MAX_LENGTH,
    URL_PATTERN,
    UUID_PATTERN,
)
from ..contract.rules import SEMANTIC_RULES
from ..contract.version import CONTRACT_VERSION
from ..interop.cloudevents import build_type
from ..models.payloads import PAYLOAD_MODELS
from ..reducing.facts import SyncFact
from ..reducing.steps import SyncAcc, sync_step
from ..schemas import ENVELOPE_SCHEMA, schema_file_name, schema_id
from .schemagen import generate_schema

__all__ = [
    "DEFAULT_OUTPUT",
    "OBSERVATION_LABEL",
    "connector_diagram",
    "delivery_diagram",
    "delivery_rules",
    "field_rows",
    "render_docs",
]

DEFAULT_OUTPUT: Final = Path(__file__).resolve().parents[3] / "docs" / "contracts.md"
"""``docs/contracts.md`` of the source tree this module lives in."""

OBSERVATION_LABEL: Final = "observation"
"""First word of the label of every observation self-loop in the connector diagram."""

_START: Final = "[*]"
_NAMED_PATTERNS: Final = {
    EVENT_ID_PATTERN: "ULID or UUID",
    UUID_PATTERN: "UUID (36-char hyphenated or 32 hex)",
    DATETIME_PATTERN: "RFC 3339 with an offset; normalized to UTC",
    URL_PATTERN: "absolute http(s) URL with a host, no user-info",
    SEMVER_PATTERN: "MAJOR.MINOR.PATCH",
}
_FAMILY_TITLES: Final = {
    Family.CONNECTOR: "Connector lifecycle family (FR-001, FR-002)",
    Family.SYNC: "Sync delivery family (FR-003, FR-004)",
    Family.LINK: "External reference links (FR-005)",
}


# ------------------------------------------------------------------ field tables


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _resolve(
    node: Mapping[str, Any], schema: Mapping[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        merged = {**schema["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
        return name, merged
    return None, dict(node)


def _type_text(node: Mapping[str, Any], enum_name: str | None) -> str:
    raw = node.get("type", "any")
    types = [raw] if isinstance(raw, str) else list(raw)
    nullable = "null" in types
    shown = [t for t in types if t != "null"]
    text = " or ".join(shown) if shown else "null"
    if node.get("format") == "date-time":
        text = "string (date-time)"
    if enum_name is not None:
        text = f"{enum_name} ({text} enum)"
    return f"{text} or null" if nullable else text


def _bound(value: Any) -> str:
    return "2^63-1" if value == INT64_MAX else json.dumps(value)


def _constraint_text(node: Mapping[str, Any]) -> str:
    parts: list[str] = []
    if "enum" in node:
        parts.append("one of " + ", ".join(f"`{value}`" for value in node["enum"]))
    if node.get("minLength") == 1:
        parts.append("non-empty")
    elif "minLength" in node:
        parts.append(f"length >= {node['minLength']}")
    if "maxLength" in node and node.get("pattern") != URL_PATTERN:
        parts.append(f"length <= {node['maxLength']}")
    elif "maxLength" in node:
        parts.append(f"at most {URL_MAX_LENGTH} characters")
    if "minimum" in node:
        parts.append(f">= {_bound(node['minimum'])}")
    if "maximum" in node:
        parts.append(f"<= {_bound(node['maximum'])}")
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        parts.append(_NAMED_PATTERNS.get(pattern, f"matches `{pattern}`"))
    if node.get("type") == "number":
        parts.append("finite")
    if node.get("default") is not None:
        parts.append(f"default `{json.dumps(node['default'])}`")
    return "; ".join(parts) or "-"


def field_rows(name: str) -> list[tuple[str, str, str, str, str]]:
    """(field, type, required, constraint, description) of each field of a schema, in order."""
    schema = generate_schema(name)
    required = set(schema.get("required", ()))
    rows = []
    for field, node in schema["properties"].items():
        enum_name, resolved = _resolve(node, schema)
        rows.append(
            (
                field,
                _type_text(resolved, enum_name),
                "yes" if field in required else "no",
                _constraint_text(resolved),
                resolved.get("description", ""),
            )
        )
    return rows


def _field_table(name: str) -> list[str]:
    lines = [
        "| field | type | required | constraint | description |",
        "|---|---|---|---|---|",
    ]
    for row in field_rows(name):
        field, type_, required, constraint, description = (_cell(cell) for cell in row)
        lines.append(f"| `{field}` | {type_} | {required} | {constraint} | {description} |")
    return lines


# ------------------------------------------------------------------ connector diagram


def _drivers(target: ConnectorState) -> list[str]:
    """Event types (with health statuses) whose target state is ``target``."""
    found = [t for t, state in CONNECTOR_TARGET_STATES.items() if state is target]
    statuses = [status.value for status, state in HEALTH_STATUS_TARGETS.items() if state is target]
    if statuses:
        found.append(f"{CONNECTOR_HEALTH_CHECKED}({', '.join(statuses)})")
    return found


def _state(state: ConnectorState | None) -> str:
    return _START if state is None else state.value


def connector_diagram() -> str:
    """Mermaid state diagram of the connector lifecycle (transitions and observations)."""
    order = [None, *ConnectorState]
    lines = ["stateDiagram-v2"]
    for current in order:
        for target in sorted(ALLOWED_TRANSITIONS.get(current, ()), key=order.index):
            label = ", ".join(_drivers(target))
            lines.append(f"    {_state(current)} --> {_state(target)} : {label}")
    for state in sorted(OBSERVATION_STATES, key=order.index):
        label = ", ".join(_drivers(state))
        lines.append(f"    {state.value} --> {state.value} : {OBSERVATION_LABEL} {label}")
    lines.append("    classDef observed stroke-dasharray: 5 5")
    observed = ", ".join(state.value for state in sorted(OBSERVATION_STATES, key=order.index))
    lines.append(f"    class {observed} observed")
    return "\n".join(lines)


# ------------------------------------------------------------------ delivery lifecycle

_EVENT_OF: Final = {outcome: event_type for event_type, outcome in SYNC_OUTCOMES.items()}


def _fact(outcome: SyncOutcome, serial: int, retry_attempt: int = 0) -> SyncFact:
    return SyncFact(
        event_id=f"doc{serial}",
        connector_id="connector",
        outcome=outcome,
        delivery_id="delivery",
        fingerprint="fingerprint",
        retry_attempt=retry_attempt,
        max_retries=retry_attempt + 1,
        ingested_count=1 if outcome is SyncOutcome.ACCEPTED else 0,
        replayed_count=1 if outcome is SyncOutcome.REPLAY_COMPLETED else 0,
    )


def _run(facts: Iterable[SyncFact]) -> SyncAcc:
    acc = SyncAcc(connector_id="connector", keep_logs=True)
    for fact in facts:
        acc = sync_step(acc, fact)
    return acc


def _history() -> list[tuple[str, list[SyncFact]]]:
    """States of one delivery key, each with the events that lead there."""
    retry = SyncOutcome.RETRY_SCHEDULED
    rows = [("new key", []), (f"{retry.value} (attempt 2)", [_fact(retry, 1, 2)])]
    for outcome in sorted(TERMINAL_OUTCOMES, key=list(SyncOutcome).index):
        rows.append((outcome.value, [_fact(retry, 1, 2), _fact(outcome, 2)]))
    rows.append(
        (
            f"{SyncOutcome.REPLAY_COMPLETED.value} (new key)",
            [_fact(SyncOutcome.REPLAY_COMPLETED, 1)],
        )
    )
    return rows


def _incoming() -> list[tuple[str, SyncFact]]:
    """Events to try on each state: every outcome, and retries above, at and below attempt 2."""
    events: list[tuple[str, SyncFact]] = []
    for outcome in SyncOutcome:
        event_type = _EVENT_OF[outcome]
        if outcome is SyncOutcome.RETRY_SCHEDULED:
            for attempt, shown in ((3, "attempt 3"), (2, "attempt 2"), (1, "attempt 1")):
                events.append((f"{event_type} ({shown})", _fact(outcome, 9, attempt)))
        else:
            events.append((event_type, _fact(outcome, 9)))
    return events


def delivery_rules() -> list[tuple[str, str, str]]:
    """(state of the key, incoming event, what ``sync_step`` does) for every pair.

    Computed by running the reducer's step, so the table is its behaviour:
    ``applied -> <status>`` or the anomaly kind of a skipped event.
    """
    rows = []
    for state, history in _history():
        for event, fact in _incoming():
            acc = _run(history)
            seen, counted = len(acc.anomalies), sum(acc.counts.values())
            acc = sync_step(acc, fact)
            if sum(acc.counts.values()) > counted:
                status = acc.deliveries[("delivery", "fingerprint")].status
                verdict = f"applied -> {status.value}"
            else:
                verdict = f"skipped: `{acc.anomalies[seen]['kind']}`"
            rows.append((state, event, verdict))
    return rows


def delivery_diagram() -> str:
    """Mermaid state diagram of one delivery key: retries, then exactly one terminal outcome."""
    retry = SyncOutcome.RETRY_SCHEDULED
    retry_event = _EVENT_OF[retry]
    terminals = sorted(TERMINAL_OUTCOMES, key=list(SyncOutcome).index)
    lines = [
        "stateDiagram-v2",
        f"    {_START} --> {retry.value} : {retry_event}",
        f"    {retry.value} --> {retry.value} : {retry_event}(higher retry_attempt)",
    ]
    for outcome in terminals:
        lines.append(f"    {_START} --> {outcome.value} : {_EVENT_OF[outcome]}")
        lines.append(f"    {retry.value} --> {outcome.value} : {_EVENT_OF[outcome]}")
    for outcome in terminals:
        lines.append(f"    {outcome.value} --> {_START}")
    replay = _EVENT_OF[SyncOutcome.REPLAY_COMPLETED]
    lines.append(f"    note right of {retry.value} : {replay} applies once per key in any state")
    return "\n".join(lines)


# ------------------------------------------------------------------ the page


def _doc(text: str | None) -> str:
    return inspect.cleandoc(text or "").replace("``", "`")


def _event_section(event_type: str) -> list[str]:
    model = PAYLOAD_MODELS[event_type]
    lines = [f"### {event_type}", "", _doc(model.__doc__), ""]
    facts = [
        f"- schema: `schemas/{schema_file_name(event_type)}` (`$id` {schema_id(event_type)})",
        f"- CloudEvents type: `{build_type(event_type)}`",
    ]
    if event_type in CONNECTOR_TARGET_STATES:
        facts.append(f"- moves the connector to `{CONNECTOR_TARGET_STATES[event_type].value}`")
    elif event_type == CONNECTOR_HEALTH_CHECKED:
        targets = ", ".join(
            f"`{status.value}` -> `{state.value}`"
            for status, state in HEALTH_STATUS_TARGETS.items()
        )
        facts.append(f"- moves the connector by `health_status`: {targets}")
    if event_type in SYNC_OUTCOMES:
        outcome = SYNC_OUTCOMES[event_type]
        terminal = " (terminal)" if outcome in TERMINAL_OUTCOMES else ""
        facts.append(f"- records the outcome `{outcome.value}`{terminal}")
    for rule in SEMANTIC_RULES:
        if rule.event_type == event_type:
            facts.append(f"- semantic rule `{rule.code}`: {rule.message}")
    return [*lines, *facts, "", *_field_table(event_type), ""]


def _transition_list() -> list[str]:
    order = [None, *ConnectorState]
    lines = []
    for current in order:
        targets = sorted(ALLOWED_TRANSITIONS.get(current, ()), key=order.index)
        shown = ", ".join(f"`{t.value}`" for t in targets)
        name = "none (before provisioning)" if current is None else f"`{current.value}`"
        lines.append(f"- {name} -> {shown}")
    return lines


def _rules_table() -> list[str]:
    events = [event for event, _ in _incoming()]
    table: dict[str, dict[str, str]] = {}
    for state, event, verdict in delivery_rules():
        table.setdefault(state, {})[event] = verdict
    lines = [
        "| state of the key | " + " | ".join(events) + " |",
        "|---|" + "---|" * len(events),
    ]
    for state, verdicts in table.items():
        lines.append(f"| {state} | " + " | ".join(verdicts[event] for event in events) + " |")
    return lines


def render_docs() -> str:
    """The whole page, as Markdown text ending with a newline."""
    observed = ", ".join(f"`{state.value}`" for state in sorted(OBSERVATION_STATES))
    lines = [
        "<!-- Generated by `make regen`; do not edit. -->",
        "",
        f"# Event contracts {CONTRACT_VERSION}: fields and lifecycles",
        "",
        "Generated from the models, the JSON Schemas built from them and the tables the "
        "reducers use (`connector_sync_contracts.contract`), so it always describes what the "
        "code does. `make schema-check` fails when this page is stale.",
        "",
        "## Envelope (`Event`)",
        "",
        _doc(generate_schema(ENVELOPE_SCHEMA).get("description")),
        "",
        f"- schema: `schemas/{schema_file_name(ENVELOPE_SCHEMA)}` "
        f"(`$id` {schema_id(ENVELOPE_SCHEMA)})",
        "",
        *_field_table(ENVELOPE_SCHEMA),
        "",
    ]
    for family in Family:
        lines += [f"## {_FAMILY_TITLES[family]}", ""]
        if family is Family.CONNECTOR:
            lines += [
                "### Connector lifecycle (FR-006)",
                "",
                "Each connector (`payload.connector_id`) has its own state machine. An arrow "
                "is an allowed transition, labelled with the events that target its state; "
                f"the dashed states ({observed}) also have *observation* self-loops: a health "
                "check that confirms the current state updates the health fields, adds "
                "nothing to the transition log and raises no anomaly. Any other move is an "
                "`invalid_transition` anomaly and is not applied.",
                "",
                "```mermaid",
                connector_diagram(),
                "```",
                "",
                "Allowed transitions (`ALLOWED_TRANSITIONS`):",
                "",
                *_transition_list(),
                "",
            ]
        if family is Family.SYNC:
            lines += [
                "### Delivery lifecycle (FR-007)",
                "",
                "The key (`delivery_id`, `source_event_fingerprint`) identifies one delivery: "
                "retries, then one terminal outcome "
                f"({', '.join(f'`{o.value}`' for o in sorted(TERMINAL_OUTCOMES))}). "
                "Replays are orthogonal: one per key, in any state.",
                "",
                "```mermaid",
                delivery_diagram(),
                "```",
                "",
                "What the reducer does with each event, by the state of its key (computed by "
                "running the reducer's step):",
                "",
                *_rules_table(),
                "",
            ]
        for event_type in sorted(t for t, f in EVENT_FAMILIES.items() if f is family):
            lines += _event_section(event_type)
    return "\n".join(lines).rstrip("\n") + "\n"
