"""Anomalies: what a reducer records instead of failing, and their messages.

Every anomaly's wording is built here, once per kind, so the Python steps,
the compiled fold (which reports ``(kind, event_id, *parameters)``; see
``from_native``), deduplication and envelope admission describe the same
event the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypedDict

from ..contract.rules import SEMANTIC_RULES
from .facts import MalformedFact

__all__ = [
    "NATIVE_ANOMALIES",
    "SEMANTIC_ANOMALY",
    "SHARED_MESSAGE_KINDS",
    "AnomalyData",
    "anomaly",
    "anomaly_order",
    "conflicting_duplicate",
    "conflicting_link",
    "conflicting_outcome",
    "describe_rule",
    "duplicate_delivery",
    "from_native",
    "identity_changed",
    "invalid_transition",
    "link_id_reused",
    "malformed",
    "malformed_payload",
    "previous_state_mismatch",
    "reconnect_loop",
    "retry_after_terminal",
    "retry_attempt_regressed",
    "retry_budget_exceeded",
    "semantic_violation",
]


class AnomalyData(TypedDict):
    """An anomaly as plain data: the fields of ``results.Anomaly``."""

    kind: str
    event_id: str | None
    message: str


def anomaly(*, kind: str, event_id: str | None, message: str) -> AnomalyData:
    """Something a reducer noticed and recorded instead of failing (see ``results.Anomaly``)."""
    return {"kind": kind, "event_id": event_id, "message": message}


def anomaly_order(item: AnomalyData) -> tuple[str, str, str]:
    """Order of stream-level anomalies: (kind, event_id, message)."""
    return (item["kind"], item["event_id"] or "", item["message"])


SEMANTIC_ANOMALY: Final = {"retry_attempt_exceeds_max_retries": "retry_budget_exceeded"}
"""Semantic rule code -> the anomaly kind it raises when not a plain ``semantic_violation``."""


def malformed_payload(event_id: str, message: str) -> AnomalyData:
    """A family event whose payload failed validation; ``message`` says why."""
    return anomaly(kind="malformed_payload", event_id=event_id, message=message)


def malformed(fact: MalformedFact) -> AnomalyData:
    """The ``malformed_payload`` anomaly of a malformed fact."""
    return malformed_payload(fact.event_id, fact.message)


def identity_changed(
    event_id: str, provider: str, connector_type: str, first_provider: str, first_type: str
) -> AnomalyData:
    """A connector event names another provider or connector type than the first one."""
    return anomaly(
        kind="identity_changed",
        event_id=event_id,
        message=f"provider/connector_type {provider}/{connector_type} differs "
        f"from the first accepted {first_provider}/{first_type}; first values kept",
    )


def semantic_violation(event_id: str, code: str) -> AnomalyData:
    """A payload breaks a semantic rule (applied all the same)."""
    return anomaly(kind="semantic_violation", event_id=event_id, message=describe_rule(code))


def invalid_transition(
    event_id: str, event_type: str, current: str | None, target: str
) -> AnomalyData:
    """A connector event that would move its connector along a forbidden edge."""
    shown = current if current is not None else "none"
    return anomaly(
        kind="invalid_transition",
        event_id=event_id,
        message=f"{event_type} cannot move {shown} -> {target}; not applied",
    )


def previous_state_mismatch(event_id: str, claimed: str | None, current: str | None) -> AnomalyData:
    """A reconnect that names another state than the one its connector leaves."""
    return anomaly(
        kind="previous_state_mismatch",
        event_id=event_id,
        message=f"previous_state {claimed if claimed is not None else 'none'} but the "
        f"connector was {current if current is not None else 'none'}; applied",
    )


def reconnect_loop(event_id: str, count: int, limit: int) -> AnomalyData:
    """More reconnects without reaching healthy than the limit allows."""
    return anomaly(
        kind="reconnect_loop",
        event_id=event_id,
        message=f"{count} reconnects without reaching healthy (limit {limit}); applied",
    )


def _skipped(kind: str, event_id: str, delivery_id: str, fingerprint: str, why: str) -> AnomalyData:
    return anomaly(
        kind=kind,
        event_id=event_id,
        message=f"delivery {delivery_id} ({fingerprint}): {why}; skipped",
    )


def duplicate_delivery(
    event_id: str, delivery_id: str, fingerprint: str, what: str, value: object = None
) -> AnomalyData:
    """A delivery event seen already: ``what`` is replay, retry (``value``: the attempt)
    or terminal (``value``: the outcome)."""
    why = {
        "replay": "replay already completed",
        "retry": f"retry {value} already seen",
        "terminal": f"already {value}",
    }[what]
    return _skipped("duplicate_delivery", event_id, delivery_id, fingerprint, why)


def retry_after_terminal(
    event_id: str, delivery_id: str, fingerprint: str, terminal: str
) -> AnomalyData:
    """A retry of a delivery that already ended."""
    return _skipped(
        "retry_after_terminal", event_id, delivery_id, fingerprint, f"already {terminal}"
    )


def retry_attempt_regressed(
    event_id: str, delivery_id: str, fingerprint: str, attempt: int, last: int
) -> AnomalyData:
    """A retry whose attempt number is below the last one seen."""
    return _skipped(
        "retry_attempt_regressed",
        event_id,
        delivery_id,
        fingerprint,
        f"retry {attempt} after retry {last}",
    )


def conflicting_outcome(
    event_id: str, delivery_id: str, fingerprint: str, outcome: str, terminal: str
) -> AnomalyData:
    """A terminal outcome that differs from the delivery's first one."""
    return _skipped(
        "conflicting_outcome",
        event_id,
        delivery_id,
        fingerprint,
        f"{outcome} after terminal {terminal}",
    )


