"""The problems of lines the compiled core took and reports, worded without the models.

With ``reports``, ``Scanner.scan`` takes two kinds of line it checked whole
instead of deferring them to the model path: a valid envelope of an event
type with no payload model here (another family, a newer 2.x type: replay
keeps it as an ignored event) and a valid event that breaks semantic rules
(kept and applied). Each is still a problem for ``validate`` and ``replay``,
and its only one, so it is worded here from the core's report: at about a
microsecond a line instead of the model path's tens, for logs that share
their stream with other families. The wording is the validation layers'
own (``unknown_event_type_message``, ``semantic_rule_field``) and its order
``explain_line``'s; the engines' agreement tests hold the two paths equal.
"""

from __future__ import annotations

from typing import Final

import orjson

from ..contract.rules import SEMANTIC_RULES, semantic_rule_field
from ..io import LineProblem
from ..validation.input import PathParts, violation
from ..validation.messages import unknown_event_type_message
from ..validation.result import Layer
from . import native

__all__ = ["REPORT_RULES", "REPORT_UNKNOWN_TYPE", "reported_problems"]

REPORT_UNKNOWN_TYPE: Final = 1
"""A valid envelope of an event type with no payload model."""
REPORT_RULES: Final = 2
"""A valid event that breaks semantic rules."""


def reported_problems(raw: bytes, line: int, code: int) -> list[LineProblem]:
    """The problems of a line the core took and reported, as ``LineChecker`` words them.

    ``code`` is the report ``Scanner.scan`` lists: kind | event type index
    << 8 | broken rules << 16.
    """
    kind = code & 0xFF
    if kind == REPORT_UNKNOWN_TYPE:
        message = unknown_event_type_message(orjson.loads(raw)["event_type"])
        return [_problem(line, Layer.INPUT, ("event_type",), "unknown_event_type", message)]
    if kind != REPORT_RULES:
        raise ValueError(f"not a report of the compiled core: {code}")
    event_type = native.type_at(code >> 8 & 0xFF)
    codes = native.rule_codes(event_type)
    broken = {codes[k] for k in range(len(codes)) if code >> (16 + k) & 1}
    return [
        _problem(
            line, Layer.SEMANTIC, ("payload", semantic_rule_field(rule)), rule.code, rule.message
        )
        for rule in SEMANTIC_RULES
        if rule.event_type == event_type and rule.code in broken
    ]


def _problem(line: int, layer: Layer, path: PathParts, code: str, message: str) -> LineProblem:
    # Made as the validation layers make theirs (``violation``: the path
    # written and the message clipped alike), so both paths word a line alike.
    return LineProblem.of(line, violation(layer, path, code, message))
