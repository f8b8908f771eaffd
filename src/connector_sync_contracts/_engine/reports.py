"""The problems of lines the compiled core took and reports, worded without the models.

With ``reports``, ``Scanner.scan`` takes two kinds of line it checked whole
instead of deferring them to the model path: a valid envelope of an event
type with no payload model here (another family, a newer 2.x type: replay
keeps it as an ignored event) and a valid event that breaks semantic rules
(kept and applied). Each is still a problem for ``validate`` and ``replay``,
and its only one, so it is worded here from the core's report: at about a
microsecond a line instead of the model path's tens, for logs that share
their stream with other families. The wording is the validation layers'
own (``unknown_event_type_message``, ``semantic_message``) and its order
``explain_line``'s; the engines' agreement tests hold the two paths equal.
"""

from __future__ import annotations

from typing import Final

import orjson

from ..contract.rules import SEMANTIC_RULES, SemanticRule, semantic_rule_field
from ..io import LineProblem
from ..validation.input import PathParts, violation
from ..validation.messages import semantic_message, unknown_event_type_message
from ..validation.result import Layer
from . import native

__all__ = ["REPORT_RULES", "REPORT_UNKNOWN_TYPE", "reported_problems"]

REPORT_UNKNOWN_TYPE: Final = 1
"""A valid envelope of an event type with no payload model."""
REPORT_RULES: Final = 2
"""A valid event that breaks semantic rules."""


_WORDED_LIMIT: Final = 4096
"""The most event types (any text a line declares) whose words are kept."""

_unknown_types: dict[str | bytes, tuple[str, str, str]] = {}
"""An undeclared event type (or its name as the line writes it) -> its problem's
(field, code, message)."""
_rule_reports: dict[int, tuple[SemanticRule, ...]] = {}
"""A report of broken rules -> the rules (each message shows the line's own values)."""


def reported_problems(raw: bytes, line: int, code: int) -> list[LineProblem]:
    """The problems of a line the core took and reported, as ``LineChecker`` words them.

    ``code`` is the report ``Scanner.scan`` lists: kind | event type index
    << 8 | broken rules << 16; for an unknown event type, where the line
    writes its name without an escape, its offset << 16 | its length << 40
    (else no length: the line is read for it). The words depend on the event
    type (and the rules) alone, so each is made once: a log that shares its
    stream with other families reports every one of their lines.
    """
    kind = code & 0xFF
    if kind == REPORT_UNKNOWN_TYPE:
        length = code >> 40
        start = code >> 16 & 0xFFFFFF
        name: str | bytes = (
            raw[start : start + length] if length else orjson.loads(raw)["event_type"]
        )
        worded = _unknown_types.get(name)
        if worded is None:
            worded = _unknown_type_words(name.decode() if isinstance(name, bytes) else name)
            if len(_unknown_types) < _WORDED_LIMIT:
                _unknown_types[name] = worded
        return [LineProblem(line, *worded)]
    if kind != REPORT_RULES:
        raise ValueError(f"not a report of the compiled core: {code}")
    rules = _rule_reports.get(code)
    if rules is None:
        rules = _rule_reports[code] = _broken_rules(code)
    payload = orjson.loads(raw)["payload"]  # the values the message shows
    return [
        LineProblem(
            line,
            *_words(
                Layer.SEMANTIC,
                ("payload", semantic_rule_field(rule)),
                rule.code,
                semantic_message(rule, payload),
            ),
        )
        for rule in rules
    ]


def _unknown_type_words(event_type: str) -> tuple[str, str, str]:
    message = unknown_event_type_message(event_type)
    return _words(Layer.INPUT, ("event_type",), "unknown_event_type", message)


def _broken_rules(code: int) -> tuple[SemanticRule, ...]:
    event_type = native.type_at(code >> 8 & 0xFF)
    codes = native.rule_codes(event_type)
    broken = {codes[k] for k in range(len(codes)) if code >> (16 + k) & 1}
    return tuple(
        rule for rule in SEMANTIC_RULES if rule.event_type == event_type and rule.code in broken
    )


def _words(layer: Layer, path: PathParts, code: str, message: str) -> tuple[str, str, str]:
    # Made as the validation layers make theirs (``violation``: the path
    # written and the message clipped alike), so both paths word a line alike.
    found = violation(layer, path, code, message)
    return found.path, found.code, found.message