def retry_budget_exceeded(event_id: str, code: str) -> AnomalyData:
    """An applied retry over its budget (specification section 8: never also a violation)."""
    return anomaly(
        kind="retry_budget_exceeded", event_id=event_id, message=describe_rule(code) + "; applied"
    )


def link_id_reused(
    event_id: str, link_id: str, provider: str, ref_type: str, ref_id: str
) -> AnomalyData:
    """A link whose link_id already names another key (section 5: skipped)."""
    return anomaly(
        kind="link_id_reused",
        event_id=event_id,
        message=f"link_id {link_id} already names {provider}/{ref_type}/{ref_id}; skipped",
    )


def conflicting_link(
    event_id: str,
    provider: str,
    ref_type: str,
    ref_id: str,
    held_type: str,
    held_id: str,
    aggregate_type: str,
    aggregate_id: str,
) -> AnomalyData:
    """A link of a key already linked to another internal aggregate (section 5: skipped)."""
    return anomaly(
        kind="conflicting_link",
        event_id=event_id,
        message=f"{provider}/{ref_type}/{ref_id} is linked to {held_type} {held_id}, "
        f"not {aggregate_type} {aggregate_id}; skipped",
    )


NATIVE_ANOMALIES: Final[dict[str, Callable[..., AnomalyData]]] = {
    "malformed_payload": malformed_payload,
    "identity_changed": identity_changed,
    "semantic_violation": semantic_violation,
    "invalid_transition": invalid_transition,
    "previous_state_mismatch": previous_state_mismatch,
    "reconnect_loop": reconnect_loop,
    "duplicate_delivery": duplicate_delivery,
    "retry_after_terminal": retry_after_terminal,
    "retry_attempt_regressed": retry_attempt_regressed,
    "conflicting_outcome": conflicting_outcome,
    "retry_budget_exceeded": retry_budget_exceeded,
    "link_id_reused": link_id_reused,
    "conflicting_link": conflicting_link,
}
"""Anomaly kind -> its builder, for what the compiled fold reports."""


SHARED_MESSAGE_KINDS: Final = frozenset(
    {
        "identity_changed",
        "invalid_transition",
        "previous_state_mismatch",
        "retry_budget_exceeded",
        "semantic_violation",
    }
)
"""Kinds whose message names only states, types and rule codes, never an ID:
one message per ``(kind, *parameters)``. A log can repeat one on every other
line, so the compiled fold asks ``from_native`` for it once and keeps it."""


def from_native(item: tuple[Any, ...]) -> AnomalyData:
    """The anomaly the compiled fold reports as ``(kind, event_id, *parameters)``."""
    return NATIVE_ANOMALIES[item[0]](*item[1:])


def describe_rule(code: str) -> str:
    """``code: message`` of a semantic rule (the code alone when unknown)."""
    for rule in SEMANTIC_RULES:
        if rule.code == code:
            return f"{rule.code}: {rule.message}"
    return code


def conflicting_duplicate(event_id: str, versions: int) -> AnomalyData:
    """The stream-level anomaly for an event_id seen with ``versions`` different contents."""
    return anomaly(
        kind="conflicting_duplicate",
        event_id=event_id,
        message=f"{versions} different contents share this event_id; kept a copy with a "
        "valid payload if any, then the smallest (sort key, canonical JSON)",
    )
