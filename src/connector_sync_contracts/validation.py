"""Layered validation of payloads and envelopes (FR-008; contract section 7).

``validate_event`` accepts a payload (with its event type) or a whole
envelope, as a mapping or as JSON text/bytes, and never raises on bad data:
every problem comes back as a ``Violation`` with a layer, a JSON path, a
stable code and a message. The layers are

``input``
    the data is JSON at all: parseable UTF-8 text, no duplicate keys, no
    NaN/Infinity, strings that are valid Unicode, numbers within the IEEE 754
    double range, an object at the top, and an event type that selects a
    payload model. When this layer fails, no other layer runs.
``model``
    the frozen pydantic models (envelope, then payload).
``schema``
    the committed JSON Schemas, through ``jsonschema``. Model and schema
    layers use one vocabulary of codes (``required``, ``type``, ``enum``,
    ``min_length``, ``max_length``, ``minimum``, ``maximum``, ``pattern``,
    ``format``) and report at most one code per path (the first failing rule
    in that order), so the two layers agree on the codes as well as on the
    verdict; the conformance suite tests that agreement.
``semantic``
    the cross-field rules of ``registry.SEMANTIC_RULES``, checked only when
    the payload passed the model layer.
``strict``
    only with ``strict=True``: unknown envelope and payload fields, and an
    envelope ``project_uuid`` that differs from the payload's.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Literal

from pydantic import BaseModel, ValidationError

from ._reduce import semantic_failures
from ._vocab import MAX_DEPTH
from .envelope import Event
from .registry import PAYLOAD_MODELS, SEMANTIC_RULES
from .schemas import ENVELOPE_SCHEMA, create_validator

__all__ = [
    "VIOLATION_CODES",
    "Layer",
    "ValidationResult",
    "Violation",
    "INT_RANGE",
    "MAX_DEPTH",
    "json_path",
    "load_json_object",
    "validate_event",
]


class Layer(str, Enum):
    """Validation layer a violation comes from, in the order the layers run."""

    INPUT = "input"
    MODEL = "model"
    SCHEMA = "schema"
    SEMANTIC = "semantic"
    STRICT = "strict"


_LAYER_ORDER: Final = {layer: index for index, layer in enumerate(Layer)}

# Model and schema codes, most fundamental first; each layer keeps one per path.
_FIELD_CODES: Final = (
    "required",
    "type",
    "enum",
    "min_length",
    "max_length",
    "minimum",
    "exclusive_minimum",
    "maximum",
    "exclusive_maximum",
    "pattern",
    "format",
    "invalid",
)
_FIELD_RANK: Final = {code: rank for rank, code in enumerate(_FIELD_CODES)}

_INPUT_CODES: Final = (
    "invalid_json",
    "invalid_utf8",
    "invalid_unicode",
    "duplicate_key",
    "non_finite_number",
    "integer_out_of_range",
    "too_deep",
    "not_json",
    "not_an_object",
    "event_type_required",
    "event_type_mismatch",
    "unknown_event_type",
)
_STRICT_CODES: Final = ("unknown_field", "project_uuid_mismatch")

VIOLATION_CODES: Final[frozenset[str]] = frozenset(
    {*_INPUT_CODES, *_FIELD_CODES, *_STRICT_CODES, *(rule.code for rule in SEMANTIC_RULES)}
)
"""Every code a ``Violation`` can carry; codes are stable across releases of 2.x."""

_PYDANTIC_CODES: Final[Mapping[str, str]] = {
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

_SCHEMA_CODES: Final[Mapping[str, str]] = {
    "required": "required",
    "type": "type",
    "enum": "enum",
    "const": "enum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minimum": "minimum",
    "exclusiveMinimum": "exclusive_minimum",
    "maximum": "maximum",
    "exclusiveMaximum": "exclusive_maximum",
    "pattern": "pattern",
    "format": "format",
}

_MESSAGE_LIMIT: Final = 300


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (a JSON path such as ``$.payload.endpoint_url``), which rule
    (a stable ``code`` from ``VIOLATION_CODES``), which layer found it, and a message."""

    layer: Layer
    """Layer that found the problem."""
    path: str
    """JSON path of the offending value (``$`` is the validated object itself)."""
    code: str
    """Stable machine-readable code, e.g. ``required``, ``pattern``, ``unknown_field``."""
    message: str
    """Human-readable explanation; wording may change between releases."""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form: layer, path, code, message."""
        return {
            "layer": self.layer.value,
            "path": self.path,
            "code": self.code,
            "message": self.message,
        }


def _violation_order(violation: Violation) -> tuple[int, str, str, str]:
    return (_LAYER_ORDER[violation.layer], violation.path, violation.code, violation.message)


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Outcome of ``validate_event``: the verdict and every violation, deterministically sorted.

    ``valid`` is true only when every layer that applies is clean. Violations
    are ordered by (layer, path, code, message).
    """

    valid: bool
    """True when no layer reported a violation."""
    violations: tuple[Violation, ...]
    """Every problem found, ordered by (layer, path, code, message)."""
    kind: Literal["envelope", "payload"] | None
    """What the data was read as; None when it could not be read at all."""
    event_type: str | None
    """Event type whose payload rules applied (None when none could be chosen)."""
    layers: tuple[Layer, ...]
    """Layers that ran, in order."""

    @property
    def codes(self) -> frozenset[str]:
        """The distinct violation codes."""
        return frozenset(violation.code for violation in self.violations)

    def by_layer(self, layer: Layer | str) -> tuple[Violation, ...]:
        """The violations one layer reported."""
        wanted = Layer(layer)
        return tuple(violation for violation in self.violations if violation.layer is wanted)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the whole result."""
        return {
            "valid": self.valid,
            "kind": self.kind,
            "event_type": self.event_type,
            "layers": [layer.value for layer in self.layers],
            "violations": [violation.to_dict() for violation in self.violations],
        }


_Path = tuple[str | int, ...]
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def json_path(parts: Iterable[str | int]) -> str:
    """Render path segments as a JSON path: ``$.payload.endpoint_url``, ``$.tags[0]``.

    Keys that are not identifiers use bracket notation: ``$["odd key"]``.
    """
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            # A key may hold a lone surrogate ("\ud800" is valid JSON text); escape
            # it then, so a path can always be printed and encoded.
            readable = part.isascii() or not _has_surrogate(part)
            out.append(f"[{json.dumps(part, ensure_ascii=not readable)}]")
    return "".join(out)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _clip(message: str) -> str:
    if len(message) <= _MESSAGE_LIMIT:
        return message
    return message[: _MESSAGE_LIMIT - 3] + "..."


def _v(layer: Layer, path: _Path, code: str, message: str) -> Violation:
    return Violation(layer, json_path(path), code, _clip(message))


# ---------------------------------------------------------------- input layer


class _JsonObject(dict[str, Any]):
    """A parsed JSON object that remembers the keys it saw more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _JsonObject(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated: list[str] = []
        for key, _ in pairs:
            if key in seen and key not in repeated:
                repeated.append(key)
            seen.add(key)
        obj.duplicates = tuple(repeated)
    return obj


class _Literal:
    """A number literal JSON allows but no contract value can hold (``NaN``/``Infinity``,
    or an integer of more than 20 digits); the scan reports it with its path."""

    __slots__ = ("code", "text")

    def __init__(self, text: str, code: str) -> None:
        self.text = text
        self.code = code


def _constant(text: str) -> _Literal:
    return _Literal(text, "non_finite_number")


def _integer(text: str) -> int | _Literal:
    # No 64-bit integer needs more than 20 characters; int() refuses over 4300 digits.
    return _Literal(text, "integer_out_of_range") if len(text) > 20 else int(text)


_MESSAGES: Final = {
    "integer_out_of_range": "integer does not fit in 64 bits",
    "non_finite_number": "NaN, Infinity and numbers beyond the double range are not JSON numbers",
}

INT_RANGE: Final = (-(2**63), 2**64 - 1)
"""Smallest and largest integer accepted anywhere: every integer fits in 64 bits."""


def _parse_text(text: str) -> tuple[Any, list[Violation]]:
    try:
        return json.loads(
            text, object_pairs_hook=_object_pairs, parse_constant=_constant, parse_int=_integer
        ), []
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, [_v(Layer.INPUT, (), "too_deep", f"nested deeper than {MAX_DEPTH} levels")]
    return None, [_v(Layer.INPUT, (), "invalid_json", message)]


def _json_type(value: object) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


class _Scan:
    """Copies Python data into plain JSON values and records what is not JSON."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self._open: set[int] = set()

    def _bad(self, path: _Path, code: str, message: str) -> None:
        self.violations.append(_v(Layer.INPUT, path, code, message))

    def value(self, value: Any, path: _Path) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self._string(value, path)
        if isinstance(value, int):
            number = int(value)
            if not INT_RANGE[0] <= number <= INT_RANGE[1]:
                self._bad(path, "integer_out_of_range", _MESSAGES["integer_out_of_range"])
            return number
        if isinstance(value, float):
            if not math.isfinite(value):
                self._bad(path, "non_finite_number", _MESSAGES["non_finite_number"])
            return float(value)
        if isinstance(value, _Literal):
            # Same words as for the Python value, so text and mapping input agree.
            self._bad(path, value.code, _MESSAGES[value.code])
            return None
        if isinstance(value, (Mapping, list, tuple)):
            return self._container(value, path)
        self._bad(path, "not_json", f"a {type(value).__name__} is not a JSON value")
        return None

    def _string(self, value: str, path: _Path) -> str:
        text = str.__str__(value)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                self._bad(path, "invalid_unicode", "string contains an unpaired surrogate")
        return text

    def _container(self, value: Any, path: _Path) -> Any:
        if len(path) >= MAX_DEPTH:
            # Reported on the document: the full path of the 65th level helps no one.
            where = json_path(path[:2])
            self._bad((), "too_deep", f"nested deeper than {MAX_DEPTH} levels (under {where})")
            return None
        marker = id(value)
        if marker in self._open:
            self._bad(path, "not_json", "contains itself (a cycle is not JSON)")
            return None
        self._open.add(marker)
        try:
            if isinstance(value, Mapping):
                return self._object(value, path)
            return [self.value(item, (*path, index)) for index, item in enumerate(value)]
        finally:
            self._open.discard(marker)

    def _object(self, value: Mapping[Any, Any], path: _Path) -> dict[str, Any]:
        for key in getattr(value, "duplicates", ()):
            self._bad((*path, key), "duplicate_key", f"key {key!r} appears more than once")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                self._bad(path, "not_json", f"object key {key!r} is not a string")
                continue
            name = self._string(key, (*path, key))
            out[name] = self.value(item, (*path, name))
        return out


def load_json_object(data: object) -> tuple[dict[str, Any] | None, tuple[Violation, ...]]:
    """Read ``data`` (JSON text/bytes or a mapping) as a plain JSON object, like the input layer.

    Returns the object and no violations, or None and every input problem
    (invalid JSON or UTF-8, repeated keys, ``NaN``/``Infinity``, integers
    beyond 64 bits, nesting deeper than 64, values that are not JSON).
    """
    obj, problems = _load(data)
    return obj, tuple(sorted(problems, key=_violation_order))


def _load(data: object) -> tuple[dict[str, Any] | None, list[Violation]]:
    if isinstance(data, BaseModel):
        try:
            data = data.model_dump(mode="json")
        except ValueError as exc:  # PydanticSerializationError: a field that is not JSON
            return None, [_v(Layer.INPUT, (), "not_json", f"model does not serialize: {exc}")]
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}"
            return None, [_v(Layer.INPUT, (), "invalid_utf8", message)]
    if isinstance(data, str):
        data, problems = _parse_text(data)
        if problems:
            return None, problems
    if not isinstance(data, Mapping):
        message = f"expected a JSON object, got {_json_type(data)}"
        return None, [_v(Layer.INPUT, (), "not_an_object", message)]
    scan = _Scan()
    try:
        obj = scan._container(data, ())
    except RecursionError:
        return None, [_v(Layer.INPUT, (), "too_deep", f"nested deeper than {MAX_DEPTH} levels")]
    if scan.violations:
        return None, scan.violations
    return obj, []


# ------------------------------------------------------ model and schema layers


def _one_per_path(violations: Iterable[Violation]) -> list[Violation]:
    best: dict[str, Violation] = {}
    for violation in violations:
        held = best.get(violation.path)
        if held is None or _FIELD_RANK.get(violation.code, len(_FIELD_RANK)) < _FIELD_RANK.get(
            held.code, len(_FIELD_RANK)
        ):
            best[violation.path] = violation
    return list(best.values())


def _model_code(error_type: str, value: object) -> str:
    code = _PYDANTIC_CODES.get(error_type, "invalid")
    if code == "enum" and not isinstance(value, str):
        return "type"
    return code


def _model_layer(
    model: type[BaseModel], data: dict[str, Any], prefix: _Path
) -> tuple[BaseModel | None, list[Violation]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        found = [
            _v(
                Layer.MODEL,
                (*prefix, *error["loc"]),
                _model_code(error["type"], error.get("input")),
                error["msg"],
            )
            for error in exc.errors(include_url=False)
        ]
        return None, _one_per_path(found)


def _schema_layer(name: str, data: dict[str, Any], prefix: _Path) -> list[Violation]:
    found = [
        _v(
            Layer.SCHEMA,
            (*prefix, *error.absolute_path),
            _SCHEMA_CODES.get(str(error.validator), "invalid"),
            error.message,
        )
        for error in create_validator(name).iter_errors(data)
    ]
    return _one_per_path(found)


def _semantic_layer(event_type: str, payload: BaseModel, prefix: _Path) -> list[Violation]:
    found = []
    for rule in semantic_failures(event_type, payload):
        subject = rule.message.partition(" ")[0]
        field = subject if subject in (rule.earlier, rule.later) else rule.earlier
        found.append(_v(Layer.SEMANTIC, (*prefix, field), rule.code, rule.message))
    return found


def _unknown_fields(
    model: type[BaseModel], data: Mapping[str, Any], prefix: _Path
) -> list[Violation]:
    return [
        _v(Layer.STRICT, (*prefix, key), "unknown_field", f"{key!r} is not a field of {name}")
        for name in (model.__name__,)
        for key in data
        if key not in model.model_fields
    ]


# ------------------------------------------------------------------ entry point


@dataclass
class _Run:
    violations: list[Violation]
    layers: list[Layer]

    def ran(self, *layers: Layer) -> None:
        for layer in layers:
            if layer not in self.layers:
                self.layers.append(layer)


def _payload_layers(
    run: _Run, event_type: str, payload: dict[str, Any], prefix: _Path, strict: bool
) -> BaseModel | None:
    model = PAYLOAD_MODELS[event_type]
    run.ran(Layer.MODEL, Layer.SCHEMA)
    parsed, problems = _model_layer(model, payload, prefix)
    run.violations.extend(problems)
    run.violations.extend(_schema_layer(event_type, payload, prefix))
    if parsed is not None:
        run.ran(Layer.SEMANTIC)
        run.violations.extend(_semantic_layer(event_type, parsed, prefix))
    if strict:
        run.ran(Layer.STRICT)
        run.violations.extend(_unknown_fields(model, payload, prefix))
    return parsed


def _is_envelope(data: Mapping[str, Any], event_type: object) -> bool:
    return "payload" in data or ("event_type" in data and event_type is None)


def _known_type(event_type: object, path: _Path, run: _Run) -> str | None:
    if isinstance(event_type, str) and event_type in PAYLOAD_MODELS:
        return event_type
    shown = event_type if isinstance(event_type, str) else type(event_type).__name__
    run.violations.append(
        _v(Layer.INPUT, path, "unknown_event_type", f"no payload model for event type {shown!r}")
    )
    return None


def _validate_envelope(
    run: _Run, data: dict[str, Any], requested: str | None, strict: bool
) -> str | None:
    run.ran(Layer.MODEL, Layer.SCHEMA)
    envelope, problems = _model_layer(Event, data, ())
    run.violations.extend(problems)
    run.violations.extend(_schema_layer(ENVELOPE_SCHEMA, data, ()))
    if strict:
        run.ran(Layer.STRICT)
        run.violations.extend(_unknown_fields(Event, data, ()))
    declared = data.get("event_type")
    if not isinstance(declared, str) or not declared:
        return None  # the model and schema layers already report it
    if requested is not None and requested != declared:
        run.violations.append(
            _v(
                Layer.INPUT,
                ("event_type",),
                "event_type_mismatch",
                f"envelope says {declared!r} but {requested!r} was requested",
            )
        )
    event_type = _known_type(declared, ("event_type",), run)
    payload = data.get("payload")
    if event_type is None or not isinstance(payload, dict):
        return event_type
    parsed = _payload_layers(run, event_type, payload, ("payload",), strict)
    inner = getattr(parsed, "project_uuid", None)
    if (
        strict
        and isinstance(envelope, Event)
        and inner is not None
        and inner != envelope.project_uuid
    ):
        run.violations.append(
            _v(
                Layer.STRICT,
                ("payload", "project_uuid"),
                "project_uuid_mismatch",
                f"payload project_uuid {inner} differs from the envelope's {envelope.project_uuid}",
            )
        )
    return event_type


def validate_event(
    data: object, event_type: str | None = None, *, strict: bool = False
) -> ValidationResult:
    """Validate a payload or a whole envelope and report every violation; never raises.

    ``data`` is a mapping, JSON text (``str``) or UTF-8 JSON bytes, or a model
    instance. It is read as an envelope when it has a ``payload`` key (or an
    ``event_type`` key and no ``event_type`` argument); otherwise it is a
    payload and ``event_type`` names its model. ``strict=True`` also reports
    unknown fields and an envelope/payload ``project_uuid`` mismatch.

    >>> validate_event({"delivery_id": "d1"}, "SyncIngestAccepted").valid
    False
    """
    if event_type is None and isinstance(data, BaseModel) and not isinstance(data, Event):
        event_type = next(
            (name for name, model in PAYLOAD_MODELS.items() if model is type(data)), None
        )
    obj, problems = _load(data)
    if obj is None:
        return _result(_Run(problems, [Layer.INPUT]), None, None)
    run = _Run([], [Layer.INPUT])
    if _is_envelope(obj, event_type):
        requested = event_type if isinstance(event_type, str) else None
        if event_type is not None and requested is None:
            _known_type(event_type, (), run)
        chosen = _validate_envelope(run, obj, requested, strict)
        return _result(run, "envelope", chosen)
    if event_type is None:
        run.violations.append(
            _v(
                Layer.INPUT,
                (),
                "event_type_required",
                "a bare payload needs event_type; pass it, or validate the whole envelope",
            )
        )
        return _result(run, "payload", None)
    known = _known_type(event_type, (), run)
    if known is not None:
        _payload_layers(run, known, obj, (), strict)
    return _result(run, "payload", known)


def _result(
    run: _Run, kind: Literal["envelope", "payload"] | None, event_type: str | None
) -> ValidationResult:
    violations = tuple(sorted(set(run.violations), key=_violation_order))
    layers = tuple(sorted(run.layers, key=_LAYER_ORDER.__getitem__))
    return ValidationResult(
        valid=not violations,
        violations=violations,
        kind=kind,
        event_type=event_type,
        layers=layers,
    )
