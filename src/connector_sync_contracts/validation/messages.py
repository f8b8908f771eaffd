"""One message style for every problem: ``$.path: code: message, got VALUE``.

``validate_event``'s model layer, the CLI's line problems and the
``malformed_envelope``/``malformed_payload`` anomalies of a replay all read
pydantic errors through ``model_violations``, so a broken field is described
the same way everywhere: the same JSON path (``$.payload.latency_ms``), the
same stable code (``type``) and the offending value, shortened as pydantic
shortens it (``got "fast"``). Credentials in a URL are never repeated.

No pydantic import here: the errors are read through their ``errors()``.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Protocol

from ..contract.patterns import encodable
from ..contract.rules import SemanticRule, semantic_rule_field
from .input import PathParts, violation
from .paths import json_path
from .result import FIELD_RANK, INPUT_CODES, Layer, Violation

__all__ = [
    "PYDANTIC_CODES",
    "ErrorList",
    "describe_error",
    "model_code",
    "model_violations",
    "one_per_path",
    "semantic_message",
    "shown_value",
    "summarize",
    "unknown_event_type_message",
]

PYDANTIC_CODES: Final[Mapping[str, str]] = {
    "missing": "required",
    "string_type": "type",
    "int_type": "type",
    "float_type": "type",
    "bool_type": "type",
    "dict_type": "type",
    "list_type": "type",
    "model_type": "type",
    "model_attributes_type": "type",
    "datetime_type": "type",
    "uuid_type": "type",
    "none_required": "type",
    "is_instance_of": "type",
    "enum": "enum",
    "literal_error": "enum",
    "string_too_short": "min_length",
    "too_short": "min_length",
    "string_too_long": "max_length",
    "too_long": "max_length",
    "greater_than_equal": "minimum",
    "greater_than": "exclusive_minimum",
    "less_than_equal": "maximum",
    "less_than": "exclusive_maximum",
    "string_pattern_mismatch": "pattern",
    "datetime_parsing": "format",
    "datetime_from_date_parsing": "format",
    "datetime_object_invalid": "format",
    "datetime_out_of_range": "format",
    "timezone_aware": "format",
    "uuid_parsing": "format",
    "uuid_version": "format",
    "finite_number": "non_finite_number",
    "string_unicode": "invalid_unicode",
}
"""pydantic error type -> the stable violation code it reports (``invalid`` otherwise)."""

_VALUE_LIMIT: Final = 50
"""Longest value shown in a message; longer ones keep their start and end, as pydantic does."""
_SHORT_INT: Final = 10**40
"""Integers shorter than _VALUE_LIMIT: written whole."""

_URL_TOKEN_END: Final = re.compile(r'\s|(?<!\\)"')
"""Where a URL written in JSON text ends: white space, or a quote that is not escaped."""
_SCHEME_CHARS: Final = frozenset(string.ascii_letters + string.digits + "+.-")
"""What a URL scheme is written with (RFC 3986)."""


class ErrorList(Protocol):
    """What ``model_violations`` reads: a pydantic ``ValidationError``."""

    def errors(self, *, include_url: bool = ...) -> Sequence[Any]:
        """The error details (``type``, ``loc``, ``msg``, ``input``)."""


def unknown_event_type_message(event_type: object) -> str:
    """What ``unknown_event_type`` says of a declared event type (any JSON value)."""
    if isinstance(event_type, str):
        return f"no payload model for event type {event_type!r}"
    return f"no payload model for event type {shown_value(event_type)}: an event type is a string"


def shown_value(value: object) -> str:
    """``value`` as JSON text, at most 50 characters, with URL credentials masked.

    ``"fast"``, ``12``, ``null``, ``{"a": 1}``; a longer value keeps its
    first and last characters around ``...``, and ``https://user:token@host``
    reads ``https://***@host``.
    """
    # The usual values of a message, written as json.dumps writes them, at once.
    if type(value) is int and -_SHORT_INT < value < _SHORT_INT:
        return str(value)
    if type(value) is str and value.isascii() and value.isprintable() and _plain(value):
        return _shown(f'"{value}"')
    return _shown(_as_json(value))


def _plain(text: str) -> bool:
    """No character json.dumps escapes (with ``isprintable``: no control character)."""
    return '"' not in text and "\\" not in text


def _as_json(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # a cycle, or a key JSON cannot hold
        return repr(value)


def _shown(text: str) -> str:
    if "@" in text:  # credentials need one
        text = _masked_credentials(text)
    # A lone surrogate is valid JSON text but cannot be printed: escape it.
    text = encodable(text)
    if len(text) > _VALUE_LIMIT:
        half = (_VALUE_LIMIT - 3) // 2
        text = f"{text[: _VALUE_LIMIT - 3 - half]}...{text[-half:]}"
    return text


def _masked_credentials(text: str) -> str:
    """``text`` with the user-info of every URL in it written ``***``.

    A URL's user-info is everything from its ``scheme://`` to the last ``@``
    before the URL ends (white space or an unescaped quote), so a password
    holding ``@``, ``/``, ``?`` or ``#`` (which a producer that glues URLs
    together may write unescaped) is masked whole: ``https://u:p@ss/x@host``
    reads ``https://***@host``. Linear in the text's length, whatever it holds.
    """
    parts: list[str] = []
    done = 0  # text[:done] is in parts
    at = text.find("://")
    while at >= 0:
        start = at + 3
        end_match = _URL_TOKEN_END.search(text, start)
        end = end_match.start() if end_match else len(text)
        cut = text.rfind("@", start, end)
        if cut > start and at > done and text[at - 1] in _SCHEME_CHARS:
            parts.extend((text[done:start], "***"))
            done = cut
        at = text.find("://", end)
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def semantic_message(rule: SemanticRule, payload: Mapping[str, Any]) -> str:
    """What a payload that breaks ``rule`` is told: the rule, and the two values the
    payload gives, as written (``retry_attempt must not exceed max_retries, got
    retry_attempt 4 and max_retries 3``)."""
    subject = semantic_rule_field(rule)
    other = rule.later if subject == rule.earlier else rule.earlier
    return (
        f"{rule.message}, got {subject} {shown_value(payload.get(subject))} "
        f"and {other} {shown_value(payload.get(other))}"
    )


def model_code(error_type: str, value: object) -> str:
    """The stable code of a pydantic error type (an enum check on a non-string is ``type``)."""
    if error_type in INPUT_CODES:  # raised by the input limits of ``Event(...)`` itself
        return error_type
    code = PYDANTIC_CODES.get(error_type, "invalid")
    if code == "enum" and not isinstance(value, str):
        return "type"
    return code


def describe_error(error: Mapping[str, Any]) -> tuple[str, str]:
    """(code, message) of one pydantic error detail; the message names the value."""
    code = model_code(error["type"], error.get("input"))
    message = str(error["msg"])
    if error["type"] == "datetime_from_date_parsing":
        # pydantic also tried a bare date, which the date-time pattern never takes.
        message = message.replace("a valid datetime or date", "a valid datetime", 1)
    if code == "required" or code in INPUT_CODES or "input" not in error:
        return code, message
    value = error["input"]
    if error["type"] == "string_too_long" and isinstance(value, str):
        # The value is shown cut short: its length is the number that was wrong.
        message = f"{message}, not {len(value):,}"
    return code, f"{message}, got {shown_value(value)}"


def one_per_path(violations: Iterable[Violation]) -> list[Violation]:
    """Keep one violation per path: the most fundamental code (``FIELD_CODES`` order)."""
    best: dict[str, Violation] = {}
    unranked = len(FIELD_RANK)
    for found in violations:
        held = best.get(found.path)
        if held is None or FIELD_RANK.get(found.code, unranked) < FIELD_RANK.get(
            held.code, unranked
        ):
            best[found.path] = found
    return list(best.values())


def model_violations(
    exc: ErrorList, prefix: PathParts = (), layer: Layer = Layer.MODEL
) -> list[Violation]:
    """The violations of a pydantic validation error, one per path, in the common style."""
    found = []
    for error in exc.errors(include_url=False):
        code, message = describe_error(error)
        context = error.get("ctx") or {}
        if code in INPUT_CODES and not error["loc"] and "path" in context:
            # refused by the input layer (``models.envelope._refused``), at its own path
            where = json_path(prefix) + str(context["path"])[1:]
            found.append(Violation(layer, where, code, str(context["reason"])))
            continue
        found.append(violation(layer, (*prefix, *error["loc"]), code, message))
    return one_per_path(found)


def summarize(violations: Iterable[Violation]) -> str:
    """``$.path: code: message`` of each violation, joined by ``; `` (an anomaly's message)."""
    return "; ".join(f"{v.path}: {v.code}: {v.message}" for v in violations)
