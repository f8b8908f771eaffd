"""Cross-field rules that JSON Schema cannot express (FR-008, specification section 3-4).

The validator's semantic layer and the reducers check these same rows.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from .catalog import CONNECTOR_DEGRADED, SYNC_RETRY_SCHEDULED

__all__ = ["SEMANTIC_RULES", "SemanticRule", "semantic_failures", "semantic_rule_field"]


class SemanticRule(NamedTuple):
    """A cross-field rule JSON Schema cannot express: ``earlier <= later`` must hold."""

    code: str
    """Stable violation code, also used in ``semantic_violation`` anomaly messages."""
    event_type: str
    """Event type whose payload the rule applies to."""
    earlier: str
    """Field that must not be greater than ``later``."""
    later: str
    """Field that must not be smaller than ``earlier``."""
    message: str
    """Human-readable statement of the rule."""


SEMANTIC_RULES: Final[tuple[SemanticRule, ...]] = (
    SemanticRule(
        "last_healthy_after_recorded",
        CONNECTOR_DEGRADED,
        "last_healthy_at",
        "recorded_at",
        "last_healthy_at must not be after recorded_at",
    ),
    SemanticRule(
        "next_retry_before_recorded",
        SYNC_RETRY_SCHEDULED,
        "recorded_at",
        "next_retry_at",
        "next_retry_at must not be before recorded_at",
    ),
    SemanticRule(
        "retry_attempt_exceeds_max_retries",
        SYNC_RETRY_SCHEDULED,
        "retry_attempt",
        "max_retries",
        "retry_attempt must not exceed max_retries",
    ),
)
"""Cross-field rules, checked by the validator's semantic layer and by the reducers."""

_RULES_BY_TYPE: Final[dict[str, tuple[SemanticRule, ...]]] = {}
for _rule in SEMANTIC_RULES:
    _RULES_BY_TYPE[_rule.event_type] = (*_RULES_BY_TYPE.get(_rule.event_type, ()), _rule)


def semantic_rule_field(rule: SemanticRule) -> str:
    """The payload field a broken ``rule`` is reported at: the one its message is about."""
    subject = rule.message.partition(" ")[0]
    return subject if subject in (rule.earlier, rule.later) else rule.earlier


def semantic_failures(event_type: str, payload: object) -> tuple[SemanticRule, ...]:
    """The semantic rules of ``event_type`` that a model-valid ``payload`` breaks.

    ``payload`` is read by attribute (a validated payload model).
    """
    rules = _RULES_BY_TYPE.get(event_type)
    if not rules:
        return ()
    return tuple(
        rule for rule in rules if getattr(payload, rule.earlier) > getattr(payload, rule.later)
    )
