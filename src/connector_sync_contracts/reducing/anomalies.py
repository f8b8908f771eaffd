"""Anomalies: what a reducer records instead of failing, and their messages.

Every anomaly's wording is built here, so the steps, deduplication and the
envelope admission of every engine describe the same event the same way.
"""

from __future__ import annotations

from typing import Final, TypedDict

from ..contract.rules import SEMANTIC_RULES
from .facts import MalformedFact

__all__ = [
    "SEMANTIC_ANOMALY",
    "AnomalyData",
    "anomaly",
    "anomaly_order",
    "conflicting_duplicate",
    "describe_rule",
    "malformed",
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


def malformed(fact: MalformedFact) -> AnomalyData:
    """The ``malformed_payload`` anomaly of a family event whose payload failed validation."""
    return anomaly(kind="malformed_payload", event_id=fact.event_id, message=fact.message)


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
